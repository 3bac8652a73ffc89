"""Scheduling figures without agents (issue "Scheduling", DESIGN §6).

1. notify → first JobInstance scheduled: a commit in a real git repo, a material update (what
   a webhook or notify call starts), the reaction, the instance; p50/p95 over N rounds.
2. 1,000 pipelines each getting a commit → all instances created (modifications recorded as
   the poller records them; measures the scheduling side).
3. Polling unchanged materials: CPU seconds (server process + git children) for one round over
   M materials, i.e. CPU seconds per minute at GoCD's 60 s interval.

Run: .venv/bin/python bench/scheduling.py [--rounds 30] [--pipelines 1000] [--materials 1000]
     [--database-url postgresql://...] [--only notify,commits,polling]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pygocd import bootstrap
from pygocd.domain.config import CruiseConfig
from pygocd.domain.materials import GitMaterialConfig
from pygocd.domain.modifications import Modification
from pygocd.domain.pipelines import JobConfig, PipelineConfig, PipelineGroup, StageConfig
from pygocd.domain.states import JobResult, JobState
from pygocd.domain.tasks import ExecTask
from pygocd.services.events import JOB_CHANGED, MATERIAL_UPDATED, PIPELINE_CHANGED
from pygocd.services.reactions import react
from pygocd.services.registry import Services
from pygocd.settings import Settings

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True
    ).stdout.strip()


def one_stage(name: str, material: GitMaterialConfig) -> PipelineConfig:
    job = JobConfig("run", tasks=(ExecTask("true"),))
    return PipelineConfig(name=name, materials=(material,), stages=(StageConfig("s", jobs=(job,)),))


async def save(services: Services, *pipelines: PipelineConfig) -> None:
    await services.config.save(
        CruiseConfig(groups=(PipelineGroup("bench", tuple(pipelines)),)),
        expected_md5=services.config.current.md5,
        author="bench",
        message="bench",
    )


async def complete_all(services: Services, name: str, counter: int) -> None:
    assert services.jobs is not None
    async with services.uow(read_only=True) as uow:
        instance = await uow.pipeline_instances.find(name, counter)
    assert instance is not None
    for job in instance.stages[0].jobs:
        assert job.id is not None
        await services.jobs.assign(job.id, "bench-agent")
        await services.jobs.report(job.id, "bench-agent", JobState.COMPLETED, JobResult.PASSED)


async def notify_to_scheduled(services: Services, work: Path, rounds: int) -> list[float]:
    repo = work / "repo"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    git("commit", "-q", "--allow-empty", "-m", "first", cwd=repo)
    material = GitMaterialConfig(url=str(repo), branch="main", name="repo")
    await save(services, one_stage("notify", material))
    assert services.materials is not None
    await services.materials.update(material)  # first poll: records the latest revision
    await asyncio.sleep(0.5)  # the reaction creates instance 1; finish it so #2 may start
    await complete_all(services, "notify", 1)
    latencies = []
    async with services.bus.subscribe(JOB_CHANGED) as events:
        for counter in range(1, rounds + 1):
            while not events.queue.empty():
                events.queue.get_nowait()
            git("commit", "-q", "--allow-empty", "-m", f"change {counter}", cwd=repo)
            started = time.perf_counter()
            services.materials.start_update(material)
            while True:
                event = await asyncio.wait_for(events.__anext__(), 30)
                if event.payload.get("state") == "Scheduled":
                    break
            latencies.append(time.perf_counter() - started)
            await complete_all(services, "notify", counter + 1)
    return latencies


async def thousand_commits(services: Services, count: int) -> float:
    materials = [
        GitMaterialConfig(url=f"https://example.com/bench/{i}.git", name="repo")
        for i in range(count)
    ]
    await save(services, *(one_stage(f"p{i:04}", m) for i, m in enumerate(materials)))
    async with services.uow() as uow:
        for material in materials:
            material_id = await uow.materials.ensure(material)
            await uow.materials.add_modifications(
                material_id, [Modification("a" * 40, datetime.now(UTC), user_name="bench")]
            )
        await uow.commit()
    created: set[str] = set()
    async with services.bus.subscribe(PIPELINE_CHANGED, limit=None) as events:
        started = time.perf_counter()
        for material in materials:
            await services.bus.publish(MATERIAL_UPDATED, {"fingerprint": material.fingerprint})
        while len(created) < count:
            event = await asyncio.wait_for(events.__anext__(), 120)
            if "counter" in event.payload:
                created.add(str(event.payload["pipeline"]))
        return time.perf_counter() - started


def cpu_split() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


async def polling_cpu(services: Services, work: Path, count: int) -> tuple[float, float, float]:
    repo = work / "many"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    git("commit", "-q", "--allow-empty", "-m", "first", cwd=repo)
    head = git("rev-parse", "HEAD", cwd=repo)
    refs = "".join(f"{head} refs/heads/b{i}\n" for i in range(count))
    (repo / ".git" / "packed-refs").write_text(refs)
    materials = [GitMaterialConfig(url=str(repo), branch=f"b{i}") for i in range(count)]
    await save(services, *(one_stage(f"poll{i:04}", m) for i, m in enumerate(materials)))
    assert services.materials is not None
    await asyncio.gather(*(services.materials.update(m) for m in materials))  # first polls
    before, started = cpu_split(), time.perf_counter()
    # An unchanged round, as the polling loop runs it.
    await asyncio.gather(*(services.materials.update(m, poll=True) for m in materials))
    after = cpu_split()
    own, git_children = after[0] - before[0], after[1] - before[1]
    return own, git_children, time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--pipelines", type=int, default=1000)
    parser.add_argument("--materials", type=int, default=1000)
    parser.add_argument("--database-url", help="e.g. postgresql://...; default SQLite")
    parser.add_argument(
        "--only", default="notify,commits,polling", help="comma-separated parts to run"
    )
    args = parser.parse_args()
    parts = args.only.split(",")
    with tempfile.TemporaryDirectory(prefix="pygocd-bench-") as tmp:
        work = Path(tmp)
        for title, run in (
            ("notify", "notify"),
            ("commits", "commits"),
            ("polling", "polling"),
        ):
            if run not in parts:
                continue
            container = await bootstrap.start(
                Settings(data_dir=work / f"data-{run}", database_url=args.database_url)
            )
            services = container.services
            assert services.scheduling is not None
            reactions = asyncio.create_task(react(services.bus, services.scheduling))
            await asyncio.sleep(0)
            try:
                if title == "notify":
                    lat = sorted(await notify_to_scheduled(services, work, args.rounds))
                    p50 = statistics.median(lat) * 1000
                    p95 = lat[max(0, int(len(lat) * 0.95) - 1)] * 1000
                    print(
                        f"notify -> first job Scheduled ({args.rounds} rounds, real git repo): "
                        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms (goal p50 < 50 ms: {p50 / 50:.2f}x)"
                    )
                elif title == "commits":
                    took = await thousand_commits(services, args.pipelines)
                    print(
                        f"{args.pipelines} pipelines each with a new commit -> all instances "
                        f"created: {took:.2f} s (goal < 10 s: {took / 10:.2f}x)"
                    )
                else:
                    own, children, wall = await polling_cpu(services, work, args.materials)
                    cpu = own + children
                    print(
                        f"polling {args.materials} unchanged git materials once: {cpu:.2f} CPU s "
                        f"(server {own:.2f} + git {children:.2f}; {wall:.2f} s wall) = "
                        f"{cpu:.2f} CPU s per minute at a 60 s interval"
                    )
            finally:
                reactions.cancel()
                await asyncio.gather(reactions, return_exceptions=True)
                if services.materials is not None:
                    await services.materials.close()
                await container.close()


if __name__ == "__main__":
    asyncio.run(main())
