"""A real server and real agent processes against real git repositories in temporary folders.

The pipelines come from a config repo; every first stage is manual, so nothing runs until a
test triggers it through the API. Tests wait for states, never for times.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agent_setup import git_commit
from tests.cli.test_server_process import free_port, wait_healthy

pytestmark = pytest.mark.e2e

KEY = "e2e-key"
V1 = {"Accept": "application/vnd.go.cd.v1+json"}
V3 = {"Accept": "application/vnd.go.cd.v3+json"}
V7 = {"Accept": "application/vnd.go.cd.v7+json"}
CONFIRM = {"X-GoCD-Confirm": "true"}


def pipelines_yaml(code: Path, marker_dir: Path) -> str:
    material = f"""    materials:
      code:
        git: {code}
        branch: main
        destination: src
"""
    manual = "          approval: {type: manual}\n"
    return f"""format_version: 10
pipelines:
  twostage:
    group: e2e
{material}    stages:
      - build:
{manual}          jobs:
            compile:
              tasks:
                - script: |
                    mkdir -p out && cp src/hello.txt out/app.txt
                    echo compiled $GO_REVISION_CODE
              artifacts:
                - build: {{source: out/app.txt, destination: bin}}
            lint:
              tasks:
                - exec: {{command: echo, arguments: [linted]}}
      - test:
          jobs:
            verify:
              tasks:
                - fetch:
                    stage: build
                    job: compile
                    source: bin/app.txt
                    is_file: yes
                    destination: got
                - exec: {{command: cat, arguments: [got/app.txt]}}
  failing:
    group: e2e
{material}    stages:
      - build:
{manual}          jobs:
            broken:
              tasks:
                - exec: {{command: "false"}}
                - exec: {{command: echo, arguments: [skipped-after-failure]}}
                - exec: {{command: sh, arguments: [-c, echo cleanup-ran], run_if: failed}}
  cancelme:
    group: e2e
{material}    stages:
      - build:
{manual}          jobs:
            sleepy:
              tasks:
                - exec:
                    command: sh
                    arguments:
                      - -c
                      - sleep 300 & echo $! > {marker_dir}/child.pid; echo started; wait
                    on_cancel:
                      script: echo on-cancel-ran > {marker_dir}/on_cancel.txt
  stuck:
    group: e2e
{material}    stages:
      - build:
{manual}          jobs:
            hang:
              tasks:
                - exec:
                    command: sh
                    arguments: [-c, "echo started > {marker_dir}/stuck_started; sleep 300"]
                    on_cancel:
                      script: sleep 300 & echo $! > {marker_dir}/stuck_child.pid; wait
  tested:
    group: e2e
{material}    stages:
      - build:
{manual}          jobs:
            unit:
              tasks:
                - script: |
                    mkdir -p results
                    cat > results/TEST-app.xml <<'XML'
                    <testsuite name="app">
                      <testcase classname="app.Spec" name="works" time="0.1"/>
                      <testcase classname="app.Spec" name="breaks" time="0.2">
                        <failure message="nope">trace</failure>
                      </testcase>
                    </testsuite>
                    XML
              artifacts:
                - test: {{source: results, destination: reports}}
  secure:
    group: e2e
{material}    environment_variables:
      PASSWORD: placeholder
    stages:
      - build:
{manual}          jobs:
            leak:
              tasks:
                - script: echo "password=$PASSWORD"; echo "$PASSWORD" | rev
  routed:
    group: e2e
{material}    stages:
      - build:
{manual}          jobs:
            special:
              resources: [special]
              tasks:
                - exec: {{command: echo, arguments: [on-special]}}
  fragile:
    group: e2e
{material}    stages:
      - build:
{manual}          jobs:
            slow:
              resources: [fragile]
              tasks:
                - script: echo slow-started; sleep 4; echo slow-done
  waiting:
    group: e2e
{material}    stages:
      - build:
{manual}          jobs:
            later:
              resources: [approved-only]
              tasks:
                - exec: {{command: echo, arguments: [finally]}}
