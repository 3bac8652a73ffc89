"""The dashboard (`/go/pipelines`): sections of pipeline cards, and the popups opened from a
card — stage overview, changes, trigger with options, pause.

Cards are rendered one by one from `dashboard/_card.html` with a stable id, so `live.py` can
push a re-rendered card over SSE when its pipeline changes. A card's HTML depends on its
`DashboardPipeline` alone, so it is memoised per pipeline (`card_html`): with a thousand
pipelines, a page render re-renders only the cards whose pipeline changed since.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from pygocd.domain.errors import NotFound
from pygocd.domain.materials import DependencyMaterialConfig, MaterialConfig, mask_credentials
from pygocd.domain.modifications import Modification
from pygocd.domain.runs import PipelineInstance, StageInstance
from pygocd.domain.states import JobResult, JobState, StageState
from pygocd.services.dashboard import (
    NOT_IN_ANY_ENVIRONMENT,
    Dashboard,
    DashboardPipeline,
    DashboardSection,
    DashboardService,
    dashboard_instance,
)
from pygocd.services.health import HealthLevel, HealthMessage
from pygocd.services.registry import Services
from pygocd.web.read_models import read_models
from pygocd.web.ui import formatting
from pygocd.web.ui.pages import PageContext, render_fragment, render_markup, render_page

router = APIRouter()

GROUP_BY_ENVIRONMENTS = "environments"
GROUP_BY_GROUPS = "pipeline_groups"


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def dashboard_service(services: Services) -> DashboardService:
    return DashboardService(services.uow, services.config.current)


@dataclass(frozen=True, kw_only=True)
class DashboardContext(PageContext):
    dashboard: Dashboard
    group_by: str = GROUP_BY_GROUPS
    health: Sequence[HealthMessage] = ()

    @cached_property
    def cards(self) -> dict[str, DashboardPipeline]:
        return {p.name.lower(): p for p in self.dashboard.pipelines}

    def card(self, name: str) -> Markup:
        """The card of the pipeline `name` (as a section lists it)."""
        return card_html(self.cards[name.lower()])

    @property
    def sections(self) -> list[tuple[str, DashboardSection]]:
        if self.group_by != GROUP_BY_ENVIRONMENTS:
            return [("group", s) for s in self.dashboard.pipeline_groups if s.pipelines]
        found: list[tuple[str, DashboardSection]] = [
            ("environment", s) for s in self.dashboard.environments if s.pipelines
        ]
        rest = self.dashboard.without_environment()
        if rest:
            found.append(("none", DashboardSection(NOT_IN_ANY_ENVIRONMENT, rest, False)))
        return found

    @property
    def health_summary(self) -> str:
        return health_summary(self.health)


def health_summary(messages: Sequence[HealthMessage]) -> str:
    """GoCD's pill text: "1 error and 2 warnings"."""
    errors = sum(1 for m in messages if m.level is HealthLevel.ERROR)
    warnings = len(messages) - errors
    parts = [
        f"{n} {word}{'s' if n != 1 else ''}"
        for n, word in ((errors, "error"), (warnings, "warning"))
        if n
    ]
    return " and ".join(parts)


async def current_dashboard(request: Request) -> Dashboard:
    """The app's dashboard read model: shared by the app's requests and streams, and after a
    change (in this or another server process) refreshed for the changed pipelines only, so
    the cards of the others are reused as they are (`card_html`)."""
    return await read_models(request).dashboard.dashboard()


async def dashboard_context(request: Request, group_by: str) -> DashboardContext:
    services = services_of(request)
    board = await current_dashboard(request)
    return DashboardContext(
        title="Dashboard",
        active="dashboard",
        path=request.url.path,
        dashboard=board,
        group_by=GROUP_BY_ENVIRONMENTS if group_by == GROUP_BY_ENVIRONMENTS else GROUP_BY_GROUPS,
        health=tuple(services.health.messages()) if services.health is not None else (),
    )


@router.get("/pipelines", name="ui.dashboard")
async def dashboard_page(request: Request, group_by: str = GROUP_BY_GROUPS) -> HTMLResponse:
    return render_page(request, "dashboard.html", await dashboard_context(request, group_by))


@router.get("/ui/dashboard", name="ui.dashboard.content")
async def dashboard_content(request: Request, group_by: str = GROUP_BY_GROUPS) -> HTMLResponse:
    """The sections alone, for a page that reconnects after missing updates."""
    page = await dashboard_context(request, group_by)
    return HTMLResponse(render_fragment("dashboard/_content.html", page=page))


_CARD_CACHE_LIMIT = 20_000
_cards: dict[tuple[str, bool], tuple[DashboardPipeline, Markup]] = {}


