"""Stage API against GoCD's contract: instance and history (v3), run (v2), cancel and the
two rerun forms (v3); bad counters and bodies are 4xx and change nothing."""

from __future__ import annotations

import httpx
import pytest

from pygocd.domain.states import JobResult
from pygocd.services.registry import Services
from tests import builders as b

pytestmark = pytest.mark.db

V2 = {"Accept": "application/vnd.go.cd.v2+json"}
V3 = {"Accept": "application/vnd.go.cd.v3+json"}
CONFIRM2 = {**V2, "X-GoCD-Confirm": "true"}
CONFIRM3 = {**V3, "X-GoCD-Confirm": "true"}
JSON3 = {**V3, "Content-Type": "application/json"}


@pytest.fixture
async def up42(services: Services) -> Services:
    await b.save(
        services,
        b.pipeline("up42", b.stage("build", "compile", "lint"), b.stage("deploy", manual=True)),
    )
    await b.commit(services)
    return services


async def stage_counters(services: Services, stage: str = "build") -> list[int]:
    found = await b.instance(services, "up42", 1)
    return sorted(s.counter for s in found.stages if s.name == stage)


async def test_stage_instance_v3_shape(client: httpx.AsyncClient, up42: Services) -> None:
    await b.run_to_end(up42, "up42")
    response = await client.get("/go/api/stages/up42/1/build/1", headers=V3)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.go.cd.v3+json;charset=utf-8"
    body = response.json()
    assert list(body) == [
        "name",
        "counter",
        "approval_type",
        "approved_by",
        "scheduled_at",
        "last_transitioned_time",
        "result",
        "rerun_of_counter",
        "fetch_materials",
        "clean_working_directory",
        "artifacts_deleted",
        "pipeline_name",
        "pipeline_counter",
        "jobs",
    ]
    assert (body["name"], body["counter"], body["result"]) == ("build", 1, "Passed")
    assert (body["pipeline_name"], body["pipeline_counter"]) == ("up42", 1)
    assert isinstance(body["scheduled_at"], int)
    compile_job = body["jobs"][0]
    assert compile_job["name"] == "compile"
    assert compile_job["agent_uuid"] == b.AGENT
    assert compile_job["pipeline_name"] is None
    assert [t["state"] for t in compile_job["job_state_transitions"]] == [
        "Scheduled",
        "Assigned",
        "Building",
        "Completed",
    ]
    for path in (
        "/go/api/stages/up42/1/build/2",
        "/go/api/stages/up42/2/build/1",
        "/go/api/stages/up42/1/nope/1",
        "/go/api/stages/nope/1/build/1",
        "/go/api/stages/up42/x/build/1",
        "/go/api/stages/up42/1/build/-1",
    ):
        missing = await client.get(path, headers=V3)
        assert missing.status_code == 404, path
        assert "message" in missing.json()
    assert (await client.get("/go/api/stages/up42/1/build/1", headers=V2)).status_code == 404


async def test_stage_history_cursor_pages(client: httpx.AsyncClient, up42: Services) -> None:
    for _ in range(11):
        await b.run_to_end(up42, "up42")
    body = (await client.get("/go/api/stages/up42/build/history", headers=V3)).json()
    assert [s["pipeline_counter"] for s in body["stages"]] == list(range(11, 1, -1))
    first = body["stages"][0]
    assert first["counter"] == "1"
    assert list(first) == [
        "name",
        "counter",
        "approval_type",
        "approved_by",
        "result",
        "rerun_of_counter",
        "pipeline_name",
        "pipeline_counter",
        "jobs",
    ]
    assert set(first["jobs"][0]) == {"name", "state", "result", "scheduled_date"}
    older = (await client.get(body["_links"]["next"]["href"], headers=V3)).json()
    assert [s["pipeline_counter"] for s in older["stages"]] == [1]
    bad = await client.get("/go/api/stages/up42/build/history?page_size=5", headers=V3)
    assert bad.status_code == 400
    unknown = await client.get("/go/api/stages/up42/nope/history", headers=V3)
    assert unknown.status_code == 404


async def test_run_approves_a_manual_stage_and_latest_works(
    client: httpx.AsyncClient, up42: Services
) -> None:
    await b.run_to_end(up42, "up42")
    refused = await client.post("/go/api/stages/up42/1/deploy/run", headers=V2)
    assert refused.status_code == 400
    response = await client.post("/go/api/stages/up42/latest/deploy/run", headers=CONFIRM2)
    assert response.status_code == 202
    assert response.headers["content-type"] == "application/vnd.go.cd.v2+json;charset=utf-8"
    assert response.json() == {"message": "Request to schedule stage up42/1/deploy accepted"}
    deploy = (await b.instance(up42, "up42", 1)).latest_stage("deploy")
    assert deploy is not None
    assert deploy.approved_by == "anonymous"

    busy = await client.post("/go/api/stages/up42/1/deploy/run", headers=CONFIRM2)
    assert busy.status_code == 409


