"""Reading run history: pipeline/stage/job instances and history pages, status, CCTray.

CCTray follows GoCD's `CcTrayService` rules (gocd-api.md §2.19): one project per configured
stage that has run and one per job of its newest run; `activity` from the newest run,
`lastBuild*` from the last completed run, breakers while the newest run has failed. GoCD keeps
these in a cache fed by status-change events; here they are computed from the history tables
with a fixed number of queries, which gives the same answer without the cache's restart quirks
(after a restart GoCD forgets run-instance job names until they change again).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from pygocd.domain.config import CruiseConfig
from pygocd.domain.errors import NotFound
from pygocd.domain.pipelines import PipelineConfig, StageConfig
from pygocd.domain.runs import (
    JobIdentifier,
    JobInstance,
    PipelineInstance,
    PipelineState,
    StageInstance,
    StageRun,
)
from pygocd.domain.scheduling import manual_trigger_refusal, run_stage_refusal
from pygocd.domain.states import JobResult, JobState, StageResult, StageState
from pygocd.services.config import ConfigService
from pygocd.services.pipeline_changes import PerPipelineCache, PerPipelineState
from pygocd.services.ports import UnitOfWork, UnitOfWorkFactory

# GoCD shows a stage whose first run is still going with a fixed date: the moment its
# status class was loaded, i.e. about when the server started.
PLACEHOLDER_BUILD_TIME = datetime.now(UTC).replace(microsecond=0)


class Activity(enum.StrEnum):
    SLEEPING = "Sleeping"
    BUILDING = "Building"


class BuildStatus(enum.StrEnum):
    SUCCESS = "Success"
    FAILURE = "Failure"


@dataclass(frozen=True, slots=True)
class CcTrayProject:
    """One `<Project>` of `/go/cctray.xml`; `web_path` is absolute from the server root."""

    name: str
    activity: Activity
    last_build_status: BuildStatus
    last_build_label: str
    last_build_time: datetime
    web_path: str
    breakers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PipelineStatus:
    """`GET /api/pipelines/:name/status`."""

    state: PipelineState
    schedulable: bool


@dataclass(frozen=True, slots=True)
class InstanceView:
    """A pipeline instance with what its representation needs beyond the row: whether the
    pipeline may be triggered now and, per stage name, whether that stage may be run."""

    instance: PipelineInstance
    can_run: bool
    stage_can_run: dict[str, bool]


def configured_stages(config: CruiseConfig, pipeline: PipelineConfig) -> tuple[StageConfig, ...]:
    """The pipeline's stages, from its template when it uses one."""
    if pipeline.stages or pipeline.template is None:
        return pipeline.stages
    template = config.find_template(pipeline.template)
    return template.stages if template is not None else ()


def cctray_label(label: str, stage_counter: int) -> str:
    """GoCD's `ccTrayLastBuildLabel`: a rerun shows its stage counter."""
    return label if stage_counter == 1 else f"{label} :: {stage_counter}"


def _stage_status(state: StageState) -> BuildStatus:
    return BuildStatus.SUCCESS if state is StageState.PASSED else BuildStatus.FAILURE


def _job_status(result: JobResult) -> BuildStatus:
    return BuildStatus.SUCCESS if result is JobResult.PASSED else BuildStatus.FAILURE


def _completed_at(job: JobInstance) -> datetime:
    times = [t.changed_at for t in job.transitions if t.state is JobState.COMPLETED]
    if times:
        return times[-1]
    return job.transitions[-1].changed_at if job.transitions else PLACEHOLDER_BUILD_TIME


_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9_.~-]+")


def _segment(text: str) -> str:
    return text if _SAFE_SEGMENT.fullmatch(text) else quote(text, safe="")


def job_web_path(identifier: JobIdentifier) -> str:
    parts = [
        identifier.pipeline_name,
        str(identifier.pipeline_counter),
        identifier.stage_name,
        str(identifier.stage_counter),
        identifier.job_name,
    ]
    return "/go/tab/build/detail/" + "/".join(_segment(p) for p in parts)


def stage_web_path(run: StageRun) -> str:
    parts = [run.pipeline_name, str(run.pipeline_counter), run.stage.name, str(run.stage.counter)]
    return "/go/pipelines/" + "/".join(_segment(p) for p in parts)


