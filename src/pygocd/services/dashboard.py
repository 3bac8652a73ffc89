"""The dashboard's read model: what GoCD's dashboard (and `GET /go/api/dashboard` v4) shows.

A plain tree of frozen dataclasses with GoCD's field meanings (gocd-domain.md §3.6,
gocd-api.md §2.2): sections (pipeline groups, environments) name their pipelines; each
pipeline carries its pause/lock state, permissions, origin and the *instances to show* —
every instance with an active latest-run stage plus the newest one — and each instance
lists one stage per configured stage: its latest run, or `Unknown` from config when it has
not run yet. Stage status is aggregated from the jobs as GoCD's `StageState.findByBuilds`.

Built from the current config snapshot and a fixed number of batch queries, however many
pipelines there are (`DashboardRepository`). Security is not in place yet, so every `can_*`
is true, as GoCD's with security off.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from pygocd.domain.config import CruiseConfig
from pygocd.domain.errors import NotFound
from pygocd.domain.materials import mask_credentials
from pygocd.domain.pipelines import ApprovalType, PipelineConfig, StageConfig, TrackingTool
from pygocd.domain.runs import PipelineInstance, PipelinePauseInfo, PipelineState, StageInstance
from pygocd.domain.states import JobResult, JobState, StageState, aggregate_stage_state
from pygocd.services.config import ConfigService
from pygocd.services.pipeline_changes import PerPipelineCache, PerPipelineState
from pygocd.services.ports import UnitOfWork, UnitOfWorkFactory

CANCELLED_BY_GOCD = "GoCD"
NOT_IN_ANY_ENVIRONMENT = "Pipelines not in any Environment"


@dataclass(frozen=True, slots=True)
class DashboardJob:
    """A job of a shown stage run (for the stage overview; not part of the v4 JSON)."""

    name: str
    state: JobState
    result: JobResult
    agent_uuid: str | None = None
    id: int | None = None
    rerun: bool = False


@dataclass(frozen=True, slots=True)
class DashboardStage:
    """GoCD's `StageInstanceModel` on the dashboard.

    `counter` is 1 and `approved_by`/`scheduled_at` are None for a stage that has not run
    in this instance (`has_run` False; GoCD's `NullStageHistoryItem`). `approval_type` is
    GoCD's config value (`success`/`manual`); the v4 JSON writes `success` as `auto`.
    `cancelled_by` is set only for Cancelled stages (`GoCD` when nobody is recorded).
    """

    name: str
    counter: int
    status: StageState
    approval_type: ApprovalType
    approved_by: str | None
    scheduled_at: datetime | None
    allow_only_on_success_of_previous_stage: bool
    can_operate: bool = True
    cancelled_by: str | None = None
    has_run: bool = True
    jobs: tuple[DashboardJob, ...] = ()


@dataclass(frozen=True, slots=True)
class DashboardInstance:
    """GoCD's `PipelineInstanceModel` on the dashboard.

    `triggered_by` is GoCD's display text, `"Triggered by " + approver`, the approver being
    the first stage's `approved_by` (`changes`, a user name or `timer`), kept in `approver`.
    """

    label: str
    counter: int
    triggered_by: str
    approver: str
    scheduled_at: datetime | None
    stages: tuple[DashboardStage, ...]


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    is_using_template: bool = False
    template_name: str | None = None


@dataclass(frozen=True, slots=True)
class DashboardPipeline:
    """One pipeline card / one entry of the v4 `pipelines` list.

    `locked` is whether the lock is held now. `config_repo_id` and
    `config_repo_material_url` (credentials masked) are set only when `from_config_repo`.
    `last_updated` is the newest change among the shown instances (None when never run).
    """

    name: str
    group: str
    environment: str | None
    locked: bool
    pause_info: PipelinePauseInfo
    template_info: TemplateInfo
    from_config_repo: bool
    instances: tuple[DashboardInstance, ...]
    can_operate: bool = True
    can_administer: bool = True
    can_unlock: bool = True
    can_pause: bool = True
    config_repo_id: str | None = None
    config_repo_material_url: str | None = None
    tracking_tool: TrackingTool | None = None
    last_updated: datetime | None = None
    first_stage_manual: bool = False

    @property
    def paused(self) -> bool:
        return self.pause_info.paused

    @property
    def has_run(self) -> bool:
        return bool(self.instances)


@dataclass(frozen=True, slots=True)
class DashboardSection:
    """A pipeline group or an environment and the names of its pipelines, in order."""

    name: str
    pipelines: tuple[str, ...]
    can_administer: bool = True


@dataclass(frozen=True, slots=True)
class Dashboard:
    pipeline_groups: tuple[DashboardSection, ...]
    environments: tuple[DashboardSection, ...]
    pipelines: tuple[DashboardPipeline, ...]

    def pipeline(self, name: str) -> DashboardPipeline | None:
        wanted = name.lower()
        return next((p for p in self.pipelines if p.name.lower() == wanted), None)

    def without_environment(self) -> tuple[str, ...]:
        """Names of pipelines in no environment (the UI's last section when grouping by
        environments)."""
        placed = {n.lower() for e in self.environments for n in e.pipelines}
        return tuple(p.name for p in self.pipelines if p.name.lower() not in placed)

    @property
    def is_empty(self) -> bool:
        return not self.pipelines


@dataclass(frozen=True, slots=True)
class _PipelinePlan:
    """What a pipeline's dashboard entry takes from the config, worked out once per config
    snapshot rather than on every read."""

    config: PipelineConfig
    stages: tuple[StageConfig, ...]
    stage_configs: dict[str, StageConfig]
    not_run: tuple[tuple[str, DashboardStage], ...]
    environment: str | None
    template_info: TemplateInfo
    config_repo_id: str | None
    config_repo_material_url: str | None
    first_stage_manual: bool


@dataclass(frozen=True, slots=True)
class _Plan:
    pipelines: tuple[_PipelinePlan, ...]
    by_name: dict[str, _PipelinePlan]
    pipeline_groups: tuple[DashboardSection, ...]
    environments: tuple[DashboardSection, ...]


def _pipeline_plan(
    config: CruiseConfig, pipeline: PipelineConfig, environment: str | None
) -> _PipelinePlan:
    stages = configured_stages(config, pipeline)
    repo = config.find_config_repo(pipeline.origin.repo_id) if pipeline.origin.repo_id else None
    url = getattr(repo.material, "url", None) if repo is not None else None
    from_repo = pipeline.is_from_config_repo
    return _PipelinePlan(
        config=pipeline,
        stages=stages,
        stage_configs={s.name.lower(): s for s in stages},
        not_run=tuple((s.name.lower(), _stage_from_config(s)) for s in stages),
        environment=environment,
        template_info=TemplateInfo(pipeline.template is not None, pipeline.template),
        config_repo_id=pipeline.origin.repo_id if from_repo else None,
        config_repo_material_url=mask_credentials(url) if isinstance(url, str) else None,
        first_stage_manual=bool(stages) and stages[0].approval.type is ApprovalType.MANUAL,
    )


_last_plan: list[tuple[CruiseConfig, _Plan]] = []


def _plan(config: CruiseConfig) -> _Plan:
    """The plan of `config`, kept for the latest snapshot seen (snapshots are immutable, and
    replaced whole when the config changes)."""
    if _last_plan and _last_plan[0][0] is config:
        return _last_plan[0][1]
    environments = {p.lower(): e.name for e in config.environments for p in e.pipelines}
    pipelines = tuple(
        _pipeline_plan(config, p, environments.get(p.name.lower()))
        for p in config.runnable_pipelines()
    )
    plan = _Plan(
        pipelines=pipelines,
        by_name={p.config.name.lower(): p for p in pipelines},
        pipeline_groups=tuple(
            DashboardSection(g.name, tuple(p.name for p in g.pipelines)) for g in config.groups
        ),
        environments=tuple(
            DashboardSection(
                e.name,
                tuple(found.name for n in e.pipelines if (found := config.runnable(n)) is not None),
            )
            for e in config.environments
        ),
    )
    _last_plan[:] = [(config, plan)]
    return plan


class DashboardService:
    def __init__(self, uow: UnitOfWorkFactory, config: CruiseConfig) -> None:
        self._uow = uow
        self._config = config

    async def dashboard(self) -> Dashboard:
        """Every pipeline of the config, with its sections."""
        plan = _plan(self._config)
        pipelines = await self.pipelines(None)
        return Dashboard(
            pipeline_groups=plan.pipeline_groups,
            environments=plan.environments,
            pipelines=tuple(pipelines),
        )

    async def pipeline(self, name: str) -> DashboardPipeline:
        found = await self.pipelines([name])
        if not found:
            raise NotFound(f"Pipeline '{name}' not found.")
        return found[0]

    async def pipelines(self, names: Collection[str] | None) -> list[DashboardPipeline]:
        """The named pipelines (all when None) in config order; unknown names are skipped."""
        plan = _plan(self._config)
        if names is None:
            keys = None
        else:
            wanted = {n.lower() for n in names}
            keys = [k for k in plan.by_name if k in wanted]
            if not keys:
                return []
        async with self._uow(read_only=True) as uow:
            found = await _load_pipelines(uow, self._config, keys)
        return list(found.values())


async def _load_pipelines(
    uow: UnitOfWork, config: CruiseConfig, keys: list[str] | None
) -> dict[str, DashboardPipeline]:
    """The dashboard entries of the pipelines named by lower-cased `keys` (all when None), in
    config order; every key must be a pipeline of `config`."""
    plan = _plan(config)
    chosen = plan.by_name if keys is None else {k: plan.by_name[k] for k in keys}
    states = await uow.dashboard.states(keys)
    shown = await uow.dashboard.instances_to_show(keys)
    return {
        key: _dashboard_pipeline(
            p, states.get(key) or PipelineState(name=p.config.name), shown.get(key, ())
        )
        for key, p in chosen.items()
    }


class DashboardReadModel:
    """The whole dashboard, kept between requests and refreshed per pipeline
    (`PerPipelineCache`): after a change only the changed pipelines are read again, and
    unchanged pipelines keep the same `DashboardPipeline` objects, so renderers can reuse
    what they made of them by identity. A config change reloads the pipelines whose
    dashboard-relevant config changed (all of them when, say, a template they use changed).
    """

    def __init__(self, uow: UnitOfWorkFactory, config: ConfigService) -> None:
        self._cache: PerPipelineCache[DashboardPipeline] = PerPipelineCache(
            uow, lambda: config.current, lambda c: _plan(c).by_name, _load_pipelines
        )
        self._built: tuple[PerPipelineState[DashboardPipeline], Dashboard] | None = None

    async def dashboard(self) -> Dashboard:
        state = await self._cache.current()
        built = self._built
        if built is not None and built[0] is state:
            return built[1]
        plan = _plan(state.config)
        board = Dashboard(
            pipeline_groups=plan.pipeline_groups,
            environments=plan.environments,
            pipelines=tuple(state.values.values()),
        )
        self._built = (state, board)
        return board


def dashboard_pipeline(
    config: CruiseConfig,
    pipeline: PipelineConfig,
    state: PipelineState,
    instances: Iterable[PipelineInstance],
    environment: str | None = None,
) -> DashboardPipeline:
    """One pipeline's dashboard entry from its config, state and instances to show."""
    return _dashboard_pipeline(_pipeline_plan(config, pipeline, environment), state, instances)


def _dashboard_pipeline(
    plan: _PipelinePlan, state: PipelineState, instances: Iterable[PipelineInstance]
) -> DashboardPipeline:
    pipeline = plan.config
    shown = tuple(_instance(i, plan.stage_configs, plan.not_run) for i in instances)
    times = [
        t
        for i in shown
        for t in [i.scheduled_at, *(s.scheduled_at for s in i.stages)]
        if t is not None
    ]
    return DashboardPipeline(
        name=pipeline.name,
        group=pipeline.group,
        environment=plan.environment,
        locked=state.lock.locked,
        pause_info=state.pause,
        template_info=plan.template_info,
        from_config_repo=pipeline.is_from_config_repo,
        instances=shown,
        config_repo_id=plan.config_repo_id,
        config_repo_material_url=plan.config_repo_material_url,
        tracking_tool=pipeline.tracking_tool,
        last_updated=max(times, default=None),
        first_stage_manual=plan.first_stage_manual,
    )


def configured_stages(config: CruiseConfig, pipeline: PipelineConfig) -> tuple[StageConfig, ...]:
    """The pipeline's stages, from its template when it uses one."""
    if pipeline.stages or pipeline.template is None:
        return pipeline.stages
    template = config.find_template(pipeline.template)
    return template.stages if template is not None else ()


def dashboard_instance(
    instance: PipelineInstance, configured: tuple[StageConfig, ...]
) -> DashboardInstance:
    """An instance with its latest stage runs, then the configured stages that have not run
    (GoCD's `addFutureStages`)."""
    return _instance(
        instance,
        {s.name.lower(): s for s in configured},
        tuple((s.name.lower(), _stage_from_config(s)) for s in configured),
    )


def _instance(
    instance: PipelineInstance,
    stage_configs: dict[str, StageConfig],
    not_run: tuple[tuple[str, DashboardStage], ...],
) -> DashboardInstance:
    latest: dict[str, StageInstance] = {}
    for stage in instance.stages:
        key = stage.name.lower()
        if key not in latest or stage.counter > latest[key].counter:
            latest[key] = stage
    runs = sorted(latest.values(), key=lambda s: s.order)
    stages = [_stage_run(run, stage_configs.get(run.name.lower())) for run in runs]
    stages += [stage for key, stage in not_run if key not in latest]
    approver = (runs[0].approved_by if runs else None) or instance.build_cause.approver
    return DashboardInstance(
        label=instance.label,
        counter=instance.counter,
        triggered_by=f"Triggered by {approver}",
        approver=approver,
        scheduled_at=instance.created_at,
        stages=tuple(stages),
    )


def _stage_run(run: StageInstance, config: StageConfig | None) -> DashboardStage:
    jobs = [j for j in run.jobs if not j.ignored]
    status = aggregate_stage_state(jobs) if jobs else run.state
    cancelled_by = None
    if status is StageState.CANCELLED:
        cancelled_by = run.cancelled_by or CANCELLED_BY_GOCD
    return DashboardStage(
        name=run.name,
        counter=run.counter,
        status=status,
        approval_type=run.approval_type,
        approved_by=run.approved_by,
        scheduled_at=run.created_at,
        allow_only_on_success_of_previous_stage=(
            config.approval.allow_only_on_success if config is not None else False
        ),
        cancelled_by=cancelled_by,
        jobs=tuple(
            DashboardJob(j.name, j.state, j.result, j.agent_uuid, j.id, j.rerun) for j in jobs
        ),
    )


def _stage_from_config(config: StageConfig) -> DashboardStage:
    return DashboardStage(
        name=config.name,
        counter=1,
        status=StageState.UNKNOWN,
        approval_type=config.approval.type,
        approved_by=None,
        scheduled_at=None,
        allow_only_on_success_of_previous_stage=config.approval.allow_only_on_success,
        has_run=False,
    )
