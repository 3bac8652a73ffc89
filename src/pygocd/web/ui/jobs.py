"""Job details (`/go/tab/build/detail/<p>/<c>/<s>/<sc>/<job>`): the job's summary and GoCD's
tabs — the live console, the test report, the artifacts tree, the materials of the run and
one tab per custom tab configured on the job (the artifact at its path in a sandboxed
iframe) — beside the job's history. The summary, the test report and the artifacts tree are
re-sent over SSE when the pipeline changes; the console streams its own lines from a byte
offset."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sse_starlette.sse import EventSourceResponse

from pygocd.domain.errors import NotFound
from pygocd.domain.pipelines import JobConfig, Tab
from pygocd.domain.runs import JobInstance, PipelineInstance, StageInstance
from pygocd.domain.states import JobState
from pygocd.services.assignment import config_job_name
from pygocd.services.dashboard import configured_stages
from pygocd.services.events import JOB_CHANGED
from pygocd.services.ports import ArtifactNode
from pygocd.services.registry import Services
from pygocd.services.run_history import RunHistoryService
from pygocd.web.ui import console
from pygocd.web.ui.dashboard import (
    ChangesView,
    JobRow,
    find_stage_run,
    load_instance,
    services_of,
    stage_overview,
)
from pygocd.web.ui.live import RETRY_MS, sse, watch_pipeline
from pygocd.web.ui.pages import PageContext, render_fragment, render_page
from pygocd.web.ui.runs import changes_view, oob

router = APIRouter()

CONSOLE_TICK = 0.1
"""How often an open console checks its file for new bytes while the job runs."""

BUILT_IN_TABS = ("console", "tests", "artifacts", "materials")

JOB_HISTORY_SIZE = 25
"""GoCD's job history sidebar lists the job's 25 most recent runs."""

TEST_REPORT = "testoutput/index.html"
"""Where the agent writes the report merged from the job's test artifacts (GoCD's path)."""


@dataclass(frozen=True, slots=True)
class JobSummary:
    row: JobRow
    state: JobState
    scheduled_at: datetime | None
    completed_at: datetime | None
    build_cause: str
    finished: bool


@dataclass(frozen=True, slots=True)
class ArtifactEntry:
    """A file or folder of the job's artifacts; `url` downloads it (a folder: as a zip)."""

    name: str
    path: str
    url: str
    children: tuple[ArtifactEntry, ...] | None = None

    @property
    def is_folder(self) -> bool:
        return self.children is not None


@dataclass(frozen=True, slots=True)
class CustomTab:
    """A `tabs` entry of the job: its name, the id of its tab and the artifact it shows."""

    name: str
    key: str
    path: str
    url: str


@dataclass(frozen=True, slots=True)
class JobHistoryEntry:
    """A run of this job in the history sidebar: GoCD's status icon, locator and date."""

    locator: str
    url: str
    status: str
    scheduled_at: datetime | None
    current: bool


@dataclass(frozen=True, kw_only=True)
class JobContext(PageContext):
    pipeline: str
    counter: int
    label: str
    stage: str
    stage_counter: int
    job: str
    summary: JobSummary
    changes: ChangesView
    artifacts: tuple[ArtifactEntry, ...]
    custom_tabs: tuple[CustomTab, ...]
    test_report_url: str | None
    history: tuple[JobHistoryEntry, ...] = ()
    """Filled for the full page only: live updates re-send the summary, report and tree."""
    console_html: str
    console_offset: int
    console_url: str
    raw_url: str
    events_url: str


def find_job(stage: StageInstance, name: str) -> JobInstance:
    for job in stage.jobs:
        if not job.ignored and job.name.lower() == name.lower():
            return job
    raise NotFound(f"Job '{stage.name}/{stage.counter}/{name}' was not found!")


def job_summary(
    instance: PipelineInstance, stage: StageInstance, job: JobInstance, now: datetime
) -> JobSummary:
    row = next(r for r in stage_overview(instance, stage, now).jobs if r.name == job.name)
    completed = next((t.changed_at for t in job.transitions if t.state is JobState.COMPLETED), None)
    return JobSummary(
        row=row,
        state=job.state,
        scheduled_at=job.scheduled_at,
        completed_at=completed,
        build_cause=instance.build_cause.message,
        finished=job.state is JobState.COMPLETED,
    )


def data_dir(request: Request) -> Path:
    path: Path = request.app.state.settings.data_dir
    return path


