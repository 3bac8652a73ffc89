"""The dashboard on real data: the read model, the page, its popups and its buttons."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
import pytest

from pygocd.domain.environments import EnvironmentConfig
from pygocd.domain.pipelines import LockBehavior
from pygocd.domain.states import JobResult, StageState
from pygocd.domain.variables import EnvironmentVariable
from pygocd.services.dashboard import DashboardService
from pygocd.services.events import PIPELINE_CHANGED
from pygocd.services.health import ServerHealth
from pygocd.services.registry import Services
from pygocd.settings import Settings
from pygocd.web.app import create_app
from pygocd.web.ui.dashboard import dashboard_service, render_cards
from pygocd.web.ui.live import fragment_stream
from tests.web.ui.dom import Node, parse
from tests.web.ui.runs import (
    build,
    commit,
    configure,
    finish,
    job_ids,
    pipeline,
    run_stage_to,
    stage,
    trigger,
)

pytestmark = pytest.mark.db

HX = {"HX-Request": "true"}


async def board(services: Services) -> DashboardService:
    return DashboardService(services.uow, services.config.current)


async def page(client: httpx.AsyncClient, path: str = "/go/pipelines") -> Node:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return parse(response.text)


def card(doc: Node, name: str) -> Node:
    return doc.one(lambda n: n.attrs.get("id") == f"pipeline-{name}")


def segments(node: Node) -> list[str]:
    return [n.attrs["aria-label"] for n in node.find_all(lambda n: n.has_class("stage"))]


# ---- read model ----------------------------------------------------------------------------


async def test_a_never_run_pipeline_has_no_instances(services: Services) -> None:
    await configure(services, pipeline("app"))
    dashboard = await (await board(services)).dashboard()

    [app] = dashboard.pipelines
    assert app.instances == ()
    assert not app.paused
    assert not app.locked
    assert [s.name for s in dashboard.pipeline_groups] == ["main"]
    assert dashboard.pipeline_groups[0].pipelines == ("app",)


async def test_a_running_instance_shows_run_stages_then_configured_ones(
    services: Services,
) -> None:
    await configure(services, pipeline("app"))
    await commit(services)
    instance = await trigger(services, "app")
    await build(services, job_ids(instance, "build")[0])

    app = await (await board(services)).pipeline("app")
    [shown] = app.instances
    assert shown.counter == 1
    assert shown.label == "1"
    assert shown.triggered_by == "Triggered by anonymous"
    build_stage, test_stage = shown.stages
    assert (build_stage.name, build_stage.status, build_stage.has_run) == (
        "build",
        StageState.BUILDING,
        True,
    )
    assert (test_stage.name, test_stage.status, test_stage.has_run) == (
        "test",
        StageState.UNKNOWN,
        False,
    )
    assert test_stage.counter == 1
    assert test_stage.approved_by is None
    assert [j.name for j in build_stage.jobs] == ["run"]


async def test_every_active_instance_is_shown_with_the_newest(services: Services) -> None:
    await configure(services, pipeline("app"))
    await commit(services)
    first = await trigger(services, "app")
    await run_stage_to(services, first, "build", JobResult.PASSED)  # test now building
    second = await trigger(services, "app")

    app = await (await board(services)).pipeline("app")
    assert [i.counter for i in app.instances] == [second.counter, first.counter]
    assert [s.status for s in app.instances[1].stages] == [StageState.PASSED, StageState.BUILDING]

    await run_stage_to(services, first, "test", JobResult.PASSED)
    app = await (await board(services)).pipeline("app")
    assert [i.counter for i in app.instances] == [second.counter]


async def test_failing_and_cancelled_stages(services: Services) -> None:
    await configure(services, pipeline("app", stage("build", "a", "b")))
    await commit(services)
    instance = await trigger(services, "app")
    a, b = job_ids(instance)
    await build(services, a)
    await build(services, b)
    await finish(services, a, JobResult.FAILED)
    [shown] = (await (await board(services)).pipeline("app")).instances
    assert shown.stages[0].status is StageState.FAILING

    assert services.stages is not None
    await services.stages.cancel_stage("app", 1, "build", 1, username="ann")
    [shown] = (await (await board(services)).pipeline("app")).instances
    assert shown.stages[0].status is StageState.CANCELLED
    assert shown.stages[0].cancelled_by == "ann"


async def test_pause_lock_and_environments(services: Services) -> None:
    await configure(
        services,
        pipeline("app", lock=LockBehavior.UNLOCK_WHEN_FINISHED),
        pipeline("lib", group="libs"),
        environments=(EnvironmentConfig("qa", pipelines=("lib",)),),
    )
    await commit(services)
    await trigger(services, "app")
    assert services.stages is not None
    await services.stages.pause("lib", username="ann", cause="broken")
    dashboard = await (await board(services)).dashboard()

    app, lib = dashboard.pipelines
    assert app.locked
    assert lib.paused
    assert lib.pause_info.paused_by == "ann"
    assert lib.pause_info.pause_reason == "broken"
    assert lib.environment == "qa"
    assert [(e.name, e.pipelines) for e in dashboard.environments] == [("qa", ("lib",))]
    assert dashboard.without_environment() == ("app",)


async def test_a_subset_reads_only_those_pipelines(services: Services) -> None:
    await configure(services, pipeline("app"), pipeline("lib"))
    found = await (await board(services)).pipelines(["LIB", "nope"])
    assert [p.name for p in found] == ["lib"]


# ---- the page ------------------------------------------------------------------------------


async def test_cards_show_gocds_anatomy(client: httpx.AsyncClient, services: Services) -> None:
    await configure(services, pipeline("app"), pipeline("never", group="other"))
    await commit(services)
    instance = await trigger(services, "app")
    await run_stage_to(services, instance, "build", JobResult.PASSED)

    doc = await page(client)
    app = card(doc, "app")
    assert app.one(lambda n: n.tag == "h3").text == "app"
    assert "Instance: 1" in app.text
    assert "Triggered by anonymous" in app.text
    links = [a.text for a in app.by_tag("a")]
    assert "History" in links
    assert {"Compare", "VSM"} <= set(links)
    assert "Changes" in [b.text for b in app.by_tag("button")]
    assert segments(app) == ["build (Passed)", "test (Building)"]
    labels = {b.attrs.get("aria-label") for b in app.by_tag("button")}
    assert {
        "Trigger Pipeline app",
        "Trigger Pipeline app with Options",
        "Pause Pipeline app",
    } <= labels
    time = app.by_tag("time")[0]
    assert time.attrs["datetime"].endswith("Z")
    assert "Server Time" in time.attrs["title"]

    never = card(doc, "never")
    assert "You haven't run this pipeline yet" in never.text
    sections = [n.text for n in doc.find_all(lambda n: n.has_class("dashboard-group__name"))]
    assert sections == ["main", "other"]
    sse = doc.one(lambda n: "sse-connect" in n.attrs)
    assert sse.attrs["sse-connect"].startswith("/go/ui/events/dashboard")


async def test_paused_and_locked_cards(client: httpx.AsyncClient, services: Services) -> None:
    await configure(services, pipeline("app", lock=LockBehavior.UNLOCK_WHEN_FINISHED))
    await commit(services)
    await trigger(services, "app")
    assert services.stages is not None
    await services.stages.pause("app", username="ann", cause="release freeze")

    app = card(await page(client), "app")
    assert "Paused by ann (release freeze)" in app.text
    buttons = {b.attrs.get("title"): b for b in app.by_tag("button")}
    assert "disabled" in buttons["Trigger Pipeline Disabled"].attrs
    assert buttons["Pipeline Paused"].attrs["aria-label"] == "Unpause Pipeline app"
    assert buttons["Pipeline Locked"].attrs["aria-label"] == "Pipeline Locked: unlock app"


async def test_group_by_environments(client: httpx.AsyncClient, services: Services) -> None:
    await configure(
        services,
        pipeline("app"),
        pipeline("lib"),
        environments=(EnvironmentConfig("qa", pipelines=("lib",)),),
    )
    doc = await page(client, "/go/pipelines?group_by=environments")
    sections = [n.text for n in doc.find_all(lambda n: n.has_class("dashboard-group__name"))]
    assert sections == ["qa", "Pipelines not in any Environment"]
    toggle = doc.one(lambda n: n.has_class("group-by__toggle"))
    assert toggle.text == "Environments"
    assert toggle.attrs["aria-expanded"] == "false"


async def test_empty_dashboard_message(client: httpx.AsyncClient) -> None:
    doc = await page(client)
    assert "Either no pipelines have been set up" in doc.text
    assert not doc.find_all(lambda n: n.has_class("dashboard-toolbar"))


async def test_server_health_messages_are_shown(services: Services, settings: Settings) -> None:
    health = ServerHealth(services.clock)
    health.error("repo", "Config repo 'x' failed to parse", "line 3: bad key")
    health.warning("m", "Material is slow", "")
    app = create_app(replace(services, health=health), settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        doc = await page(client)
    pill = doc.one(lambda n: n.has_class("server-health__pill"))
    assert pill.text == "1 error and 1 warning"
    assert "Config repo 'x' failed to parse" in doc.text
    assert "line 3: bad key" in doc.text


# ---- buttons -----------------------------------------------------------------------------


async def flash(response: httpx.Response) -> tuple[str, str]:
    assert response.status_code == 200, response.text
    node = parse(response.text).one(lambda n: n.has_class("flash"))
    kind = next(c for c in node.attrs["class"].split() if c.startswith("callout--"))
    return kind.removeprefix("callout--"), node.text


async def test_trigger_pause_unpause_from_the_card(
    client: httpx.AsyncClient, services: Services
) -> None:
    await configure(services, pipeline("app"))
    await commit(services)

    response = await client.post("/go/ui/pipelines/app/trigger", headers=HX)
    assert await flash(response) == ("success", "Request to schedule pipeline app accepted")
    assert response.headers["HX-Retarget"] == "#flash"
    assert len((await (await board(services)).pipeline("app")).instances) == 1

    response = await client.post(
        "/go/ui/pipelines/app/pause", headers=HX, data={"reason": "freeze"}
    )
    assert await flash(response) == ("success", "Pipeline 'app' paused successfully.")
    app = await (await board(services)).pipeline("app")
    assert app.pause_info.pause_reason == "freeze"

    kind, text = await flash(await client.post("/go/ui/pipelines/app/trigger", headers=HX))
    assert kind == "alert"
    assert "paused" in text.lower()

    kind, _ = await flash(await client.post("/go/ui/pipelines/app/pause", headers=HX))
    assert kind == "alert"

    response = await client.post("/go/ui/pipelines/app/unpause", headers=HX)
    assert await flash(response) == ("success", "Pipeline 'app' unpaused successfully.")


async def test_without_javascript_a_button_goes_back_to_the_page(
    client: httpx.AsyncClient, services: Services
) -> None:
    await configure(services, pipeline("app"))
    await commit(services)
    response = await client.post(
        "/go/ui/pipelines/app/trigger", headers={"Referer": "http://t/go/pipelines"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "http://t/go/pipelines"


async def test_unknown_pipeline_is_an_alert_not_a_500(client: httpx.AsyncClient) -> None:
    kind, text = await flash(await client.post("/go/ui/pipelines/nope/trigger", headers=HX))
    assert kind == "alert"
    assert "nope" in text


async def test_trigger_with_options(client: httpx.AsyncClient, services: Services) -> None:
    variables = (
        EnvironmentVariable("MODE", "fast"),
        EnvironmentVariable("TOKEN", "s3cret", secure=True),
    )
    await configure(services, pipeline("app", variables=variables))
    await commit(services, "rev-1", "first")
    await commit(services, "rev-2", "second")

    modal = parse((await client.get("/go/ui/pipelines/app/trigger_options")).text)
    dialog = modal.one(lambda n: n.tag == "dialog")
    assert dialog.one(lambda n: n.tag == "h2").text == "app - Trigger"
    options = [o.attrs["value"] for o in modal.by_tag("option")]
    assert options == ["rev-2", "rev-1"]
    inputs = {i.attrs["name"]: i for i in modal.by_tag("input")}
    fingerprint = next(n for n in inputs if n.startswith("material:"))
    assert inputs["var:MODE"].attrs["value"] == "fast"
    assert inputs["secure:TOKEN"].attrs["type"] == "password"
    assert "s3cret" not in modal.text
    assert "s3cret" not in str(inputs["secure:TOKEN"].attrs)

    response = await client.post(
        "/go/ui/pipelines/app/trigger_with_options",
        headers=HX,
        data={fingerprint: "rev-1", "var:MODE": "slow", "secure:TOKEN": "other"},
    )
    assert (await flash(response))[0] == "success"
    async with services.uow(read_only=True) as uow:
        instance = await uow.pipeline_instances.find("app", 1)
    assert instance is not None
    assert instance.build_cause.material_revisions[0].revision == "rev-1"
    assert {(v.name, v.value, v.secure) for v in instance.build_cause.trigger_variables} == {
        ("MODE", "slow", False),
        ("TOKEN", "other", True),
    }

    response = await client.post(
        "/go/ui/pipelines/app/trigger_with_options", headers=HX, data={fingerprint: "nope"}
    )
    assert (await flash(response))[0] == "alert"
    assert "HX-Retarget" not in response.headers


async def test_pause_modal(client: httpx.AsyncClient, services: Services) -> None:
    await configure(services, pipeline("app"))
    modal = parse((await client.get("/go/ui/pipelines/app/pause")).text)
    assert modal.one(lambda n: n.tag == "h2").text == "Pause pipeline app"
    reason = modal.one(lambda n: n.tag == "input")
    label = modal.one(lambda n: n.tag == "label")
    assert label.attrs["for"] == reason.attrs["id"]


async def test_stage_overview_and_job_actions(
    client: httpx.AsyncClient, services: Services
) -> None:
    await configure(services, pipeline("app", stage("build", "a", "b")))
    await commit(services)
    instance = await trigger(services, "app")
    a, b = job_ids(instance)
    await build(services, a)

    popup = parse((await client.get("/go/ui/stage_overview/app/1/build/1")).text)
    counts = popup.one(lambda n: n.has_class("stage-overview__counts"))
    assert [n.text for n in counts.by_tag("strong")] == ["2", "0", "0"]
    rows = popup.one(lambda n: n.tag == "tbody").by_tag("tr")
    assert [r.by_tag("td")[1].text for r in rows] == ["a", "b"]
    assert [r.by_tag("td")[3].text for r in rows] == ["Building", "Waiting for an agent"]
    assert popup.find_all(lambda n: n.attrs.get("aria-label") == "Cancel stage build")

    await finish(services, a, JobResult.FAILED)
    await build(services, b)
    await finish(services, b, JobResult.PASSED)
    popup = parse((await client.get("/go/ui/stage_overview/app/1/build/1")).text)
    assert "Go to Stage Details Page" in popup.text
    assert popup.find_all(lambda n: n.attrs.get("aria-label") == "Rerun stage build")

    response = await client.post(
        "/go/ui/stages/app/1/build/1/rerun_jobs", headers=HX, data={"failed": "1"}
    )
    assert await flash(response) == ("success", "Request to rerun job(s) is accepted")
    [shown] = (await (await board(services)).pipeline("app")).instances
    assert shown.stages[0].counter == 2

    response = await client.post("/go/ui/stages/app/1/build/2/cancel", headers=HX)
    assert await flash(response) == ("success", "Stage cancelled successfully.")

    response = await client.post("/go/ui/stages/app/1/build/3/rerun_jobs", headers=HX)
    assert (await flash(response))[0] == "alert"

    response = await client.post("/go/ui/stages/app/1/build/run", headers=HX)
    assert await flash(response) == (
        "success",
        "Request to schedule stage app/1/build accepted",
    )


async def test_manual_gate_runs_the_stage(client: httpx.AsyncClient, services: Services) -> None:
    await configure(services, pipeline("app", stage("build"), stage("deploy", manual=True)))
    await commit(services)
    instance = await trigger(services, "app")
    await run_stage_to(services, instance, "build", JobResult.PASSED)

    gate = card(await page(client), "app").one(lambda n: n.has_class("gate-button"))
    assert gate.tag == "button"
    assert gate.attrs["aria-label"] == "Trigger stage deploy"
    response = await client.post(gate.attrs["data-post"], headers=HX)
    assert (await flash(response))[0] == "success"
    [shown] = (await (await board(services)).pipeline("app")).instances
    assert shown.stages[1].status is StageState.BUILDING


async def test_changes_popup(client: httpx.AsyncClient, services: Services) -> None:
    await configure(services, pipeline("app"))
    await commit(services, "cafe1234", "Make it faster")
    await trigger(services, "app")
    popup = parse((await client.get("/go/ui/changes/app/1")).text)
    assert "Make it faster" in popup.text
    assert "cafe1234" in popup.text
    assert "Ann <ann@example.com>" in popup.text
    assert "app (Git: https://example.com/app.git)" in popup.text


async def test_unlock_from_the_card(client: httpx.AsyncClient, services: Services) -> None:
    await configure(services, pipeline("app", lock=LockBehavior.LOCK_ON_FAILURE))
    await commit(services)
    instance = await trigger(services, "app")
    await run_stage_to(services, instance, "build", JobResult.FAILED)
    response = await client.post("/go/ui/pipelines/app/unlock", headers=HX)
    assert await flash(response) == ("success", "Pipeline lock released for app")
    assert not (await (await board(services)).pipeline("app")).locked


# ---- live --------------------------------------------------------------------------------


async def test_a_change_pushes_the_fresh_card(services: Services) -> None:
    await configure(services, pipeline("app"), pipeline("lib"))
    await commit(services)

    async def render(names: set[str] | None) -> str:
        return render_cards(await dashboard_service(services).pipelines(names))

    stream = fragment_stream(services.bus, render, event="cards")
    hello = await anext(stream)
    assert hello["event"] == "hello"
    assert hello["retry"] == 1000
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.01)
    instance = await trigger(services, "app")
    message = await asyncio.wait_for(waiting, 2)
    assert message["event"] == "cards"
    doc = parse(message["data"])
    [only] = doc.find_all(lambda n: n.has_class("pipeline-card"))
    assert only.attrs["id"] == "pipeline-app"
    assert only.attrs["hx-swap-oob"] == "true"
    assert segments(only) == ["build (Building)", "test (Unknown)"]

    waiting = asyncio.ensure_future(anext(stream))
    await run_stage_to(services, instance, "build", JobResult.PASSED)
    message = await asyncio.wait_for(waiting, 2)
    assert "build (Passed)" in message["data"] or "build (Building)" in message["data"]

    waiting = asyncio.ensure_future(anext(stream))
    await services.bus.publish(PIPELINE_CHANGED, {"pipeline": "lib"})
    message = await asyncio.wait_for(waiting, 2)
    assert 'id="pipeline-lib"' in message["data"]
    await stream.aclose()


async def test_a_resumed_stream_starts_with_everything(services: Services) -> None:
    await configure(services, pipeline("app"))

    async def render(names: set[str] | None) -> str:
        return "ALL" if names is None else ",".join(sorted(names))

    stream = fragment_stream(services.bus, render, resume=True)
    await anext(stream)
    first = await anext(stream)
    assert (first["data"], first["id"]) == ("ALL", "1")
    await stream.aclose()


async def test_the_kept_read_model_follows_every_change(
    client: httpx.AsyncClient, services: Services
) -> None:
    await configure(services, pipeline("app"))
    await commit(services)
    assert "You haven't run this pipeline yet" in card(await page(client), "app").text
    assert "You haven't run this pipeline yet" in card(await page(client), "app").text
    instance = await trigger(services, "app")
    assert segments(card(await page(client), "app")) == ["build (Building)", "test (Unknown)"]
    await run_stage_to(services, instance, "build", JobResult.FAILED)
    assert segments(card(await page(client), "app"))[0] == "build (Failed)"
    assert services.stages is not None
    await services.stages.pause("app", username="ann", cause="why")
    assert "Paused by ann (why)" in card(await page(client), "app").text
    await configure(services, pipeline("app"), pipeline("lib"))
    assert card(await page(client), "lib").attrs["id"] == "pipeline-lib"