def card_html(p: DashboardPipeline, *, oob: bool = False) -> Markup:
    """A pipeline's card; `oob` marks it for an out-of-band swap over SSE.

    Memoised per pipeline: the last rendering is reused while the pipeline's dashboard entry
    is the one (or one equal to the one) it was rendered from (the card shows nothing else;
    times are written as instants, localised in the browser). One entry per pipeline and
    flavour, so the memo is bounded by the pipeline count; it is dropped whole past a
    generous limit (pipelines renamed and removed over a long uptime).
    """
    key = (p.name.lower(), oob)
    found = _cards.get(key)
    # The read model hands out the same object while the pipeline is unchanged: compare by
    # identity first, which spares a deep comparison per card on every page.
    if found is not None and (found[0] is p or found[0] == p):
        return found[1]
    html = render_markup("dashboard/_card.html", p=p, oob=oob)
    if len(_cards) >= _CARD_CACHE_LIMIT:
        _cards.clear()
    _cards[key] = (p, html)
    return html


def render_cards(pipelines: Sequence[DashboardPipeline]) -> str:
    """Cards marked for an out-of-band swap (each replaces the element with its id)."""
    return "".join(card_html(p, oob=True) for p in pipelines)


# ---- stage overview ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobRow:
    name: str
    status: str
    state_text: str
    duration: str
    agent: str | None
    url: str
    rerun: bool = False


@dataclass(frozen=True, slots=True)
class Counts:
    building: int = 0
    passed: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class StageOverview:
    pipeline: str
    counter: int
    label: str
    stage: str
    stage_counter: int
    status: StageState
    triggered_by: str
    scheduled_at: datetime | None
    duration: str
    cancelled_by: str | None
    jobs: tuple[JobRow, ...]
    counts: Counts = field(default_factory=Counts)

    @property
    def active(self) -> bool:
        return self.status.is_active


def job_url(pipeline: str, counter: int, stage: str, stage_counter: int, job: str) -> str:
    return f"/go/tab/build/detail/{pipeline}/{counter}/{stage}/{stage_counter}/{job}"


def job_rows(instance: PipelineInstance, stage: StageInstance, now: datetime) -> tuple[JobRow, ...]:
    rows = []
    for j in stage.jobs:
        if j.ignored:
            continue
        seconds = formatting.job_duration(j, now)
        rows.append(
            JobRow(
                name=j.name,
                status=formatting.job_status(j.state, j.result),
                state_text=formatting.job_state_text(j.state, j.result),
                duration=formatting.duration(seconds) if seconds is not None else "",
                agent=j.agent_uuid,
                url=job_url(instance.name, instance.counter, stage.name, stage.counter, j.name),
                rerun=j.rerun,
            )
        )
    return tuple(rows)


def find_stage_run(instance: PipelineInstance, name: str, counter: int) -> StageInstance:
    for stage in instance.stages:
        if stage.name.lower() == name.lower() and stage.counter == counter:
            return stage
    raise NotFound(f"Stage '{instance.name}/{instance.counter}/{name}/{counter}' was not found!")


def stage_overview(
    instance: PipelineInstance, stage: StageInstance, now: datetime
) -> StageOverview:
    shown = dashboard_instance(instance, ())
    status = next(
        (s.status for s in shown.stages if s.name == stage.name and s.counter == stage.counter),
        stage.state,
    )
    jobs = [j for j in stage.jobs if not j.ignored]
    if status not in (StageState.BUILDING, StageState.FAILING) and jobs:
        ends = [t.changed_at for j in jobs for t in j.transitions if t.state is JobState.COMPLETED]
        seconds = (
            (max(ends) - stage.created_at).total_seconds() if ends and stage.created_at else None
        )
    else:
        seconds = (now - stage.created_at).total_seconds() if stage.created_at else None
    return StageOverview(
        pipeline=instance.name,
        counter=instance.counter,
        label=instance.label,
        stage=stage.name,
        stage_counter=stage.counter,
        status=status,
        triggered_by=f"Triggered by {stage.approved_by or instance.build_cause.approver}",
        scheduled_at=stage.created_at,
        duration=formatting.duration(seconds),
        cancelled_by=stage.cancelled_by if status is StageState.CANCELLED else None,
        jobs=job_rows(instance, stage, now),
        counts=Counts(
            building=sum(1 for j in jobs if j.state.is_active),
            passed=sum(
                1 for j in jobs if j.state is JobState.COMPLETED and j.result is JobResult.PASSED
            ),
            failed=sum(1 for j in jobs if j.result is JobResult.FAILED),
        ),
    )


