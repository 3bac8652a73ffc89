"""The agent protocol's HTTP edges: tokens (401/403, nothing changes), the protocol version,
reports on someone else's job, console offsets, artifact paths and checksums."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest

from pygocd.domain.pipelines import JobConfig, PipelineConfig, StageConfig
from pygocd.domain.states import AgentConfigState, JobState
from pygocd.domain.tasks import ExecTask
from pygocd.protocol import PROTOCOL_HEADER, UUID_HEADER, files_path, job_path
from pygocd.services.registry import Services
from pygocd.settings import Settings
from pygocd.web.app import create_app
from tests.agent_setup import KEY, REPO, commit, register, save, trigger, with_agents

pytestmark = pytest.mark.db

PROTOCOL = {PROTOCOL_HEADER: "1"}


@pytest.fixture
def agent_services(services: Services, settings: Settings) -> Services:
    return with_agents(services, settings.data_dir, lost_after=3)


@pytest.fixture
async def http(agent_services: Services, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(agent_services, settings, loops=())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1:8153", headers=PROTOCOL
    ) as client:
        yield client


def auth(uuid: str, token: str) -> dict[str, str]:
    return {UUID_HEADER: uuid, "Authorization": f"Bearer {token}"}


async def register_over_http(http: httpx.AsyncClient, uuid: str, key: str | None = KEY) -> str:
    response = await http.post(
        "/go/api/agent/register",
        json={"uuid": uuid, "hostname": uuid, "auto_register_key": key, "resources": ["x"]},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


async def assigned_job(agent_services: Services, http: httpx.AsyncClient, token: str) -> int:
    await save(
        agent_services,
        PipelineConfig(
            name="app",
            materials=(REPO,),
            stages=(StageConfig("build", jobs=(JobConfig("compile", tasks=(ExecTask("true"),)),)),),
        ),
    )
    await commit(agent_services)
    await trigger(agent_services, "app")
    response = await http.post(
        "/go/api/agent/work", json={"wait_seconds": 1}, headers=auth("a1", token)
    )
    body = response.json()
    assert body["type"] == "Work", body
    return int(body["job_id"])


async def test_registration_answers_the_token_once_and_refuses_a_taken_uuid(
    http: httpx.AsyncClient,
) -> None:
    token = await register_over_http(http, "a1")
    assert len(token) > 20
    again = await http.post("/go/api/agent/register", json={"uuid": "a1", "hostname": "h"})
    assert again.status_code == 409


async def test_a_missing_or_wrong_protocol_version_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/go/api/agent/register",
        json={"uuid": "a1", "hostname": "h"},
        headers={PROTOCOL_HEADER: "99"},
    )
    assert response.status_code == 400
    assert "protocol" in response.json()["message"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({UUID_HEADER: "a1"}, 401),
        ({UUID_HEADER: "a1", "Authorization": "Bearer wrong"}, 403),
        ({UUID_HEADER: "a1", "Authorization": "Basic abc"}, 401),
        ({UUID_HEADER: "nobody", "Authorization": "Bearer wrong"}, 403),
    ],
)
async def test_every_call_needs_the_agents_token_and_nothing_changes_without_it(
    agent_services: Services, http: httpx.AsyncClient, headers: dict[str, str], status: int
) -> None:
    assert agent_services.agents is not None
    token = await register_over_http(http, "a1")
    job_id = await assigned_job(agent_services, http, token)
    before = await agent_services.agents.get("a1")
    calls = [
        http.post("/go/api/agent/work", json={"wait_seconds": 0}, headers=headers),
        http.post("/go/api/agent/ping", json={}, headers=headers),
        http.post(
            job_path(job_id, "status"),
            json={"state": "Completed", "result": "Failed"},
            headers=headers,
        ),
        http.put(job_path(job_id, "console"), content=b"hacked\n", headers=headers),
        http.post(
            job_path(job_id, "artifacts"),
            data={"path": "x.txt"},
            files={"file": ("x.txt", b"x")},
            headers=headers,
        ),
        http.get(files_path("app/1/build/1/compile", "cruise-output/console.log"), headers=headers),
    ]
    for call in calls:
        response = await call
        assert response.status_code == status, response.text
    assert agent_services.jobs is not None
    job, _ = await agent_services.jobs.get(job_id)
    assert job.state is JobState.ASSIGNED
    after = await agent_services.agents.get("a1")
    assert after.last_heard_at == before.last_heard_at
    missing = await http.get("/go/files/app/1/build/1/compile/cruise-output/console.log")
    assert missing.status_code == 404


async def test_an_agent_may_only_report_on_its_own_job(
    agent_services: Services, http: httpx.AsyncClient
) -> None:
    token = await register_over_http(http, "a1")
    other = await register_over_http(http, "a2")
    job_id = await assigned_job(agent_services, http, token)
    for call in (
        http.post(
            job_path(job_id, "status"), json={"state": "Building"}, headers=auth("a2", other)
        ),
        http.put(job_path(job_id, "console"), content=b"x", headers=auth("a2", other)),
    ):
        assert (await call).status_code == 403
    mine = await http.post(
        job_path(job_id, "status"), json={"state": "Building"}, headers=auth("a1", token)
    )
    assert mine.json() == {"applied": True}


async def test_console_chunks_append_at_their_offset_without_duplicates(
    agent_services: Services, http: httpx.AsyncClient
) -> None:
    token = await register_over_http(http, "a1")
    job_id = await assigned_job(agent_services, http, token)
    headers = auth("a1", token)
    path = job_path(job_id, "console")
    first = await http.put(path, params={"offset": 0}, content=b"one\n", headers=headers)
    assert first.json()["size"] == 4
    # A resend of the same chunk (the reply was lost) is not stored twice.
    again = await http.put(path, params={"offset": 0}, content=b"one\ntwo\n", headers=headers)
    assert again.json()["size"] == 8
    gap = await http.put(path, params={"offset": 100}, content=b"x", headers=headers)
    assert gap.status_code == 409
    assert gap.json()["size"] == 8
    console = await http.get("/go/files/app/1/build/1/compile/cruise-output/console.log")
    assert console.text == "one\ntwo\n"
    tail = await http.get(
        "/go/files/app/1/build/1/compile/cruise-output/console.log", params={"offset": 4}
    )
    assert tail.text == "two\n"
    assert tail.headers["x-console-size"] == "8"


async def test_artifacts_are_checked_against_their_md5_and_stay_inside_the_job(
    agent_services: Services, http: httpx.AsyncClient, settings: Settings
) -> None:
    token = await register_over_http(http, "a1")
    job_id = await assigned_job(agent_services, http, token)
    headers = auth("a1", token)
    path = job_path(job_id, "artifacts")
    data = b"binary\x00data"
    good = await http.post(
        path,
        data={"path": "bin/app.bin", "md5": hashlib.md5(data).hexdigest()},
        files={"file": ("app.bin", data)},
        headers=headers,
    )
    assert good.status_code == 201, good.text
    for bad_path in ("../escape.txt", "/etc/passwd", "a/../../b", "cruise-output/console.log"):
        response = await http.post(
            path, data={"path": bad_path}, files={"file": ("x", b"x")}, headers=headers
        )
        assert response.status_code == 403, bad_path
    wrong = await http.post(
        path,
        data={"path": "other.bin", "md5": "0" * 32},
        files={"file": ("other.bin", data)},
        headers=headers,
    )
    assert wrong.status_code == 422
    twice = await http.post(
        path, data={"path": "bin/app.bin"}, files={"file": ("app.bin", data)}, headers=headers
    )
    assert twice.status_code == 409
    assert not (settings.data_dir / "artifacts" / "escape.txt").exists()
    assert not any(p.name == "escape.txt" for p in settings.data_dir.rglob("*"))
    listing = await http.get(
        files_path("app/1/build/1/compile", "bin"), params={"list": "1"}, headers=headers
    )
    assert listing.json()["entries"] == [
        {"path": "bin/app.bin", "size": len(data), "md5": hashlib.md5(data).hexdigest()}
    ]
    dotted = await http.get(files_path("app/1/build/1/compile", "%2E%2E/x"), headers=headers)
    assert dotted.status_code == 403
    downloaded = await http.get(files_path("app/1/build/1/compile", "bin/app.bin"), headers=headers)
    assert downloaded.content == data


async def test_a_pending_agent_waits_and_gets_work_once_enabled(
    agent_services: Services, http: httpx.AsyncClient
) -> None:
    assert agent_services.agents is not None
    token = await register_over_http(http, "a1", key=None)
    agent = await agent_services.agents.get("a1")
    assert agent.config_state is AgentConfigState.PENDING
    await save(
        agent_services,
        PipelineConfig(
            name="app",
            materials=(REPO,),
            stages=(StageConfig("build", jobs=(JobConfig("compile", tasks=(ExecTask("true"),)),)),),
        ),
    )
    await commit(agent_services)
    await trigger(agent_services, "app")
    response = await http.post(
        "/go/api/agent/work", json={"wait_seconds": 0.2}, headers=auth("a1", token)
    )
    assert response.json()["type"] == "NoWork"
    ping = await http.post("/go/api/agent/ping", json={}, headers=auth("a1", token))
    assert ping.json()["config_state"] == "Pending"
    await register(agent_services, "admin-enabled-later", key=None)
    from pygocd.services.agents import AgentUpdate

    await agent_services.agents.update("a1", AgentUpdate(config_state=AgentConfigState.ENABLED))
    response = await http.post(
        "/go/api/agent/work", json={"wait_seconds": 1}, headers=auth("a1", token)
    )
    assert response.json()["type"] == "Work"


async def test_protocol_2_reports_several_steps_in_one_call_in_order(
    agent_services: Services, http: httpx.AsyncClient
) -> None:
    token = await register_over_http(http, "a1")
    job_id = await assigned_job(agent_services, http, token)
    v2 = {PROTOCOL_HEADER: "2", **auth("a1", token)}
    assert agent_services.jobs is not None

    first = await http.post(job_path(job_id, "status"), json={"state": "Preparing"}, headers=v2)
    rest = await http.post(
        job_path(job_id, "status"),
        json={
            "state": "Completed",
            "result": "Passed",
            "earlier": [{"state": "Building"}, {"state": "Completing", "result": "Passed"}],
        },
        headers=v2,
    )

    assert (first.json(), rest.json()) == ({"applied": True}, {"applied": True})
    job, identifier = await agent_services.jobs.get(job_id)
    assert [t.state.value for t in job.transitions] == [
        "Scheduled",
        "Assigned",
        "Preparing",
        "Building",
        "Completing",
        "Completed",
    ]
    assert job.result.value == "Passed"
    stage = await http.get(
        f"/go/api/stages/{identifier.stage_locator}",
        headers={"Accept": "application/vnd.go.cd.v3+json"},
    )
    assert stage.json()["result"] == "Passed"


async def test_a_report_with_an_impossible_step_changes_nothing(
    agent_services: Services, http: httpx.AsyncClient
) -> None:
    token = await register_over_http(http, "a1")
    other = await register_over_http(http, "a2")
    job_id = await assigned_job(agent_services, http, token)
    assert agent_services.jobs is not None
    body = {"state": "Preparing", "earlier": [{"state": "Completing", "result": "Passed"}]}

    impossible = await http.post(
        job_path(job_id, "status"), json=body, headers={PROTOCOL_HEADER: "2", **auth("a1", token)}
    )
    not_mine = await http.post(
        job_path(job_id, "status"),
        json={"state": "Completed", "earlier": [{"state": "Building"}]},
        headers={PROTOCOL_HEADER: "2", **auth("a2", other)},
    )

    assert (impossible.status_code, not_mine.status_code) == (409, 403)
    job, _ = await agent_services.jobs.get(job_id)
    assert job.state is JobState.ASSIGNED
    assert [t.state.value for t in job.transitions] == ["Scheduled", "Assigned"]


@pytest.mark.parametrize("ending", ["cancelled", "completed"])
async def test_a_held_ping_says_cancel_only_when_the_job_was_cancelled(
    agent_services: Services, http: httpx.AsyncClient, ending: str
) -> None:
    token = await register_over_http(http, "a1")
    job_id = await assigned_job(agent_services, http, token)
    v2 = {PROTOCOL_HEADER: "2", **auth("a1", token)}
    assert agent_services.jobs is not None
    assert agent_services.agents is not None
    await http.post(job_path(job_id, "status"), json={"state": "Building"}, headers=v2)
    held = asyncio.create_task(
        http.post(
            "/go/api/agent/ping",
            json={"runtime_status": "Building", "job_id": job_id, "wait_seconds": 10},
            headers=v2,
        )
    )
    await asyncio.sleep(0.05)
    assert not held.done()  # held while the job runs

    if ending == "cancelled":
        assert await agent_services.jobs.cancel(job_id)
    else:
        done = {"state": "Completed", "result": "Passed", "earlier": [{"state": "Completing"}]}
        await http.post(job_path(job_id, "status"), json=done, headers=v2)
    reply = (await asyncio.wait_for(held, 10)).json()

    status = (await agent_services.agents.get("a1")).runtime_status.value
    if ending == "cancelled":
        assert (reply["cancel_job"], status) == (True, "Cancelled")
    else:  # nothing to stop, and the agent is not shown cancelling
        assert (reply["cancel_job"], status) == (False, "Building")
