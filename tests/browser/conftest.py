"""Browser tests: a real `pygocd server` (and a real `pygocd agent` when the agent command
exists) with pipelines from a real config repo, driven by Debian's Chromium through
Playwright's sync API. They run in their own pytest invocation (`scripts/test`), apart from
the asyncio tests."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.browser.support import eventually
from tests.cli.test_server_process import free_port, wait_healthy
from tests.gitrepo import GitRepo

# How long an expectation may wait for the page to get there, not a speed requirement: CI
# machines are shared, and a live update can take seconds when another job loads them.
expect.set_options(timeout=20_000)

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
KEY = "browser-test-key"
HAS_AGENT = importlib.util.find_spec("pygocd.agent.cli") is not None

BUILD_SCRIPT = """\
printf 'compiling \\033[32mgreen\\033[0m\\n'
sleep 1
echo "step two"
sleep 2
echo "done"
"""

PIPELINES_YAML = """\
format_version: 10
environments:
  qa:
    pipelines:
      - deploy
pipelines:
  build-app:
    group: team
    materials:
      code:
        git: {code}
        branch: main
        auto_update: false
    stages:
      - compile:
          jobs:
            compile:
              tasks:
                - exec:
                    command: sh
                    arguments:
                      - build.sh
      - test:
          jobs:
            unit:
              tasks:
                - exec:
                    command: "true"
            lint:
              tasks:
                - exec:
                    command: "true"
  deploy:
    group: team
    materials:
      code:
        git: {code}
        branch: main
        auto_update: false
    stages:
      - package:
          jobs:
            package:
              tasks:
                - exec:
                    command: "true"
      - production:
          approval:
            type: manual
          jobs:
            release:
              tasks:
                - exec:
                    command: "true"
  nightly-report:
    group: reports
    materials:
      code:
        git: {code}
        branch: main
        auto_update: false
    stages:
      - report:
          jobs:
            report:
              tasks:
                - exec:
                    command: "false"
"""


@dataclass
class Server:
    base: str
    port: int
    data_dir: Path
    args: list[str]
    process: subprocess.Popen[str]
    agent: subprocess.Popen[str] | None = None

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pygocd", *self.args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_healthy(self.port, self.process)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.communicate()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("browser")
    code = GitRepo(root / "code", branch="main")
    code.commit("Initial commit", {"README.md": "hello\n", "build.sh": BUILD_SCRIPT})
    code.commit("Make the build faster")
    repo = GitRepo(root / "pipelines", branch="main")
    repo.commit("pipelines", {"ci.gocd.yaml": PIPELINES_YAML.format(code=code.path)})
    port = free_port()
    data_dir = root / "data"
    args = ["server", "--port", str(port), "--data-dir", str(data_dir)]
    args += ["--config-repo", f"{repo.path}#main", "--agent-auto-register-key", KEY]
    url = os.environ.get("PYGOCD_TEST_DB_URL")
    if url:
        args += ["--database-url", url]
    placeholder: subprocess.Popen[str] = subprocess.Popen(["true"], text=True)
    placeholder.wait()
    server = Server(f"http://127.0.0.1:{port}", port, data_dir, args, placeholder)
    server.start()
    eventually(lambda: "nightly-report" in httpx.get(server.url("/go/pipelines")).text)
    if HAS_AGENT:
        server.agent = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pygocd",
                "agent",
                "--server",
                server.url("/go"),
                "--work-dir",
                str(root / "agent"),
                "--auto-register-key",
                KEY,
                "--hostname",
                "browser-agent",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    yield server
    if server.agent is not None:
        server.agent.terminate()
        try:
            server.agent.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.agent.kill()
    server.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture
def mobile(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    yield page
    context.close()