class RunHistoryService:
    def __init__(self, uow: UnitOfWorkFactory, config: ConfigService) -> None:
        self._uow = uow
        self._config = config

    def pipeline(self, name: str) -> PipelineConfig:
        found = self._config.current.runnable(name)
        if found is None:
            raise NotFound(f"Pipeline with name '{name}' was not found!")
        return found

    def stages_of(self, pipeline: PipelineConfig) -> tuple[StageConfig, ...]:
        return configured_stages(self._config.current, pipeline)

    # -- pipelines ------------------------------------------------------------------------

    async def status(self, name: str) -> PipelineStatus:
        pipeline = self.pipeline(name)
        async with self._uow(read_only=True) as uow:
            state = await uow.pipeline_instances.state(pipeline.name)
            active = await uow.pipeline_instances.active_stages(pipeline.name)
        schedulable = (
            bool(pipeline.stages) and manual_trigger_refusal(pipeline, state, active) is None
        )
        return PipelineStatus(state, schedulable)

    async def _views(
        self, pipeline: PipelineConfig, found: Iterable[PipelineInstance]
    ) -> list[InstanceView]:
        async with self._uow(read_only=True) as uow:
            state = await uow.pipeline_instances.state(pipeline.name)
            active = await uow.pipeline_instances.active_stages(pipeline.name)
        can_run = bool(pipeline.stages) and manual_trigger_refusal(pipeline, state, active) is None
        views = []
        for instance in found:
            stage_can_run = {
                stage.name.lower(): run_stage_refusal(pipeline, instance, stage.name, state, active)
                is None
                for stage in pipeline.stages
            }
            views.append(InstanceView(instance, can_run, stage_can_run))
        return views

    async def instance(self, name: str, counter: int) -> InstanceView:
        pipeline = self.pipeline(name)
        async with self._uow(read_only=True) as uow:
            found = await uow.pipeline_instances.find(pipeline.name, counter)
        if found is None:
            raise NotFound(f"Pipeline '{pipeline.name}' with counter '{counter}' not found!")
        return (await self._views(pipeline, [found]))[0]

    async def history(
        self, name: str, page_size: int, after: int | None, before: int | None
    ) -> tuple[list[InstanceView], bool, bool]:
        pipeline = self.pipeline(name)
        async with self._uow(read_only=True) as uow:
            page, older, newer = await uow.pipeline_instances.history(
                pipeline.name, page_size, after, before
            )
        return await self._views(pipeline, page), older, newer

    # -- stages and jobs ------------------------------------------------------------------

    async def stage(
        self, name: str, counter: int, stage_name: str, stage_counter: int
    ) -> tuple[PipelineInstance, StageInstance]:
        """The stage run with its instance; the instance's build cause has no materials."""
        pipeline = self.pipeline(name)
        async with self._uow(read_only=True) as uow:
            found = await uow.pipeline_instances.find(pipeline.name, counter, with_materials=False)
        stage = None
        if found is not None:
            stage = next(
                (
                    s
                    for s in found.stages
                    if s.name.lower() == stage_name.lower() and s.counter == stage_counter
                ),
                None,
            )
        if found is None or stage is None:
            raise NotFound(
                f"Stage '{stage_name}' with counter '{stage_counter}' for pipeline "
                f"'{pipeline.name}' with counter '{counter}' not found!"
            )
        return found, stage

    async def stage_history(
        self, name: str, stage_name: str, page_size: int, after: int | None, before: int | None
    ) -> tuple[list[StageRun], bool, bool]:
        pipeline = self.pipeline(name)
        async with self._uow(read_only=True) as uow:
            found = await uow.history.stage_history(
                pipeline.name, stage_name, page_size, after, before
            )
        if not found[0] and pipeline.find_stage(stage_name) is None:
            raise NotFound(f"Stage '{stage_name}' not found in pipeline '{pipeline.name}'.")
        return found

    async def job(
        self, name: str, counter: int, stage_name: str, stage_counter: int, job_name: str
    ) -> tuple[JobInstance, JobIdentifier]:
        instance, stage = await self.stage(name, counter, stage_name, stage_counter)
        found = [j for j in stage.jobs if j.name.lower() == job_name.lower() and not j.ignored]
        if not found:
            raise NotFound(
                f"Job '{instance.name}/{counter}/{stage.name}/{stage_counter}/{job_name}' "
                "was not found!"
            )
        job = found[-1]
        return job, JobIdentifier(
            instance.name, instance.counter, instance.label, stage.name, stage.counter, job.name
        )

    async def job_history(
        self,
        name: str,
        stage_name: str,
        job_name: str,
        page_size: int,
        after: int | None,
        before: int | None,
    ) -> tuple[list[tuple[JobInstance, JobIdentifier]], bool, bool]:
        pipeline = self.pipeline(name)
        async with self._uow(read_only=True) as uow:
            return await uow.history.job_history(
                pipeline.name, stage_name, job_name, page_size, after, before
            )

    async def scheduled_jobs(self) -> list[tuple[JobInstance, JobIdentifier]]:
        async with self._uow(read_only=True) as uow:
            return await uow.jobs.scheduled()

    # -- CCTray ---------------------------------------------------------------------------

    async def cctray(self) -> list[CcTrayProject]:
        config = self._config.current
        async with self._uow(read_only=True) as uow:
            found = await cctray_projects(uow, config, None)
        return [project for projects in found.values() for project in projects]


def _cctray_tokens(config: CruiseConfig) -> dict[str, object]:
    """What a pipeline's CCTray entries take from the config, by lower-cased name, in the
    document's order (by name, as GoCD sorts them)."""
    return {
        p.name.lower(): (p.name, tuple(s.name for s in configured_stages(config, p)))
        for p in sorted(config.runnable_pipelines(), key=lambda p: p.name)
    }