"""


def eventually(check: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met in time")
        time.sleep(0.1)


@dataclass
class Cluster:
    base: str
    root: Path
    marker_dir: Path
    server: subprocess.Popen[str]
    agents: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    def start_agent(
        self, name: str, *, resources: str = "", key: str | None = KEY
    ) -> subprocess.Popen[str]:
        args = [
            sys.executable,
            "-m",
            "pygocd",
            "agent",
            "--server",
            f"{self.base}/go",
            "--work-dir",
            str(self.root / "agents" / name),
            "--hostname",
            name,
        ]
        if key:
            args += ["--auto-register-key", key]
        if resources:
            args += ["--resources", resources]
        log = self.root / f"{name}.log"
        self.logs[name] = log
        with log.open("w") as stream:
            process = subprocess.Popen(
                args, stdout=subprocess.DEVNULL, stderr=stream, text=True, start_new_session=True
            )
        self.agents[name] = process
        return process

    def agent_uuid(self, name: str) -> str:
        guid = self.root / "agents" / name / "config" / "guid.txt"
        return str(eventually(lambda: guid.exists() and guid.read_text().strip(), what="guid"))

    def trigger(self, pipeline: str, body: dict[str, Any] | None = None) -> None:
        response = httpx.post(
            f"{self.base}/go/api/pipelines/{pipeline}/schedule",
            headers={**V1, **CONFIRM},
            json=body,
        )
        assert response.status_code == 202, response.text

    def instance(self, pipeline: str, counter: int = 1) -> dict[str, Any] | None:
        response = httpx.get(f"{self.base}/go/api/pipelines/{pipeline}/{counter}", headers=V1)
        return response.json() if response.status_code == 200 else None

    def wait_stage(self, pipeline: str, stage: str, counter: int = 1) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            instance = self.instance(pipeline, counter)
            for found in (instance or {}).get("stages", []):
                if found["name"] == stage and found.get("result", "Unknown") != "Unknown":
                    return dict(found)
            return None

        return dict(eventually(done, what=f"{pipeline}/{stage} finished"))

    def jobs(self, pipeline: str, counter: int = 1) -> list[dict[str, Any]]:
        """The jobs of the instance's stages, as the job API shows them (with agent uuid)."""
        instance = self.instance(pipeline, counter) or {}
        found = []
        for stage in instance.get("stages", []):
            for job in stage.get("jobs", []):
                locator = f"{pipeline}/{counter}/{stage['name']}/{stage['counter']}/{job['name']}"
                response = httpx.get(f"{self.base}/go/api/jobs/{locator}", headers=V1)
                assert response.status_code == 200, response.text
                found.append(response.json())
        return found

    def console(self, locator: str) -> str:
        response = httpx.get(f"{self.base}/go/files/{locator}/cruise-output/console.log")
        assert response.status_code == 200, response.text
        return response.text

    def stop(self) -> None:
        for process in [*self.agents.values(), self.server]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.agents.values(), self.server]:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def launch_server(
    root: Path, port: int, config: Path, *, lost_after: float
) -> subprocess.Popen[str]:
    args = [
        sys.executable,
        "-m",
        "pygocd",
        "server",
        "--port",
        str(port),
        "--data-dir",
        str(root / "data"),
        "--agent-auto-register-key",
        KEY,
        "--config-repo",
        f"{config}#main",
    ]
    url = os.environ.get("PYGOCD_TEST_DB_URL")
    if url:
        args += ["--database-url", url]
    with (root / "server.log").open("a") as stream:
        return subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=stream,
            text=True,
            env={**os.environ, "PYGOCD_AGENT_LOST_CONTACT_SECONDS": str(lost_after)},
        )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("agents-e2e")
    code = root / "code"
    git_commit(code, {"hello.txt": "hello from the code repo\n"})
    marker_dir = root / "markers"
    marker_dir.mkdir()
    config = root / "config"
    git_commit(config, {"ci.gocd.yaml": pipelines_yaml(code, marker_dir)})
    port = free_port()
    server = launch_server(root, port, config, lost_after=3)
    wait_healthy(port, server)
    base = f"http://127.0.0.1:{port}"
    eventually(
        lambda: (
            httpx.get(f"{base}/go/api/pipelines/twostage/status", headers=V1).status_code == 200
        ),
        what="config repo pipelines",
    )
    found = Cluster(base, root, marker_dir, server)
    found.start_agent("a1")
    found.start_agent("a2", resources="special")
    try:
        yield found
    finally:
        found.stop()


