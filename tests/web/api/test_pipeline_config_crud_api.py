"""Pipeline config API v11 on the stored config: create, update, delete.

Every refused change leaves the config as it was: the same number of config revisions and
the same ETag.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import httpx
import pytest

from pygocd.domain.environments import EnvironmentConfig
from pygocd.domain.materials import DependencyMaterialConfig, GitMaterialConfig
from pygocd.domain.tasks import ExecTask, FetchArtifactTask, PluginTask
from pygocd.services.registry import Services
from tests.builders import commit, pipeline, save, stage, trigger

pytestmark = pytest.mark.db

V11 = {"Accept": "application/vnd.go.cd.v11+json"}
URL = "/go/api/admin/pipelines"
CONTENT_TYPE = "application/vnd.go.cd.v11+json;charset=utf-8"


def simple(name: str = "fresh", command: str = "make") -> dict[str, Any]:
    return {
        "name": name,
        "materials": [{"type": "git", "attributes": {"url": "https://example.com/x.git"}}],
        "stages": [
            {
                "name": "build",
                "jobs": [
                    {
                        "name": "compile",
                        "tasks": [{"type": "exec", "attributes": {"command": command}}],
                    }
                ],
            }
        ],
    }


FULL: dict[str, Any] = {
    "name": "full",
    "label_template": "${COUNT}-${code[:7]}",
    "lock_behavior": "unlockWhenFinished",
    "template": None,
    "parameters": [{"name": "DIR", "value": "src"}],
    "environment_variables": [
        {"name": "PLAIN", "value": "1", "secure": False},
        {"name": "SECRET", "encrypted_value": "AES:abc:def", "secure": True},
    ],
    "materials": [
        {
            "type": "git",
            "attributes": {
                "name": "code",
                "url": "https://bob:s3cret@example.com/code.git",
                "branch": "main",
                "shallow_clone": True,
                "auto_update": True,
                "filter": {"ignore": ["docs/**"]},
                "invert_filter": False,
                "destination": "code",
            },
        },
        {
            "type": "svn",
            "attributes": {
                "name": "svnrepo",
                "url": "https://svn.example.com/trunk",
                "username": "alice",
                "encrypted_password": "AES:pw",
                "check_externals": True,
                "destination": "svn",
            },
        },
        {
            "type": "hg",
            "attributes": {
                "name": "hgrepo",
                "url": "https://hg.example.com/r",
                "branch": "default",
                "destination": "hg",
            },
        },
        {
            "type": "p4",
            "attributes": {
                "name": "p4repo",
                "port": "p4:1666",
                "view": "//depot/... //ws/...",
                "use_tickets": True,
                "destination": "p4",
            },
        },
        {
            "type": "tfs",
            "attributes": {
                "name": "tfsrepo",
                "url": "https://tfs.example.com",
                "project_path": "$/proj",
                "domain": "corp",
                "username": "carol",
                "destination": "tfs",
            },
        },
        {
            "type": "dependency",
            "attributes": {"pipeline": "existing", "stage": "build", "name": "up"},
        },
        {"type": "package", "attributes": {"ref": "pkg-1"}},
        {
            "type": "plugin",
            "attributes": {"ref": "scm-1", "destination": "plug", "filter": None},
        },
    ],
    "stages": [
        {
            "name": "test",
            "fetch_materials": True,
            "clean_working_directory": True,
            "never_cleanup_artifacts": False,
            "approval": {
                "type": "manual",
                "allow_only_on_success": True,
                "authorization": {"roles": ["qa"], "users": ["bob"]},
            },
            "environment_variables": [{"name": "STAGE_VAR", "value": "s", "secure": False}],
            "jobs": [
                {
                    "name": "unit",
                    "run_instance_count": 3,
                    "timeout": 5,
                    "elastic_profile_id": None,
                    "environment_variables": [],
                    "resources": ["linux"],
                    "tasks": [
                        {
                            "type": "exec",
                            "attributes": {
                                "run_if": ["any"],
                                "command": "make",
                                "arguments": ["-C", "#{DIR}", "all"],
                                "working_directory": "code",
                                "on_cancel": {
                                    "type": "exec",
                                    "attributes": {"command": "kill", "run_if": ["passed"]},
                                },
                            },
                        },
                        {
                            "type": "pluggable_task",
                            "attributes": {
                                "run_if": ["passed"],
                                "plugin_configuration": {"id": "script-executor", "version": "1"},
                                "configuration": [{"key": "script", "value": "echo hi"}],
                            },
                        },
                        {
                            "type": "fetch",
                            "attributes": {
                                "artifact_origin": "gocd",
                                "pipeline": "existing",
                                "stage": "build",
                                "job": "compile",
                                "source": "out/app.jar",
                                "is_source_a_file": True,
                                "destination": "lib",
                                "run_if": ["failed"],
                            },
                        },
                        {"type": "ant", "attributes": {"build_file": "b.xml", "target": "t"}},
                        {"type": "nant", "attributes": {"target": "t", "nant_path": "/nant"}},
                        {"type": "rake", "attributes": {"target": "default"}},
                    ],
                    "tabs": [{"name": "cov", "path": "coverage/index.html"}],
                    "artifacts": [
                        {"type": "build", "source": "out/*.jar", "destination": "pkg"},
                        {"type": "test", "source": "reports", "destination": None},
                        {
                            "type": "external",
                            "artifact_id": "img",
                            "store_id": "dockerhub",
                            "configuration": [{"key": "Image", "value": "app"}],
                        },
                    ],
                },
                {
                    "name": "all",
                    "run_instance_count": "all",
                    "tasks": [{"type": "exec", "attributes": {"command": "true"}}],
                },
            ],
        }
    ],
    "tracking_tool": {
        "type": "generic",
        "attributes": {"url_pattern": "https://jira/${ID}", "regex": "##(\\d+)"},
    },
    "timer": {"spec": "0 0 22 ? * MON-FRI", "only_on_changes": True},
}


@pytest.fixture
async def api(services: Services, client: httpx.AsyncClient) -> httpx.AsyncClient:
    await save(services, pipeline("existing", stage("build")))
    return client


async def revisions(services: Services) -> int:
    return len(await services.config.revisions(limit=1000))


async def post(client: httpx.AsyncClient, body: Any, **headers: str) -> httpx.Response:
    return await client.post(URL, json=body, headers={**V11, **headers})


async def unchanged(
    services: Services, client: httpx.AsyncClient, count: int, name: str = "existing"
) -> None:
    """Nothing was saved: no new revision, and the pipeline's ETag is as before."""
    assert await revisions(services) == count
    before = services.config.current.find_pipeline(name)
    assert before is not None
    got = await client.get(f"{URL}/{name}", headers=V11)
    assert got.status_code == 200


