"""`pygocd server` as a real process: serves, shuts down cleanly, and fails in one line."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pygocd(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pygocd", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def wait_healthy(port: int, process: subprocess.Popen[str], timeout: float = 60) -> None:
    """Wait for the health check; a server that never gets there is killed, not left behind.

    The timeout only bounds a hung start: a shared CI machine can take many seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early: {process.communicate()[1]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/go/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    process.communicate()
    raise AssertionError("server did not become healthy")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    port = free_port()
    args = ["server", "--port", str(port), "--data-dir", str(tmp_path / "data")]
    url = os.environ.get("PYGOCD_TEST_DB_URL")
    if url:
        args += ["--database-url", url]
    process = pygocd(*args)
    wait_healthy(port, process)
    yield port, process
    if process.poll() is None:
        process.kill()
        process.communicate()


def test_server_serves_the_shell_and_the_api(
    server: tuple[int, subprocess.Popen[str]], tmp_path: Path
) -> None:
    port, _ = server
    base = f"http://127.0.0.1:{port}"
    page = httpx.get(f"{base}/go/pipelines")
    assert page.status_code == 200
    assert "<header" in page.text
    version = httpx.get(
        f"{base}/go/api/version", headers={"Accept": "application/vnd.go.cd.v1+json"}
    )
    assert version.status_code == 200
    assert "version" in version.json()
    assert (
        httpx.get(f"{base}/go/api/version", headers={"Accept": "application/json"}).status_code
        == 404
    )
    if not os.environ.get("PYGOCD_TEST_DB_URL"):
        assert (tmp_path / "data" / "pygocd.db").exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_server_shuts_down_cleanly_on_signal(
    server: tuple[int, subprocess.Popen[str]], sig: signal.Signals
) -> None:
    _, process = server
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "Traceback" not in stderr


def run_and_fail(*args: str, env: dict[str, str] | None = None) -> str:
    process = pygocd(*args, env=env)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize(
    ("database_url", "expected"),
    [
        ("nonsense", "invalid database URL"),
        ("mysql://u@localhost/db", "unsupported database URL scheme 'mysql'"),
        (
            "postgresql://nobody@127.0.0.1:{port}/none",
            "cannot open database postgresql+asyncpg://nobody:***@127.0.0.1",
        ),
    ],
    ids=["invalid", "unsupported", "unreachable"],
)
def test_a_bad_database_url_is_one_clear_line(
    tmp_path: Path, database_url: str, expected: str
) -> None:
    url = database_url.format(port=free_port())
    line = run_and_fail(
        "server", "--port", str(free_port()), "--data-dir", str(tmp_path), "--database-url", url
    )
    assert expected in line


def test_an_unwritable_data_dir_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    line = run_and_fail("server", "--port", str(free_port()), "--data-dir", str(blocker / "data"))
    assert "is not writable" in line


def test_a_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = run_and_fail("server", "--port", str(port), "--data-dir", str(tmp_path))
    assert f"cannot listen on 127.0.0.1:{port}" in line


def test_a_bad_environment_setting_is_one_clear_line(tmp_path: Path) -> None:
    line = run_and_fail("server", "--data-dir", str(tmp_path), env={"PYGOCD_PORT": "eighty"})
    assert "invalid setting: port" in line