async def cctray_projects(
    uow: UnitOfWork, config: CruiseConfig, keys: list[str] | None
) -> dict[str, tuple[CcTrayProject, ...]]:
    """The CCTray projects of the pipelines named by lower-cased `keys` (every pipeline when
    None), by pipeline in the document's order; a fixed number of queries either way."""
    current = await uow.history.current_stage_runs(keys)
    completed = await uow.history.last_completed_stage_runs(keys)
    done_jobs = await uow.history.last_completed_jobs(keys)
    failing = [
        r.pipeline_id
        for r in current
        if r.stage.result is StageResult.FAILED and r.pipeline_id is not None
    ]
    breakers = await uow.history.breakers(failing)
    current_by = {(r.pipeline_name.lower(), r.stage.name.lower()): r for r in current}
    completed_by = {(r.pipeline_name.lower(), r.stage.name.lower()): r for r in completed}
    jobs_by = {
        (i.pipeline_name.lower(), i.stage_name.lower(), i.job_name.lower()): (j, i)
        for j, i in done_jobs
    }
    chosen = (
        config.runnable_pipelines()
        if keys is None
        else [p for key in keys if (p := config.runnable(key)) is not None]
    )
    found: dict[str, tuple[CcTrayProject, ...]] = {}
    for pipeline in sorted(chosen, key=lambda p: p.name):
        projects: list[CcTrayProject] = []
        runs = []
        for stage in configured_stages(config, pipeline):
            run = current_by.get((pipeline.name.lower(), stage.name.lower()))
            if run is not None:
                runs.append((stage, run))
        runs.sort(key=lambda pair: pair[1].stage.order)
        for stage, run in runs:
            key = (pipeline.name.lower(), stage.name.lower())
            stage_breakers = (
                tuple(breakers.get(run.pipeline_id or 0, ()))
                if run.stage.result is StageResult.FAILED
                else ()
            )
            projects.append(
                _stage_project(pipeline, stage, run, completed_by.get(key), stage_breakers)
            )
            for job in sorted(run.stage.jobs, key=lambda j: j.name):
                done = jobs_by.get((*key, job.name.lower()))
                projects.append(_job_project(pipeline, stage, run, job, done, stage_breakers))
        found[pipeline.name.lower()] = tuple(projects)
    return found


class CcTrayReadModel:
    """CCTray's projects, kept between requests and refreshed per pipeline like the
    dashboard (`PerPipelineCache`); unchanged pipelines keep the same tuple of projects."""

    def __init__(self, uow: UnitOfWorkFactory, config: ConfigService) -> None:
        self._cache: PerPipelineCache[tuple[CcTrayProject, ...]] = PerPipelineCache(
            uow, lambda: config.current, _cctray_tokens, cctray_projects
        )

    async def projects(self) -> PerPipelineState[tuple[CcTrayProject, ...]]:
        """By lower-cased pipeline name in the document's order."""
        return await self._cache.current()


def _stage_project(
    pipeline: PipelineConfig,
    stage: StageConfig,
    run: StageRun,
    completed: StageRun | None,
    breakers: tuple[str, ...],
) -> CcTrayProject:
    if completed is not None:
        status = _stage_status(completed.stage.state)
        label = cctray_label(completed.pipeline_label, completed.stage.counter)
        when = completed.stage.last_transitioned_at or PLACEHOLDER_BUILD_TIME
    else:
        status, label, when = BuildStatus.SUCCESS, "1", PLACEHOLDER_BUILD_TIME
    return CcTrayProject(
        name=f"{pipeline.name} :: {stage.name}",
        activity=Activity.BUILDING if run.stage.state.is_active else Activity.SLEEPING,
        last_build_status=status,
        last_build_label=label,
        last_build_time=when,
        web_path=stage_web_path(run),
        breakers=breakers,
    )


def _job_project(
    pipeline: PipelineConfig,
    stage: StageConfig,
    run: StageRun,
    job: JobInstance,
    done: tuple[JobInstance, JobIdentifier] | None,
    breakers: tuple[str, ...],
) -> CcTrayProject:
    if done is not None:
        last, where = done
        status = _job_status(last.result)
        label = cctray_label(where.pipeline_label, where.stage_counter)
        when = _completed_at(last)
    else:
        status, label, when = BuildStatus.SUCCESS, "1", PLACEHOLDER_BUILD_TIME
    identifier = JobIdentifier(
        run.pipeline_name,
        run.pipeline_counter,
        run.pipeline_label,
        run.stage.name,
        run.stage.counter,
        job.name,
    )
    return CcTrayProject(
        name=f"{pipeline.name} :: {stage.name} :: {job.name}",
        activity=Activity.BUILDING if job.state.is_active else Activity.SLEEPING,
        last_build_status=status,
        last_build_label=label,
        last_build_time=when,
        web_path=job_web_path(identifier),
        breakers=breakers if job.result is JobResult.FAILED else (),
    )
