"""Agents end to end, pygocd beside Buildbot 4.3 on the same two workloads.

1. latency: trigger → a one-job pipeline running `true` Passed, on a warm agent (p50, p95);
2. throughput: 200 such pipelines triggered at once over 4 agents (jobs per second);
then server RSS after the run and agent idle RSS. Buildbot runs in its own venv (made on the
first run under the work folder, `pip install buildbot buildbot-worker buildbot-www`), with one
worker and one builder running `ShellCommand(["true"])`, `collapseRequests=False`, triggered
through its REST force scheduler (reference: stack-notes §7).

Run: .venv/bin/python bench/agents.py [--runs 30] [--pipelines 200] [--agents 4] [--no-buildbot]
Goals (issue 5): p50 < 300 ms; ≥ 5× faster per build and ≥ 4× the throughput of Buildbot.
Both sides skip source checkout (`fetch_materials: false`), so the figures are the CI
machinery's own: trigger, schedule, assign, run, report.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

V1 = {"Accept": "application/vnd.go.cd.v1+json"}
CONFIRM = {"X-GoCD-Confirm": "true", "Content-Type": "application/json"}
KEY = "bench-key"
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_for(check: Callable[[], Any], timeout: float, what: str, pause: float = 0.005) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except httpx.TransportError:
            result = None
        if result:
            return result
        time.sleep(pause)
    raise SystemExit(f"timed out waiting for {what}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- pygocd ---------------------------------------------------------------------------------


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=GIT_ENV, check=True, capture_output=True)


def pipelines_yaml(names: list[str], code: Path) -> str:
    lines = ["format_version: 10", "pipelines:"]
    for name in names:
        lines += textwrap.indent(
            textwrap.dedent(
                f"""\
                {name}:
                  group: bench
                  materials:
                    code:
                      git: {code}
                      branch: main
                  stages:
                    - run:
                        fetch_materials: false
                        approval: {{type: manual}}
                        jobs:
                          only:
                            tasks:
                              - exec: {{command: "true"}}
                """
            ),
            "  ",
        ).splitlines()
    return "\n".join(lines) + "\n"


class Pygocd:
    def __init__(self, root: Path, names: list[str]) -> None:
        self.root = root
        code = root / "code"
        code.mkdir(parents=True)
        git(code, "init", "-q", "-b", "main")
        (code / "README").write_text("bench\n")
        git(code, "add", "-A")
        git(code, "commit", "-q", "-m", "code")
        config = root / "config"
        config.mkdir()
        git(config, "init", "-q", "-b", "main")
        (config / "bench.gocd.yaml").write_text(pipelines_yaml(names, code))
        git(config, "add", "-A")
        git(config, "commit", "-q", "-m", "pipelines")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        profile = os.environ.get("BENCH_PROFILE")  # a cProfile output file for the server
        self.server = subprocess.Popen(
            [
                sys.executable,
                *(["-m", "cProfile", "-o", profile] if profile else []),
                "-m",
                "pygocd",
                "server",
                "--port",
                str(self.port),
                "--data-dir",
                str(root / "data"),
                "--agent-auto-register-key",
                KEY,
                "--config-repo",
                f"{config}#main",
                "--log-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(root / "server.log").open("w"),
        )
        self.agents: list[subprocess.Popen[bytes]] = []
        self.http = httpx.Client(base_url=self.base, timeout=30)
        last = names[-1]
        wait_for(
            lambda: (
                self.http.get(f"/go/api/pipelines/{last}/status", headers=V1).status_code == 200
            ),
            60,
            "the server and its config repo",
            0.1,
        )
        # Each pipeline's material must have been polled once before triggers skip polling.
        self.trigger(names[0], update=True)

    def start_agent(self, name: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pygocd",
                "agent",
                "--server",
                f"{self.base}/go",
                "--work-dir",
                str(self.root / name),
                "--auto-register-key",
                KEY,
                "--log-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self.root / f"{name}.log").open("w"),
        )
        self.agents.append(process)
        return process

    def wait_agents(self, count: int) -> None:
        def idle() -> bool:
            body = self.http.get(
                "/go/api/agents", headers={"Accept": "application/vnd.go.cd.v7+json"}
            )
            agents = body.json()["_embedded"]["agents"]
            return sum(a["agent_state"] == "Idle" for a in agents) >= count

        wait_for(idle, 60, f"{count} idle agents", 0.05)

    def trigger(self, name: str, *, update: bool = False) -> None:
        response = self.http.post(
            f"/go/api/pipelines/{name}/schedule",
            headers={**V1, **CONFIRM},
            json={"update_materials_before_scheduling": update},
        )
        if response.status_code != 202:
            raise SystemExit(f"trigger {name}: {response.status_code} {response.text}")

    def stage(self, name: str, counter: int) -> dict[str, Any] | None:
        response = self.http.get(
            f"/go/api/stages/{name}/{counter}/run/1",
            headers={"Accept": "application/vnd.go.cd.v3+json"},
        )
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        return None if body.get("result") in (None, "Unknown") else body

    def wait_passed(self, name: str, counter: int, timeout: float = 60) -> float:
        """Wait (polling every 20 ms, as for Buildbot) and return when the stage finished,
        from the server's own millisecond timestamp, so polling adds no error."""
        body = wait_for(lambda: self.stage(name, counter), timeout, f"{name}/{counter}", 0.02)
        if body["result"] != "Passed":
            raise SystemExit(f"{name}/{counter} ended {body['result']}")
        return float(body["last_transitioned_time"]) / 1000

    def finished(self) -> dict[str, str]:
        """Every pipeline's last result in one request (CCTray), so polling stays cheap."""
        xml = self.http.get("/go/cctray.xml").text
        found = {}
        for match in re.finditer(r'name="([^"]+) :: run" [^>]*lastBuildStatus="([^"]+)"', xml):
            found[match.group(1)] = match.group(2)
        return found

    def stop(self) -> None:
        for process in [*self.agents, self.server]:
            if process.poll() is None:
                process.send_signal(signal.SIGINT if process is self.server else signal.SIGTERM)
        for process in [*self.agents, self.server]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.http.close()


