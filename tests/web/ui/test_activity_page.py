"""The activity page's comments: each run shows its comment, the comment modal saves it
through the comment service, which tells open pages over the bus; 404s for unknown runs."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from pygocd.domain.states import JobResult
from pygocd.services.events import PIPELINE_CHANGED
from pygocd.services.registry import Services
from tests.web.ui.dom import Node, fetch, parse
from tests.web.ui.runs import commit, configure, pipeline, run_stage_to, trigger

pytestmark = pytest.mark.db

HX = {"HX-Request": "true"}


async def two_runs(services: Services) -> None:
    await configure(services, pipeline("app"))
    await commit(services)
    for _ in range(2):
        instance = await trigger(services, "app")
        for name in ("build", "test"):
            await run_stage_to(services, instance, name, JobResult.PASSED)


async def activity(client: httpx.AsyncClient) -> Node:
    return await fetch(client, "/go/pipeline/activity/app")


def comment_buttons(doc: Node) -> list[str]:
    return [b.text for b in doc.find_all(lambda n: n.has_class("activity-comment-button"))]


async def test_each_run_offers_a_comment_and_shows_a_saved_one(
    client: httpx.AsyncClient, services: Services
) -> None:
    await two_runs(services)
    assert comment_buttons(await activity(client)) == ["Add Comment", "Add Comment"]

    response = await client.post(
        "/go/ui/pipelines/app/1/comment", data={"comment": "ship it\nafter QA"}, headers=HX
    )
    assert response.status_code == 200
    assert response.headers["X-Flash-Kind"] == "success"
    assert "Comment successfully updated." in response.text

    doc = await activity(client)
    assert comment_buttons(doc) == ["Add Comment", "Comment"]
    shown = doc.one(lambda n: n.attrs.get("id") == "comment-1")
    assert shown.texts == ["ship it\nafter QA"]
    button = doc.find_all(lambda n: n.has_class("activity-comment-button"))[1]
    assert button.attrs["hx-get"] == "/go/ui/comments/app/1"
    assert button.attrs["aria-label"] == "Comment of instance 1"


async def test_the_comment_modal_edits_the_saved_text(
    client: httpx.AsyncClient, services: Services
) -> None:
    await two_runs(services)
    await client.post("/go/ui/pipelines/app/2/comment", data={"comment": "flaky"}, headers=HX)

    response = await client.get("/go/ui/comments/app/2")
    assert response.status_code == 200
    dialog = parse(response.text).one(lambda n: n.tag == "dialog")
    assert dialog.one(lambda n: n.tag == "h2").text == "Comment on app 2"
    area = dialog.one(lambda n: n.tag == "textarea")
    assert area.text == "flaky"
    form = dialog.one(lambda n: n.tag == "form")
    assert form.attrs["hx-post"] == "/go/ui/pipelines/app/2/comment"


async def test_saving_a_comment_tells_open_pages(
    client: httpx.AsyncClient, services: Services
) -> None:
    await two_runs(services)
    async with services.bus.subscribe(PIPELINE_CHANGED) as events:
        await client.post("/go/ui/pipelines/app/2/comment", data={"comment": "x"}, headers=HX)
        event = await asyncio.wait_for(anext(events), 5)
    assert event.payload == {"pipeline": "app", "counter": 2}


async def test_a_comment_without_javascript_goes_back_to_the_page(
    client: httpx.AsyncClient, services: Services
) -> None:
    await two_runs(services)
    response = await client.post(
        "/go/ui/pipelines/app/1/comment",
        data={"comment": "plain form"},
        headers={"referer": "/go/pipeline/activity/app"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/go/pipeline/activity/app"
    assert "plain form" in (await client.get("/go/pipeline/activity/app")).text


@pytest.mark.parametrize(
    "path", ["/go/ui/pipelines/app/9/comment", "/go/ui/pipelines/no/1/comment"]
)
async def test_commenting_an_unknown_run_is_an_alert_not_an_error(
    client: httpx.AsyncClient, services: Services, path: str
) -> None:
    await two_runs(services)
    response = await client.post(path, data={"comment": "x"}, headers=HX)
    assert response.status_code == 200
    assert response.headers["X-Flash-Kind"] == "alert"
    assert "not found" in response.text


@pytest.mark.parametrize(
    "path",
    ["/go/pipeline/activity/nope", "/go/ui/comments/app/9", "/go/ui/comments/nope/1"],
)
async def test_unknown_pipelines_and_counters_are_not_found(
    client: httpx.AsyncClient, services: Services, path: str
) -> None:
    await two_runs(services)
    assert (await client.get(path)).status_code == 404