# -- create --------------------------------------------------------------------------------


async def test_create_returns_the_pipeline_with_etag_and_get_returns_the_same(
    api: httpx.AsyncClient, services: Services
) -> None:
    count = await revisions(services)
    created = await post(api, {"group": "team", "pipeline": FULL})
    assert created.status_code == 200, created.text
    assert created.headers["content-type"] == CONTENT_TYPE
    etag = created.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert await revisions(services) == count + 1
    body = created.json()
    assert body["name"] == "full"
    assert body["group"] == "team"
    assert body["origin"]["type"] == "gocd"
    assert body["_links"]["self"]["href"].endswith("/go/api/admin/pipelines/full")
    assert "s3cret" not in created.text

    fetched = await api.get(f"{URL}/full", headers=V11)
    assert fetched.status_code == 200
    assert fetched.json() == body
    assert fetched.headers["etag"] == etag

    # what was sent is what is shown (GoCD's read form of the same keys)
    assert body["label_template"] == FULL["label_template"]
    assert body["lock_behavior"] == "unlockWhenFinished"
    assert body["parameters"] == FULL["parameters"]
    assert body["environment_variables"] == FULL["environment_variables"]
    assert body["timer"] == FULL["timer"]
    assert body["tracking_tool"] == FULL["tracking_tool"]
    kinds = [m["type"] for m in body["materials"]]
    assert kinds == ["git", "svn", "hg", "p4", "tfs", "dependency", "package", "plugin"]
    git = body["materials"][0]["attributes"]
    assert git["url"] == "https://bob:******@example.com/code.git"
    assert git["branch"] == "main"
    assert git["filter"] == {"ignore": ["docs/**"]}
    assert body["materials"][1]["attributes"]["encrypted_password"] == "AES:pw"
    assert body["materials"][1]["attributes"]["check_externals"] is True
    assert body["materials"][3]["attributes"]["use_tickets"] is True
    assert body["materials"][4]["attributes"]["project_path"] == "$/proj"
    assert body["materials"][5]["attributes"]["name"] == "up"
    assert body["materials"][6]["attributes"]["ref"] == "pkg-1"
    assert body["materials"][7]["attributes"]["ref"] == "scm-1"
    [test_stage] = body["stages"]
    assert test_stage["approval"] == FULL["stages"][0]["approval"]
    assert test_stage["clean_working_directory"] is True
    assert test_stage["environment_variables"] == [
        {"name": "STAGE_VAR", "value": "s", "secure": False}
    ]
    unit, every = test_stage["jobs"]
    assert every["run_instance_count"] == "all"
    assert unit["run_instance_count"] == 3
    assert unit["timeout"] == 5
    assert unit["resources"] == ["linux"]
    assert unit["tabs"] == FULL["stages"][0]["jobs"][0]["tabs"]
    assert unit["artifacts"][0] == {"type": "build", "source": "out/*.jar", "destination": "pkg"}
    assert unit["artifacts"][2]["artifact_id"] == "img"
    assert unit["artifacts"][2]["configuration"] == [{"key": "Image", "value": "app"}]
    assert [t["type"] for t in unit["tasks"]] == [
        "exec",
        "pluggable_task",
        "fetch",
        "ant",
        "nant",
        "rake",
    ]
    exec_task = unit["tasks"][0]["attributes"]
    assert exec_task["arguments"] == ["-C", "#{DIR}", "all"]
    assert exec_task["run_if"] == ["any"]
    assert exec_task["on_cancel"]["attributes"]["command"] == "kill"
    assert unit["tasks"][2]["attributes"]["run_if"] == ["failed"]
    assert unit["tasks"][2]["attributes"]["is_source_a_file"] is True

    stored = services.config.stored.find_pipeline("full")
    assert stored is not None
    assert isinstance(stored.materials[0], GitMaterialConfig)
    assert stored.materials[0].url == "https://bob:s3cret@example.com/code.git"
    assert isinstance(stored.materials[5], DependencyMaterialConfig)
    tasks = stored.stages[0].jobs[0].tasks
    assert isinstance(tasks[0], ExecTask)
    assert isinstance(tasks[1], PluginTask)
    assert tasks[1].script == "echo hi"
    assert isinstance(tasks[2], FetchArtifactTask)
    assert stored.environment_variables[1].encrypted_value == "AES:abc:def"


