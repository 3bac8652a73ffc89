"""Runtime instances: PipelineInstance → StageInstance → JobInstance, and their build cause.

These mirror GoCD's `Pipeline`, `Stage`, `JobInstance` rows. Repositories return them; the
rules that change them live in `pygocd.domain.states` and the services.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from pygocd.domain.modifications import MaterialRevision
from pygocd.domain.pipelines import ApprovalType
from pygocd.domain.states import JobResult, JobState, StageResult, StageState
from pygocd.domain.variables import EnvironmentVariable

APPROVED_BY_CHANGES = "changes"
APPROVED_BY_TIMER = "timer"
ANONYMOUS = "anonymous"


class BuildCauseType(enum.StrEnum):
    MODIFICATION = "ModificationBuildCause"
    MANUAL_FORCED = "ManualForcedBuildCause"
    EXTERNAL = "ExternalBuildCause"


@dataclass(frozen=True, slots=True)
class BuildCause:
    type: BuildCauseType
    message: str
    approver: str
    material_revisions: tuple[MaterialRevision, ...] = ()
    trigger_variables: tuple[EnvironmentVariable, ...] = ()

    @property
    def trigger_forced(self) -> bool:
        return self.type is BuildCauseType.MANUAL_FORCED


@dataclass(frozen=True, slots=True)
class JobStateTransition:
    state: JobState
    changed_at: datetime
    id: int | None = None


@dataclass(frozen=True, slots=True)
class JobIdentifier:
    """GoCD's job locator `pipeline/counter/stage/counter/job`."""

    pipeline_name: str
    pipeline_counter: int
    pipeline_label: str
    stage_name: str
    stage_counter: int
    job_name: str

    @property
    def stage_locator(self) -> str:
        return (
            f"{self.pipeline_name}/{self.pipeline_counter}/{self.stage_name}/{self.stage_counter}"
        )

    @property
    def locator(self) -> str:
        return f"{self.stage_locator}/{self.job_name}"


@dataclass(frozen=True, slots=True)
class JobInstance:
    name: str
    state: JobState = JobState.SCHEDULED
    result: JobResult = JobResult.UNKNOWN
    agent_uuid: str | None = None
    scheduled_at: datetime | None = None
    run_on_all_agents: bool = False
    run_multiple_instance: bool = False
    ignored: bool = False
    rerun: bool = False
    original_job_id: int | None = None
    transitions: tuple[JobStateTransition, ...] = ()
    id: int | None = None
    stage_id: int | None = None

    @property
    def is_copy(self) -> bool:
        return self.original_job_id is not None


@dataclass(frozen=True, slots=True)
class StageInstance:
    name: str
    counter: int
    order: int
    approval_type: ApprovalType = ApprovalType.SUCCESS
    approved_by: str | None = None
    cancelled_by: str | None = None
    state: StageState = StageState.BUILDING
    result: StageResult = StageResult.UNKNOWN
    created_at: datetime | None = None
    last_transitioned_at: datetime | None = None
    latest_run: bool = True
    rerun_of_counter: int | None = None
    fetch_materials: bool = True
    clean_working_directory: bool = False
    artifacts_deleted: bool = False
    config_version: str | None = None
    jobs: tuple[JobInstance, ...] = ()
    id: int | None = None
    pipeline_id: int | None = None


@dataclass(frozen=True, slots=True)
class PipelineInstance:
    name: str
    counter: int
    label: str
    build_cause: BuildCause
    natural_order: float = 0.0
    comment: str | None = None
    stages: tuple[StageInstance, ...] = ()
    created_at: datetime | None = None
    id: int | None = None

    def latest_stage(self, name: str) -> StageInstance | None:
        """The newest run (highest counter) of a stage in this instance."""
        wanted = name.lower()
        runs = [s for s in self.stages if s.name.lower() == wanted]
        return max(runs, key=lambda s: s.counter, default=None)


@dataclass(frozen=True, slots=True)
class PipelinePauseInfo:
    paused: bool = False
    paused_by: str | None = None
    pause_reason: str | None = None
    paused_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PipelineLock:
    locked: bool = False
    locked_by_pipeline_id: int | None = None


@dataclass(frozen=True, slots=True)
class PipelineState:
    """Per-pipeline runtime facts that are not instances: last counter, pause, lock."""

    name: str
    last_counter: int = 0
    pause: PipelinePauseInfo = field(default_factory=PipelinePauseInfo)
    lock: PipelineLock = field(default_factory=PipelineLock)


@dataclass(frozen=True, slots=True)
class StageRun:
    """One stage run with the pipeline instance it belongs to: the rows of stage history,
    CCTray and feeds, which need the pipeline's counter and label but not its build cause."""

    pipeline_name: str
    pipeline_counter: int
    pipeline_label: str
    stage: StageInstance
    pipeline_id: int | None = None