def files_url(locator: tuple[str, int, str, int, str], path: str = "") -> str:
    """`/go/files/<p>/<c>/<s>/<sc>/<job>[/<path>]`, each part URL-encoded."""
    pipeline, counter, stage, stage_counter, job = locator
    base = f"/go/files/{quote(pipeline)}/{counter}/{quote(stage)}/{stage_counter}/{quote(job)}"
    return f"{base}/{quote(path)}" if path else base


def artifact_entries(
    nodes: Sequence[ArtifactNode], locator: tuple[str, int, str, int, str]
) -> tuple[ArtifactEntry, ...]:
    return tuple(
        ArtifactEntry(
            name=node.name,
            path=node.path,
            url=files_url(locator, f"{node.path}.zip" if node.is_folder else node.path),
            children=artifact_entries(node.children, locator) if node.is_folder else None,
        )
        for node in nodes
    )


async def artifact_tree(
    services: Services, locator: tuple[str, int, str, int, str]
) -> tuple[ArtifactEntry, ...]:
    if services.artifacts is None:
        return ()
    nodes = await services.artifacts.store.tree("/".join(str(part) for part in locator), "")
    return artifact_entries(nodes, locator)


def job_config(services: Services, pipeline: str, stage: str, job: JobInstance) -> JobConfig | None:
    config = services.config.current
    found = config.runnable(pipeline)
    if found is None:
        return None
    wanted = stage.lower()
    for configured in configured_stages(config, found):
        if configured.name.lower() == wanted:
            return configured.find_job(config_job_name(job))
    return None


_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_-]+")


def custom_tabs(
    tabs: Sequence[Tab], locator: tuple[str, int, str, int, str]
) -> tuple[CustomTab, ...]:
    """GoCD links a tab as `#tab-<name>`; a name that clashes with a built-in tab or an
    earlier custom tab gets a number."""
    taken = set(BUILT_IN_TABS)
    out = []
    for tab in tabs:
        key = _UNSAFE_ID.sub("-", tab.name) or "tab"
        candidate, n = key, 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{key}-{n}"
        taken.add(candidate.lower())
        # The tab shows a file of this job only: no way up out of the job's folder.
        path = "/".join(p for p in tab.path.split("/") if p not in ("", ".", ".."))
        out.append(CustomTab(tab.name, candidate, path, files_url(locator, path)))
    return tuple(out)


def test_report_url(
    artifacts: Sequence[ArtifactEntry], locator: tuple[str, int, str, int, str]
) -> str | None:
    """The merged test report's URL when the job uploaded test artifacts, else None."""
    folder = next((e for e in artifacts if e.is_folder and e.path == "testoutput"), None)
    children = folder.children if folder is not None else None
    if children and any(e.path == TEST_REPORT for e in children):
        return files_url(locator, TEST_REPORT)
    return None


def history_status(job: JobInstance) -> str:
    """The icon GoCD's sidebar gives a run: its result once completed, else building."""
    if job.state is not JobState.COMPLETED:
        return "building"
    return job.result.value.lower()


async def job_history(services: Services, page: JobContext) -> tuple[JobHistoryEntry, ...]:
    found, _, _ = await RunHistoryService(services.uow, services.config).job_history(
        page.pipeline, page.stage, page.job, JOB_HISTORY_SIZE, None, None
    )
    entries = []
    for job, identifier in found:
        locator = f"{identifier.stage_locator}/{identifier.job_name}"
        entries.append(
            JobHistoryEntry(
                locator=locator,
                url="/go/tab/build/detail/" + "/".join(quote(p) for p in locator.split("/")),
                status=history_status(job),
                scheduled_at=job.scheduled_at,
                current=(identifier.pipeline_counter, identifier.stage_counter)
                == (page.counter, page.stage_counter),
            )
        )
    return tuple(entries)


async def job_context(
    request: Request, pipeline: str, counter: int, stage: str, stage_counter: int, job: str
) -> JobContext:
    services = services_of(request)
    instance = await load_instance(services, pipeline, counter)
    run = find_stage_run(instance, stage, stage_counter)
    found = find_job(run, job)
    path = console.console_file(
        data_dir(request), instance.name, counter, run.name, stage_counter, found.name
    )
    chunk = console.read_lines(path, 0, final=found.state is JobState.COMPLETED)
    locator = (instance.name, counter, run.name, stage_counter, found.name)
    loc = "/".join(str(part) for part in locator)
    configured = job_config(services, instance.name, run.name, found)
    artifacts = await artifact_tree(services, locator)
    return JobContext(
        title=found.name,
        active="dashboard",
        path=request.url.path,
        pipeline=instance.name,
        counter=counter,
        label=instance.label,
        stage=run.name,
        stage_counter=stage_counter,
        job=found.name,
        summary=job_summary(instance, run, found, services.clock.now()),
        changes=changes_view(services, instance),
        artifacts=artifacts,
        custom_tabs=custom_tabs(configured.tabs if configured else (), locator),
        test_report_url=test_report_url(artifacts, locator),
        console_html=console.render_lines(chunk.lines),
        console_offset=chunk.next_offset,
        console_url=f"/go/ui/console/{loc}",
        raw_url=files_url(locator, "cruise-output/console.log"),
        events_url=f"/go/ui/events/job/{loc}",
    )