async def test_a_get_put_round_trip_changes_nothing(
    api: httpx.AsyncClient, services: Services
) -> None:
    assert (await post(api, {"group": "team", "pipeline": FULL})).status_code == 200
    before = services.config.stored.find_pipeline("full")
    count = await revisions(services)
    fetched = await api.get(f"{URL}/full", headers=V11)
    put = await api.put(
        f"{URL}/full", json=fetched.json(), headers={**V11, "If-Match": fetched.headers["etag"]}
    )
    assert put.status_code == 200, put.text
    assert put.headers["etag"] == fetched.headers["etag"]
    assert services.config.stored.find_pipeline("full") == before  # credentials kept
    assert await revisions(services) == count


async def test_the_flat_body_with_group_beside_the_keys_is_taken_too(
    api: httpx.AsyncClient,
) -> None:
    created = await post(api, {"group": "team", **simple()})
    assert created.status_code == 200, created.text
    assert created.json()["group"] == "team"


async def test_a_created_pipeline_is_schedulable(
    api: httpx.AsyncClient, services: Services
) -> None:
    assert (await post(api, {"group": "new-group", "pipeline": simple()})).status_code == 200
    assert services.config.current.find_group("new-group") is not None
    await commit(services, GitMaterialConfig(url="https://example.com/x.git"))
    instance = await trigger(services, "fresh")
    assert instance.counter == 1
    assert [s.name for s in instance.stages] == ["build"]
    assert [j.name for j in instance.stages[0].jobs] == ["compile"]


