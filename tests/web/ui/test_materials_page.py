"""The materials page: each material with its pipelines, last poll, latest modification and
errors (credentials masked), and the live list over SSE."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from pygocd.domain.materials import GitMaterialConfig
from pygocd.services.events import MATERIAL_UPDATED
from pygocd.services.materials import MaterialUpdateService
from pygocd.services.registry import Services
from pygocd.settings import Settings
from pygocd.web.app import create_app
from pygocd.web.ui.live import fragment_stream
from pygocd.web.ui.materials import materials_context, render_materials
from tests.gitrepo import GitRepo
from tests.web.api.test_webhooks_api import save_pipelines
from tests.web.ui.dom import Node, parse

pytestmark = pytest.mark.db

Setup = tuple[httpx.AsyncClient, Services, MaterialUpdateService, GitRepo, GitMaterialConfig]


@pytest.fixture
async def setup(services: Services, settings: Settings, tmp_path: Path) -> AsyncIterator[Setup]:
    path = tmp_path / "repo"
    path.mkdir()
    repo = GitRepo(path, branch="main")
    repo.commit("Make the build faster\n\nand explain why", a="1")
    material = GitMaterialConfig(url=str(repo.path), branch="main")
    broken = GitMaterialConfig(url="https://bob:s3cret@127.0.0.1:9/nope.git", branch="dev")
    await save_pipelines(services, material, broken)
    materials = MaterialUpdateService(
        services.uow, services.bus, services.clock, lambda: services.config.current, tmp_path / "m"
    )
    wired = replace(services, materials=materials)
    app = create_app(wired, settings, loops=())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8153") as c:
        yield c, wired, materials, repo, material
    await materials.close()


def panels(doc: Node) -> list[Node]:
    return doc.find_all(lambda n: n.tag == "details" and n.has_class("material"))


async def test_materials_never_polled(setup: Setup) -> None:
    client, *_ = setup
    response = await client.get("/go/materials")
    assert response.status_code == 200
    assert "s3cret" not in response.text
    found = panels(parse(response.text))
    assert len(found) == 2
    assert all("This material was never parsed" in p.text for p in found)
    assert "https://bob:******@127.0.0.1:9/nope.git [dev]" in response.text


async def test_latest_modification_last_poll_and_errors(setup: Setup) -> None:
    client, _services, materials, repo, material = setup
    await materials.update(material)
    for m in materials.materials():
        if m.fingerprint != material.fingerprint:
            await materials.update(m)
    response = await client.get("/go/materials")
    assert "s3cret" not in response.text
    first, second = panels(parse(response.text))
    # the failing material comes first, open, with its error
    assert first.has_class("has-error")
    assert "open" in first.attrs
    assert "Modification check failed" in first.text
    assert second.attrs["id"] == f"material-{material.fingerprint[:16]}"
    assert "Make the build faster" in second.text
    assert "and explain why" in second.text  # full comment in the details
    assert "Last polled" in second.text
    assert second.by_tag("time")
    assert "p0" in [a.text for a in second.by_tag("a")]
    [vsm] = [a for a in second.by_tag("a") if a.text == "VSM"]
    head = repo.git("rev-parse", "HEAD")
    assert vsm.attrs["href"] == f"/go/materials/value_stream_map/{material.fingerprint}/{head}"
    assert (await client.get(vsm.attrs["href"])).status_code == 200


async def test_an_update_pushes_the_fresh_list(setup: Setup) -> None:
    _client, services, materials, _repo, material = setup

    async def render(_names: set[str] | None) -> str:
        return render_materials(await materials_context(services))

    stream = fragment_stream(services.bus, render, topics=(MATERIAL_UPDATED,))
    await anext(stream)
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.01)
    await materials.update(material)
    message = await asyncio.wait_for(waiting, 10)
    doc = parse(message["data"])
    assert doc.one(lambda n: n.attrs.get("id") == "materials-list").attrs["hx-swap-oob"] == "true"
    assert "Make the build faster" in doc.text
    await stream.aclose()
