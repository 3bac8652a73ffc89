"""Giving work to agents: GoCD's `BuildAssignmentService` matching, event-driven.

An Enabled agent asking for work gets the oldest Scheduled job it matches: a job pinned to its
uuid (run on all agents), or an unpinned job whose resources it has (case-insensitively) and
whose pipeline's environment it is in (a pipeline in no environment only runs on agents in no
environment). The claim is `JobService.assign`, a conditional update, so one job goes to one
agent even across server processes. With nothing to do, the request waits (long-poll) until a
job is scheduled, the agent is changed or the config changes, then looks again.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from pygocd.domain.agents import Agent
from pygocd.domain.pipelines import JobConfig
from pygocd.domain.runs import JobIdentifier, JobInstance
from pygocd.domain.states import AgentRuntimeStatus, JobState
from pygocd.services.agents import AgentService
from pygocd.services.config import ConfigService
from pygocd.services.events import AGENT_CHANGED, CONFIG_CHANGED, JOB_CHANGED
from pygocd.services.jobs import JobService
from pygocd.services.ports import Event, EventBus, UnitOfWorkFactory

_INSTANCE_SUFFIX = re.compile(r"^(?P<name>.+)-(?:runInstance|runOnAll)-\d+$")

Claimed = tuple[JobInstance, JobIdentifier]


def config_job_name(job: JobInstance) -> str:
    """The config name of a job instance (`build-runInstance-2` → `build`)."""
    if job.run_on_all_agents or job.run_multiple_instance:
        found = _INSTANCE_SUFFIX.match(job.name)
        if found:
            return found["name"]
    return job.name


class AssignmentService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        bus: EventBus,
        config: ConfigService,
        jobs: JobService,
        agents: AgentService,
    ) -> None:
        self._uow = uow
        self._bus = bus
        self._config = config
        self._jobs = jobs
        self._agents = agents

    def job_config(self, identifier: JobIdentifier, job: JobInstance) -> JobConfig | None:
        pipeline = self._config.current.runnable(identifier.pipeline_name)
        stage = pipeline.find_stage(identifier.stage_name) if pipeline else None
        return stage.find_job(config_job_name(job)) if stage else None

    def matches(self, agent: Agent, job: JobInstance, identifier: JobIdentifier) -> bool:
        if not agent.is_enabled:
            return False
        if job.agent_uuid is not None:
            return job.agent_uuid == agent.uuid  # pinned: the uuid alone decides
        config = self.job_config(identifier, job)
        if config is None or config.elastic_profile_id:
            return False
        if not agent.has_resources(config.resources):
            return False
        current = self._config.current
        environment = current.environment_of(identifier.pipeline_name)
        known = {e.name for e in current.environments}
        return agent.matches_environment(environment.name if environment else None, known)

    async def claim(self, agent: Agent) -> Claimed | None:
        """Assign the oldest matching Scheduled job to `agent`, or None."""
        if not agent.is_enabled:
            return None
        async with self._uow(read_only=True) as uow:
            scheduled = await uow.jobs.scheduled()
        for job, identifier in scheduled:
            if not self.matches(agent, job, identifier):
                continue
            assert job.id is not None
            if await self._jobs.assign(job.id, agent.uuid):
                await self._agents.heartbeat(agent.uuid, AgentRuntimeStatus.BUILDING)
                return job, identifier
        return None

    async def wait_for_work(
        self, uuid: str, wait_seconds: float, stop: asyncio.Event | None = None
    ) -> Claimed | None:
        """Claim a job for the agent, waiting up to `wait_seconds` for one to appear (or
        until `stop` is set)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        async with self._bus.subscribe(JOB_CHANGED, AGENT_CHANGED, CONFIG_CHANGED) as events:
            while True:
                agent = await self._agents.get(uuid)
                claimed = await self.claim(agent)
                if claimed is not None:
                    return claimed
                if not await _next_relevant(events, uuid, deadline - loop.time(), stop):
                    return None


async def next_event(
    events: AsyncIterator[Event], left: float, stop: asyncio.Event | None = None
) -> Event | None:
    """The next event within `left` seconds; None on time-out or once `stop` is set (the
    server is shutting down and long-polls must end)."""
    if left <= 0 or (stop is not None and stop.is_set()):
        return None
    getter: asyncio.Future[Event] = asyncio.ensure_future(anext(events))
    waiters: set[asyncio.Future[object]] = {getter}  # type: ignore[arg-type]
    if stop is not None:
        waiters.add(asyncio.ensure_future(stop.wait()))
    try:
        done, _ = await asyncio.wait(waiters, timeout=left, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            if not waiter.done():
                waiter.cancel()
    return getter.result() if getter in done else None


async def _next_relevant(
    events: AsyncIterator[Event], uuid: str, remaining: float, stop: asyncio.Event | None
) -> bool:
    """Wait for an event that may give this agent work; False when the time is up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + remaining
    while True:
        event = await next_event(events, deadline - loop.time(), stop)
        if event is None:
            return False
        if _relevant(event, uuid):
            return True


def _relevant(event: Event, uuid: str) -> bool:
    if event.topic == JOB_CHANGED:
        return event.payload.get("state") == JobState.SCHEDULED.value
    if event.topic == AGENT_CHANGED:
        return event.payload.get("uuid") == uuid
    return True  # config changed: resources or environments may match now