async def test_create_paused_when_asked(api: httpx.AsyncClient) -> None:
    created = await post(
        api,
        {"group": "team", "pipeline": simple()},
        **{"X-pause-pipeline": "true", "X-pause-cause": "to configure it"},
    )
    assert created.status_code == 200, created.text
    status = await api.get(
        "/go/api/pipelines/fresh/status", headers={"Accept": "application/vnd.go.cd.v1+json"}
    )
    assert status.json()["paused"] is True
    assert status.json()["paused_cause"] == "to configure it"

    default = await post(
        api, {"group": "team", "pipeline": simple("other")}, **{"X-pause-pipeline": "TRUE"}
    )
    assert default.status_code == 200
    status = await api.get(
        "/go/api/pipelines/other/status", headers={"Accept": "application/vnd.go.cd.v1+json"}
    )
    assert status.json()["paused_cause"] == (
        "No pause cause was specified when pipeline was created via API"
    )


async def test_create_an_existing_name_is_refused(
    api: httpx.AsyncClient, services: Services
) -> None:
    count = await revisions(services)
    refused = await post(api, {"group": "team", "pipeline": simple("EXISTING")})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == CONTENT_TYPE
    message = (
        "Failed to add pipeline 'EXISTING'. Another pipeline with the same name already exists."
    )
    assert refused.json()["message"] == message
    assert refused.json()["data"]["errors"] == {"name": [message]}
    assert refused.json()["data"]["name"] == "EXISTING"
    await unchanged(services, api, count)


@pytest.mark.parametrize("group", [None, "", "  ", 5])
async def test_create_needs_a_group(api: httpx.AsyncClient, services: Services, group: Any) -> None:
    count = await revisions(services)
    body: dict[str, Any] = {"pipeline": simple()}
    if group is not None:
        body["group"] = group
    refused = await post(api, body)
    assert refused.status_code == 422
    assert refused.json() == {
        "message": "Pipeline group must be specified for creating a pipeline."
    }
    assert await revisions(services) == count


async def test_create_with_wrong_types_names_every_bad_field(
    api: httpx.AsyncClient, services: Services
) -> None:
    count = await revisions(services)
    body = simple()
    body["lock_behavior"] = "sometimes"
    body["materials"].append({"type": "cvs", "attributes": {}})
    job = body["stages"][0]["jobs"][0]
    job["timeout"] = "soon"
    job["resources"] = "linux"
    job["tasks"].append({"type": "exec", "attributes": {"run_if": ["maybe"], "command": "x"}})
    body["environment_variables"] = [{"name": "V", "value": "a", "encrypted_value": "b"}]
    refused = await post(api, {"group": "team", "pipeline": body})
    assert refused.status_code == 422
    result = refused.json()
    assert result["message"].startswith("Validations failed for pipeline 'fresh'. Error(s): [")
    data = result["data"]
    assert "lock_behavior" in data["errors"]
    assert data["materials"][1]["errors"]["type"][0].startswith("Invalid material type 'cvs'")
    job_data = data["stages"][0]["jobs"][0]
    assert set(job_data["errors"]) == {"timeout", "resources"}
    assert "run_if" in job_data["tasks"][1]["attributes"]["errors"]
    assert data["environment_variables"][0]["errors"] == {
        "value": ["You may only specify `value` or `encrypted_value`, not both!"],
        "encrypted_value": ["You may only specify `value` or `encrypted_value`, not both!"],
    }
    assert await revisions(services) == count
    assert services.config.current.find_pipeline("fresh") is None