def bench_pygocd(root: Path, runs: int, pipelines: int, agents: int) -> dict[str, float]:
    names = [f"p{i:03d}" for i in range(pipelines)]
    side = Pygocd(root, names)
    try:
        side.start_agent("agent-0")
        side.wait_agents(1)
        side.wait_passed(names[0], 1, 120)
        time.sleep(1.0)
        agent_idle_rss = rss_mb(side.agents[0].pid)
        latencies = []
        for counter in range(2, runs + 2):
            started = time.time()
            side.trigger(names[0])
            latencies.append(side.wait_passed(names[0], counter) - started)
        for i in range(1, agents):
            side.start_agent(f"agent-{i}")
        side.wait_agents(agents)
        started = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(side.trigger, names[1:]))
        wanted = set(names[1:])
        while True:
            done = {n: r for n, r in side.finished().items() if n in wanted and r != "Unknown"}
            if len(done) == len(wanted):
                break
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        failed = [n for n, r in done.items() if r != "Success"]
        if failed:
            raise SystemExit(f"pipelines not Passed: {failed[:5]}")
        return {
            "p50": statistics.median(latencies),
            "p95": percentile(latencies, 0.95),
            "jobs_per_s": (len(names) - 1) / elapsed,
            "throughput_jobs": len(names) - 1,
            "server_rss": rss_mb(side.server.pid),
            "agent_idle_rss": agent_idle_rss,
            "agent_rss_after": statistics.mean(rss_mb(a.pid) for a in side.agents),
        }
    finally:
        side.stop()


# -- Buildbot -------------------------------------------------------------------------------

MASTER_CFG = """
from buildbot.plugins import *
c = BuildmasterConfig = {}
c['buildbotNetUsageData'] = None
c['workers'] = [worker.Worker("w1", "pass")]
c['protocols'] = {'pb': {'port': "tcp:%(pb)d:interface=127.0.0.1"}}
f = util.BuildFactory(); f.addStep(steps.ShellCommand(command=["true"], name="true"))
c['builders'] = [
    util.BuilderConfig(name="b", workernames=["w1"], factory=f, collapseRequests=False)
]
c['schedulers'] = [schedulers.ForceScheduler(name="force", builderNames=["b"])]
c['buildbotURL'] = "http://127.0.0.1:%(www)d/"
c['www'] = dict(port="tcp:%(www)d:interface=127.0.0.1", plugins={})
c['db'] = {'db_url': "sqlite:///state.sqlite"}
"""


def buildbot_venv(cache: Path) -> Path:
    venv = cache / "buildbot-venv"
    if not (venv / "bin" / "buildbot").exists():
        print("creating the Buildbot venv (once) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [
                str(venv / "bin" / "pip"),
                "install",
                "-q",
                "buildbot==4.3.0",
                "buildbot-worker==4.3.0",
                "buildbot-www==4.3.0",
            ],
            check=True,
        )
    return venv


