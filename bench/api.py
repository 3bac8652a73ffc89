"""API read figures (issue "REST API", DESIGN §6): `GET /go/api/dashboard` (v4) and
`GET /go/cctray.xml` with 1,000 pipelines that have run, p50/p95 server time.

The data is bench/dashboard.py's: 1,000 pipelines in 50 groups, 5 stages each, every one
triggered once and half of them with a finished first stage (passed or failed), so the feeds
carry a mix of Building, Passed and Failed entries with breakers. Each figure is measured
twice: right after a real change (one job of one pipeline moves on — assigned, building,
completed — before every request, as agents do all day), and polled without changes.
Requests go through the real ASGI app in-process (no network), so the figures are server
time: routing, queries on SQLite, rendering.

Run: .venv/bin/python bench/api.py [--pipelines 1000] [--rounds 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from pygocd import bootstrap
from pygocd.domain.states import JobResult, JobState
from pygocd.services.registry import Services
from pygocd.settings import Settings
from pygocd.web.app import create_app

sys.path.insert(0, str(Path(__file__).parent))
from dashboard import GROUPS, populate  # the same data as the page figures

STEPS = (JobState.ASSIGNED, JobState.BUILDING, JobState.COMPLETED)


class JobChanges:
    """One real change per call: the next step of the next waiting job (a job of one
    pipeline is assigned, starts building, completes), committed like an agent's report."""

    def __init__(self, services: Services, waiting: list[int]) -> None:
        self._services = services
        self._steps = [(job_id, step) for job_id in waiting for step in STEPS]

    async def next(self) -> None:
        job_id, step = self._steps.pop(0)
        jobs = self._services.jobs
        assert jobs is not None
        if step is JobState.ASSIGNED:
            assert await jobs.assign(job_id, "bench-agent")
        elif step is JobState.BUILDING:
            await jobs.report(job_id, "bench-agent", JobState.BUILDING)
        else:
            await jobs.report(job_id, "bench-agent", JobState.COMPLETED, JobResult.PASSED)


async def measure(
    client: httpx.AsyncClient,
    path: str,
    headers: dict[str, str],
    rounds: int,
    change: JobChanges | None = None,
) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU times of `rounds` requests (CPU time: what other load on the
    machine disturbs less)."""
    timings, cpu = [], []
    for _ in range(rounds + 3):
        if change is not None:
            await change.next()
        started, cpu_started = time.perf_counter(), time.process_time()
        response = await client.get(path, headers=headers)
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        assert response.status_code == 200, response.text[:200]
    return sorted(timings[3:]), sorted(cpu[3:])  # the first calls warm caches up


def report(title: str, measured: tuple[list[float], list[float]], size: int) -> None:
    timings, cpu = measured
    p50 = statistics.median(timings) * 1000
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)] * 1000
    print(
        f"{title}: p50 {p50:.1f} ms, p95 {p95:.1f} ms (CPU p50 "
        f"{statistics.median(cpu) * 1000:.1f} ms) over {len(timings)} requests, "
        f"{size / 1024:.0f} KiB (goal p95 < 100 ms: {p95 / 100:.2f}x)"
    )


V4 = {"Accept": "application/vnd.go.cd.v4+json"}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pipelines", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument(
        "--data-dir", type=Path, help="keep (and reuse) the populated data directory here"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pygocd-bench-api-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        reuse = data_dir.exists()
        settings = Settings(data_dir=data_dir)
        container = await bootstrap.start(settings)
        try:
            services = container.services
            if not reuse:
                started = time.perf_counter()
                await populate(services, args.pipelines)
                print(
                    f"set-up: {args.pipelines} pipelines in {GROUPS} groups, 5 stages each "
                    f"({time.perf_counter() - started:.1f} s)"
                )
            async with services.uow(read_only=True) as uow:
                waiting = [job.id for job, _ in await uow.jobs.scheduled() if job.id is not None]
            changes = JobChanges(services, waiting)
            print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            app = create_app(services, settings, loops=())
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for title, path, headers in (
                    ("GET /go/api/dashboard v4", "/go/api/dashboard", V4),
                    ("GET /go/cctray.xml", "/go/cctray.xml", {}),
                ):
                    started = time.perf_counter()
                    size = len((await client.get(path, headers=headers)).content)
                    cold = (time.perf_counter() - started) * 1000
                    print(f"{title}, {args.pipelines} pipelines: first request {cold:.0f} ms")
                    report(
                        f"{title}, {args.pipelines} pipelines, right after a job change",
                        await measure(client, path, headers, args.rounds, changes),
                        size,
                    )
                    report(
                        f"{title}, {args.pipelines} pipelines, polled without changes",
                        await measure(client, path, headers, args.rounds),
                        size,
                    )
        finally:
            await container.close()


if __name__ == "__main__":
    asyncio.run(main())
