"""`pygocd server --config-repo` as a real process against real git repositories."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.test_server_process import free_port, pygocd, wait_healthy
from tests.gitrepo import BROKEN_YAML, GitRepo, pipeline_yaml

pytestmark = pytest.mark.e2e

V4 = {"Accept": "application/vnd.go.cd.v4+json"}
V11 = {"Accept": "application/vnd.go.cd.v11+json"}

Server = Callable[..., tuple[str, subprocess.Popen[str]]]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Server]:
    processes: list[subprocess.Popen[str]] = []

    def start(*repos: str) -> tuple[str, subprocess.Popen[str]]:
        port = free_port()
        args = ["server", "--port", str(port), "--data-dir", str(tmp_path / "data")]
        url = os.environ.get("PYGOCD_TEST_DB_URL")
        if url:
            args += ["--database-url", url]
        for repo in repos:
            args += ["--config-repo", repo]
        process = pygocd(*args)
        processes.append(process)
        wait_healthy(port, process)
        return f"http://127.0.0.1:{port}", process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.communicate()


def eventually(check: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr


def test_a_config_repo_given_at_start_serves_its_pipelines(
    start_server: Server, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "pipelines")
    good = repo.commit("two pipelines", {"ci.gocd.yaml": pipeline_yaml("build", "deploy")})
    base, process = start_server(str(repo.path))

    pipeline = eventually(
        lambda: (
            r
            if (r := httpx.get(f"{base}/go/api/admin/pipelines/build", headers=V11)).status_code
            == 200
            else None
        )
    )
    assert pipeline.json()["origin"]["type"] == "config_repo"
    assert pipeline.json()["origin"]["id"] == "pipelines"
    assert pipeline.headers["etag"]

    repo.commit("broken", {"ci.gocd.yaml": BROKEN_YAML})
    trigger = httpx.post(
        f"{base}/go/api/admin/config_repos/pipelines/trigger_update",
        headers={**V4, "X-GoCD-Confirm": "true"},
    )
    assert trigger.status_code in (201, 409)

    def parse_info() -> dict[str, Any] | None:
        repo_json = httpx.get(f"{base}/go/api/admin/config_repos/pipelines", headers=V4).json()
        info: dict[str, Any] = repo_json["parse_info"]
        return info if info["error"] else None

    info = eventually(parse_info)
    assert info["good_modification"]["revision"] == good
    assert info["latest_parsed_modification"]["comment"] == "broken"
    still = httpx.get(f"{base}/go/api/admin/pipelines/deploy", headers=V11)
    assert still.status_code == 200
    assert still.json()["origin"]["type"] == "config_repo"
    health = httpx.get(
        f"{base}/go/api/server_health_messages",
        headers={"Accept": "application/vnd.go.cd.v1+json"},
    ).json()
    assert any("ci.gocd.yaml" in message["detail"] for message in health)
    stop(process)

    # a restart with the same flag keeps one registration, and parses the repo again
    base, process = start_server(str(repo.path))
    listed = httpx.get(f"{base}/go/api/admin/config_repos", headers=V4).json()
    assert [r["id"] for r in listed["_embedded"]["config_repos"]] == ["pipelines"]
    assert eventually(parse_info)["good_modification"] is None  # nothing good since the start
    assert httpx.get(f"{base}/go/api/admin/pipelines/build", headers=V11).status_code == 404
    stop(process)


def test_a_repo_that_cannot_be_fetched_applies_nothing(
    start_server: Server, tmp_path: Path
) -> None:
    base, process = start_server("https://bob:s3cret@127.0.0.1:9/nowhere.git#main")

    def parse_info() -> dict[str, Any] | None:
        listed = httpx.get(f"{base}/go/api/admin/config_repos", headers=V4)
        assert "s3cret" not in listed.text
        [repo] = listed.json()["_embedded"]["config_repos"]
        info: dict[str, Any] = repo["parse_info"]
        return info if info["error"] else None

    info = eventually(parse_info)
    assert info["good_modification"] is None
    assert info["latest_parsed_modification"] is None
    health = httpx.get(
        f"{base}/go/api/server_health_messages",
        headers={"Accept": "application/vnd.go.cd.v1+json"},
    )
    assert health.json()
    assert "s3cret" not in health.text
    stop(process)
