"""`pygocd demo` as a real process: its sample pipelines run on its own agent and pass."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.test_server_process import free_port, wait_healthy
from tests.e2e.test_agents_e2e import eventually

pytestmark = pytest.mark.e2e

V1 = {"Accept": "application/vnd.go.cd.v1+json"}


def results(base: str, pipeline: str) -> list[tuple[str, str]]:
    response = httpx.get(f"{base}/go/api/pipelines/{pipeline}/history", headers=V1)
    if response.status_code != 200:
        return []
    runs: list[dict[str, Any]] = response.json().get("pipelines", [])
    return [(s["name"], s.get("result", "")) for run in runs[:1] for s in run["stages"]]


def test_the_demo_runs_its_pipelines_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    with (tmp_path / "demo.log").open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pygocd",
                "demo",
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path / "data"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        wait_healthy(port, process)
        base = f"http://127.0.0.1:{port}"
        eventually(
            lambda: results(base, "hello-build") == [("build", "Passed"), ("test", "Passed")],
            what="hello-build passed",
        )
        eventually(
            lambda: results(base, "hello-deploy") == [("deploy", "Passed")],
            what="hello-deploy passed",
        )
        agents = httpx.get(
            f"{base}/go/api/agents", headers={"Accept": "application/vnd.go.cd.v7+json"}
        ).json()["_embedded"]["agents"]
        assert [a["hostname"] for a in agents] == ["demo-agent"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.terminate()  # lets the demo stop its agent too
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    assert "Traceback" not in (tmp_path / "demo.log").read_text()
