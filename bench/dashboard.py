"""Dashboard page figures (issue 6, DESIGN §6): `GET /go/pipelines` with 1,000 pipelines in
50 groups, 5 stages each, every pipeline run once and half of them with a finished first
stage; p50/p95 server time, HTML size, the dashboard read model alone, and the time from a
change (a job report) to the re-rendered card leaving the SSE stream.

Requests go through the real ASGI app in-process on SQLite, so those figures are server time
(wall clock, and the process's CPU time, which other load on the machine disturbs less). The
first request renders every card ("cold"); later ones reuse the read model and every card
while nothing changes, and after a change (a pause) read the model again but re-render only
the changed card.

With Playwright and Chromium at hand (as the browser tests use them; `--no-browser` skips
it), the app is also served over HTTP and Chromium reloads the page: from navigation start to
the last byte, first paint, parsed, usable (DOMContentLoaded: deferred scripts ran, htmx set
up) and live (SSE connected), and the time from a change to the swapped card in the browser.

Run: .venv/bin/python bench/dashboard.py [--pipelines 1000] [--rounds 30] [--no-browser]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from pygocd import bootstrap
from pygocd.domain.config import CruiseConfig
from pygocd.domain.materials import GitMaterialConfig
from pygocd.domain.modifications import Modification
from pygocd.domain.pipelines import JobConfig, PipelineConfig, PipelineGroup, StageConfig
from pygocd.domain.states import JobResult, JobState
from pygocd.domain.tasks import ExecTask
from pygocd.services.dashboard import DashboardReadModel, DashboardService
from pygocd.services.registry import Services
from pygocd.services.scheduling import TriggerOptions
from pygocd.settings import Settings
from pygocd.web.app import create_app
from pygocd.web.ui.dashboard import render_cards
from pygocd.web.ui.live import fragment_stream

NO_POLL = TriggerOptions(update_materials_before_scheduling=False)
GROUPS = 50
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [  # as tests/browser/conftest.py
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
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
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pygocd-bench-dashboard-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data")
        container = await bootstrap.start(settings)
        services = container.services
        try:
            started = time.perf_counter()
            waiting = await populate(services, args.pipelines)
            print(
                f"set-up: {args.pipelines} pipelines ({time.perf_counter() - started:.1f} s); "
                f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
            )
            app = create_app(services, settings, loops=())
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                timings, cpu = [], []
                size = 0
                for _ in range(args.rounds + 3):
                    t0, c0 = time.perf_counter(), time.process_time()
                    response = await client.get("/go/pipelines")
                    timings.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
                    size = len(response.content)
                p50, p95 = percentiles(timings[3:])
                print(
                    f"GET /go/pipelines, {args.pipelines} pipelines: cold {timings[0] * 1000:.0f} "
                    f"ms, then between changes p50 {p50:.1f} ms, p95 {p95:.1f} ms (CPU p50 "
                    f"{percentiles(cpu[3:])[0]:.1f} ms), {size / 1024:.0f} KiB HTML "
                    f"(goal p95 < 250 ms: {p95 / 250:.2f}x)"
                )
                changed, cpu = [], []
                assert services.stages is not None
                for n in range(args.rounds):
                    name = pipeline(n).name
                    await services.stages.pause(name, username="bench", cause="bench")
                    t0, c0 = time.perf_counter(), time.process_time()
                    await client.get("/go/pipelines")
                    changed.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
                    await services.stages.unpause(name, username="bench")
                p50, p95 = percentiles(changed)
                print(
                    f"GET /go/pipelines right after a change (a pause): p50 {p50:.1f} ms, "
                    f"p95 {p95:.1f} ms (CPU p50 {percentiles(cpu)[0]:.1f} ms)"
                )
            read, cpu = [], []
            for _ in range(args.rounds):
                t0, c0 = time.perf_counter(), time.process_time()
                await DashboardService(services.uow, services.config.current).dashboard()
                read.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            p50, p95 = percentiles(read)
            print(
                f"dashboard read from scratch (DashboardService.dashboard()): p50 {p50:.1f} ms, "
                f"p95 {p95:.1f} ms (CPU p50 {percentiles(cpu)[0]:.1f} ms)"
            )

            model = DashboardReadModel(services.uow, services.config)
            await model.dashboard()

            async def render(names: set[str] | None) -> str:
                # as web/ui/live.py: the changed cards from the app's read model
                board = await model.dashboard()
                return render_cards(
                    [p for p in board.pipelines if names and p.name.lower() in names]
                )

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
            if not args.no_browser:
                await browser_figures(app, services, waiting[20:30], min(args.rounds, 10))
        finally:
            await container.close()


BROWSER_MARKS = {
    "response": "last HTML byte received",
    "painted": "first cards painted (first contentful paint)",
    "parsed": "page parsed (DOM interactive)",
    "usable": "usable (DOMContentLoaded done: scripts ran, htmx wired)",
    "live": "live (SSE connected)",
}
NAVIGATION_MARKS = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  return {response: n.responseEnd, painted: fcp ? fcp.startTime : n.loadEventEnd,
          parsed: n.domInteractive, usable: n.domContentLoadedEventEnd};
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def browser_figures(app: FastAPI, services: Services, jobs: list[int], rounds: int) -> None:
    """Chromium loading the dashboard from the app served over HTTP in this process."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        print("browser: skipped (playwright is not installed)")
        return
    if not await asyncio.to_thread(Path(CHROMIUM).exists):
        print(f"browser: skipped (no Chromium at {CHROMIUM})")
        return
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers a flag, not an event)
        await asyncio.sleep(0.01)
    url = f"http://127.0.0.1:{port}/go/pipelines"
    timings: dict[str, list[float]] = {key: [] for key in BROWSER_MARKS}
    swapped = []
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = await (
                await browser.new_context(viewport={"width": 1280, "height": 800})
            ).new_page()
            await page.goto(url)  # static files into the cache, as for a returning user
            for _ in range(rounds):
                t0 = time.perf_counter()
                await page.goto(url, wait_until="commit")
                await page.wait_for_function("document.documentElement.dataset.live === 'open'")
                live = time.perf_counter() - t0
                marks = await page.evaluate(NAVIGATION_MARKS)
                for key, value in marks.items():
                    timings[key].append(value / 1000)
                timings["live"].append(live)
            assert services.jobs is not None
            async with services.uow(read_only=True) as uow:
                found = [await uow.jobs.get(job_id) for job_id in jobs]
            for job_id, job in zip(jobs, found, strict=True):
                assert job is not None
                card = f"pipeline-{job[1].pipeline_name}"
                await page.evaluate(f"document.getElementById('{card}').dataset.old = '1'")
                t0 = time.perf_counter()
                await services.jobs.assign(job_id, "bench-agent")
                await page.wait_for_function(
                    f"!document.getElementById('{card}').dataset.old", polling="raf"
                )
                swapped.append(time.perf_counter() - t0)
            await browser.close()
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
    for key, label in BROWSER_MARKS.items():
        p50, p95 = percentiles(timings[key])
        print(f"browser, reload to {label}: p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    p50, p95 = percentiles(swapped)
    print(
        f"browser, job change -> card swapped in the open page: p50 {p50:.0f} ms, "
        f"p95 {p95:.0f} ms over {len(swapped)} changes (goal < 250 ms)"
    )


if __name__ == "__main__":
    asyncio.run(main())
