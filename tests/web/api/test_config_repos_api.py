"""Config repos API v4 and server health messages v1, against real git repos."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from pygocd.services.config_repos import ConfigRepoService
from pygocd.services.health import ServerHealth
from pygocd.services.registry import Services
from pygocd.settings import Settings
from pygocd.web.app import create_app
from tests.fakes import FakeClock
from tests.gitrepo import BROKEN_YAML, GitRepo, pipeline_yaml

pytestmark = pytest.mark.db

V4 = {"Accept": "application/vnd.go.cd.v4+json"}
V1 = {"Accept": "application/vnd.go.cd.v1+json"}
BASE = "/go/api/admin/config_repos"


@pytest.fixture
def repos(services: Services, clock: FakeClock, tmp_path: Path) -> ConfigRepoService:
    return ConfigRepoService(services.config, ServerHealth(clock), tmp_path / "cache")


@pytest.fixture
async def api(
    services: Services, repos: ConfigRepoService, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    wired = replace(services, config_repos=repos, health=repos._health)
    app = create_app(wired, settings, loops=())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8153") as c:
        yield c
    await repos.close()


@pytest.fixture
def remote(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "remote")


def body(repo_id: str, url: str, **attributes: Any) -> dict[str, Any]:
    return {
        "id": repo_id,
        "plugin_id": "yaml.config.plugin",
        "material": {"type": "git", "attributes": {"url": url, "branch": "master", **attributes}},
        "configuration": [],
        "rules": [],
    }


async def create(api: httpx.AsyncClient, repo_id: str, url: str, **attrs: Any) -> httpx.Response:
    return await api.post(BASE, json=body(repo_id, url, **attrs), headers=V4)


async def settle(repos: ConfigRepoService) -> None:
    await repos.wait_idle()


async def test_create_get_list_and_parse_info(
    api: httpx.AsyncClient, repos: ConfigRepoService, remote: GitRepo
) -> None:
    revision = remote.commit("first", {"ci.gocd.yaml": pipeline_yaml("build")})
    created = await create(api, "r1", str(remote.path))
    assert created.status_code == 200, created.text
    assert created.headers["content-type"] == "application/vnd.go.cd.v4+json;charset=utf-8"
    assert created.headers["etag"].startswith('"')
    assert created.json()["id"] == "r1"
    await settle(repos)

    one = await api.get(f"{BASE}/r1", headers=V4)
    assert one.status_code == 200
    assert one.headers["etag"] == created.headers["etag"]
    listed = await api.get(BASE, headers=V4)
    [item] = listed.json()["_embedded"]["config_repos"]
    assert item["material"] == {
        "type": "git",
        "attributes": {
            "url": str(remote.path),
            "username": None,
            "branch": "master",
            "auto_update": True,
        },
    }
    assert item["material_update_in_progress"] is False
    info = item["parse_info"]
    assert info["error"] is None
    assert info["good_modification"]["revision"] == revision
    assert info["good_modification"]["comment"] == "first"
    assert info["good_modification"]["username"] == "Ada Lovelace <ada@example.com>"
    assert info["good_modification"]["modified_time"].endswith("Z")
    assert info["latest_parsed_modification"] == info["good_modification"]

    definitions = await api.get(f"{BASE}/r1/definitions", headers=V4)
    assert definitions.status_code == 200
    assert definitions.json()["groups"] == [{"name": "team", "pipelines": [{"name": "build"}]}]
    assert definitions.json()["environments"] == []
    again = await api.get(
        f"{BASE}/r1/definitions",
        headers={**V4, "If-None-Match": definitions.headers["etag"]},
    )
    assert again.status_code == 304


async def test_broken_commit_then_trigger_update(
    api: httpx.AsyncClient, repos: ConfigRepoService, remote: GitRepo
) -> None:
    good = remote.commit("good", {"ci.gocd.yaml": pipeline_yaml("build")})
    await create(api, "r1", str(remote.path))
    await settle(repos)
    remote.commit("broken", {"ci.gocd.yaml": BROKEN_YAML})

    triggered = await api.post(
        f"{BASE}/r1/trigger_update", headers={**V4, "X-GoCD-Confirm": "true"}
    )
    assert triggered.status_code == 201
    assert triggered.json() == {"message": "OK"}
    status = await api.get(f"{BASE}/r1/status", headers=V4)
    assert status.json() == {"in_progress": True}
    busy = await api.post(f"{BASE}/r1/trigger_update", headers={**V4, "X-GoCD-Confirm": "true"})
    assert busy.status_code == 409
    assert busy.json() == {"message": "Update already in progress."}
    await settle(repos)
    assert (await api.get(f"{BASE}/r1/status", headers=V4)).json() == {"in_progress": False}

    info = (await api.get(f"{BASE}/r1", headers=V4)).json()["parse_info"]
    assert info["error"]
    assert info["good_modification"]["revision"] == good
    assert info["latest_parsed_modification"]["comment"] == "broken"
    pipeline = await api.get(
        "/go/api/admin/pipelines/build", headers={"Accept": "application/vnd.go.cd.v11+json"}
    )
    assert pipeline.status_code == 200
    assert pipeline.json()["origin"]["type"] == "config_repo"

    health = await api.get("/go/api/server_health_messages", headers=V1)
    assert health.status_code == 200
    [message] = health.json()
    assert message["level"] == "ERROR"
    assert set(message) == {"message", "detail", "level", "time"}
    assert "ci.gocd.yaml" in message["detail"]


async def test_trigger_update_needs_confirm(api: httpx.AsyncClient, remote: GitRepo) -> None:
    await create(api, "r1", str(remote.path))
    response = await api.post(f"{BASE}/r1/trigger_update", headers=V4)
    assert response.status_code == 400
    assert response.json() == {
        "message": "Missing required header 'X-GoCD-Confirm' with value 'true'"
    }


async def test_put_needs_a_fresh_if_match(
    api: httpx.AsyncClient, repos: ConfigRepoService, remote: GitRepo
) -> None:
    created = await create(api, "r1", str(remote.path))
    etag = created.headers["etag"]
    changed = body("r1", str(remote.path), branch="develop")
    missing = await api.put(f"{BASE}/r1", json=changed, headers=V4)
    assert missing.status_code == 412
    assert "Someone has modified the configuration" in missing.json()["message"]
    stale = await api.put(f"{BASE}/r1", json=changed, headers={**V4, "If-Match": '"nope"'})
    assert stale.status_code == 412

    updated = await api.put(f"{BASE}/r1", json=changed, headers={**V4, "If-Match": etag})
    assert updated.status_code == 200, updated.text
    assert updated.json()["material"]["attributes"]["branch"] == "develop"
    assert updated.headers["etag"] != etag
    await settle(repos)

    renamed = await api.put(
        f"{BASE}/r1", json=body("r2", "x"), headers={**V4, "If-Match": updated.headers["etag"]}
    )
    assert renamed.status_code == 422


async def test_credentials_are_masked_and_kept_through_a_round_trip(
    api: httpx.AsyncClient, repos: ConfigRepoService
) -> None:
    url = "https://bob:s3cret@127.0.0.1:9/repo.git"
    created = await create(api, "secret", url)
    assert created.status_code == 200
    assert "s3cret" not in created.text
    await settle(repos)
    shown = await api.get(f"{BASE}/secret", headers=V4)
    assert "s3cret" not in shown.text
    assert shown.json()["parse_info"]["error"]
    health = await api.get("/go/api/server_health_messages", headers=V1)
    assert "s3cret" not in health.text
    # GET → PUT with the masked URL keeps the real one
    repo_json = shown.json()
    repo_json["material"]["attributes"]["auto_update"] = False
    put = await api.put(
        f"{BASE}/secret",
        json={k: repo_json[k] for k in ("id", "plugin_id", "material", "configuration")},
        headers={**V4, "If-Match": shown.headers["etag"]},
    )
    assert put.status_code == 200, put.text
    material = repos.get("secret").material
    assert getattr(material, "url", None) == url
    await settle(repos)


async def test_errors(api: httpx.AsyncClient, remote: GitRepo) -> None:
    missing = await api.get(f"{BASE}/nope", headers=V4)
    assert missing.status_code == 404
    assert missing.json() == {"message": "Config repo with id 'nope' was not found!"}
    for path in ("/status", "/definitions"):
        assert (await api.get(f"{BASE}/nope{path}", headers=V4)).status_code == 404
    trigger = await api.post(
        f"{BASE}/nope/trigger_update", headers={**V4, "X-GoCD-Confirm": "true"}
    )
    assert trigger.status_code == 404
    assert (await api.delete(f"{BASE}/nope", headers=V4)).status_code == 404

    wrong_accept = await api.get(BASE, headers={"Accept": "application/json"})
    assert wrong_accept.status_code == 404
    assert wrong_accept.headers["content-type"].startswith("text/plain")

    not_json = await api.post(
        BASE, content=b"id=x", headers={**V4, "Content-Type": "application/x-www-form-urlencoded"}
    )
    assert not_json.status_code == 415
    bad_json = await api.post(
        BASE, content=b"{nope", headers={**V4, "Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["error"].startswith("Payload data is not valid JSON")

    for invalid in (
        [],
        {"id": "x"},
        {"id": "x", "material": {"type": "svn", "attributes": {"url": "u"}}},
        {"id": "x", "material": {"type": "git", "attributes": {"url": "u"}}, "configuration": 3},
        {"id": "x", "material": {"type": "git", "attributes": {"url": ""}}},
        {"id": "bad name", "material": {"type": "git", "attributes": {"url": "u"}}},
    ):
        response = await api.post(BASE, json=invalid, headers=V4)
        assert response.status_code == 422, (invalid, response.text)
        assert "message" in response.json()
        assert "data" in response.json()

    await create(api, "r1", str(remote.path))
    duplicate = await create(api, "r1", str(remote.path) + "-other")
    assert duplicate.status_code == 422
    assert duplicate.json()["data"]["errors"]["id"]
    same_url = await create(api, "r2", str(remote.path))
    assert same_url.status_code == 422
    assert same_url.json()["data"]["material"]["attributes"]["errors"]["url"]


async def test_delete_removes_the_repo_and_its_pipelines(
    api: httpx.AsyncClient, repos: ConfigRepoService, remote: GitRepo
) -> None:
    remote.commit("first", {"ci.gocd.yaml": pipeline_yaml("build")})
    await create(api, "r1", str(remote.path))
    await settle(repos)
    v11 = {"Accept": "application/vnd.go.cd.v11+json"}
    assert (await api.get("/go/api/admin/pipelines/build", headers=v11)).status_code == 200

    deleted = await api.delete(f"{BASE}/r1", headers=V4)
    assert deleted.status_code == 200
    assert deleted.json() == {"message": "The config repo 'r1' was deleted successfully."}
    assert (await api.get("/go/api/admin/pipelines/build", headers=v11)).status_code == 404
    assert (await api.get(BASE, headers=V4)).json()["_embedded"]["config_repos"] == []


async def test_health_messages_are_empty_without_problems(api: httpx.AsyncClient) -> None:
    response = await api.get("/go/api/server_health_messages", headers=V1)
    assert response.status_code == 200
    assert response.json() == []
    await asyncio.sleep(0)
