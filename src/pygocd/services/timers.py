"""Timer triggers: pipelines with a Quartz `timer` run when it fires (approver `timer`)."""

from __future__ import annotations

import logging
from datetime import datetime

from pygocd.domain.cron import CronError, CronSchedule, parse_cron
from pygocd.domain.errors import DomainError
from pygocd.domain.runs import PipelineInstance
from pygocd.services.config import ConfigService
from pygocd.services.ports import Clock
from pygocd.services.scheduling import SchedulingService

log = logging.getLogger("pygocd.timers")


class TimerService:
    def __init__(self, config: ConfigService, scheduling: SchedulingService, clock: Clock) -> None:
        self._config = config
        self._scheduling = scheduling
        self._clock = clock
        self._schedules: dict[str, CronSchedule | None] = {}
        self._next: dict[str, datetime | None] = {}

    def _schedule(self, spec: str) -> CronSchedule | None:
        if spec not in self._schedules:
            try:
                self._schedules[spec] = parse_cron(spec)
            except CronError as error:
                log.warning("ignoring timer '%s': %s", spec, error)
                self._schedules[spec] = None
        return self._schedules[spec]

    def due(self, now: datetime) -> list[tuple[str, bool]]:
        """Pipelines whose timer fired since the last look, with their `only_on_changes`."""
        fired: list[tuple[str, bool]] = []
        seen: set[str] = set()
        for pipeline in self._config.current.runnable_pipelines():
            if pipeline.timer is None:
                continue
            schedule = self._schedule(pipeline.timer.spec)
            key = f"{pipeline.name.lower()}|{pipeline.timer.spec}"
            seen.add(key)
            if schedule is None:
                continue
            if key not in self._next:
                self._next[key] = schedule.next_after(now)
                continue
            upcoming = self._next[key]
            if upcoming is not None and upcoming <= now:
                fired.append((pipeline.name, pipeline.timer.only_on_changes))
                self._next[key] = schedule.next_after(now)
        for stale in set(self._next) - seen:
            del self._next[stale]
        return fired

    async def fire_due(self) -> list[PipelineInstance]:
        created = []
        for name, only_on_changes in self.due(self._clock.now()):
            try:
                instance = await self._scheduling.trigger_timer(
                    name, only_on_changes=only_on_changes
                )
            except DomainError as error:
                log.info("timer of %s did not trigger: %s", name, error)
                continue
            if instance is not None:
                created.append(instance)
        return created
