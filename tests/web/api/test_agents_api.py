"""Agents API v7 and agent job run history v1, GoCD's shapes and errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from pygocd.domain.pipelines import JobConfig, PipelineConfig, StageConfig
from pygocd.domain.states import AgentRuntimeStatus
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


async def building_agent(agent_services: Services, uuid: str) -> None:
    """A registered agent that has just been given the one job of pipeline `app`."""
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
    await register(agent_services, uuid)
    await trigger(agent_services, "app")
    await agent_services.assignment.claim(await agent_services.agents.get(uuid))


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
    await building_agent(agent_services, "a1")
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


async def test_bulk_update_adds_and_removes_names_and_sets_the_state(
    agent_services: Services, http: httpx.AsyncClient
) -> None:
    await register(agent_services, "a1", resources=("linux", "chrome"), environments=("qa",))
    await register(agent_services, "a2", resources=("linux",))
    response = await http.patch(
        "/go/api/agents",
        headers=V7,
        json={
            "uuids": ["a1", "a2"],
            "operations": {
                "environments": {"add": ["dev", "test"], "remove": ["qa"]},
                "resources": {"add": ["Firefox"], "remove": ["CHROME"]},
            },
            "agent_config_state": "disabled",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Updated agent(s) with uuid(s): [a1, a2]."}
    first = (await http.get("/go/api/agents/a1", headers=V7)).json()
    assert first["agent_config_state"] == "Disabled"
    assert first["resources"] == ["Firefox", "linux"]
    assert [e["name"] for e in first["environments"]] == ["dev", "test"]
    second = (await http.get("/go/api/agents/a2", headers=V7)).json()
    assert second["resources"] == ["Firefox", "linux"]


async def test_bulk_update_of_a_pending_agent_needs_a_state(
    agent_services: Services, http: httpx.AsyncClient
) -> None:
    await register(agent_services, "a1")
    await register(agent_services, "p1", key=None)
    add = {"resources": {"add": ["java"]}}
    refused = await http.patch(
        "/go/api/agents", headers=V7, json={"uuids": ["a1", "p1"], "operations": add}
    )
    assert refused.status_code == 400
    assert refused.json()["message"] == (
        "Pending agents [p1] must be explicitly enabled or disabled when performing any "
        "operations on them."
    )
    # Nothing changed on the other agent either: the update is all or nothing.
    assert (await http.get("/go/api/agents/a1", headers=V7)).json()["resources"] == []
    enabled = await http.patch(
        "/go/api/agents",
        headers=V7,
        json={"uuids": ["p1"], "operations": add, "agent_config_state": "Enabled"},
    )
    assert enabled.status_code == 200, enabled.text
    agent = (await http.get("/go/api/agents/p1", headers=V7)).json()
    assert (agent["agent_config_state"], agent["resources"]) == ("Enabled", ["java"])


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        ({"uuids": []}, 422, "Must specify agent 'uuids' for bulk update."),
        ({}, 422, "Must specify agent 'uuids' for bulk update."),
        ({"uuids": "a1"}, 422, "Could not read property 'uuids' as a JsonArray in json"),
        ({"uuids": [1]}, 422, "Could not read property 'uuids' as a JsonArray containing"),
        ({"uuids": ["a1"]}, 400, "No operation is specified in the request to be performed"),
        ({"uuids": ["a1"], "agent_config_state": "Pending"}, 422, "can be one of `Enabled`"),
        ({"uuids": ["a1"], "operations": []}, 422, "'operations' as a JsonObject"),
        ({"uuids": ["a1"], "operations": {"resources": "x"}}, 422, "'resources' as a JsonObject"),
        (
            {"uuids": ["a1"], "operations": {"resources": {"add": "x"}}},
            422,
            "'add' as a JsonArray",
        ),
        (
            {"uuids": ["a1", "ghost", "gone"], "agent_config_state": "Enabled"},
            404,
            "Agents with uuids 'ghost,gone' were not found!",
        ),
        (
            {"uuids": ["a1"], "operations": {"resources": {"add": ["no,comma"]}}},
            422,
            "Validations failed for bulk update of agents. Error(s): [\"Resource name 'no,comma'",
        ),
    ],
)
async def test_bulk_update_refuses_bad_input_and_changes_nothing(
    agent_services: Services,
    http: httpx.AsyncClient,
    body: dict[str, object],
    status: int,
    text: str,
) -> None:
    await register(agent_services, "a1", resources=("linux",))
    response = await http.patch("/go/api/agents", headers=V7, json=body)
    assert response.status_code == status, response.text
    assert text in response.json()["message"]
    agent = (await http.get("/go/api/agents/a1", headers=V7)).json()
    assert (agent["agent_config_state"], agent["resources"]) == ("Enabled", ["linux"])


async def test_bulk_update_rejects_malformed_json_and_other_content_types(
    agent_services: Services, http: httpx.AsyncClient
) -> None:
    await register(agent_services, "a1")
    malformed = await http.patch(
        "/go/api/agents",
        headers={**V7, "Content-Type": "application/json"},
        content=b"{nope",
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"].startswith("Payload data is not valid JSON")
    text = await http.patch(
        "/go/api/agents", headers={**V7, "Content-Type": "text/plain"}, content=b"{}"
    )
    assert text.status_code == 415


async def test_bulk_delete_removes_only_disabled_idle_agents(
    agent_services: Services, http: httpx.AsyncClient
) -> None:
    for uuid in ("a1", "a2", "a3"):
        await register(agent_services, uuid)
    await http.patch(
        "/go/api/agents", headers=V7, json={"uuids": ["a1", "a2"], "agent_config_state": "Disabled"}
    )
    refused = await http.request(
        "DELETE", "/go/api/agents", headers=V7, json={"uuids": ["a1", "a3"]}
    )
    assert refused.status_code == 422
    assert refused.json()["message"] == (
        "Your request could not be processed. Could not delete any agents, as one or more "
        "agents might not be disabled or are still building."
    )
    one = await http.request("DELETE", "/go/api/agents", headers=V7, json={"uuids": ["a3"]})
    assert one.status_code == 422
    assert "Failed to delete an agent, as it is not in a disabled state" in one.json()["message"]
    missing = await http.request(
        "DELETE", "/go/api/agents", headers=V7, json={"uuids": ["a1", "ghost"]}
    )
    assert missing.status_code == 404
    assert missing.json()["message"] == "Agent with uuid 'ghost' was not found!"
    assert len((await http.get("/go/api/agents", headers=V7)).json()["_embedded"]["agents"]) == 3
    deleted = await http.request(
        "DELETE", "/go/api/agents", headers=V7, json={"uuids": ["a1", "a2"]}
    )
    assert deleted.json() == {"message": "Deleted 2 agent(s)."}
    left = (await http.get("/go/api/agents", headers=V7)).json()["_embedded"]["agents"]
    assert [a["uuid"] for a in left] == ["a3"]
    for empty in ({"uuids": []}, None):
        nothing = await http.request("DELETE", "/go/api/agents", headers=V7, json=empty)
        assert nothing.json() == {"message": "Deleted 0 agent(s)."}
    wrong = await http.request("DELETE", "/go/api/agents", headers=V7, json={"uuids": "a3"})
    assert wrong.status_code == 422


async def test_a_building_agent_cannot_be_deleted_even_when_disabled(
    agent_services: Services, http: httpx.AsyncClient
) -> None:
    await building_agent(agent_services, "a1")
    await http.patch("/go/api/agents/a1", headers=V7, json={"agent_config_state": "Disabled"})
    refused = await http.request("DELETE", "/go/api/agents", headers=V7, json={"uuids": ["a1"]})
    assert refused.status_code == 422
    assert (await http.get("/go/api/agents/a1", headers=V7)).status_code == 200


async def test_kill_running_tasks_needs_a_cancelling_agent_and_a_confirm_header(
    agent_services: Services, http: httpx.AsyncClient
) -> None:
    assert agent_services.agents is not None
    await register(agent_services, "a1")
    url = "/go/api/agents/a1/kill_running_tasks"
    confirm = {**V7, "X-GoCD-Confirm": "true"}
    unconfirmed = await http.post(url, headers=V7)
    assert unconfirmed.status_code == 400
    assert "X-GoCD-Confirm" in unconfirmed.json()["message"]
    idle = await http.post(url, headers=confirm)
    assert idle.status_code == 409
    assert idle.json()["message"] == (
        "The agent should be in cancelled state before attempting to kill running tasks. "
        "Current Agent state is: 'Idle'"
    )
    assert (
        await http.post("/go/api/agents/ghost/kill_running_tasks", headers=confirm)
    ).status_code == 404
    await agent_services.agents.heartbeat("a1", AgentRuntimeStatus.CANCELLED)
    shown = (await http.get("/go/api/agents/a1", headers=V7)).json()
    assert (shown["agent_state"], shown["build_state"]) == ("Building", "Cancelled")
    accepted = await http.post(url, headers=confirm)
    assert (accepted.status_code, accepted.content) == (202, b"")
    assert accepted.headers["content-type"].startswith("application/vnd.go.cd.v7+json")
    assert agent_services.agents.kill_requested("a1")
    again = await http.post(url, headers=confirm)
    assert again.status_code == 409
    assert again.json()["message"] == "There is a pending request to kill running task."
    # Back to Idle, the request is spent, as GoCD's clearCancelledState.
    await agent_services.agents.heartbeat("a1", AgentRuntimeStatus.IDLE)
    assert not agent_services.agents.kill_requested("a1")
    assert (await http.post(url, headers=confirm)).status_code == 409


async def test_bulk_requests_larger_than_a_megabyte_are_refused(
    agent_services: Services, http: httpx.AsyncClient
) -> None:
    await register(agent_services, "a1")
    huge = {"uuids": ["a1"], "operations": {"resources": {"add": ["x" * (1024 * 1024)]}}}
    for method in ("PATCH", "DELETE"):
        response = await http.request(method, "/go/api/agents", headers=V7, json=huge)
        assert response.status_code == 413
    assert (await http.get("/go/api/agents/a1", headers=V7)).json()["resources"] == []
