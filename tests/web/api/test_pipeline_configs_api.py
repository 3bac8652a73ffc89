"""Pipeline config API v11: GET with origin and ETag; remote pipelines refuse changes.

Creating, updating and deleting stored pipelines: `test_pipeline_config_crud_api.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from pygocd.domain.pipelines import PipelineConfig, PipelineGroup, StageConfig
from pygocd.services.config_repos import ConfigRepoService
from pygocd.services.health import ServerHealth
from pygocd.services.registry import Services
from pygocd.settings import Settings
from pygocd.web.app import create_app
from tests.fakes import FakeClock
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.db

V11 = {"Accept": "application/vnd.go.cd.v11+json"}
URL = "/go/api/admin/pipelines"

RICH = r"""format_version: 10
pipelines:
  upstream:
    group: team
    materials:
      code:
        git: https://example.com/code.git
    stages:
      - build:
          jobs:
            compile:
              tasks:
                - exec: {command: make}
  rich:
    group: team
    label_template: "${COUNT}-x"
    lock_behavior: unlockWhenFinished
    timer:
      spec: "0 0 22 ? * MON-FRI"
      only_on_changes: true
    tracking_tool:
      link: "https://jira/${ID}"
      regex: "##(\\d+)"
    parameters:
      P: v
    environment_variables:
      A: "1"
    materials:
      code:
        git: https://bob:s3cret@example.com/code.git
        branch: main
        shallow_clone: true
        blacklist: ["docs/**"]
      up:
        pipeline: upstream
        stage: build
    stages:
      - test:
          approval:
            type: manual
            users: [bob]
          clean_workspace: true
          jobs:
            unit:
              resources: [linux]
              timeout: 5
              run_instances: 3
              tabs:
                cov: coverage/index.html
              artifacts:
                - build:
                    source: out/*.jar
                    destination: pkg
                - test:
                    source: reports
              tasks:
                - exec:
                    command: make
                    arguments: [all]
                    working_directory: src
                    run_if: any
                    on_cancel:
                      exec: {command: kill}
                - script: echo hi
                - fetch:
                    pipeline: upstream
                    stage: build
                    job: compile
                    source: out/
                - rake: {target: default}
                - ant: {build_file: b.xml}
                - nant: {target: t}
"""


@pytest.fixture
async def api(
    services: Services, clock: FakeClock, settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, ConfigRepoService, GitRepo]]:
    repos = ConfigRepoService(services.config, ServerHealth(clock), tmp_path / "cache")
    remote = GitRepo(tmp_path / "remote")
    remote.commit("rich", {"ci.gocd.yaml": RICH})
    stored = services.config.stored
    local = PipelineConfig("local", group="mine", stages=(StageConfig("s"),))
    await services.config.save(
        replace(stored, groups=(PipelineGroup("mine", (local,)),)),
        expected_md5=stored.md5,
        author="admin",
        message="local pipeline",
    )
    registered = await repos.register(str(remote.path))
    info = await repos.check(registered.id)
    assert info.error is None, info.error
    app = create_app(replace(services, config_repos=repos), settings, loops=())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8153") as c:
        yield c, repos, remote
    await repos.close()


Api = tuple[httpx.AsyncClient, ConfigRepoService, GitRepo]


async def test_get_a_config_repo_pipeline_in_the_v11_shape(api: Api) -> None:
    client, _, remote = api
    response = await client.get(f"{URL}/rich", headers=V11)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.go.cd.v11+json;charset=utf-8"
    assert response.headers["etag"].startswith('"')
    body = response.json()
    assert body["origin"]["type"] == "config_repo"
    assert body["origin"]["id"] == "remote"
    assert body["name"] == "rich"
    assert body["group"] == "team"
    assert body["label_template"] == "${COUNT}-x"
    assert body["lock_behavior"] == "unlockWhenFinished"
    assert body["template"] is None
    assert body["timer"] == {"spec": "0 0 22 ? * MON-FRI", "only_on_changes": True}
    assert body["tracking_tool"]["type"] == "generic"
    assert body["parameters"] == [{"name": "P", "value": "v"}]
    assert body["environment_variables"] == [{"name": "A", "value": "1", "secure": False}]
    git, dependency = body["materials"]
    assert git["type"] == "git"
    assert git["attributes"]["url"] == "https://bob:******@example.com/code.git"
    assert git["attributes"]["branch"] == "main"
    assert git["attributes"]["shallow_clone"] is True
    assert git["attributes"]["filter"] == {"ignore": ["docs/**"]}
    assert git["attributes"]["invert_filter"] is False
    assert dependency == {
        "type": "dependency",
        "attributes": {
            "pipeline": "upstream",
            "stage": "build",
            "name": "up",
            "auto_update": True,
            "ignore_for_scheduling": False,
        },
    }
    [stage] = body["stages"]
    assert stage["approval"]["type"] == "manual"
    assert stage["approval"]["authorization"]["users"] == ["bob"]
    assert stage["clean_working_directory"] is True
    [job] = stage["jobs"]
    assert job["resources"] == ["linux"]
    assert job["timeout"] == 5
    assert job["run_instance_count"] == 3
    assert job["tabs"] == [{"name": "cov", "path": "coverage/index.html"}]
    assert job["artifacts"][0] == {"type": "build", "source": "out/*.jar", "destination": "pkg"}
    assert job["artifacts"][1]["type"] == "test"
    kinds = [t["type"] for t in job["tasks"]]
    assert kinds == ["exec", "pluggable_task", "fetch", "rake", "ant", "nant"]
    exec_task = job["tasks"][0]["attributes"]
    assert exec_task["command"] == "make"
    assert exec_task["arguments"] == ["all"]
    assert exec_task["run_if"] == ["any"]
    assert exec_task["on_cancel"]["type"] == "exec"
    assert job["tasks"][2]["attributes"]["artifact_origin"] == "gocd"
    assert "s3cret" not in response.text
    assert remote.path.name == "remote"


async def test_get_a_stored_pipeline_and_etags(api: Api) -> None:
    client, _, _ = api
    response = await client.get(f"{URL}/LOCAL", headers=V11)
    assert response.status_code == 200
    assert response.json()["origin"]["type"] == "gocd"
    assert response.json()["group"] == "mine"
    cached = await client.get(
        f"{URL}/local", headers={**V11, "If-None-Match": response.headers["etag"]}
    )
    assert cached.status_code == 304
    missing = await client.get(f"{URL}/nope", headers=V11)
    assert missing.status_code == 404
    assert missing.json() == {"message": "Pipeline with name 'nope' was not found!"}
    wrong = await client.get(f"{URL}/local", headers={"Accept": "application/vnd.go.cd.v4+json"})
    assert wrong.status_code == 404


async def test_a_remote_pipeline_cannot_be_changed_here(api: Api) -> None:
    client, _, remote = api
    current = await client.get(f"{URL}/rich", headers=V11)
    # GoCD checks the origin before If-Match: a remote pipeline is refused either way
    no_match = await client.put(f"{URL}/rich", json=current.json(), headers=V11)
    assert no_match.status_code == 422
    refused = await client.put(
        f"{URL}/rich", json=current.json(), headers={**V11, "If-Match": current.headers["etag"]}
    )
    assert refused.status_code == 422
    message = refused.json()["message"]
    assert message.startswith(
        f"Can not operate on pipeline 'rich' as it is defined remotely in '{remote.path} "
        "at revision "
    )
    deleted = await client.delete(f"{URL}/rich", headers=V11)
    assert deleted.status_code == 422
    assert deleted.json()["message"] == message


async def test_delete_a_stored_pipeline(api: Api) -> None:
    client, _, _ = api
    deleted = await client.delete(f"{URL}/local", headers=V11)
    assert deleted.status_code == 200
    assert deleted.json() == {"message": "Pipeline 'local' was deleted successfully."}
    assert (await client.get(f"{URL}/local", headers=V11)).status_code == 404
    current = await client.get(f"{URL}/upstream", headers=V11)
    update = await client.put(
        f"{URL}/upstream", json={}, headers={**V11, "If-Match": current.headers["etag"]}
    )
    assert update.status_code == 422
