"""`pygocd demo`: a sample git repository with a GoCD YAML config, and one local agent.

The repository (made once, in the data dir) is both the config repo and the material of its
pipelines: `hello-build` (build → test, the test fetching the build's artifact) and
`hello-deploy`, downstream of it. With the agent started beside the server, they run and pass
as soon as the server has read the repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DEMO_REPO = "demo-repo"
DEMO_AGENT = "demo-agent"
BRANCH = "main"

BUILD_SCRIPT = """#!/bin/sh
# The demo's "build": what a compiler would make, written to out/app.txt.
set -e
mkdir -p out
echo "Hello from pygocd, built from revision $GO_REVISION_APP" > out/app.txt
echo "built out/app.txt"
"""

TEST_SCRIPT = """#!/bin/sh
# The demo's "tests": check the artifact fetched from the build stage.
set -e
grep -q "Hello from pygocd" fetched/app.txt
echo "all tests passed"
"""


def pipelines_yaml(repo: Path) -> str:
    return f"""# Sample pipelines in GoCD's YAML format, read by the server from this repository.
format_version: 10
pipelines:
  hello-build:
    group: demo
    materials:
      app:
        git: {repo}
        branch: {BRANCH}
    stages:
      - build:
          jobs:
            compile:
              tasks:
                - exec: {{command: sh, arguments: [build.sh]}}
              artifacts:
                - build: {{source: out/app.txt, destination: dist}}
      - test:
          jobs:
            unit:
              tasks:
                - fetch:
                    stage: build
                    job: compile
                    source: dist/app.txt
                    is_file: yes
                    destination: fetched
                - exec: {{command: sh, arguments: [test.sh]}}
            lint:
              tasks:
                - exec: {{command: sh, arguments: [-n, build.sh, test.sh]}}
                - exec: {{command: echo, arguments: [scripts are valid shell]}}
  hello-deploy:
    group: demo
    materials:
      upstream:
        pipeline: hello-build
        stage: test
    stages:
      - deploy:
          jobs:
            release:
              tasks:
                - fetch:
                    pipeline: hello-build
                    stage: build
                    job: compile
                    source: dist/app.txt
                    is_file: yes
                - exec:
                    command: sh
                    arguments:
                      - -c
                      - echo deploying build $GO_DEPENDENCY_LABEL_UPSTREAM; cat app.txt
"""


def _git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "pygocd demo",
        "GIT_AUTHOR_EMAIL": "demo@pygocd.invalid",
        "GIT_COMMITTER_NAME": "pygocd demo",
        "GIT_COMMITTER_EMAIL": "demo@pygocd.invalid",
    }
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def prepare_repo(data_dir: Path) -> Path:
    """The demo repository in the data dir, created and committed on the first run."""
    repo = (data_dir / DEMO_REPO).resolve()
    if (repo / ".git").exists():
        return repo
    repo.mkdir(parents=True, exist_ok=True)
    _git(repo, "init", "--quiet", "-b", BRANCH)
    (repo / "build.sh").write_text(BUILD_SCRIPT)
    (repo / "test.sh").write_text(TEST_SCRIPT)
    (repo / "hello.gocd.yaml").write_text(pipelines_yaml(repo))
    _git(repo, "add", "--all")
    _git(repo, "commit", "--quiet", "-m", "Sample pipelines for the pygocd demo")
    return repo


def start_agent(server_url: str, data_dir: Path, key: str) -> subprocess.Popen[bytes]:
    """One local agent; it retries until the server answers, so it may start first."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pygocd",
            "agent",
            "--server",
            server_url,
            "--work-dir",
            str((data_dir / DEMO_AGENT).resolve()),
            "--auto-register-key",
            key,
            "--hostname",
            DEMO_AGENT,
            "--log-level",
            "warning",
        ],
        stdin=subprocess.DEVNULL,
    )


def stop_agent(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
