"""Templates API v7: list, get, create, update (If-Match), delete, parameters.

A template edit is validated with the pipelines that use it; a template in use cannot be
deleted; every refusal leaves the config revision and the ETag as they were.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from pygocd.services.registry import Services
from tests.builders import pipeline, save

pytestmark = pytest.mark.db

V7 = {"Accept": "application/vnd.go.cd.v7+json"}
V11 = {"Accept": "application/vnd.go.cd.v11+json"}
URL = "/go/api/admin/templates"
CONTENT_TYPE = "application/vnd.go.cd.v7+json;charset=utf-8"


def template_body(name: str = "build-it", command: str = "make") -> dict[str, Any]:
    return {
        "name": name,
        "stages": [
            {
                "name": "build",
                "approval": {"type": "success"},
                "jobs": [
                    {
                        "name": "compile",
                        "tasks": [
                            {
                                "type": "exec",
                                "attributes": {"command": command, "arguments": ["#{TARGET}"]},
                            }
                        ],
                    }
                ],
            }
        ],
    }


def user_body(name: str = "app", template: str = "build-it") -> dict[str, Any]:
    return {
        "group": "team",
        "pipeline": {
            "name": name,
            "template": template,
            "parameters": [{"name": "TARGET", "value": "all"}],
            "materials": [{"type": "git", "attributes": {"url": "https://e.com/app.git"}}],
            "stages": [],
        },
    }


@pytest.fixture
async def api(services: Services, client: httpx.AsyncClient) -> httpx.AsyncClient:
    await save(services, pipeline("existing"))
    created = await client.post(URL, json=template_body(), headers=V7)
    assert created.status_code == 200, created.text
    return client


async def revisions(services: Services) -> int:
    return len(await services.config.revisions(limit=1000))


async def test_create_get_and_list(api: httpx.AsyncClient, services: Services) -> None:
    count = await revisions(services)
    created = await api.post(URL, json=template_body("other", "ant"), headers=V7)
    assert created.status_code == 200
    assert created.headers["content-type"] == CONTENT_TYPE
    assert created.headers["etag"].startswith('"')
    body = created.json()
    assert body["name"] == "other"
    assert body["_links"]["self"]["href"].endswith("/go/api/admin/templates/other")
    [stage] = body["stages"]
    assert stage["name"] == "build"
    assert stage["jobs"][0]["tasks"][0]["attributes"]["command"] == "ant"
    assert await revisions(services) == count + 1

    fetched = await api.get(f"{URL}/OTHER", headers=V7)
    assert fetched.status_code == 200
    assert fetched.json() == body
    assert fetched.headers["etag"] == created.headers["etag"]
    cached = await api.get(f"{URL}/other", headers={**V7, "If-None-Match": fetched.headers["etag"]})
    assert cached.status_code == 304

    assert (
        await api.post("/go/api/admin/pipelines", json=user_body(), headers=V11)
    ).status_code == 200
    listed = await api.get(URL, headers=V7)
    assert listed.status_code == 200
    assert listed.headers["content-type"] == CONTENT_TYPE
    templates = listed.json()["_embedded"]["templates"]
    assert [t["name"] for t in templates] == ["build-it", "other"]
    first = templates[0]
    assert first["can_edit"] is True
    assert first["can_administer"] is True
    assert first["_embedded"]["pipelines"][0]["name"] == "app"
    assert first["_embedded"]["pipelines"][0]["can_administer"] is True
    assert templates[1]["_embedded"]["pipelines"] == []

    missing = await api.get(f"{URL}/nope", headers=V7)
    assert missing.status_code == 404
    assert missing.json() == {"message": "Template with name 'nope' was not found!"}


async def test_parameters(api: httpx.AsyncClient) -> None:
    got = await api.get(f"{URL}/build-it/parameters", headers=V7)
    assert got.status_code == 200
    assert got.headers["content-type"] == CONTENT_TYPE
    assert got.json()["name"] == "build-it"
    assert got.json()["parameters"] == ["TARGET"]
    assert (await api.get(f"{URL}/nope/parameters", headers=V7)).status_code == 404


async def test_a_pipeline_can_use_a_template(api: httpx.AsyncClient) -> None:
    created = await api.post("/go/api/admin/pipelines", json=user_body(), headers=V11)
    assert created.status_code == 200, created.text
    assert created.json()["template"] == "build-it"
    assert created.json()["stages"] == []
    unknown = await api.post(
        "/go/api/admin/pipelines", json=user_body("other", "nope"), headers=V11
    )
    assert unknown.status_code == 422
    assert unknown.json()["data"]["errors"]["template"] == [
        "Pipeline 'other' refers to non-existent template 'nope'."
    ]


async def test_create_refused(api: httpx.AsyncClient, services: Services) -> None:
    count = await revisions(services)
    exists = await api.post(URL, json=template_body("BUILD-IT"), headers=V7)
    assert exists.status_code == 422
    message = (
        "Failed to add template 'BUILD-IT'. Another template with the same name already exists."
    )
    assert exists.json()["message"] == message
    assert exists.json()["data"]["errors"]["name"] == [message]

    no_stages = await api.post(URL, json={"name": "empty", "stages": []}, headers=V7)
    assert no_stages.status_code == 422
    assert no_stages.json()["message"].startswith("Validations failed for template 'empty'")
    assert no_stages.json()["data"]["errors"]["stages"]

    bad_job = template_body("t2")
    bad_job["stages"][0]["jobs"][0]["tasks"] = "make"
    typed = await api.post(URL, json=bad_job, headers=V7)
    assert typed.status_code == 422
    assert typed.json()["data"]["stages"][0]["jobs"][0]["errors"]["tasks"]

    for body in ({}, {"name": None}, {"name": "x", "stages": "s"}, [1]):
        refused = await api.post(URL, json=body, headers=V7)
        assert refused.status_code == 422, body
        assert "message" in refused.json()
    malformed = await api.post(
        URL, content=b"{", headers={**V7, "Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    wrong_type = await api.post(URL, content=b"{}", headers={**V7, "Content-Type": "text/xml"})
    assert wrong_type.status_code == 415
    assert await revisions(services) == count


async def test_update_with_if_match(api: httpx.AsyncClient, services: Services) -> None:
    current = await api.get(f"{URL}/build-it", headers=V7)
    etag = current.headers["etag"]
    body = current.json()
    count = await revisions(services)
    changed = copy.deepcopy(body)
    changed["stages"][0]["jobs"][0]["tasks"][0]["attributes"]["command"] = "gradle"

    missing = await api.put(f"{URL}/build-it", json=changed, headers=V7)
    assert missing.status_code == 412
    assert missing.json() == {
        "message": "Someone has modified the configuration for template 'build-it'. Please "
        "update your copy of the config with the changes and try again."
    }
    stale = await api.put(f"{URL}/build-it", json=changed, headers={**V7, "If-Match": "x"})
    assert stale.status_code == 412
    renamed = await api.put(
        f"{URL}/build-it", json={**changed, "name": "new"}, headers={**V7, "If-Match": etag}
    )
    assert renamed.status_code == 422
    assert renamed.json() == {"message": "Renaming of templates is not supported by this API."}
    invalid = copy.deepcopy(changed)
    invalid["stages"][0]["name"] = "no good"
    bad = await api.put(f"{URL}/build-it", json=invalid, headers={**V7, "If-Match": etag})
    assert bad.status_code == 422
    assert bad.json()["data"]["stages"][0]["errors"]["name"]
    unknown = await api.put(f"{URL}/nope", json=changed, headers={**V7, "If-Match": etag})
    assert unknown.status_code == 404
    assert await revisions(services) == count
    assert (await api.get(f"{URL}/build-it", headers=V7)).headers["etag"] == etag

    updated = await api.put(f"{URL}/build-it", json=changed, headers={**V7, "If-Match": etag})
    assert updated.status_code == 200, updated.text
    assert updated.headers["content-type"] == CONTENT_TYPE
    assert updated.headers["etag"] != etag
    assert updated.json()["stages"][0]["jobs"][0]["tasks"][0]["attributes"]["command"] == "gradle"
    assert await revisions(services) == count + 1


async def test_an_update_that_breaks_a_user_is_refused(
    api: httpx.AsyncClient, services: Services
) -> None:
    assert (
        await api.post("/go/api/admin/pipelines", json=user_body(), headers=V11)
    ).status_code == 200
    current = await api.get(f"{URL}/build-it", headers=V7)
    body = current.json()
    body["stages"][0]["jobs"][0]["tasks"][0]["attributes"]["arguments"] = ["#{UNDEFINED}"]
    count = await revisions(services)
    refused = await api.put(
        f"{URL}/build-it", json=body, headers={**V7, "If-Match": current.headers["etag"]}
    )
    assert refused.status_code == 422
    assert "UNDEFINED" in refused.json()["message"]
    assert "app" in refused.json()["message"]
    assert await revisions(services) == count


async def test_delete(api: httpx.AsyncClient, services: Services) -> None:
    assert (
        await api.post("/go/api/admin/pipelines", json=user_body(), headers=V11)
    ).status_code == 200
    count = await revisions(services)
    in_use = await api.delete(f"{URL}/build-it", headers=V7)
    assert in_use.status_code == 422
    assert in_use.headers["content-type"] == CONTENT_TYPE
    assert in_use.json() == {
        "message": "Cannot delete the template 'build-it' as it is used by pipeline(s): 'app'"
    }
    assert await revisions(services) == count

    assert (await api.delete("/go/api/admin/pipelines/app", headers=V11)).status_code == 200
    deleted = await api.delete(f"{URL}/build-it", headers=V7)
    assert deleted.status_code == 200
    assert deleted.json() == {"message": "The template 'build-it' was deleted successfully."}
    assert services.config.current.find_template("build-it") is None
    assert (await api.delete(f"{URL}/build-it", headers=V7)).status_code == 404