class Buildbot:
    def __init__(self, root: Path, venv: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.bin = venv / "bin"
        self.www = free_port()
        pb = free_port()
        subprocess.run(
            [str(self.bin / "buildbot"), "create-master", "-r", str(root / "master")],
            check=True,
            capture_output=True,
        )
        (root / "master" / "master.cfg").write_text(MASTER_CFG % {"pb": pb, "www": self.www})
        subprocess.run(
            [
                str(self.bin / "buildbot-worker"),
                "create-worker",
                str(root / "worker"),
                f"127.0.0.1:{pb}",
                "w1",
                "pass",
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [str(self.bin / "buildbot"), "start", str(root / "master")],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [str(self.bin / "buildbot-worker"), "start", str(root / "worker")],
            check=True,
            capture_output=True,
        )
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.www}", timeout=30)
        wait_for(self._worker_connected, 60, "the Buildbot worker", 0.1)

    def _worker_connected(self) -> bool:
        workers = self.http.get("/api/v2/workers").json()["workers"]
        return bool(workers and workers[0]["connected_to"])

    def trigger(self, _index: int = 0) -> int:
        response = self.http.post(
            "/api/v2/forceschedulers/force",
            json={
                "jsonrpc": "2.0",
                "method": "force",
                "id": 1,
                "params": {"builderid": "1", "reason": "bench"},
            },
        )
        result = response.json()["result"]
        return int(result[1]["1"])

    def complete(self, request_id: int) -> bool:
        found = self.http.get(f"/api/v2/buildrequests/{request_id}").json()["buildrequests"]
        return bool(found and found[0]["complete"])

    def all_complete(self, first: int, count: int) -> bool:
        found = self.http.get(
            "/api/v2/buildrequests",
            params=[
                ("buildrequestid__ge", str(first)),
                ("field", "buildrequestid"),
                ("field", "complete"),
            ],
        ).json()["buildrequests"]
        return sum(bool(r["complete"]) for r in found) >= count

    def pid(self, folder: str) -> int:
        return int((self.root / folder / "twistd.pid").read_text())

    def stop(self) -> None:
        for folder in ("worker", "master"):
            with contextlib.suppress(OSError, ValueError):
                os.kill(self.pid(folder), signal.SIGTERM)
        self.http.close()


def bench_buildbot(root: Path, venv: Path, runs: int, builds: int) -> dict[str, float]:
    side = Buildbot(root, venv)
    try:
        first = side.trigger()
        wait_for(lambda: side.complete(first), 60, "the first Buildbot build", 0.02)
        time.sleep(1.0)
        worker_idle_rss = rss_mb(side.pid("worker"))
        latencies = []
        for _ in range(runs):
            started = time.perf_counter()
            request = side.trigger()
            wait_for(lambda r=request: side.complete(r), 60, "a Buildbot build", 0.005)
            latencies.append(time.perf_counter() - started)
        started = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            ids = list(pool.map(side.trigger, range(builds)))
        wait_for(lambda: side.all_complete(min(ids), builds), 600, "the Buildbot burst", 0.05)
        elapsed = time.perf_counter() - started
        return {
            "p50": statistics.median(latencies),
            "p95": percentile(latencies, 0.95),
            "jobs_per_s": builds / elapsed,
            "throughput_jobs": builds,
            "server_rss": rss_mb(side.pid("master")),
            "agent_idle_rss": worker_idle_rss,
            "agent_rss_after": rss_mb(side.pid("worker")),
        }
    finally:
        side.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--pipelines", type=int, default=200)
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--no-buildbot", action="store_true")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "pygocd-bench")
    arguments = parser.parse_args()
    arguments.cache.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="agents-", dir=arguments.cache))
    try:
        ours = bench_pygocd(
            root / "pygocd", arguments.runs, arguments.pipelines + 1, arguments.agents
        )
        theirs = None
        if not arguments.no_buildbot:
            venv = buildbot_venv(arguments.cache)
            theirs = bench_buildbot(root / "buildbot", venv, arguments.runs, arguments.pipelines)
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(root, ignore_errors=True)
    print(f"trigger → Passed, warm agent, {arguments.runs} runs (goal p50 < 300 ms):")
    print(f"  pygocd    p50 {ours['p50'] * 1000:7.1f} ms   p95 {ours['p95'] * 1000:7.1f} ms")
    if theirs:
        print(
            f"  Buildbot  p50 {theirs['p50'] * 1000:7.1f} ms   p95 {theirs['p95'] * 1000:7.1f} ms"
        )
        print(f"  ratio     {theirs['p50'] / ours['p50']:.1f}× faster per build (goal ≥ 5×)")
    print(f"{arguments.pipelines} one-job pipelines at once:")
    print(f"  pygocd    {ours['jobs_per_s']:6.1f} jobs/s over {arguments.agents} agents")
    if theirs:
        print(f"  Buildbot  {theirs['jobs_per_s']:6.1f} jobs/s over 1 worker, 1 builder")
        ratio = ours["jobs_per_s"] / theirs["jobs_per_s"]
        print(f"  ratio     {ratio:.1f}× the throughput (goal ≥ 4×)")
    print("memory (RSS, MB):")
    print(
        f"  pygocd    server {ours['server_rss']:.1f} after the run; "
        f"agent idle {ours['agent_idle_rss']:.1f}, {ours['agent_rss_after']:.1f} after jobs"
    )
    if theirs:
        print(
            f"  Buildbot  master {theirs['server_rss']:.1f} after the run; "
            f"worker idle {theirs['agent_idle_rss']:.1f}, "
            f"{theirs['agent_rss_after']:.1f} after builds"
        )


if __name__ == "__main__":
    main()
