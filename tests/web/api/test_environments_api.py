"""Environments API v3: list/get with ETag, create, PUT with If-Match, PATCH, delete; merged
environments from config repos are read-only where the repo defines them; bad input is a 4xx
in GoCD's shape and the stored config stays as it was."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from pygocd.domain.config_repos import ConfigRepoConfig
from pygocd.domain.environments import EnvironmentConfig
from pygocd.domain.pipelines import ConfigOrigin, PipelineGroup
from pygocd.domain.variables import EnvironmentVariable
from pygocd.services.registry import Services
from tests.builders import git, pipeline

pytestmark = pytest.mark.db

V3 = {"Accept": "application/vnd.go.cd.v3+json"}
WRITE = {**V3, "Content-Type": "application/json"}
URL = "/go/api/admin/environments"


async def _setup(services: Services, *environments: EnvironmentConfig) -> None:
    config = services.config
    stored = replace(
        config.stored,
        groups=(PipelineGroup("team", pipelines=(pipeline("app"), pipeline("web"))),),
        environments=environments,
        config_repos=(ConfigRepoConfig("repo", git("https://example.com/cfg.git")),),
    )
    await config.save(stored, expected_md5=config.stored.md5, author="t", message="m")


async def _remote(services: Services) -> None:
    """A config repo defining part of `qa`: pipeline `remote` and variable `R`."""
    remote = replace(pipeline("remote"), origin=ConfigOrigin("config_repo", "repo"))
    part = EnvironmentConfig(
        "qa",
        pipelines=("remote",),
        environment_variables=(EnvironmentVariable("R", "r"),),
        origin=ConfigOrigin("config_repo", "repo"),
    )
    assert await services.config.apply_config_repo_parse("repo", "rev1", [remote], [part]) == []


@pytest.fixture
async def env(services: Services) -> Services:
    await _setup(
        services,
        EnvironmentConfig(
            "qa",
            pipelines=("app",),
            environment_variables=(
                EnvironmentVariable("A", "1"),
                EnvironmentVariable("S", secure=True, encrypted_value="AES:x"),
            ),
        ),
    )
    return services


async def test_list_is_sorted_with_etag_and_hal(client: httpx.AsyncClient, env: Services) -> None:
    await env.config.save(
        replace(
            env.config.stored,
            environments=(*env.config.stored.environments, EnvironmentConfig("dev")),
        ),
        expected_md5=env.config.stored.md5,
        author="t",
        message="m",
    )
    response = await client.get(URL, headers=V3)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.go.cd.v3+json;charset=utf-8"
    assert response.headers["etag"].startswith('"')
    body = response.json()
    assert body["_links"]["self"]["href"].endswith(URL)
    assert [e["name"] for e in body["_embedded"]["environments"]] == ["dev", "qa"]


async def test_get_one_in_gocds_shape(client: httpx.AsyncClient, env: Services) -> None:
    response = await client.get(f"{URL}/QA", headers=V3)
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "qa"
    assert body["_links"]["self"]["href"].endswith(f"{URL}/qa")
    assert [p["name"] for p in body["pipelines"]] == ["app"]
    assert body["environment_variables"] == [
        {"secure": False, "name": "A", "value": "1"},
        {"secure": True, "name": "S", "encrypted_value": "AES:x"},
    ]
    assert "agents" not in body


async def test_unknown_environment_and_wrong_accept(
    client: httpx.AsyncClient, env: Services
) -> None:
    missing = await client.get(f"{URL}/nope", headers=V3)
    assert missing.status_code == 404
    assert missing.json() == {"message": "Environment with name 'nope' was not found!"}
    wrong = await client.get(URL, headers={"Accept": "application/json"})
    assert wrong.status_code == 404
    assert wrong.headers["content-type"].startswith("text/plain")
    other_version = await client.get(URL, headers={"Accept": "application/vnd.go.cd.v2+json"})
    assert other_version.status_code == 404


async def test_create_saves_a_revision(client: httpx.AsyncClient, env: Services) -> None:
    body = {
        "name": "prod",
        "pipelines": [{"name": "web"}],
        "environment_variables": [
            {"name": "X", "value": "1", "secure": False},
            {"name": "P", "value": "secret", "secure": True},
        ],
    }
    response = await client.post(URL, headers=WRITE, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["etag"]
    assert response.json()["name"] == "prod"
    stored = env.config.stored.find_environment("prod")
    assert stored is not None
    assert stored.pipelines == ("web",)
    assert stored.environment_variables[1].secure
    revisions = await env.config.revisions()
    assert revisions[0].message == "Added environment 'prod'"


async def test_create_refuses_an_existing_name(client: httpx.AsyncClient, env: Services) -> None:
    md5 = env.config.stored.md5
    response = await client.post(URL, headers=WRITE, json={"name": "QA"})
    assert response.status_code == 422
    body = response.json()
    assert body["message"] == (
        "Failed to add environment 'QA'. Another environment with the same name already exists."
    )
    assert body["data"]["errors"]["name"]
    assert env.config.stored.md5 == md5


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"name": 5}, 422),
        ({"name": "x", "pipelines": "app"}, 422),
        ({"name": "x", "pipelines": [{"nom": "app"}]}, 422),
        ({"name": "x", "environment_variables": {}}, 422),
        ({"name": "x", "environment_variables": [{"name": "A"}]}, 422),
        ({"name": "x", "environment_variables": [{"name": "A", "value": 1}]}, 422),
        (
            {"name": "x", "environment_variables": [{"name": "A", "secure": "yes", "value": "1"}]},
            422,
        ),
        ({"name": "x", "pipelines": [{"name": "unknown"}]}, 422),
        ({"name": "x", "pipelines": [{"name": "app"}]}, 422),  # app is already in qa
        ({"name": "bad name!"}, 422),
        ([1, 2], 422),
    ],
)
async def test_create_bad_input_changes_nothing(
    client: httpx.AsyncClient, env: Services, body: object, status: int
) -> None:
    md5 = env.config.stored.md5
    response = await client.post(URL, headers=WRITE, json=body)
    assert response.status_code == status, response.text
    assert "message" in response.json()
    assert env.config.stored.md5 == md5


async def test_create_with_both_value_and_encrypted_value(
    client: httpx.AsyncClient, env: Services
) -> None:
    response = await client.post(
        URL,
        headers=WRITE,
        json={
            "name": "x",
            "environment_variables": [
                {"name": "J", "secure": True, "value": "v", "encrypted_value": "AES:y"}
            ],
        },
    )
    assert response.status_code == 422
    [variable] = response.json()["data"]["environment_variables"]
    assert variable["errors"]["value"] == [
        "You may only specify `value` or `encrypted_value`, not both!"
    ]


async def test_request_checks(client: httpx.AsyncClient, env: Services) -> None:
    md5 = env.config.stored.md5
    not_json = await client.post(
        URL, headers={**V3, "Content-Type": "text/plain"}, content=b'{"name": "x"}'
    )
    assert not_json.status_code == 415
    malformed = await client.post(URL, headers=WRITE, content=b"{nope")
    assert malformed.status_code == 400
    assert "error" in malformed.json()
    bodyless = await client.post(URL, headers=V3)
    assert bodyless.status_code == 400
    huge = await client.post(URL, headers=WRITE, content=b" " * (2 * 1024 * 1024) + b"{}")
    assert huge.status_code == 413
    assert env.config.stored.md5 == md5


async def test_put_needs_a_fresh_if_match(client: httpx.AsyncClient, env: Services) -> None:
    etag = (await client.get(f"{URL}/qa", headers=V3)).headers["etag"]
    body = {"name": "qa", "pipelines": [{"name": "web"}], "environment_variables": []}
    md5 = env.config.stored.md5
    missing = await client.put(f"{URL}/qa", headers=WRITE, json=body)
    assert missing.status_code == 412
    assert (
        "Someone has modified the configuration for environment 'qa'" in missing.json()["message"]
    )
    stale = await client.put(f"{URL}/qa", headers={**WRITE, "If-Match": '"abc"'}, json=body)
    assert stale.status_code == 412
    assert env.config.stored.md5 == md5
    ok = await client.put(f"{URL}/qa", headers={**WRITE, "If-Match": etag}, json=body)
    assert ok.status_code == 200, ok.text
    assert [p["name"] for p in ok.json()["pipelines"]] == ["web"]
    assert ok.json()["environment_variables"] == []
    assert ok.headers["etag"] != etag
    again = await client.put(f"{URL}/qa", headers={**WRITE, "If-Match": etag}, json=body)
    assert again.status_code == 412


async def test_put_refuses_rename_and_invalid_config(
    client: httpx.AsyncClient, env: Services
) -> None:
    etag = (await client.get(f"{URL}/qa", headers=V3)).headers["etag"]
    md5 = env.config.stored.md5
    rename = await client.put(
        f"{URL}/qa", headers={**WRITE, "If-Match": etag}, json={"name": "other"}
    )
    assert rename.status_code == 422
    assert rename.json() == {"message": "Renaming of environments is not supported by this API."}
    unknown = await client.put(
        f"{URL}/qa",
        headers={**WRITE, "If-Match": etag},
        json={"name": "qa", "pipelines": [{"name": "ghost"}]},
    )
    assert unknown.status_code == 422
    assert "unknown pipeline 'ghost'" in unknown.json()["message"]
    assert unknown.json()["data"]["errors"]["pipelines"]
    missing = await client.put(
        f"{URL}/nope", headers={**WRITE, "If-Match": etag}, json={"name": "nope"}
    )
    assert missing.status_code == 404
    assert env.config.stored.md5 == md5


async def test_patch_adds_and_removes(client: httpx.AsyncClient, env: Services) -> None:
    response = await client.patch(
        f"{URL}/qa",
        headers=WRITE,
        json={
            "pipelines": {"add": ["web"], "remove": ["app"]},
            "environment_variables": {"add": [{"name": "B", "value": "2"}], "remove": ["A"]},
            "agents": {"add": ["ignored-as-in-gocd-v3"]},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [p["name"] for p in body["pipelines"]] == ["web"]
    assert [v["name"] for v in body["environment_variables"]] == ["S", "B"]
    stored = env.config.stored.find_environment("qa")
    assert stored is not None
    assert stored.pipelines == ("web",)


@pytest.mark.parametrize(
    "body",
    [
        {"pipelines": ["app"]},
        {"pipelines": {"add": "web"}},
        {"pipelines": {"add": [1]}},
        {"pipelines": {"remove": ["web"]}},  # not in the environment
        {"pipelines": {"add": ["ghost"]}},
        {"environment_variables": {"remove": ["NOPE"]}},
        {"environment_variables": {"add": [{"name": "B"}]}},
        {"environment_variables": {"add": [{"name": "B", "value": "1", "encrypted_value": "x"}]}},
        {
            "environment_variables": {
                "add": [{"name": "A ", "value": "1"}, {"name": "a ", "value": "2"}]
            }
        },
        "text",
    ],
)
async def test_patch_bad_input_changes_nothing(
    client: httpx.AsyncClient, env: Services, body: object
) -> None:
    md5 = env.config.stored.md5
    response = await client.patch(f"{URL}/qa", headers=WRITE, json=body)
    assert 400 <= response.status_code < 500, response.text
    assert "message" in response.json()
    assert env.config.stored.md5 == md5


async def test_delete(client: httpx.AsyncClient, env: Services) -> None:
    response = await client.delete(f"{URL}/QA", headers=V3)
    assert response.status_code == 200
    assert response.json() == {"message": "Environment 'qa' was deleted successfully."}
    assert env.config.stored.find_environment("qa") is None
    again = await client.delete(f"{URL}/qa", headers=V3)
    assert again.status_code == 404


async def test_config_repo_parts_are_merged_and_kept(
    client: httpx.AsyncClient, env: Services
) -> None:
    await _remote(env)
    body = (await client.get(f"{URL}/qa", headers=V3)).json()
    assert [p["name"] for p in body["pipelines"]] == ["app", "remote"]
    assert [v["name"] for v in body["environment_variables"]] == ["A", "S", "R"]
    md5 = env.config.stored.md5
    removal = await client.patch(
        f"{URL}/qa", headers=WRITE, json={"pipelines": {"remove": ["remote"]}}
    )
    assert removal.status_code == 422
    assert "defined remotely" in removal.json()["message"]
    variable = await client.patch(
        f"{URL}/qa", headers=WRITE, json={"environment_variables": {"remove": ["R"]}}
    )
    assert variable.status_code == 422
    etag = (await client.get(f"{URL}/qa", headers=V3)).headers["etag"]
    put = await client.put(
        f"{URL}/qa", headers={**WRITE, "If-Match": etag}, json={"name": "qa", "pipelines": []}
    )
    assert put.status_code == 422
    delete = await client.delete(f"{URL}/qa", headers=V3)
    assert delete.status_code == 422
    assert env.config.stored.md5 == md5
    # a PUT that keeps the remote part changes only the local one
    kept = await client.put(
        f"{URL}/qa",
        headers={**WRITE, "If-Match": etag},
        json={
            "name": "qa",
            "pipelines": [{"name": "remote"}, {"name": "web"}],
            "environment_variables": [{"name": "R", "value": "r"}],
        },
    )
    assert kept.status_code == 200, kept.text
    local = env.config.stored.find_environment("qa")
    assert local is not None
    assert local.pipelines == ("web",)
    assert local.environment_variables == ()
    assert [p["name"] for p in kept.json()["pipelines"]] == ["web", "remote"]


async def test_a_remote_only_environment_can_get_local_pipelines(
    client: httpx.AsyncClient, services: Services
) -> None:
    await _setup(services)
    await _remote(services)
    listed = (await client.get(URL, headers=V3)).json()["_embedded"]["environments"]
    assert [e["name"] for e in listed] == ["qa"]
    response = await client.patch(f"{URL}/qa", headers=WRITE, json={"pipelines": {"add": ["app"]}})
    assert response.status_code == 200, response.text
    assert [p["name"] for p in response.json()["pipelines"]] == ["app", "remote"]
    stored = services.config.stored.find_environment("qa")
    assert stored is not None
    assert stored.pipelines == ("app",)
