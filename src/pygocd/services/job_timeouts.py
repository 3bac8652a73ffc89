"""GoCD's job timeout: a job that prints nothing to its console for longer than its timeout is
cancelled (with a line in its console saying why); so is one that waits that long for an agent.

The timeout is the job's own `timeout` (minutes), else the server default; 0 means never.
Console activity is observed as console growth between sweeps.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from pygocd.domain.runs import JobIdentifier, JobInstance
from pygocd.domain.states import JobState
from pygocd.services.artifacts import ArtifactService, job_locator
from pygocd.services.config import ConfigService
from pygocd.services.jobs import JobService
from pygocd.services.ports import Clock, UnitOfWorkFactory

log = logging.getLogger("pygocd.timeouts")

_INSTANCE_SUFFIX = re.compile(r"-(runOnAll|runInstance)-\d+$")
_WATCHED = tuple(s for s in JobState if s.is_active)


@dataclass
class _Activity:
    console_size: int
    since: datetime


class JobTimeoutService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        config: ConfigService,
        jobs: JobService,
        artifacts: ArtifactService | None,
        default_minutes: float = 0,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._config = config
        self._jobs = jobs
        self._artifacts = artifacts
        self._default = default_minutes
        self._activity: dict[int, _Activity] = {}

    def timeout_of(self, identifier: JobIdentifier) -> timedelta | None:
        pipeline = self._config.current.runnable(identifier.pipeline_name)
        stage = pipeline.find_stage(identifier.stage_name) if pipeline else None
        job = stage.find_job(_INSTANCE_SUFFIX.sub("", identifier.job_name)) if stage else None
        minutes = job.timeout if job is not None and job.timeout else self._default
        return timedelta(minutes=minutes) if minutes else None

    async def sweep(self) -> list[int]:
        """Cancel every job past its timeout; returns their ids."""
        now = self._clock.now()
        async with self._uow(read_only=True) as uow:
            active = await uow.jobs.in_states(_WATCHED)
        seen: set[int] = set()
        cancelled: list[int] = []
        for job, identifier in active:
            assert job.id is not None
            seen.add(job.id)
            timeout = self.timeout_of(identifier)
            if timeout is None:
                continue
            quiet_since = await self._quiet_since(job, identifier, now)
            if now - quiet_since <= timeout:
                continue
            if await self._cancel(job, identifier, allowed=timeout):
                cancelled.append(job.id)
        for gone in set(self._activity) - seen:
            del self._activity[gone]
        return cancelled

    async def _quiet_since(
        self, job: JobInstance, identifier: JobIdentifier, now: datetime
    ) -> datetime:
        assert job.id is not None
        if job.state is JobState.SCHEDULED:
            return job.scheduled_at or now
        size = await self._console_size(identifier)
        known = self._activity.get(job.id)
        if known is None or known.console_size != size:
            self._activity[job.id] = _Activity(size, now)
            return now
        return known.since

    async def _console_size(self, identifier: JobIdentifier) -> int:
        if self._artifacts is None:
            return 0
        return await self._artifacts.console_size(job_locator(identifier))

    async def _cancel(
        self, job: JobInstance, identifier: JobIdentifier, *, allowed: timedelta
    ) -> bool:
        assert job.id is not None
        minutes = int(allowed.total_seconds() // 60) or 1
        waiting = job.state is JobState.SCHEDULED
        reason = (
            f"Go cancelled this job as it has not been assigned an agent for more than "
            f"{minutes} minute(s)"
            if waiting
            else f"Go cancelled this job as it has not generated any console output for more "
            f"than {minutes} minute(s)"
        )
        if not await self._jobs.cancel(job.id):
            return False
        log.warning("%s: %s", identifier.locator, reason)
        if self._artifacts is not None:
            await self._artifacts.note(job_locator(identifier), reason)
        self._activity.pop(job.id, None)
        return True