async def load_instance(services: Services, name: str, counter: int) -> PipelineInstance:
    async with services.uow(read_only=True) as uow:
        found = await uow.pipeline_instances.find(name, counter)
    if found is None:
        raise NotFound(f"Pipeline instance '{name}/{counter}' was not found!")
    return found


@router.get("/ui/stage_overview/{pipeline}/{counter}/{stage}/{stage_counter}")
async def stage_overview_popup(
    request: Request, pipeline: str, counter: int, stage: str, stage_counter: int
) -> HTMLResponse:
    services = services_of(request)
    instance = await load_instance(services, pipeline, counter)
    run = find_stage_run(instance, stage, stage_counter)
    overview = stage_overview(instance, run, services.clock.now())
    return HTMLResponse(render_fragment("dashboard/_stage_overview.html", o=overview))


# ---- changes ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MaterialChangesView:
    description: str
    changed: bool
    modifications: tuple[Modification, ...]


@dataclass(frozen=True, slots=True)
class ChangesView:
    pipeline: str
    label: str
    message: str
    materials: tuple[MaterialChangesView, ...]


def describe_material(material: MaterialConfig | None, fallback: str) -> str:
    """GoCD's material description: the name when given, else type and URL."""
    if material is None:
        return fallback
    if isinstance(material, DependencyMaterialConfig):
        return f"Pipeline: {material.pipeline} [{material.stage}]"
    name = getattr(material, "name", None)
    url = getattr(material, "url", None)
    kind = str(getattr(material, "kind", "material")).capitalize()
    where = mask_credentials(url) if isinstance(url, str) else ""
    return f"{name} ({kind}: {where})" if name else f"{kind}: {where}".strip()


@router.get("/ui/changes/{pipeline}/{counter}")
async def changes_popup(request: Request, pipeline: str, counter: int) -> HTMLResponse:
    services = services_of(request)
    instance = await load_instance(services, pipeline, counter)
    config = services.config.current.runnable(pipeline)
    by_fingerprint = {m.fingerprint: m for m in config.materials} if config else {}
    view = ChangesView(
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
    return HTMLResponse(render_fragment("dashboard/_changes.html", c=view))


# ---- trigger with options, pause ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MaterialChoice:
    fingerprint: str
    name: str
    type: str
    url: str
    latest: Modification | None
    recent: tuple[Modification, ...]


@dataclass(frozen=True, slots=True)
class VariableChoice:
    name: str
    value: str | None


@dataclass(frozen=True, slots=True)
class TriggerOptionsView:
    pipeline: str
    materials: tuple[MaterialChoice, ...]
    variables: tuple[VariableChoice, ...]
    secure_variables: tuple[VariableChoice, ...]


RECENT_REVISIONS = 5


@router.get("/ui/pipelines/{pipeline}/trigger_options")
async def trigger_options_modal(request: Request, pipeline: str) -> HTMLResponse:
    services = services_of(request)
    config = services.config.current.runnable(pipeline)
    if config is None:
        raise NotFound(f"Pipeline '{pipeline}' not found.")
    choices = []
    async with services.uow(read_only=True) as uow:
        for material in config.materials:
            recent = await uow.materials.latest_modifications(
                material.fingerprint, RECENT_REVISIONS
            )
            url = getattr(material, "url", None)
            choices.append(
                MaterialChoice(
                    fingerprint=material.fingerprint,
                    name=describe_material(material, material.fingerprint[:12]),
                    type=str(getattr(material, "kind", "material")).capitalize(),
                    url=mask_credentials(url) if isinstance(url, str) else "",
                    latest=recent[0] if recent else None,
                    recent=tuple(recent),
                )
            )
    variables = list(config.environment_variables)
    environment = services.config.current.environment_of(config.name)
    if environment is not None:
        known = {v.name.lower() for v in variables}
        variables += [v for v in environment.environment_variables if v.name.lower() not in known]
    view = TriggerOptionsView(
        pipeline=config.name,
        materials=tuple(choices),
        variables=tuple(VariableChoice(v.name, v.value) for v in variables if not v.secure),
        secure_variables=tuple(VariableChoice(v.name, None) for v in variables if v.secure),
    )
    return HTMLResponse(render_fragment("dashboard/_trigger_options.html", t=view))


@router.get("/ui/pipelines/{pipeline}/pause")
async def pause_modal(request: Request, pipeline: str) -> HTMLResponse:
    config = services_of(request).config.current.runnable(pipeline)
    if config is None:
        raise NotFound(f"Pipeline '{pipeline}' not found.")
    return HTMLResponse(render_fragment("dashboard/_pause.html", pipeline=config.name))
