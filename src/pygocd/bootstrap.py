"""Composition root: settings → engine → migrations → services. The only place (with `cli`)
that wires adapters to the services that use them."""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from pygocd.bus.memory import MemoryBus
from pygocd.db import migrate
from pygocd.db.engine import create_engine
from pygocd.db.unit_of_work import SqlUnitOfWorkFactory
from pygocd.domain.errors import DomainError
from pygocd.domain.materials import GitMaterialConfig, MaterialConfig, mask_credentials
from pygocd.scheduler.config_repos import config_repo_poller
from pygocd.scheduler.job_timeouts import job_timeout_loop
from pygocd.scheduler.material_polling import material_poller
from pygocd.scheduler.timers import timer_loop
from pygocd.services.agents import AgentService
from pygocd.services.artifact_disk import DiskArtifactStore
from pygocd.services.artifacts import ArtifactService
from pygocd.services.assignment import AssignmentService
from pygocd.services.clock import SystemClock
from pygocd.services.config import ConfigService
from pygocd.services.config_repos import ConfigRepoService
from pygocd.services.health import ServerHealth
from pygocd.services.job_timeouts import JobTimeoutService
from pygocd.services.jobs import JobService
from pygocd.services.materials import MaterialUpdateService
from pygocd.services.reactions import react
from pygocd.services.registry import Services
from pygocd.services.scheduling import SchedulingService
from pygocd.services.stages import StageService
from pygocd.services.timers import TimerService
from pygocd.services.work import WorkBuilder
from pygocd.settings import Settings

log = logging.getLogger("pygocd")


class StartupError(Exception):
    """A problem that stops the server from starting, told to the user in one line."""


@dataclass
class Container:
    settings: Settings
    engine: AsyncEngine
    services: Services

    async def close(self) -> None:
        if self.services.config_repos is not None:
            await self.services.config_repos.close()
        if self.services.materials is not None:
            await self.services.materials.close()
        await self.engine.dispose()


def prepare_data_dir(data_dir: Path) -> Path:
    """Create the data dir and prove we can write into it."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".write-check-"):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        raise StartupError(f"data dir {str(data_dir)!r} is not writable: {reason}") from error
    return data_dir.resolve()


async def start(settings: Settings) -> Container:
    """Open the database, bring its schema up to date and load the config."""
    prepare_data_dir(settings.data_dir)
    try:
        url = settings.effective_database_url
    except ValueError as error:
        raise StartupError(str(error)) from error
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
    except Exception as error:
        await engine.dispose()
        raise StartupError(f"cannot open database {_safe_url(url)}: {_reason(error)}") from error
    uow = SqlUnitOfWorkFactory(engine)
    bus = MemoryBus()
    clock = SystemClock()
    config = ConfigService(uow, clock, bus)
    await config.load()
    health = ServerHealth(clock)
    config_repos = ConfigRepoService(config, health, settings.data_dir / "config-repos")
    for spec in settings.config_repos:
        try:
            await config_repos.register(spec)
        except DomainError as error:
            await engine.dispose()
            raise StartupError(
                f"cannot register config repo {mask_credentials(spec)!r}: {error}"
            ) from error
    materials = MaterialUpdateService(
        uow,
        bus,
        clock,
        lambda: config.current,
        settings.data_dir / "materials",
        poll_interval=settings.material_poll_interval,
        health=health,
    )

    async def update_material(material: MaterialConfig) -> object:
        if isinstance(material, GitMaterialConfig):
            return await materials.update(material)
        return None

    scheduling = SchedulingService(uow, clock, bus, config, update_material=update_material)
    stages = StageService(uow, clock, bus, config)
    jobs = JobService(uow, clock, stages)
    agents = AgentService(
        uow,
        clock,
        bus,
        jobs,
        auto_register_key=settings.agent_auto_register_key,
        lost_contact_seconds=settings.agent_lost_contact_seconds,
        health=health,
    )
    timers = TimerService(config, scheduling, clock)
    artifacts = ArtifactService(DiskArtifactStore(settings.data_dir / "artifacts"))
    timeouts = JobTimeoutService(
        uow, clock, config, jobs, artifacts, settings.default_job_timeout_minutes
    )
    log.info("pygocd ready (pid %s, database %s)", os.getpid(), _safe_url(url))
    services = Services(
        uow=uow,
        bus=bus,
        clock=clock,
        config=config,
        config_repos=config_repos,
        health=health,
        loops=(
            config_repo_poller(config_repos),
            material_poller(materials),
            lambda: react(bus, scheduling),
            agents.lost_contact_loop,
            timer_loop(timers),
            job_timeout_loop(timeouts),
        ),
        materials=materials,
        scheduling=scheduling,
        stages=stages,
        jobs=jobs,
        agents=agents,
        assignment=AssignmentService(uow, bus, config, jobs, agents),
        work=WorkBuilder(uow, config),
        artifacts=artifacts,
    )
    return Container(settings, engine, services)


def _safe_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        rest = f"{user}:***@{host}"
    return f"{scheme}{sep}{rest}"


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