def test_two_stages_with_parallel_jobs_pass_an_artifact_by_fetch(cluster: Cluster) -> None:
    cluster.trigger("twostage")
    assert cluster.wait_stage("twostage", "build")["result"] == "Passed"
    assert cluster.wait_stage("twostage", "test")["result"] == "Passed"
    assert "compiled" in cluster.console("twostage/1/build/1/compile")
    assert "linted" in cluster.console("twostage/1/build/1/lint")
    assert "hello from the code repo" in cluster.console("twostage/1/test/1/verify")
    artifact = httpx.get(f"{cluster.base}/go/files/twostage/1/build/1/compile/bin/app.txt")
    assert artifact.text == "hello from the code repo\n"


def test_a_failing_task_fails_job_stage_and_pipeline_while_run_if_failed_runs(
    cluster: Cluster,
) -> None:
    cluster.trigger("failing")
    stage = cluster.wait_stage("failing", "build")
    assert stage["result"] == "Failed"
    assert [j["result"] for j in cluster.jobs("failing")] == ["Failed"]
    log = cluster.console("failing/1/build/1/broken")
    assert "cleanup-ran" in log
    assert "&1|" in log
    assert "skipped-after-failure\n" not in log.replace("Task: echo skipped-after-failure", "")
    status = httpx.get(f"{cluster.base}/go/api/pipelines/failing/history", headers=V1)
    assert status.status_code == 200


def test_cancel_kills_the_process_tree_and_runs_on_cancel(cluster: Cluster) -> None:
    cluster.trigger("cancelme")
    pid_file = cluster.marker_dir / "child.pid"
    eventually(lambda: pid_file.exists() and pid_file.read_text().strip(), what="child started")
    child = int(pid_file.read_text())
    response = httpx.post(
        f"{cluster.base}/go/api/stages/cancelme/1/build/1/cancel", headers={**V3, **CONFIRM}
    )
    assert response.status_code == 200, response.text
    assert cluster.wait_stage("cancelme", "build")["result"] == "Cancelled"
    on_cancel = cluster.marker_dir / "on_cancel.txt"
    eventually(on_cancel.exists, what="on_cancel ran")
    assert "on-cancel-ran" in on_cancel.read_text()
    eventually(lambda: process_gone(child), what="sleep child killed")


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie waiting for its (killed) parent's reaper counts as gone.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] == "Z"


def test_kill_running_tasks_ends_an_on_cancel_task_that_hangs(cluster: Cluster) -> None:
    """GoCD's `POST /go/api/agents/:uuid/kill_running_tasks`: an agent stuck cancelling a
    job (its on_cancel task never ends) kills the whole process tree and is Idle again."""
    cluster.trigger("stuck")
    eventually((cluster.marker_dir / "stuck_started").exists, what="job started")
    [job] = cluster.jobs("stuck")
    uuid = job["agent_uuid"]
    agent_url = f"{cluster.base}/go/api/agents/{uuid}"
    kill_url = f"{agent_url}/kill_running_tasks"
    too_early = httpx.post(kill_url, headers={**V7, **CONFIRM})
    assert too_early.status_code == 409
    assert "Current Agent state is: 'Building'" in too_early.json()["message"]
    cancelled = httpx.post(
        f"{cluster.base}/go/api/stages/stuck/1/build/1/cancel", headers={**V3, **CONFIRM}
    )
    assert cancelled.status_code == 200, cancelled.text
    pid_file = cluster.marker_dir / "stuck_child.pid"
    eventually(lambda: pid_file.exists() and pid_file.read_text().strip(), what="on_cancel runs")
    child = int(pid_file.read_text())
    eventually(
        lambda: httpx.get(agent_url, headers=V7).json()["build_state"] == "Cancelled",
        what="agent shown as cancelling",
    )
    killed = httpx.post(kill_url, headers={**V7, **CONFIRM})
    assert (killed.status_code, killed.content) == (202, b"")
    eventually(lambda: process_gone(child), what="on_cancel's child killed")
    eventually(
        lambda: httpx.get(agent_url, headers=V7).json()["agent_state"] == "Idle",
        what="agent idle again",
    )
    log = cluster.console("stuck/1/build/1/hang")
    assert "Killing all running tasks on this agent, as requested" in log
    assert cluster.wait_stage("stuck", "build")["result"] == "Cancelled"


