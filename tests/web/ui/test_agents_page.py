"""The agents page: GoCD's table, counts, bulk enable/disable/delete, tri-state resources and
environments, pending agents to approve, and the live table over SSE."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pygocd.domain.environments import EnvironmentConfig
from pygocd.domain.states import AgentConfigState
from pygocd.services.events import AGENT_CHANGED
from pygocd.services.registry import Services
from pygocd.settings import Settings
from pygocd.web.app import create_app
from pygocd.web.ui.agents import agents_context, human_size, render_agents
from pygocd.web.ui.live import fragment_stream
from tests.agent_setup import register, save, with_agents
from tests.web.ui.dom import Node, parse

pytestmark = pytest.mark.db

HX = {"HX-Request": "true"}


@pytest.fixture
async def agent_services(services: Services, tmp_path: Path) -> Services:
    return with_agents(services, tmp_path)


@pytest.fixture
async def client(agent_services: Services, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(agent_services, settings, loops=())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8153") as c:
        yield c


async def page(client: httpx.AsyncClient) -> Node:
    response = await client.get("/go/agents")
    assert response.status_code == 200
    return parse(response.text)


def rows(doc: Node) -> dict[str, list[str]]:
    found = doc.find_all(lambda n: n.tag == "tr" and "data-uuid" in n.attrs)
    return {r.attrs["data-uuid"]: [c.text for c in r.by_tag("td")][1:] for r in found}


async def post(client: httpx.AsyncClient, data: dict[str, object]) -> tuple[str, str]:
    response = await client.post("/go/ui/agents", data=data, headers=HX)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    flash = parse(response.text).one(lambda n: n.has_class("flash"))
    kind = next(c for c in flash.attrs["class"].split() if c.startswith("callout--"))
    return kind.removeprefix("callout--"), flash.text


async def test_table_counts_and_pending_agents(
    client: httpx.AsyncClient, agent_services: Services
) -> None:
    await register(agent_services, "a1", resources=("linux", "java"))
    await register(agent_services, "p1", key=None)
    doc = await page(client)
    table = rows(doc)
    assert table["a1"][0] == "a1.local"
    assert table["a1"][4] == "Idle"
    assert table["a1"][6] == "linux, java"
    assert table["a1"][7] == "none specified"
    assert table["p1"][4] == "Pending"
    counts = {
        d.one(lambda n: n.tag == "dt").text: d.one(lambda n: n.tag == "dd").text
        for d in doc.one(lambda n: n.attrs.get("id") == "agents-counts").by_tag("div")
    }
    assert counts == {"Total": "2", "Pending": "1", "Enabled": "1", "Disabled": "0"}
    headers = [th.text for th in doc.by_tag("th")][1:]
    assert headers == [
        "Agent Name",
        "Sandbox",
        "OS",
        "IP Address",
        "Status",
        "Free Space",
        "Resources",
        "Environments",
    ]
    resources = doc.one(lambda n: n.attrs.get("id") == "agents-resource-choices")
    assert [
        i.attrs["value"] for i in resources.by_tag("input") if i.attrs["type"] == "checkbox"
    ] == [
        "java",
        "linux",
    ]
    assert (
        doc.one(lambda n: "sse-connect" in n.attrs).attrs["sse-connect"] == "/go/ui/events/agents"
    )


async def test_enable_a_pending_agent_then_disable_and_delete(
    client: httpx.AsyncClient, agent_services: Services
) -> None:
    assert agent_services.agents is not None
    await register(agent_services, "p1", key=None)
    assert await post(client, {"op": "enable", "uuid": ["p1"]}) == (
        "success",
        "Enabled 1 agent(s)",
    )
    assert (await agent_services.agents.get("p1")).config_state is AgentConfigState.ENABLED

    kind, message = await post(client, {"op": "delete", "uuid": ["p1"]})
    assert kind == "alert"
    assert "not in a disabled state" in message

    await post(client, {"op": "disable", "uuid": ["p1"]})
    assert rows(await page(client))["p1"][4] == "Disabled"
    assert await post(client, {"op": "delete", "uuid": ["p1"]}) == ("success", "Deleted 1 agent(s)")
    assert "p1" not in rows(await page(client))


async def test_nothing_selected_is_an_alert(client: httpx.AsyncClient) -> None:
    assert await post(client, {"op": "enable"}) == ("alert", "Select at least one agent.")


async def test_resources_apply_tri_state(
    client: httpx.AsyncClient, agent_services: Services
) -> None:
    assert agent_services.agents is not None
    await register(agent_services, "a", resources=("x", "y"))
    await register(agent_services, "b", resources=("x",))
    data = {
        "op": "resources",
        "uuid": ["a", "b"],
        "resource_shown": ["x", "y", "z"],
        "resource": ["z"],  # checked: every selected agent gets it
        "resource_keep": ["y"],  # indeterminate: left as each agent has it
        "resource_new": "w",  # typed in: added
    }
    assert (await post(client, data))[0] == "success"
    assert (await agent_services.agents.get("a")).resources == ("y", "z", "w")
    assert (await agent_services.agents.get("b")).resources == ("z", "w")


async def test_environments_apply(client: httpx.AsyncClient, agent_services: Services) -> None:
    assert agent_services.agents is not None
    await save(agent_services, environments=(EnvironmentConfig("qa"), EnvironmentConfig("prod")))
    await register(agent_services, "a", environments=("qa",))
    doc = await page(client)
    choices = doc.one(lambda n: n.attrs.get("id") == "agents-environment-choices")
    assert [i.attrs["value"] for i in choices.by_tag("input") if i.attrs["type"] == "checkbox"] == [
        "prod",
        "qa",
    ]
    data = {
        "op": "environments",
        "uuid": ["a"],
        "environment_shown": ["prod", "qa"],
        "environment": ["prod"],
    }
    assert (await post(client, data))[0] == "success"
    assert (await agent_services.agents.get("a")).environments == ("prod",)
    assert rows(await page(client))["a"][7] == "prod"


async def test_an_agent_change_pushes_the_fresh_table(agent_services: Services) -> None:
    async def render(_names: set[str] | None) -> str:
        return render_agents(await agents_context(agent_services))

    stream = fragment_stream(agent_services.bus, render, topics=(AGENT_CHANGED,))
    await anext(stream)
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.01)
    await register(agent_services, "p1", key=None)
    message = await asyncio.wait_for(waiting, 2)
    doc = parse(message["data"])
    body = doc.one(lambda n: n.attrs.get("id") == "agents-table-scroll")
    assert body.attrs["hx-swap-oob"] == "true"
    assert rows(doc)["p1"][4] == "Pending"
    await stream.aclose()


def test_free_space_reads_like_gocd() -> None:
    assert human_size(32_180_000_000) == "29.97 GB"
    assert human_size(512) == "512 bytes"
    assert human_size(None) == "Unknown"