@router.get("/tab/build/detail/{pipeline}/{counter}/{stage}/{stage_counter}/{job}")
async def job_page(
    request: Request, pipeline: str, counter: int, stage: str, stage_counter: int, job: str
) -> HTMLResponse:
    page = await job_context(request, pipeline, counter, stage, stage_counter, job)
    page = replace(page, history=await job_history(services_of(request), page))
    return render_page(request, "runs/job.html", page)


@router.get("/ui/events/job/{pipeline}/{counter}/{stage}/{stage_counter}/{job}")
async def job_events(
    request: Request, pipeline: str, counter: int, stage: str, stage_counter: int, job: str
) -> EventSourceResponse:
    async def render() -> str:
        page = await job_context(request, pipeline, counter, stage, stage_counter, job)
        summary = oob(render_fragment("runs/_job_summary.html", page=page), "job-summary")
        tree = oob(render_fragment("runs/_artifacts.html", page=page), "job-artifacts")
        tests = oob(render_fragment("runs/_test_report.html", page=page), "job-tests")
        return summary + tests + tree

    return watch_pipeline(request, pipeline, render)


async def _job_state(
    services: Services, pipeline: str, counter: int, stage: str, stage_counter: int, job: str
) -> JobState:
    instance = await load_instance(services, pipeline, counter)
    return find_job(find_stage_run(instance, stage, stage_counter), job).state


async def console_stream(
    services: Services,
    path: Path,
    offset: int,
    locator: tuple[str, int, str, int, str],
) -> AsyncIterator[dict[str, Any]]:
    """New console lines from `offset` as they are written, then `done` when the job has
    completed and everything is sent. Wakes on the job's events; while the job runs it
    also checks the file every `CONSOLE_TICK` (agents append without telling the bus)."""
    pipeline, counter, stage, stage_counter, job = locator
    yield {"event": "hello", "data": "", "retry": RETRY_MS}
    async with services.bus.subscribe(JOB_CHANGED) as events:
        finished = await _job_state(services, *locator) is JobState.COMPLETED
        while True:
            chunk = console.read_lines(path, offset, final=finished)
            if chunk.lines:
                offset = chunk.next_offset
                data = json.dumps({"html": console.render_lines(chunk.lines), "offset": offset})
                yield {"event": "lines", "id": str(offset), "data": data}
                continue
            if finished:
                yield {"event": "done", "data": json.dumps({"offset": offset})}
                return
            try:
                event = await asyncio.wait_for(anext(events), CONSOLE_TICK)
            except TimeoutError:
                continue
            p = event.payload
            mine = (
                str(p.get("pipeline", "")).lower() == pipeline.lower()
                and p.get("counter") == counter
                and str(p.get("stage", "")).lower() == stage.lower()
                and p.get("stage_counter") == stage_counter
                and str(p.get("job", "")).lower() == job.lower()
            )
            if mine and p.get("state") == JobState.COMPLETED.value:
                finished = True


@router.get("/ui/console/{pipeline}/{counter}/{stage}/{stage_counter}/{job}")
async def console_events(
    request: Request,
    pipeline: str,
    counter: int,
    stage: str,
    stage_counter: int,
    job: str,
    offset: int = 0,
) -> EventSourceResponse:
    services = services_of(request)
    last = request.headers.get("last-event-id")
    if last is not None and last.isascii() and last.isdigit():
        offset = int(last)
    instance = await load_instance(services, pipeline, counter)
    run = find_stage_run(instance, stage, stage_counter)
    found = find_job(run, job)
    path = console.console_file(
        data_dir(request), instance.name, counter, run.name, stage_counter, found.name
    )
    locator = (instance.name, counter, run.name, stage_counter, found.name)
    return sse(request, console_stream(services, path, offset, locator))
