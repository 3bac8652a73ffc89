"""Pipeline groups API v1: list, get, create, update (If-Match), delete (only when empty)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pygocd.domain.pipelines import Authorization
from pygocd.services.registry import Services
from tests.builders import pipeline, save

pytestmark = pytest.mark.db

V1 = {"Accept": "application/vnd.go.cd.v1+json"}
URL = "/go/api/admin/pipeline_groups"
CONTENT_TYPE = "application/vnd.go.cd.v1+json;charset=utf-8"


@pytest.fixture
async def api(services: Services, client: httpx.AsyncClient) -> httpx.AsyncClient:
    await save(services, pipeline("up42"), group="first")
    return client


async def revisions(services: Services) -> int:
    return len(await services.config.revisions(limit=1000))


async def test_list_and_get(api: httpx.AsyncClient) -> None:
    listed = await api.get(URL, headers=V1)
    assert listed.status_code == 200
    assert listed.headers["content-type"] == CONTENT_TYPE
    assert listed.headers["etag"].startswith('"')
    body = listed.json()
    assert body["_links"]["self"]["href"] == "http://127.0.0.1:8153/go/api/admin/pipeline_groups"
    [group] = body["_embedded"]["groups"]
    assert group["name"] == "first"
    assert group["authorization"] == {}
    assert [p["name"] for p in group["pipelines"]] == ["up42"]
    assert group["pipelines"][0]["_links"]["self"]["href"].endswith("/admin/pipelines/up42")
    cached = await api.get(URL, headers={**V1, "If-None-Match": listed.headers["etag"]})
    assert cached.status_code == 304

    one = await api.get(f"{URL}/first", headers=V1)
    assert one.status_code == 200
    assert one.headers["content-type"] == CONTENT_TYPE
    assert one.json() == group
    etag = one.headers["etag"]
    assert (await api.get(f"{URL}/first", headers={**V1, "If-None-Match": etag})).status_code == 304

    missing = await api.get(f"{URL}/nope", headers=V1)
    assert missing.status_code == 404
    assert missing.json() == {"message": "Pipeline group with name 'nope' was not found!"}
    wrong = await api.get(URL, headers={"Accept": "application/json"})
    assert wrong.status_code == 404
    assert wrong.headers["content-type"].startswith("text/plain")


async def test_create_then_get(api: httpx.AsyncClient, services: Services) -> None:
    count = await revisions(services)
    authorization = {
        "view": {"users": ["alice"], "roles": []},
        "admins": {"users": [], "roles": ["ops"]},
    }
    created = await api.post(
        URL, json={"name": "second", "authorization": authorization}, headers=V1
    )
    assert created.status_code == 200, created.text
    assert created.headers["content-type"] == CONTENT_TYPE
    body = created.json()
    assert body["name"] == "second"
    assert body["authorization"] == authorization
    assert body["pipelines"] == []
    assert await revisions(services) == count + 1
    fetched = await api.get(f"{URL}/second", headers=V1)
    assert fetched.json() == body
    assert fetched.headers["etag"] == created.headers["etag"]
    stored = services.config.stored.find_group("second")
    assert stored is not None
    assert stored.authorization.view == Authorization(users=("alice",))

    # a pipeline can go into the new group
    created_pipeline = await api.post(
        "/go/api/admin/pipelines",
        json={
            "group": "second",
            "pipeline": {
                "name": "p2",
                "materials": [{"type": "git", "attributes": {"url": "https://e.com/r.git"}}],
                "stages": [
                    {
                        "name": "s",
                        "jobs": [
                            {
                                "name": "j",
                                "tasks": [{"type": "exec", "attributes": {"command": "x"}}],
                            }
                        ],
                    }
                ],
            },
        },
        headers={"Accept": "application/vnd.go.cd.v11+json"},
    )
    assert created_pipeline.status_code == 200, created_pipeline.text
    listed = (await api.get(f"{URL}/second", headers=V1)).json()
    assert [p["name"] for p in listed["pipelines"]] == ["p2"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (
            {"name": "FIRST"},
            422,
            "Failed to add pipeline group 'FIRST'. Another pipeline group with the same name "
            "already exists.",
        ),
        ({"name": "bad name"}, 422, None),
        ({}, 422, None),
        ({"name": 5}, 422, None),
        ({"name": "g", "authorization": "everyone"}, 422, None),
        ({"name": "g", "authorization": {"view": {"users": "bob"}}}, 422, None),
        ([1], 422, None),
    ],
)
async def test_create_refused(
    api: httpx.AsyncClient, services: Services, body: Any, status: int, message: str | None
) -> None:
    count = await revisions(services)
    refused = await api.post(URL, json=body, headers=V1)
    assert refused.status_code == status
    assert refused.headers["content-type"] == CONTENT_TYPE
    assert "message" in refused.json()
    if message is not None:
        assert refused.json()["message"] == message
        assert refused.json()["data"]["errors"]["name"] == [message]
    assert await revisions(services) == count


async def test_create_bad_requests(api: httpx.AsyncClient, services: Services) -> None:
    count = await revisions(services)
    malformed = await api.post(
        URL, content=b'{"name":', headers={**V1, "Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    assert "error" in malformed.json()
    not_json = await api.post(URL, content=b"name=x", headers={**V1, "Content-Type": "text/plain"})
    assert not_json.status_code == 415
    bodyless = await api.post(URL, headers=V1)
    assert bodyless.status_code == 400
    assert bodyless.json() == {
        "message": "Missing required header 'X-GoCD-Confirm' with value 'true'"
    }
    assert await revisions(services) == count


async def test_update_authorization_with_if_match(
    api: httpx.AsyncClient, services: Services
) -> None:
    current = await api.get(f"{URL}/first", headers=V1)
    etag = current.headers["etag"]
    count = await revisions(services)
    body = {"name": "first", "authorization": {"operate": {"users": ["bob"], "roles": []}}}

    missing = await api.put(f"{URL}/first", json=body, headers=V1)
    assert missing.status_code == 412
    assert missing.json() == {
        "message": "Someone has modified the configuration for pipeline group 'first'. Please "
        "update your copy of the config with the changes and try again."
    }
    stale = await api.put(f"{URL}/first", json=body, headers={**V1, "If-Match": '"old"'})
    assert stale.status_code == 412
    renamed = await api.put(
        f"{URL}/first", json={**body, "name": "other"}, headers={**V1, "If-Match": etag}
    )
    assert renamed.status_code == 422
    assert renamed.json() == {"message": "Renaming of pipeline group is not supported by this API."}
    bad = await api.put(
        f"{URL}/first",
        json={"name": "first", "authorization": {"view": []}},
        headers={**V1, "If-Match": etag},
    )
    assert bad.status_code == 422
    assert bad.json()["data"]["authorization"]["errors"]["view"]
    unknown = await api.put(f"{URL}/nope", json=body, headers={**V1, "If-Match": etag})
    assert unknown.status_code == 404
    assert await revisions(services) == count
    assert (await api.get(f"{URL}/first", headers=V1)).headers["etag"] == etag

    updated = await api.put(f"{URL}/first", json=body, headers={**V1, "If-Match": f"{etag}"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["authorization"] == body["authorization"]
    assert [p["name"] for p in updated.json()["pipelines"]] == ["up42"]  # pipelines stay
    assert updated.headers["etag"] != etag
    assert await revisions(services) == count + 1
    group = services.config.stored.find_group("first")
    assert group is not None
    assert group.authorization.operate == Authorization(users=("bob",))
    assert len(group.pipelines) == 1


async def test_delete_only_an_empty_group(api: httpx.AsyncClient, services: Services) -> None:
    count = await revisions(services)
    refused = await api.delete(f"{URL}/first", headers=V1)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == CONTENT_TYPE
    assert refused.json() == {"message": "Failed to delete group first because it was not empty."}
    assert await revisions(services) == count

    assert (await api.post(URL, json={"name": "empty"}, headers=V1)).status_code == 200
    deleted = await api.delete(f"{URL}/empty", headers=V1)
    assert deleted.status_code == 200
    assert deleted.json() == {"message": "The Pipeline group 'empty' was deleted successfully."}
    assert services.config.current.find_group("empty") is None
    assert await revisions(services) == count + 2
    assert (await api.delete(f"{URL}/empty", headers=V1)).status_code == 404