async def test_create_with_invalid_config_shows_errors_where_they_are(
    api: httpx.AsyncClient, services: Services
) -> None:
    count = await revisions(services)
    body = simple()
    body["stages"][0]["name"] = "bad name"
    body["stages"][0]["jobs"][0]["tasks"] = []
    body["stages"].append({"name": "deploy", "jobs": []})
    body["materials"].append(
        {"type": "dependency", "attributes": {"pipeline": "nowhere", "stage": "s"}}
    )
    refused = await post(api, {"group": "team", "pipeline": body})
    assert refused.status_code == 422, refused.text
    data = refused.json()["data"]
    assert data["name"] == "fresh"
    assert "Invalid stage name 'bad name'" in data["stages"][0]["errors"]["name"][0]
    assert "tasks" in data["stages"][0]["jobs"][0]["errors"]
    assert "jobs" in data["stages"][1]["errors"]
    assert data["materials"][1]["attributes"]["errors"]
    assert "nowhere" in refused.json()["message"]
    assert await revisions(services) == count
    assert services.config.current.find_pipeline("fresh") is None


async def test_create_bad_requests(api: httpx.AsyncClient, services: Services) -> None:
    count = await revisions(services)
    malformed = await api.post(
        URL, content=b"{nope", headers={**V11, "Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"].startswith("Payload data is not valid JSON")
    wrong_type = await api.post(URL, content=b"{}", headers={**V11, "Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    assert wrong_type.json() == {
        "message": "You must specify a 'Content-Type' of 'application/json'"
    }
    bodyless = await api.post(URL, headers=V11)
    assert bodyless.status_code == 400
    not_object = await post(api, [1, 2])
    assert not_object.status_code == 422
    no_pipeline = await post(api, {"group": "team"})
    assert no_pipeline.status_code == 422
    assert "message" in no_pipeline.json()
    not_a_pipeline = await post(api, {"group": "team", "pipeline": "x"})
    assert not_a_pipeline.status_code == 422
    huge = await api.post(
        URL,
        content=b'{"group": "' + b"x" * (2 * 1024 * 1024) + b'"}',
        headers={**V11, "Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    surrogate = await api.post(
        URL,
        content=b'{"group": "team", "pipeline": {"name": "\\ud800"}}',
        headers={**V11, "Content-Type": "application/json"},
    )
    assert surrogate.status_code == 422
    assert surrogate.json()["data"]["errors"]["name"] == ["'name' must be valid Unicode text."]
    no_accept = await api.post(URL, json={"group": "team", "pipeline": simple()})
    assert no_accept.status_code == 404
    assert await revisions(services) == count


# -- update --------------------------------------------------------------------------------


async def _current(api: httpx.AsyncClient, name: str = "existing") -> tuple[dict[str, Any], str]:
    got = await api.get(f"{URL}/{name}", headers=V11)
    assert got.status_code == 200
    return got.json(), got.headers["etag"]


async def test_update_with_if_match(api: httpx.AsyncClient, services: Services) -> None:
    body, etag = await _current(api)
    count = await revisions(services)
    body["stages"][0]["jobs"][0]["tasks"] = [
        {"type": "exec", "attributes": {"command": "make", "arguments": ["test"]}}
    ]
    updated = await api.put(f"{URL}/existing", json=body, headers={**V11, "If-Match": etag})
    assert updated.status_code == 200, updated.text
    assert updated.headers["content-type"] == CONTENT_TYPE
    assert updated.headers["etag"] != etag
    assert updated.json()["stages"][0]["jobs"][0]["tasks"][0]["attributes"]["arguments"] == ["test"]
    assert await revisions(services) == count + 1
    again, new_etag = await _current(api)
    assert new_etag == updated.headers["etag"]
    assert again == updated.json()
    # the old ETag is stale now
    stale = await api.put(f"{URL}/existing", json=body, headers={**V11, "If-Match": etag})
    assert stale.status_code == 412


async def test_update_moves_a_pipeline_to_another_group(
    api: httpx.AsyncClient, services: Services
) -> None:
    body, etag = await _current(api)
    body["group"] = "elsewhere"
    moved = await api.put(f"{URL}/existing", json=body, headers={**V11, "If-Match": etag})
    assert moved.status_code == 200, moved.text
    assert moved.json()["group"] == "elsewhere"
    team = services.config.current.find_group("team")
    assert team is not None
    assert team.pipelines == ()


async def test_refused_updates_change_nothing(api: httpx.AsyncClient, services: Services) -> None:
    body, etag = await _current(api)
    count = await revisions(services)
    stale_text = (
        "Someone has modified the configuration for pipeline 'existing'. Please update your "
        "copy of the config with the changes and try again."
    )

    missing = await api.put(f"{URL}/existing", json=body, headers=V11)
    assert missing.status_code == 412
    assert missing.json() == {"message": stale_text}
    assert missing.headers["content-type"] == CONTENT_TYPE
    stale = await api.put(f"{URL}/existing", json=body, headers={**V11, "If-Match": '"abc"'})
    assert stale.status_code == 412

    renamed = await api.put(
        f"{URL}/existing", json={**body, "name": "other"}, headers={**V11, "If-Match": etag}
    )
    assert renamed.status_code == 422
    assert renamed.json() == {"message": "Renaming of pipelines is not supported by this API."}

    no_group = {k: v for k, v in body.items() if k != "group"}
    grouped = await api.put(f"{URL}/existing", json=no_group, headers={**V11, "If-Match": etag})
    assert grouped.status_code == 422
    assert grouped.json()["message"] == "Pipeline group must be specified for creating a pipeline."

    invalid = copy.deepcopy(body)
    invalid["stages"][0]["jobs"][0]["name"] = "bad job!"
    invalid["materials"] = []
    bad = await api.put(f"{URL}/existing", json=invalid, headers={**V11, "If-Match": etag})
    assert bad.status_code == 422
    assert "materials" in bad.json()["data"]["errors"]
    assert bad.json()["data"]["stages"][0]["jobs"][0]["errors"]["name"]

    wrong = copy.deepcopy(body)
    wrong["stages"] = {"name": "x"}
    typed = await api.put(f"{URL}/existing", json=wrong, headers={**V11, "If-Match": etag})
    assert typed.status_code == 422
    assert typed.json()["data"]["errors"]["stages"] == ["'stages' must be a list."]

    malformed = await api.put(
        f"{URL}/existing",
        content=b"[",
        headers={**V11, "If-Match": etag, "Content-Type": "application/json"},
    )
    assert malformed.status_code == 400

    unknown = await api.put(f"{URL}/nope", json=body, headers={**V11, "If-Match": etag})
    assert unknown.status_code == 404
    assert unknown.json() == {"message": "Pipeline with name 'nope' was not found!"}

    assert await revisions(services) == count
    _, after = await _current(api)
    assert after == etag


# -- delete --------------------------------------------------------------------------------


async def test_delete(api: httpx.AsyncClient, services: Services) -> None:
    assert (await post(api, {"group": "team", "pipeline": simple()})).status_code == 200
    count = await revisions(services)
    deleted = await api.delete(f"{URL}/fresh", headers=V11)
    assert deleted.status_code == 200
    assert deleted.headers["content-type"] == CONTENT_TYPE
    assert deleted.json() == {"message": "Pipeline 'fresh' was deleted successfully."}
    assert await revisions(services) == count + 1
    assert (await api.get(f"{URL}/fresh", headers=V11)).status_code == 404
    again = await api.delete(f"{URL}/fresh", headers=V11)
    assert again.status_code == 404


async def test_delete_refused_while_others_need_it(
    api: httpx.AsyncClient, services: Services
) -> None:
    downstream = pipeline(
        "down", material=DependencyMaterialConfig(pipeline="existing", stage="build")
    )
    stored = services.config.stored
    [team] = stored.groups
    await services.config.save(
        replace(
            stored,
            groups=(replace(team, pipelines=(*team.pipelines, downstream)),),
            environments=(EnvironmentConfig("qa", pipelines=("down",)),),
        ),
        expected_md5=stored.md5,
        author="t",
        message="m",
    )
    count = await revisions(services)
    needed = await api.delete(f"{URL}/existing", headers=V11)
    assert needed.status_code == 422
    assert needed.json() == {
        "message": "Cannot delete pipeline 'existing' as pipeline 'down (cruise-config.xml)' "
        "depends on it"
    }
    in_env = await api.delete(f"{URL}/down", headers=V11)
    assert in_env.status_code == 422
    assert in_env.json() == {
        "message": "Cannot delete pipeline 'down' as it is present in environment 'qa'."
    }
    assert await revisions(services) == count
