"""Pipeline configuration: groups, pipelines, stages, jobs, artifacts, tabs, approvals, timers.

These are GoCD's config objects (`PipelineConfig`, `StageConfig`, `JobConfig`, ...), frozen;
one effective configuration is a `CruiseConfig` (see `pygocd.domain.config`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from pygocd.domain.materials import ConfigurationProperty, MaterialConfig
from pygocd.domain.tasks import Task
from pygocd.domain.variables import EnvironmentVariable, Parameter

DEFAULT_GROUP = "defaultGroup"
DEFAULT_LABEL_TEMPLATE = "${COUNT}"


class LockBehavior(enum.StrEnum):
    LOCK_ON_FAILURE = "lockOnFailure"
    UNLOCK_WHEN_FINISHED = "unlockWhenFinished"
    NONE = "none"

    @property
    def is_lockable(self) -> bool:
        return self is not LockBehavior.NONE


class ApprovalType(enum.StrEnum):
    SUCCESS = "success"
    MANUAL = "manual"


class ArtifactType(enum.StrEnum):
    BUILD = "build"
    TEST = "test"
    EXTERNAL = "external"


@dataclass(frozen=True, slots=True)
class Authorization:
    """Users and roles (a stage approval's, or a group's view/operate/admins list)."""

    users: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.users and not self.roles


@dataclass(frozen=True, slots=True)
class Approval:
    type: ApprovalType = ApprovalType.SUCCESS
    allow_only_on_success: bool = False
    authorization: Authorization = field(default_factory=Authorization)


@dataclass(frozen=True, slots=True)
class Timer:
    """A Quartz cron spec (seconds first); `only_on_changes` skips runs without new changes."""

    spec: str
    only_on_changes: bool = False


@dataclass(frozen=True, slots=True)
class TrackingTool:
    link: str
    regex: str


@dataclass(frozen=True, slots=True)
class ArtifactConfig:
    """`build`/`test`: `source` glob → `destination`; `external`: `id`, `store_id`, settings."""

    type: ArtifactType
    source: str | None = None
    destination: str | None = None
    id: str | None = None
    store_id: str | None = None
    configuration: tuple[ConfigurationProperty, ...] = ()


@dataclass(frozen=True, slots=True)
class Tab:
    name: str
    path: str


RUN_ON_ALL_AGENTS = "all"


@dataclass(frozen=True, slots=True)
class JobConfig:
    name: str
    tasks: tuple[Task, ...] = ()
    resources: tuple[str, ...] = ()
    timeout: int | None = None
    run_instance_count: int | None = None
    run_on_all_agents: bool = False
    tabs: tuple[Tab, ...] = ()
    artifacts: tuple[ArtifactConfig, ...] = ()
    elastic_profile_id: str | None = None
    environment_variables: tuple[EnvironmentVariable, ...] = ()


@dataclass(frozen=True, slots=True)
class StageConfig:
    name: str
    jobs: tuple[JobConfig, ...] = ()
    approval: Approval = field(default_factory=Approval)
    fetch_materials: bool = True
    clean_working_directory: bool = False
    never_cleanup_artifacts: bool = False
    environment_variables: tuple[EnvironmentVariable, ...] = ()

    def find_job(self, name: str) -> JobConfig | None:
        wanted = name.lower()
        return next((job for job in self.jobs if job.name.lower() == wanted), None)


@dataclass(frozen=True, slots=True)
class ConfigOrigin:
    """Where a pipeline or environment was defined: the stored config or a config repo."""

    type: str = "gocd"  # "gocd" (stored config) or "config_repo"
    repo_id: str | None = None
    revision: str | None = None
    file: str | None = None


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    name: str
    group: str = DEFAULT_GROUP
    materials: tuple[MaterialConfig, ...] = ()
    stages: tuple[StageConfig, ...] = ()
    template: str | None = None
    label_template: str = DEFAULT_LABEL_TEMPLATE
    lock_behavior: LockBehavior = LockBehavior.NONE
    timer: Timer | None = None
    tracking_tool: TrackingTool | None = None
    parameters: tuple[Parameter, ...] = ()
    environment_variables: tuple[EnvironmentVariable, ...] = ()
    display_order_weight: int = -1
    origin: ConfigOrigin = field(default_factory=ConfigOrigin)

    def find_stage(self, name: str) -> StageConfig | None:
        wanted = name.lower()
        return next((stage for stage in self.stages if stage.name.lower() == wanted), None)

    def next_stage(self, name: str) -> StageConfig | None:
        names = [stage.name.lower() for stage in self.stages]
        index = names.index(name.lower())
        return self.stages[index + 1] if index + 1 < len(self.stages) else None

    @property
    def first_stage(self) -> StageConfig:
        return self.stages[0]

    @property
    def is_from_config_repo(self) -> bool:
        return self.origin.type == "config_repo"


@dataclass(frozen=True, slots=True)
class GroupAuthorization:
    view: Authorization = field(default_factory=Authorization)
    operate: Authorization = field(default_factory=Authorization)
    admins: Authorization = field(default_factory=Authorization)


@dataclass(frozen=True, slots=True)
class PipelineGroup:
    """A named group of pipelines with its authorization (only definable in stored config)."""

    name: str
    pipelines: tuple[PipelineConfig, ...] = ()
    authorization: GroupAuthorization = field(default_factory=GroupAuthorization)


@dataclass(frozen=True, slots=True)
class TemplateConfig:
    """A pipeline template: ordered stages, varied per pipeline through `#{params}`."""

    name: str
    stages: tuple[StageConfig, ...] = ()
    authorization: GroupAuthorization = field(default_factory=GroupAuthorization)
