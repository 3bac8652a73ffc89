"""The pages about runs: pipeline activity (history), stage details, job details with the
live console. GoCD's URLs; each page's changing part has an id and a live stream
(`/go/ui/events/...`) that re-sends it when the pipeline changes."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sse_starlette.sse import EventSourceResponse

from pygocd.domain.errors import NotFound
from pygocd.domain.runs import PipelineInstance, PipelinePauseInfo
from pygocd.services.comments import CommentService
from pygocd.services.dashboard import (
    DashboardInstance,
    configured_stages,
    dashboard_instance,
)
from pygocd.services.registry import Services
from pygocd.web.ui import formatting
from pygocd.web.ui.actions import act
from pygocd.web.ui.dashboard import (
    ChangesView,
    MaterialChangesView,
    StageOverview,
    describe_material,
    find_stage_run,
    load_instance,
    services_of,
    stage_overview,
)
from pygocd.web.ui.live import watch_pipeline
from pygocd.web.ui.pages import PageContext, render_fragment, render_page

router = APIRouter()

PAGE_SIZE = 10
CONSOLE_TICK = 0.1
"""How often an open console checks its file for new bytes while the job runs."""


def oob(html: str, element_id: str) -> str:
    """Mark the element with `element_id` in `html` for an out-of-band swap."""
    return html.replace(f'id="{element_id}"', f'id="{element_id}" hx-swap-oob="true"', 1)


def revision_summary(instance: PipelineInstance) -> str:
    revisions = instance.build_cause.material_revisions
    return formatting.short_revision(revisions[0].revision) if revisions else ""


# ---- pipeline activity ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActivityRow:
    instance: DashboardInstance
    revision: str
    comment: str | None


@dataclass(frozen=True, kw_only=True)
class ActivityContext(PageContext):
    pipeline: str
    stage_names: tuple[str, ...]
    rows: tuple[ActivityRow, ...]
    pause: PipelinePauseInfo
    older: int | None
    newer: int | None
    events_url: str


async def activity_context(
    request: Request, name: str, after: int | None, before: int | None
) -> ActivityContext:
    services = services_of(request)
    config = services.config.current
    pipeline = config.runnable(name)
    if pipeline is None:
        raise NotFound(f"Pipeline '{name}' not found.")
    stages = configured_stages(config, pipeline)
    async with services.uow(read_only=True) as uow:
        page, has_older, has_newer = await uow.pipeline_instances.history(
            pipeline.name, PAGE_SIZE, after=after, before=before
        )
        state = await uow.pipeline_instances.state(pipeline.name)
    rows = tuple(
        ActivityRow(dashboard_instance(i, stages), revision_summary(i), i.comment) for i in page
    )
    query = f"?after={after}" if after else (f"?before={before}" if before else "")
    return ActivityContext(
        title=pipeline.name,
        active="dashboard",
        path=request.url.path,
        pipeline=pipeline.name,
        stage_names=tuple(s.name for s in stages),
        rows=rows,
        pause=state.pause,
        older=page[-1].id if page and has_older else None,
        newer=page[0].id if page and has_newer else None,
        events_url=f"/go/ui/events/activity/{pipeline.name}{query}",
    )


@router.get("/pipeline/activity/{name}", name="ui.activity")
async def activity_page(
    request: Request, name: str, after: int | None = None, before: int | None = None
) -> HTMLResponse:
    page = await activity_context(request, name, after, before)
    return render_page(request, "runs/activity.html", page)


@router.get("/ui/events/activity/{name}")
async def activity_events(
    request: Request, name: str, after: int | None = None, before: int | None = None
) -> EventSourceResponse:
    async def render() -> str:
        page = await activity_context(request, name, after, before)
        return oob(render_fragment("runs/_activity_body.html", page=page), "activity-body")

    return watch_pipeline(request, name, render)


@router.get("/ui/comments/{pipeline}/{counter}")
async def comment_modal(request: Request, pipeline: str, counter: int) -> HTMLResponse:
    instance = await load_instance(services_of(request), pipeline, counter)
    return HTMLResponse(
        render_fragment(
            "runs/_comment.html",
            pipeline=instance.name,
            counter=instance.counter,
            label=instance.label,
            comment=instance.comment,
        )
    )


@router.post("/ui/pipelines/{pipeline}/{counter}/comment")
async def comment(request: Request, pipeline: str, counter: int) -> Response:
    services = services_of(request)
    text = (await request.form()).get("comment", "")

    async def save() -> str:
        comments = CommentService(services.uow, services.bus, services.config)
        await comments.update_comment(pipeline, counter, text if isinstance(text, str) else "")
        return "Comment successfully updated."

    return await act(request, save)


# ---- stage details ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class StageContext(PageContext):
    overview: StageOverview
    instance: DashboardInstance
    runs: tuple[int, ...]
    changes: ChangesView
    events_url: str


def changes_view(services: Services, instance: PipelineInstance) -> ChangesView:
    config = services.config.current.runnable(instance.name)
    by_fingerprint = {m.fingerprint: m for m in config.materials} if config else {}
    return ChangesView(
        pipeline=instance.name,
        label=instance.label,
        message=instance.build_cause.message,
        materials=tuple(
            MaterialChangesView(
                describe_material(
                    by_fingerprint.get(r.fingerprint), r.material_name or r.fingerprint[:12]
                ),
                r.changed,
                r.modifications,
            )
            for r in instance.build_cause.material_revisions
        ),
    )


async def stage_context(
    request: Request, pipeline: str, counter: int, stage: str, stage_counter: int
) -> StageContext:
    services = services_of(request)
    instance = await load_instance(services, pipeline, counter)
    run = find_stage_run(instance, stage, stage_counter)
    config = services.config.current
    found = config.runnable(instance.name)
    stages = configured_stages(config, found) if found is not None else ()
    loc = f"{instance.name}/{counter}/{run.name}/{stage_counter}"
    return StageContext(
        title=f"{run.name}",
        active="dashboard",
        path=request.url.path,
        overview=stage_overview(instance, run, services.clock.now()),
        instance=dashboard_instance(instance, stages),
        runs=tuple(
            sorted(s.counter for s in instance.stages if s.name.lower() == run.name.lower())
        ),
        changes=changes_view(services, instance),
        events_url=f"/go/ui/events/stage/{loc}",
    )


@router.get("/pipelines/{pipeline}/{counter}/{stage}/{stage_counter}", name="ui.stage")
async def stage_page(
    request: Request, pipeline: str, counter: int, stage: str, stage_counter: int
) -> HTMLResponse:
    page = await stage_context(request, pipeline, counter, stage, stage_counter)
    return render_page(request, "runs/stage.html", page)


@router.get("/ui/events/stage/{pipeline}/{counter}/{stage}/{stage_counter}")
async def stage_events(
    request: Request, pipeline: str, counter: int, stage: str, stage_counter: int
) -> EventSourceResponse:
    async def render() -> str:
        page = await stage_context(request, pipeline, counter, stage, stage_counter)
        return oob(render_fragment("runs/_stage_body.html", page=page), "stage-body")

    return watch_pipeline(request, pipeline, render)