def test_a_junit_report_becomes_testoutput_index_html(cluster: Cluster) -> None:
    cluster.trigger("tested")
    assert cluster.wait_stage("tested", "build")["result"] == "Passed"
    files = f"{cluster.base}/go/files/tested/1/build/1/unit"
    page = httpx.get(f"{files}/testoutput/index.html")
    assert page.status_code == 200
    assert '<span class="tests_total_count">2</span>' in page.text
    assert '<span class="tests_failed_count">1</span>' in page.text
    assert "app.Spec.breaks" in page.text
    listing = httpx.get(f"{files}.json").json()
    names = {entry["name"]: entry for entry in listing}
    assert {"reports", "testoutput", "cruise-output"} <= set(names)
    raw = httpx.get(f"{files}/reports/results/TEST-app.xml")
    assert 'name="breaks"' in raw.text


def test_a_secure_variable_never_reaches_a_console(cluster: Cluster) -> None:
    secret = "s3cr3t-Value-42"
    cluster.trigger(
        "secure",
        {"environment_variables": [{"name": "PASSWORD", "value": secret, "secure": True}]},
    )
    assert cluster.wait_stage("secure", "build")["result"] == "Passed"
    log = cluster.console("secure/1/build/1/leak")
    assert "password=********" in log
    assert secret not in log
    for folder, _dirs, names in os.walk(cluster.root / "data" / "artifacts"):
        for name in names:
            assert secret.encode() not in (Path(folder) / name).read_bytes()


def test_resources_route_jobs_to_the_agent_that_has_them(cluster: Cluster) -> None:
    cluster.trigger("routed")
    assert cluster.wait_stage("routed", "build")["result"] == "Passed"
    [job] = cluster.jobs("routed")
    assert job["agent_uuid"] == cluster.agent_uuid("a2")


