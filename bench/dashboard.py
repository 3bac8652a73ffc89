"""Dashboard page figures (issue 6, DESIGN §6): `GET /go/pipelines` with 1,000 pipelines in
50 groups, 5 stages each, every pipeline run once and half of them with a finished first
stage; p50/p95 server time, HTML size, and the time from a change (a job report) to the
re-rendered card leaving the SSE stream.

Requests go through the real ASGI app in-process on SQLite, so the figures are server time.
The browser's time to a usable page is measured by the browser tests' screenshots run, not
here.

Run: .venv/bin/python bench/dashboard.py [--pipelines 1000] [--rounds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from pygocd import bootstrap
from pygocd.domain.config import CruiseConfig
from pygocd.domain.materials import GitMaterialConfig
from pygocd.domain.modifications import Modification
from pygocd.domain.pipelines import JobConfig, PipelineConfig, PipelineGroup, StageConfig
from pygocd.domain.states import JobResult, JobState
from pygocd.domain.tasks import ExecTask
from pygocd.services.registry import Services
from pygocd.services.scheduling import TriggerOptions
from pygocd.settings import Settings
from pygocd.web.app import create_app
from pygocd.web.ui.dashboard import dashboard_service, render_cards
from pygocd.web.ui.live import fragment_stream

NO_POLL = TriggerOptions(update_materials_before_scheduling=False)
GROUPS = 50
STAGES = ("build", "test", "package", "staging", "production")


def pipeline(index: int) -> PipelineConfig:
    return PipelineConfig(
        name=f"pipeline-{index:04d}",
        group=f"group-{index % GROUPS:02d}",
        materials=(GitMaterialConfig(url=f"https://example.com/r{index}.git", branch="main"),),
        stages=tuple(
            StageConfig(s, jobs=(JobConfig("run", tasks=(ExecTask("true"),)),)) for s in STAGES
        ),
    )


async def populate(services: Services, count: int) -> list[int]:
    pipelines = [pipeline(i) for i in range(count)]
    groups: dict[str, list[PipelineConfig]] = {}
    for p in pipelines:
        groups.setdefault(p.group, []).append(p)
    await services.config.save(
        CruiseConfig(groups=tuple(PipelineGroup(g, tuple(ps)) for g, ps in groups.items())),
        expected_md5=services.config.current.md5,
        author="bench",
        message="bench",
    )
    async with services.uow() as uow:
        for p in pipelines:
            material_id = await uow.materials.ensure(p.materials[0])
            await uow.materials.add_modifications(
                material_id,
                [Modification(f"{p.name}-rev", datetime.now(UTC), user_name="Bench")],
            )
        await uow.commit()
    assert services.scheduling is not None
    assert services.jobs is not None
    waiting = []
    for index, p in enumerate(pipelines):
        created = await services.scheduling.trigger_manual(p.name, options=NO_POLL)
        job_id = created.stages[0].jobs[0].id
        assert job_id is not None
        if index % 2:
            waiting.append(job_id)
            continue
        result = JobResult.PASSED if index % 4 else JobResult.FAILED
        await services.jobs.assign(job_id, "bench-agent")
        await services.jobs.report(job_id, "bench-agent", JobState.COMPLETED, result)
    return waiting


def percentiles(timings: list[float]) -> tuple[float, float]:
    ordered = sorted(timings)
    return statistics.median(ordered) * 1000, ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pipelines", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pygocd-bench-dashboard-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data")
        container = await bootstrap.start(settings)
        services = container.services
        try:
            started = time.perf_counter()
            waiting = await populate(services, args.pipelines)
            print(f"set-up: {args.pipelines} pipelines ({time.perf_counter() - started:.1f} s)")
            app = create_app(services, settings, loops=())
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                timings = []
                size = 0
                for _ in range(args.rounds + 3):
                    t0 = time.perf_counter()
                    response = await client.get("/go/pipelines")
                    timings.append(time.perf_counter() - t0)
                    size = len(response.content)
                p50, p95 = percentiles(timings[3:])
                print(
                    f"GET /go/pipelines, {args.pipelines} pipelines: p50 {p50:.1f} ms, "
                    f"p95 {p95:.1f} ms, {size / 1024:.0f} KiB HTML "
                    f"(goal p95 < 250 ms: {p95 / 250:.2f}x)"
                )

            async def render(names: set[str] | None) -> str:
                return render_cards(await dashboard_service(services).pipelines(names))

            assert services.jobs is not None
            latencies = []
            stream = fragment_stream(services.bus, render, event="cards")
            await anext(stream)
            for job_id in waiting[: min(20, len(waiting))]:
                pending = asyncio.ensure_future(anext(stream))
                await asyncio.sleep(0.05)
                t0 = time.perf_counter()
                await services.jobs.assign(job_id, "bench-agent")
                await asyncio.wait_for(pending, 5)
                latencies.append(time.perf_counter() - t0)
            await stream.aclose()
            p50, p95 = percentiles(latencies)
            print(
                f"job change -> re-rendered card on the SSE stream: p50 {p50:.1f} ms, "
                f"p95 {p95:.1f} ms over {len(latencies)} changes (goal < 250 ms), "
                "including the 15 ms coalescing window"
            )
        finally:
            await container.close()


if __name__ == "__main__":
    asyncio.run(main())
