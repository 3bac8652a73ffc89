"""Job API v1 against GoCD's contract: job instance and job history with cursors."""

from __future__ import annotations

import httpx
import pytest

from pygocd.services.registry import Services
from tests import builders as b

pytestmark = pytest.mark.db

V1 = {"Accept": "application/vnd.go.cd.v1+json"}


@pytest.fixture
async def up42(services: Services) -> Services:
    await b.save(services, b.pipeline("up42", b.stage("build", "compile")))
    await b.commit(services)
    return services


async def test_job_instance_shape(client: httpx.AsyncClient, up42: Services) -> None:
    await b.run_to_end(up42, "up42")
    response = await client.get("/go/api/jobs/up42/1/build/1/compile", headers=V1)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.go.cd.v1+json;charset=utf-8"
    body = response.json()
    assert list(body) == [
        "name",
        "state",
        "result",
        "original_job_id",
        "scheduled_date",
        "rerun",
        "agent_uuid",
        "pipeline_name",
        "pipeline_counter",
        "stage_name",
        "stage_counter",
        "job_state_transitions",
    ]
    assert (body["state"], body["result"], body["agent_uuid"]) == ("Completed", "Passed", "agent-1")
    assert (body["pipeline_name"], body["pipeline_counter"]) == ("up42", 1)
    assert (body["stage_name"], body["stage_counter"]) == ("build", "1")
    assert all(isinstance(t["state_change_time"], int) for t in body["job_state_transitions"])


@pytest.mark.parametrize(
    "path",
    [
        "/go/api/jobs/up42/1/build/1/nope",
        "/go/api/jobs/up42/2/build/1/compile",
        "/go/api/jobs/up42/1/build/2/compile",
        "/go/api/jobs/up42/x/build/1/compile",
        "/go/api/jobs/up42/1/build/-1/compile",
        "/go/api/jobs/nope/1/build/1/compile",
    ],
)
async def test_unknown_jobs_are_404(client: httpx.AsyncClient, up42: Services, path: str) -> None:
    await b.run_to_end(up42, "up42")
    response = await client.get(path, headers=V1)
    assert response.status_code == 404
    assert set(response.json()) == {"message"}


async def test_job_history_pages(client: httpx.AsyncClient, up42: Services) -> None:
    for _ in range(12):
        await b.run_to_end(up42, "up42")
    first = (await client.get("/go/api/jobs/up42/build/compile/history", headers=V1)).json()
    assert [j["pipeline_counter"] for j in first["jobs"]] == list(range(12, 2, -1))
    assert set(first["_links"]) == {"next"}
    second = (await client.get(first["_links"]["next"]["href"], headers=V1)).json()
    assert [j["pipeline_counter"] for j in second["jobs"]] == [2, 1]
    assert set(second["_links"]) == {"previous"}
    empty = (await client.get("/go/api/jobs/up42/build/nope/history", headers=V1)).json()
    assert empty == {"jobs": []}
    bad = await client.get("/go/api/jobs/up42/build/compile/history?after=abc", headers=V1)
    assert bad.status_code == 400
    unknown = await client.get("/go/api/jobs/nope/build/compile/history", headers=V1)
    assert unknown.status_code == 404
