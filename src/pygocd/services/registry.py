"""The set of services the web layer and the scheduler are given by the composition root."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from pygocd.services.agents import AgentService
from pygocd.services.artifacts import ArtifactService
from pygocd.services.assignment import AssignmentService
from pygocd.services.config import ConfigService
from pygocd.services.config_repos import ConfigRepoService
from pygocd.services.health import ServerHealth
from pygocd.services.jobs import JobService
from pygocd.services.materials import MaterialUpdateService
from pygocd.services.ports import Clock, EventBus, UnitOfWorkFactory
from pygocd.services.scheduling import SchedulingService
from pygocd.services.stages import StageService
from pygocd.services.work import WorkBuilder

Loop = Callable[[], Coroutine[Any, Any, None]]
"""A long-running coroutine (the scheduler's loops) the app runs while it serves."""


@dataclass(frozen=True)
class Services:
    uow: UnitOfWorkFactory
    bus: EventBus
    clock: Clock
    config: ConfigService
    config_repos: ConfigRepoService | None = None
    health: ServerHealth | None = None
    loops: tuple[Loop, ...] = ()
    materials: MaterialUpdateService | None = None
    scheduling: SchedulingService | None = None
    stages: StageService | None = None
    jobs: JobService | None = None
    agents: AgentService | None = None
    assignment: AssignmentService | None = None
    work: WorkBuilder | None = None
    artifacts: ArtifactService | None = None
