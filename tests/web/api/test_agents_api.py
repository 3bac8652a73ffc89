"""Agents API v7 and agent job run history v1, GoCD's shapes and errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from pygocd.domain.pipelines import JobConfig, PipelineConfig, StageConfig
from pygocd.domain.tasks import ExecTask
from pygocd.services.registry import Services
from pygocd.settings import Settings
from pygocd.web.app import create_app
from tests.agent_setup import REPO, commit, register, save, trigger, with_agents

pytestmark = pytest.mark.db

V7 = {"Accept": "application/vnd.go.cd.v7+json"}
V1 = {"Accept": "application/vnd.go.cd.v1+json"}


@pytest.fixture
def agent_services(services: Services, settings: Settings) -> Services:
    return with_agents(services, settings.data_dir)


@pytest.fixture
async def http(agent_services: Services, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(agent_services, settings, loops=())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8153"
    ) as client:
        yield client


async def test_list_and_get_show_gocds_agent_shape(
    agent_services: Services, http: httpx.AsyncClient
) -> None:
    await register(agent_services, "a1", resources=("linux", "java"), environments=("qa",))
    await register(agent_services, "a2", key=None)
    response = await http.get("/go/api/agents", headers=V7)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.go.cd.v7+json")
    agents = response.json()["_embedded"]["agents"]
    assert [a["uuid"] for a in agents] == ["a1", "a2"]
    first = agents[0]
    assert first["agent_config_state"] == "Enabled"
    assert first["agent_state"] == "Idle"
    assert first["build_state"] == "Idle"
    assert first["resources"] == ["java", "linux"]
    assert first["environments"] == [{"name": "qa", "origin": {"type": "unknown"}}]
    assert first["_links"]["self"]["href"].endswith("/go/api/agents/a1")
    assert agents[1]["agent_config_state"] == "Pending"
    one = await http.get("/go/api/agents/a2", headers=V7)
    assert one.json()["hostname"] == "a2.local"
    assert (await http.get("/go/api/agents/nope", headers=V7)).status_code == 404
    assert (
        await http.get("/go/api/agents", headers={"Accept": "application/json"})
    ).status_code == 404


async def test_patch_enables_and_sets_resources_and_environments(
    agent_services: Services, http: httpx.AsyncClient
) -> None:
    await register(agent_services, "a1", key=None)
    response = await http.patch(
        "/go/api/agents/a1",
        headers=V7,
        json={"agent_config_state": "enabled", "resources": "b, a", "environments": ["prod"]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["agent_config_state"] == "Enabled"
    assert body["resources"] == ["a", "b"]
    assert body["environments"][0]["name"] == "prod"
    nothing = await http.patch("/go/api/agents/a1", headers=V7, json={})
    assert nothing.status_code == 400
    assert "No operation" in nothing.json()["message"]
    bad = await http.patch("/go/api/agents/a1", headers=V7, json={"agent_config_state": "Pending"})
    assert bad.status_code == 422
    wrong_type = await http.patch(
        "/go/api/agents/a1", headers={**V7, "Content-Type": "text/plain"}, content=b"{}"
    )
    assert wrong_type.status_code == 415
    missing = await http.patch("/go/api/agents/nope", headers=V7, json={"hostname": "x"})
    assert missing.status_code == 404


async def test_delete_needs_a_disabled_agent(
    agent_services: Services, http: httpx.AsyncClient
) -> None:
    await register(agent_services, "a1")
    refused = await http.delete("/go/api/agents/a1", headers=V7)
    assert refused.status_code == 422
    await http.patch("/go/api/agents/a1", headers=V7, json={"agent_config_state": "Disabled"})
    deleted = await http.delete("/go/api/agents/a1", headers=V7)
    assert deleted.json() == {"message": "Deleted 1 agent(s)."}
    assert (await http.get("/go/api/agents/a1", headers=V7)).status_code == 404


async def test_job_run_history_and_build_details(
    agent_services: Services, http: httpx.AsyncClient
) -> None:
    assert agent_services.agents is not None
    assert agent_services.assignment is not None
    await save(
        agent_services,
        PipelineConfig(
            name="app",
            materials=(REPO,),
            stages=(StageConfig("build", jobs=(JobConfig("compile", tasks=(ExecTask("true"),)),)),),
        ),
    )
    await commit(agent_services)
    await register(agent_services, "a1")
    await trigger(agent_services, "app")
    await agent_services.assignment.claim(await agent_services.agents.get("a1"))
    agent = (await http.get("/go/api/agents/a1", headers=V7)).json()
    assert agent["agent_state"] == "Building"
    assert agent["build_details"]["pipeline_name"] == "app"
    assert agent["build_details"]["job_name"] == "compile"
    history = await http.get("/go/api/agents/a1/job_run_history", headers=V1)
    assert history.status_code == 200
    body = history.json()
    assert body["pagination"] == {"page_size": 50, "offset": 0, "total": 1}
    [job] = body["jobs"]
    assert job["pipeline_name"] == "app"
    assert job["stage_counter"] == "1"
    assert [t["state"] for t in job["job_state_transitions"]] == ["Scheduled", "Assigned"]
    bad = await http.get("/go/api/agents/a1/job_run_history", params={"page_size": 5}, headers=V1)
    assert bad.status_code == 400