async def test_run_errors(client: httpx.AsyncClient, up42: Services) -> None:
    await b.trigger(up42, "up42")
    not_numeric = await client.post("/go/api/stages/up42/x/build/run", headers=CONFIRM2)
    assert not_numeric.status_code == 422
    assert not_numeric.json() == {
        "message": "Error while running [up42/x/build]. Received non-numeric pipeline counter 'x'."
    }
    assert (
        await client.post("/go/api/stages/up42/-1/build/run", headers=CONFIRM2)
    ).status_code == 422
    busy = await client.post("/go/api/stages/up42/1/deploy/run", headers=CONFIRM2)
    assert busy.status_code == 409
    assert busy.json() == {"message": "Cannot schedule: Stage [up42/1] is still in progress"}
    assert (
        await client.post("/go/api/stages/nope/1/build/run", headers=CONFIRM2)
    ).status_code == 404
    assert (
        await client.post("/go/api/stages/up42/9/build/run", headers=CONFIRM2)
    ).status_code == 404
    assert await stage_counters(up42) == [1]


async def test_cancel(client: httpx.AsyncClient, up42: Services) -> None:
    started = await b.trigger(up42, "up42")
    await b.start_job(up42, started.stages[0].jobs[0].id)
    response = await client.post("/go/api/stages/up42/1/build/1/cancel", headers=CONFIRM3)
    assert response.status_code == 200
    assert response.json() == {"message": "Stage cancelled successfully."}
    again = await client.post("/go/api/stages/up42/1/build/1/cancel", headers=CONFIRM3)
    assert again.json() == {"message": "Stage is not active. Cancellation Ignored."}
    body = (await client.get("/go/api/stages/up42/1/build/1", headers=V3)).json()
    assert body["result"] == "Cancelled"
    keys = list(body)
    assert keys[keys.index("result") + 1] == "cancelled_by"
    assert body["cancelled_by"] == "anonymous"
    missing = await client.post("/go/api/stages/up42/1/build/7/cancel", headers=CONFIRM3)
    assert missing.status_code == 404
    no_confirm = await client.post("/go/api/stages/up42/1/build/1/cancel", headers=V3)
    assert no_confirm.status_code == 400


async def test_rerun_failed_and_selected_jobs(client: httpx.AsyncClient, up42: Services) -> None:
    started = await b.trigger(up42, "up42")
    compile_job, lint_job = started.stages[0].jobs
    await b.finish_job(up42, compile_job.id, JobResult.PASSED)
    await b.finish_job(up42, lint_job.id, JobResult.FAILED)

    failed = await client.post("/go/api/stages/up42/1/build/1/run-failed-jobs", headers=CONFIRM3)
    assert failed.status_code == 202
    assert failed.json() == {"message": "Request to rerun jobs for up42/1/build/1 accepted"}
    rerun = (await client.get("/go/api/stages/up42/1/build/2", headers=V3)).json()
    assert rerun["rerun_of_counter"] == 1
    by_name = {j["name"]: j for j in rerun["jobs"]}
    assert by_name["lint"]["rerun"] is True
    assert by_name["compile"]["original_job_id"] == compile_job.id

    selected = await client.post(
        "/go/api/stages/up42/1/build/1/run-selected-jobs", headers=JSON3, json={"jobs": ["nope"]}
    )
    assert selected.status_code == 404
    nothing_failed_stage = await client.post(
        "/go/api/stages/up42/1/build/1/run-selected-jobs", headers=JSON3, json={"jobs": []}
    )
    assert nothing_failed_stage.status_code == 400
    for bad in (
        await client.post(
            "/go/api/stages/up42/1/build/1/run-selected-jobs", headers=JSON3, json={"x": 1}
        ),
        await client.post(
            "/go/api/stages/up42/1/build/1/run-selected-jobs", headers=JSON3, json={"jobs": "a"}
        ),
        await client.post(
            "/go/api/stages/up42/1/build/1/run-selected-jobs", headers=JSON3, json=[1]
        ),
    ):
        assert bad.status_code == 422
        assert bad.json() == {"message": "Could not read property 'jobs' in request body"}
    malformed = await client.post(
        "/go/api/stages/up42/1/build/1/run-selected-jobs", headers=JSON3, content=b"{"
    )
    assert malformed.status_code == 400
    assert await stage_counters(up42) == [1, 2]


async def test_rerun_messages_when_nothing_to_rerun(
    client: httpx.AsyncClient, up42: Services
) -> None:
    await b.run_to_end(up42, "up42")
    none_failed = await client.post(
        "/go/api/stages/up42/1/build/1/run-failed-jobs", headers=CONFIRM3
    )
    assert none_failed.status_code == 400
    assert none_failed.json() == {
        "message": "There are no failed jobs in the stage that could be re-run"
    }
    none_selected = await client.post(
        "/go/api/stages/up42/1/build/1/run-selected-jobs", headers=JSON3, json={"jobs": []}
    )
    assert none_selected.status_code == 400
    assert none_selected.json() == {"message": "No job was selected to re-run."}
    unknown_job = await client.post(
        "/go/api/stages/up42/1/build/1/run-selected-jobs", headers=JSON3, json={"jobs": ["x"]}
    )
    assert unknown_job.status_code == 404
    assert unknown_job.json() == {
        "message": "Job(s) ['x'] does not exist in stage 'up42/1/build/1'."
    }
    selected = await client.post(
        "/go/api/stages/up42/1/build/1/run-selected-jobs",
        headers=JSON3,
        json={"jobs": ["compile"]},
    )
    assert selected.status_code == 202
    assert await stage_counters(up42) == [1, 2]