def test_a_pending_agent_gets_no_work_until_enabled(cluster: Cluster) -> None:
    cluster.start_agent("pending", key=None)
    uuid = cluster.agent_uuid("pending")
    agent = httpx.get(f"{cluster.base}/go/api/agents/{uuid}", headers=V7).json()
    assert agent["agent_config_state"] == "Pending"
    cluster.trigger("waiting")
    eventually(lambda: cluster.jobs("waiting"), what="job scheduled")
    # Resources of a pending agent are the admin's to give: none yet, and no work.
    patched = httpx.patch(
        f"{cluster.base}/go/api/agents/{uuid}",
        headers=V7,
        json={"resources": ["approved-only"]},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["agent_config_state"] == "Pending"
    # A matching agent is woken at once by the change; give it a moment to (not) take the job.
    time.sleep(1.0)
    assert cluster.jobs("waiting")[0]["state"] == "Scheduled"
    enabled = httpx.patch(
        f"{cluster.base}/go/api/agents/{uuid}",
        headers=V7,
        json={"agent_config_state": "Enabled"},
    )
    assert enabled.json()["agent_config_state"] == "Enabled"
    assert cluster.wait_stage("waiting", "build")["result"] == "Passed"
    assert cluster.jobs("waiting")[0]["agent_uuid"] == uuid


def test_killing_an_agent_mid_job_reschedules_the_job_onto_another(cluster: Cluster) -> None:
    doomed = cluster.start_agent("doomed", resources="fragile")
    doomed_uuid = cluster.agent_uuid("doomed")
    cluster.trigger("fragile")
    eventually(
        lambda: any(
            j["agent_uuid"] == doomed_uuid and j["state"] == "Building"
            for j in cluster.jobs("fragile")
        ),
        what="job building on the doomed agent",
    )
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait()
    cluster.start_agent("rescuer", resources="fragile")
    rescuer_uuid = cluster.agent_uuid("rescuer")
    assert cluster.wait_stage("fragile", "build")["result"] == "Passed"
    jobs = cluster.jobs("fragile")
    assert [j["agent_uuid"] for j in jobs if j["result"] == "Passed"] == [rescuer_uuid]
    agent = httpx.get(f"{cluster.base}/go/api/agents/{doomed_uuid}", headers=V7).json()
    assert agent["agent_state"] == "LostContact"


RESTART_YAML = """format_version: 10
pipelines:
  survivor:
    group: e2e
    materials:
      code:
        git: {code}
        branch: main
    stages:
      - build:
          approval: {{type: manual}}
          fetch_materials: false
          jobs:
            long:
              tasks:
                - exec:
                    command: sh
                    arguments:
                      - -c
                      - echo before; while [ ! -f {go} ]; do sleep 0.1; done; echo after
"""


def test_a_server_restart_mid_job_still_records_the_result(tmp_path: Path) -> None:
    """The agent keeps running the job while the server is away, then delivers the rest of
    the console and the result to the restarted server."""
    code = tmp_path / "code"
    git_commit(code, {"a.txt": "a"})
    config = tmp_path / "config"
    go = tmp_path / "go-on"
    git_commit(config, {"ci.gocd.yaml": RESTART_YAML.format(code=code, go=go)})
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = launch_server(tmp_path, port, config, lost_after=120)
    found = Cluster(base, tmp_path, tmp_path, server)
    try:
        wait_healthy(port, server)
        eventually(
            lambda: (
                httpx.get(f"{base}/go/api/pipelines/survivor/status", headers=V1).status_code == 200
            ),
            what="config repo pipelines",
        )
        found.start_agent("steady")
        found.trigger("survivor")
        eventually(
            lambda: (
                "before"
                in httpx.get(
                    f"{base}/go/files/survivor/1/build/1/long/cruise-output/console.log"
                ).text
            ),
            what="job started",
        )
        server.terminate()
        assert server.wait(timeout=30) == 0
        go.write_text("now")  # the job finishes while the server is down
        time.sleep(1.0)
        found.server = launch_server(tmp_path, port, config, lost_after=120)
        wait_healthy(port, found.server)
        assert found.wait_stage("survivor", "build")["result"] == "Passed"
        log = found.console("survivor/1/build/1/long")
        output = [line.split(" ", 1)[1] for line in log.splitlines() if line.startswith("&1|")]
        assert output == ["before", "after"]  # nothing lost, nothing doubled
    finally:
        found.stop()


def test_after_a_server_restart_a_silent_agent_is_missing_until_it_calls(tmp_path: Path) -> None:
    """GoCD shows a registered agent it has not heard from since it started as Missing."""
    code = tmp_path / "code"
    git_commit(code, {"a.txt": "a"})
    config = tmp_path / "config"
    git_commit(config, {"ci.gocd.yaml": RESTART_YAML.format(code=code, go=tmp_path / "go")})
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    found = Cluster(base, tmp_path, tmp_path, launch_server(tmp_path, port, config, lost_after=120))

    def agent_state(uuid: str) -> str:
        response = httpx.get(f"{base}/go/api/agents/{uuid}", headers=V7)
        assert response.status_code == 200, response.text
        return str(response.json()["agent_state"])

    try:
        wait_healthy(port, found.server)
        agent = found.start_agent("sleeper")
        uuid = found.agent_uuid("sleeper")
        eventually(lambda: agent_state(uuid) == "Idle", what="agent idle")
        agent.terminate()
        agent.wait(timeout=30)
        found.server.terminate()
        assert found.server.wait(timeout=30) == 0
        found.server = launch_server(tmp_path, port, config, lost_after=120)
        wait_healthy(port, found.server)
        assert agent_state(uuid) == "Missing"
        listed = httpx.get(f"{base}/go/api/agents", headers=V7).json()["_embedded"]["agents"]
        assert [(a["uuid"], a["agent_state"], a["build_state"]) for a in listed] == [
            (uuid, "Missing", "Unknown")
        ]
        found.start_agent("sleeper")
        eventually(lambda: agent_state(uuid) == "Idle", what="agent idle again")
    finally:
        found.stop()
