"""API read figures (issue "REST API", DESIGN §6): `GET /go/api/dashboard` (v4) and
`GET /go/cctray.xml` with 1,000 pipelines that have run, p50/p95 server time.

Each pipeline has its own git material and two stages; every pipeline is triggered once and
half of them get their first stage completed (passed or failed), so the second stage is
running there: the feeds carry a mix of Building, Passed and Failed entries with breakers.
Requests go through the real ASGI app in-process (no network), so the figures are server
time: routing, queries on SQLite, rendering.

Run: .venv/bin/python bench/api.py [--pipelines 1000] [--rounds 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
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

NO_POLL = TriggerOptions(update_materials_before_scheduling=False)


def pipeline(index: int) -> PipelineConfig:
    material = GitMaterialConfig(url=f"https://example.com/repo-{index}.git", branch="main")

    def stage(name: str, job: str) -> StageConfig:
        return StageConfig(name, jobs=(JobConfig(job, tasks=(ExecTask("true"),)),))

    return PipelineConfig(
        name=f"pipeline-{index:04d}",
        materials=(material,),
        stages=(stage("build", "compile"), stage("test", "unit")),
    )


async def populate(services: Services, count: int) -> None:
    pipelines = [pipeline(i) for i in range(count)]
    await services.config.save(
        CruiseConfig(groups=(PipelineGroup("bench", tuple(pipelines)),)),
        expected_md5=services.config.current.md5,
        author="bench",
        message="bench",
    )
    async with services.uow() as uow:
        for p in pipelines:
            material_id = await uow.materials.ensure(p.materials[0])
            await uow.materials.add_modifications(
                material_id,
                [
                    Modification(
                        revision=f"{p.name}-rev",
                        modified_time=datetime.now(UTC),
                        user_name="Bench <bench@example.com>",
                        comment="bench",
                    )
                ],
            )
        await uow.commit()
    assert services.scheduling is not None
    assert services.jobs is not None
    for index, p in enumerate(pipelines):
        created = await services.scheduling.trigger_manual(p.name, options=NO_POLL)
        if index % 2:
            continue
        job_id = created.stages[0].jobs[0].id
        assert job_id is not None
        result = JobResult.PASSED if index % 4 else JobResult.FAILED
        await services.jobs.assign(job_id, "bench-agent")
        await services.jobs.report(job_id, "bench-agent", JobState.COMPLETED, result)


async def measure(
    client: httpx.AsyncClient,
    path: str,
    headers: dict[str, str],
    rounds: int,
    before: Callable[[], None] = lambda: None,
) -> list[float]:
    timings = []
    for _ in range(rounds + 3):
        before()
        started = time.perf_counter()
        response = await client.get(path, headers=headers)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text[:200]
    return sorted(timings[3:])  # the first calls warm caches up


def report(title: str, timings: list[float], size: int) -> None:
    p50 = statistics.median(timings) * 1000
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)] * 1000
    print(
        f"{title}: p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(timings)} requests, "
        f"{size / 1024:.0f} KiB (goal p95 < 100 ms: {p95 / 100:.2f}x)"
    )


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
            if not reuse:
                started = time.perf_counter()
                await populate(container.services, args.pipelines)
                print(
                    f"set-up: {args.pipelines} pipelines triggered, half of them with a "
                    f"finished first stage ({time.perf_counter() - started:.1f} s)"
                )
            app = create_app(container.services, settings, loops=())
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                v4 = {"Accept": "application/vnd.go.cd.v4+json"}
                size = len((await client.get("/go/api/dashboard", headers=v4)).content)

                def forget_dashboard() -> None:
                    app.state.dashboard_cache = None

                report(
                    f"GET /go/api/dashboard v4, {args.pipelines} pipelines, after a change",
                    await measure(client, "/go/api/dashboard", v4, args.rounds, forget_dashboard),
                    size,
                )
                report(
                    f"GET /go/api/dashboard v4, {args.pipelines} pipelines, polled without changes",
                    await measure(client, "/go/api/dashboard", v4, args.rounds),
                    size,
                )
                size = len((await client.get("/go/cctray.xml")).content)

                def forget_cctray() -> None:
                    app.state.cctray_cache = None

                report(
                    f"GET /go/cctray.xml, {args.pipelines} pipelines, after a change (rebuilt)",
                    await measure(client, "/go/cctray.xml", {}, args.rounds, forget_cctray),
                    size,
                )
                report(
                    f"GET /go/cctray.xml, {args.pipelines} pipelines, polled without changes",
                    await measure(client, "/go/cctray.xml", {}, args.rounds),
                    size,
                )
        finally:
            await container.close()


if __name__ == "__main__":
    asyncio.run(main())
