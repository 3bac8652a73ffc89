"""Materials API v2: the config's materials and a material's modifications, paged by 10."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from pygocd.domain.materials import GitMaterialConfig
from pygocd.services.materials import MaterialUpdateService
from pygocd.services.registry import Services
from pygocd.settings import Settings
from pygocd.web.app import create_app
from tests.gitrepo import GitRepo
from tests.web.api.test_webhooks_api import save_pipelines

pytestmark = pytest.mark.db

V2 = {"Accept": "application/vnd.go.cd.v2+json"}


@pytest.fixture
async def setup(
    services: Services, settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, MaterialUpdateService, GitRepo, GitMaterialConfig]]:
    path = tmp_path / "repo"
    path.mkdir()
    repo = GitRepo(path, branch="main")
    repo.commit("first", a="1")
    material = GitMaterialConfig(url=str(repo.path), branch="main")
    secret = GitMaterialConfig(url="https://bob:s3cret@example.com/x.git", branch="dev")
    await save_pipelines(services, material, secret)
    materials = MaterialUpdateService(
        services.uow, services.bus, services.clock, lambda: services.config.current, tmp_path / "m"
    )
    app = create_app(replace(services, materials=materials), settings, loops=())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8153") as c:
        yield c, materials, repo, material
    await materials.close()


async def test_config_materials_lists_each_material_once_with_credentials_masked(
    setup: tuple[httpx.AsyncClient, MaterialUpdateService, GitRepo, GitMaterialConfig],
) -> None:
    client, _materials, _repo, material = setup
    response = await client.get("/go/api/config/materials", headers=V2)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.go.cd.v2+json")
    body = response.json()
    found = body["_embedded"]["materials"]
    assert [m["type"] for m in found] == ["git", "git"]
    assert found[0]["fingerprint"] == material.fingerprint
    assert found[0]["attributes"]["url"] == material.url
    assert found[1]["attributes"]["url"] == "https://bob:******@example.com/x.git"
    assert "s3cret" not in response.text
    assert body["_links"]["self"]["href"].endswith("/go/api/config/materials")


async def test_modifications_newest_first_in_pages_of_ten(
    setup: tuple[httpx.AsyncClient, MaterialUpdateService, GitRepo, GitMaterialConfig],
) -> None:
    client, materials, repo, material = setup
    await materials.update(material)
    revisions = [repo.commit(f"change {n}", a=str(n)) for n in range(11)]
    await materials.update(material)

    page = await client.get(f"/go/api/materials/{material.fingerprint}/modifications", headers=V2)
    assert page.status_code == 200
    body = page.json()["_embedded"]
    assert body["pagination"] == {"offset": 0, "total": 12, "page_size": 10}
    shown = body["modifications"]
    assert [m["revision"] for m in shown] == revisions[::-1][:10]
    newest = shown[0]
    assert newest["comment"] == "change 10"
    assert newest["user_name"] == "Ada Lovelace <ada@example.com>"
    assert newest["email_address"] == "ada@example.com"
    assert isinstance(newest["modified_time"], int)
    assert isinstance(newest["id"], int)

    rest = await client.get(
        f"/go/api/materials/{material.fingerprint}/modifications/10", headers=V2
    )
    assert [m["comment"] for m in rest.json()["_embedded"]["modifications"]] == [
        "change 0",
        "first",
    ]


async def test_modifications_of_an_unknown_material_is_404_and_accept_is_required(
    setup: tuple[httpx.AsyncClient, MaterialUpdateService, GitRepo, GitMaterialConfig],
) -> None:
    client, _materials, _repo, material = setup
    unknown = await client.get("/go/api/materials/abc/modifications", headers=V2)
    assert unknown.status_code == 404
    assert "abc" in unknown.json()["message"]
    no_accept = await client.get(f"/go/api/materials/{material.fingerprint}/modifications")
    assert no_accept.status_code == 404
    empty = await client.get(f"/go/api/materials/{material.fingerprint}/modifications", headers=V2)
    assert empty.json()["_embedded"]["modifications"] == []
