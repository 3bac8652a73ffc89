"""A real server given a pipeline with a Subversion material: no hg/svn/p4/tfs client runs
here, so the server says so in its health messages and refuses to schedule the pipeline with
a clear message; it neither crashes nor runs a job without its material."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.agent_setup import git_commit
from tests.cli.test_server_process import free_port, wait_healthy
from tests.e2e.test_agents_e2e import V1, eventually, launch_server

pytestmark = pytest.mark.e2e

YAML = """format_version: 10
pipelines:
  legacy:
    group: old
    materials:
      trunk:
        svn: https://svn.example.com/repo/trunk
    stages:
      - build:
          jobs:
            compile:
              tasks:
                - exec: {command: "true"}
"""


def test_a_subversion_material_is_reported_and_its_pipeline_is_not_scheduled(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config"
    git_commit(config, {"ci.gocd.yaml": YAML})
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = launch_server(tmp_path, port, config, lost_after=120)
    try:
        wait_healthy(port, server)

        def health() -> list[dict[str, str]]:
            response = httpx.get(f"{base}/go/api/server_health_messages", headers=V1)
            assert response.status_code == 200, response.text
            return [m for m in response.json() if "not supported" in m["message"]]

        [message] = eventually(health, what="health message")
        assert message["message"] == (
            "Subversion material is not supported: https://svn.example.com/repo/trunk"
        )
        assert message["level"] == "ERROR"
        assert "pipeline(s) legacy cannot be scheduled" in message["detail"]
        refused = httpx.post(
            f"{base}/go/api/pipelines/legacy/schedule",
            headers={**V1, "X-GoCD-Confirm": "true"},
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["message"] == (
            "Error while scheduling pipeline: legacy { Material trunk is a Subversion material, "
            "which this server cannot poll; replace it with a git material }"
        )
        history = httpx.get(f"{base}/go/api/pipelines/legacy/history", headers=V1)
        assert history.json()["pipelines"] == []
        assert server.poll() is None
    finally:
        server.terminate()
        server.wait(timeout=30)
