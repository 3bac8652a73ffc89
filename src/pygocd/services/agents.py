"""Agents: registration with a token, config state (Pending/Enabled/Disabled), resources and
environments, heartbeats, and GoCD's lost-contact rule.

An agent that presents the server's auto-register key is Enabled at once with the resources,
environments and hostname it gave; any other starts Pending until an admin enables it. The
token is shown once, at registration; only its SHA-256 is stored. An agent silent for
`lost_contact_seconds` becomes LostContact and the jobs it was running are rescheduled, as
GoCD's `rescheduleHungJobs` does.

After a server start, as in GoCD's `AgentInstance.refresh`, a registered agent that has not
been heard from since this server process started is shown as Missing; its silence is
counted from the start, so it becomes LostContact only `lost_contact_seconds` after it, and
back to what it reports (Idle, Building) as soon as it calls.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from pygocd.domain.agents import Agent, invalid_resource_names
from pygocd.domain.errors import Conflict, DomainError, Invalid, NotFound
from pygocd.domain.runs import JobIdentifier, JobInstance
from pygocd.domain.states import AgentConfigState, AgentRuntimeStatus
from pygocd.services.events import AGENT_CHANGED
from pygocd.services.health import ServerHealth
from pygocd.services.jobs import JobService
from pygocd.services.ports import Clock, EventBus, UnitOfWorkFactory

log = logging.getLogger("pygocd.agents")

DEFAULT_LOST_CONTACT_SECONDS = 300.0
STUCK_IN_CANCEL = timedelta(minutes=10)
"""GoCD's `AgentInstance.isStuckInCancel`: cancelling for longer than this earns a warning."""


class AgentAuthError(DomainError):
    status = 403


class NotAuthenticated(AgentAuthError):
    """No agent credentials at all (401)."""

    status = 401


class BadCredentials(AgentAuthError):
    """An unknown agent or a token that is not the one it was given (403)."""

    status = 403


@dataclass(frozen=True)
class Registration:
    uuid: str
    hostname: str
    ip_address: str = ""
    location: str = ""
    operating_system: str = ""
    agent_version: str = ""
    free_space: int | None = None
    auto_register_key: str | None = None
    resources: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentUpdate:
    """What the agents API's PATCH may change; None leaves a field as it is."""

    hostname: str | None = None
    config_state: AgentConfigState | None = None
    resources: tuple[str, ...] | None = None
    environments: tuple[str, ...] | None = None


@dataclass(frozen=True)
class BulkAgentUpdate:
    """The bulk PATCH: names to add to and remove from every agent, and an optional state."""

    uuids: tuple[str, ...]
    config_state: AgentConfigState | None = None
    add_resources: tuple[str, ...] = ()
    remove_resources: tuple[str, ...] = ()
    add_environments: tuple[str, ...] = ()
    remove_environments: tuple[str, ...] = ()

    @property
    def has_operation(self) -> bool:
        return self.config_state is not None or any(
            (
                self.add_resources,
                self.remove_resources,
                self.add_environments,
                self.remove_environments,
            )
        )


class PendingAgentsNeedState(DomainError):
    """GoCD's 400: Pending agents may only be changed together with an enable or disable."""


class KillNotApplicable(Conflict):
    """GoCD's 409 for kill_running_tasks on an agent that is not cancelling a job."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def clean_names(values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Trimmed, non-empty, de-duplicated case-insensitively, in the given order."""
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        name = value.strip()
        if name and name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return tuple(out)


class AgentService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        bus: EventBus,
        jobs: JobService,
        *,
        auto_register_key: str | None = None,
        lost_contact_seconds: float = DEFAULT_LOST_CONTACT_SECONDS,
        health: ServerHealth | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._bus = bus
        self._jobs = jobs
        self._auto_register_key = auto_register_key
        self.lost_contact_seconds = lost_contact_seconds
        # Heartbeats closer together than this, with an unchanged status, are not written: a
        # busy agent calls several times a second, and lost contact needs far coarser news.
        self._heartbeat_window = timedelta(seconds=lost_contact_seconds / 20)
        self._heard: dict[str, tuple[AgentRuntimeStatus, datetime]] = {}
        self._started_at = clock.now()
        # GoCD keeps the kill request in memory too (`AgentInstance.killRunningTasks`);
        # it lasts until the agent reports Idle.
        self._kill_requested: set[str] = set()
        self._health = health
        self._cancelling_since: dict[str, datetime] = {}

    # -- identity ---------------------------------------------------------------------------

    async def register(self, registration: Registration) -> tuple[Agent, str]:
        """A new agent and its token (shown only now); `Conflict` if the uuid is taken."""
        key = registration.auto_register_key
        auto = bool(
            self._auto_register_key
            and key is not None
            and hmac.compare_digest(key.encode(), self._auto_register_key.encode())
        )
        token = secrets.token_urlsafe(32)
        now = self._clock.now()
        agent = Agent(
            uuid=registration.uuid,
            hostname=registration.hostname,
            ip_address=registration.ip_address,
            config_state=AgentConfigState.ENABLED if auto else AgentConfigState.PENDING,
            runtime_status=AgentRuntimeStatus.IDLE,
            resources=clean_names(registration.resources) if auto else (),
            environments=clean_names(registration.environments) if auto else (),
            operating_system=registration.operating_system or None,
            free_space=registration.free_space,
            location=registration.location or None,
            agent_version=registration.agent_version or None,
            last_heard_at=now,
        )
        async with self._uow() as uow:
            if await uow.agents.get(registration.uuid) is not None:
                raise Conflict(f"An agent with uuid '{registration.uuid}' is already registered.")
            saved = await uow.agents.add(agent, hash_token(token))
            await uow.commit()
        log.info("agent %s (%s) registered: %s", agent.uuid, agent.hostname, agent.config_state)
        await self._changed(agent.uuid)
        return saved, token

    async def authenticate(self, uuid: str | None, token: str | None) -> Agent:
        if not uuid or not token:
            raise NotAuthenticated("Agent credentials are missing.")
        async with self._uow(read_only=True) as uow:
            stored = await uow.agents.token_hash(uuid)
            agent = await uow.agents.get(uuid)
        if (
            agent is None
            or stored is None
            or not hmac.compare_digest(stored.encode(), hash_token(token).encode())
        ):
            raise BadCredentials("Unknown agent or wrong token.")
        return agent

    # -- liveness ---------------------------------------------------------------------------

    async def heartbeat(
        self,
        uuid: str,
        status: AgentRuntimeStatus,
        *,
        free_space: int | None = None,
        ip_address: str | None = None,
    ) -> None:
        now = self._clock.now()
        if status is AgentRuntimeStatus.CANCELLED:
            self._cancelling_since.setdefault(uuid, now)
        elif status is AgentRuntimeStatus.IDLE:
            self._kill_requested.discard(uuid)
            self._forget_cancelling(uuid)
        last = self._heard.get(uuid)
        if last is not None and last[0] is status and now - last[1] < self._heartbeat_window:
            return  # heard a moment ago with the same news: spare the database a write
        async with self._uow() as uow:
            await uow.agents.heartbeat(
                uuid, status, now, free_space=free_space, ip_address=ip_address
            )
            await uow.commit()
        self._heard[uuid] = (status, now)

    async def check_lost_contact(self) -> list[str]:
        """Mark agents silent for too long LostContact and reschedule their jobs. A Pending
        agent silent as long is forgotten instead, as GoCD drops it from memory: an agent
        that comes back registers again."""
        await self.warn_stuck_in_cancel()
        cutoff = self._clock.now() - timedelta(seconds=self.lost_contact_seconds)
        if self._started_at > cutoff:
            return []  # silence counts from the server's start (GoCD's first `refresh`)
        async with self._uow(read_only=True) as uow:
            silent = await uow.agents.silent_since(cutoff)
        lost: list[str] = []
        for agent in silent:
            if agent.config_state is AgentConfigState.PENDING:
                await self._forget_silent_pending(agent, cutoff)
                continue
            async with self._uow() as uow:
                marked = await uow.agents.set_runtime_status(
                    agent.uuid, AgentRuntimeStatus.LOST_CONTACT, only_if_heard_before=cutoff
                )
                job_ids = await uow.jobs.active_on_agent(agent.uuid) if marked else []
                await uow.commit()
            if not marked:
                continue
            lost.append(agent.uuid)
            self._heard.pop(agent.uuid, None)
            self._forget_cancelling(agent.uuid)
            log.warning("lost contact with agent %s (%s)", agent.uuid, agent.hostname)
            # GoCD never counts a Disabled agent as lost: its jobs stay where they are.
            if agent.config_state is not AgentConfigState.DISABLED:
                for job_id in job_ids:
                    await self._jobs.reschedule(job_id)
            await self._changed(agent.uuid)
        return lost

    async def _forget_silent_pending(self, agent: Agent, cutoff: datetime) -> None:
        async with self._uow() as uow:
            removed = await uow.agents.remove_silent_pending(agent.uuid, cutoff)
            await uow.commit()
        if removed:
            self._heard.pop(agent.uuid, None)
            log.info("forgot pending agent %s (%s): silent too long", agent.uuid, agent.hostname)
            await self._changed(agent.uuid)

    async def warn_stuck_in_cancel(self) -> list[str]:
        """GoCD's `addWarningForAgentsStuckInCancel`: a warning for each agent cancelling a
        job for more than 10 minutes, the hint that it needs kill_running_tasks."""
        now = self._clock.now()
        stuck = [u for u, since in self._cancelling_since.items() if now - since > STUCK_IN_CANCEL]
        for uuid in stuck:
            minutes = int((now - self._cancelling_since[uuid]).total_seconds() // 60)
            async with self._uow(read_only=True) as uow:
                agent = await uow.agents.get(uuid)
            if agent is None or self._health is None:
                continue
            self._health.warning(
                _stuck_scope(uuid),
                f"Agent `{agent.hostname}` is stuck in cancel.",
                "Looks like agent is stuck in cancelling a job, the job was cancelled: "
                f"{minutes} (mins) back.",
            )
        return stuck

    def _forget_cancelling(self, uuid: str) -> None:
        if self._cancelling_since.pop(uuid, None) is not None and self._health is not None:
            self._health.clear(_stuck_scope(uuid))

    async def reschedule_leftovers(self, uuid: str) -> int:
        """An idle agent asking for work has nothing running: jobs still active on it were
        lost when it restarted, and go back to the queue (GoCD does the same)."""
        async with self._uow(read_only=True) as uow:
            job_ids = await uow.jobs.active_on_agent(uuid)
        for job_id in job_ids:
            await self._jobs.reschedule(job_id)
        return len(job_ids)

    async def lost_contact_loop(self) -> None:
        interval = max(0.2, min(30.0, self.lost_contact_seconds / 5))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check_lost_contact()
            except Exception:
                log.exception("checking for lost agents failed")

    # -- admin ------------------------------------------------------------------------------

    async def all(self) -> list[Agent]:
        async with self._uow(read_only=True) as uow:
            return [self._as_seen(agent) for agent in await uow.agents.all()]

    async def get(self, uuid: str) -> Agent:
        async with self._uow(read_only=True) as uow:
            agent = await uow.agents.get(uuid)
        if agent is None:
            raise NotFound(f"Agent with uuid '{uuid}' was not found!")
        return self._as_seen(agent)

    def _as_seen(self, agent: Agent) -> Agent:
        """The runtime status GoCD shows: Missing for a registered agent not heard from since
        this server started (LostContact once that silence reaches the limit)."""
        if agent.config_state is AgentConfigState.PENDING:
            return agent
        if agent.last_heard_at is not None and agent.last_heard_at >= self._started_at:
            return agent
        silent = (self._clock.now() - self._started_at).total_seconds()
        status = (
            AgentRuntimeStatus.LOST_CONTACT
            if silent >= self.lost_contact_seconds
            else AgentRuntimeStatus.MISSING
        )
        return replace(agent, runtime_status=status)

    async def building(self, uuid: str) -> tuple[JobInstance, JobIdentifier] | None:
        """The job an agent is running, if any."""
        async with self._uow(read_only=True) as uow:
            job_ids = await uow.jobs.active_on_agent(uuid)
            return await uow.jobs.get(job_ids[0]) if job_ids else None

    async def job_history(
        self, uuid: str, offset: int, limit: int
    ) -> tuple[list[tuple[JobInstance, JobIdentifier]], int]:
        async with self._uow(read_only=True) as uow:
            if await uow.agents.get(uuid) is None:
                raise NotFound(f"Agent with uuid '{uuid}' was not found!")
            return await uow.agents.job_history(uuid, offset, limit)

    async def update(self, uuid: str, change: AgentUpdate) -> Agent:
        async with self._uow() as uow:
            agent = await uow.agents.get(uuid)
            if agent is None:
                raise NotFound(f"Agent with uuid '{uuid}' was not found!")
            if change.hostname is not None and not change.hostname.strip():
                raise Invalid("Hostname must not be blank.")
            updated = replace(
                agent,
                hostname=(change.hostname or agent.hostname).strip(),
                config_state=change.config_state or agent.config_state,
                resources=clean_names(change.resources)
                if change.resources is not None
                else agent.resources,
                environments=clean_names(change.environments)
                if change.environments is not None
                else agent.environments,
            )
            await uow.agents.update(updated)
            await uow.commit()
        await self._changed(uuid)
        return self._as_seen(updated)

    async def kill_running_tasks(self, uuid: str) -> None:
        """GoCD's `killAllRunningTasksOnAgent`: only for an agent cancelling a job, once
        until it is Idle again; the agent learns of it on its (held) ping."""
        agent = await self.get(uuid)
        if agent.runtime_status is not AgentRuntimeStatus.CANCELLED:
            raise KillNotApplicable(
                "The agent should be in cancelled state before attempting to kill running "
                f"tasks. Current Agent state is: '{agent.runtime_status.build_state}'"
            )
        if uuid in self._kill_requested:
            raise KillNotApplicable("There is a pending request to kill running task.")
        self._kill_requested.add(uuid)
        log.warning("killing the running tasks of agent %s (%s)", uuid, agent.hostname)
        await self._bus.publish(AGENT_CHANGED, {"uuid": uuid, "kill_running_tasks": True})

    def kill_requested(self, uuid: str) -> bool:
        return uuid in self._kill_requested

    async def bulk_update(self, change: BulkAgentUpdate) -> None:
        """GoCD's `bulkUpdateAgentAttributes`: all named agents change, or none does."""
        uuids = _unique(change.uuids)
        async with self._uow() as uow:
            found = {uuid: await uow.agents.get(uuid) for uuid in uuids}
            missing = [uuid for uuid, agent in found.items() if agent is None]
            if missing:
                raise NotFound(f"Agents with uuids '{','.join(missing)}' were not found!")
            bad = invalid_resource_names(change.add_resources)
            if bad:
                raise Invalid(
                    "Your request could not be processed. Validations failed for bulk update "
                    f"of agents. Error(s): {bad}"
                )
            agents = [agent for agent in found.values() if agent is not None]
            pending = [a.uuid for a in agents if a.config_state is AgentConfigState.PENDING]
            if pending and change.config_state is None:
                raise PendingAgentsNeedState(
                    f"Pending agents [{', '.join(pending)}] must be explicitly enabled or "
                    "disabled when performing any operations on them."
                )
            for agent in agents:
                await uow.agents.update(_bulk_changed(agent, change))
            await uow.commit()
        for uuid in uuids:
            await self._changed(uuid)

    async def delete(self, uuid: str) -> None:
        """GoCD deletes only Disabled agents that are not building."""
        await self.delete_many([uuid])

    async def delete_many(self, uuids: list[str]) -> int:
        """GoCD's `deleteAgents`: each must exist and be Disabled and not building, checked
        in the given order; one that fails leaves every agent in place."""
        uuids = list(_unique(tuple(uuids)))
        async with self._uow() as uow:
            for uuid in uuids:
                agent = await uow.agents.get(uuid)
                if agent is None:
                    raise NotFound(f"Agent with uuid '{uuid}' was not found!")
                busy = await uow.jobs.active_on_agent(uuid)
                if agent.config_state is not AgentConfigState.DISABLED or busy:
                    raise Invalid(_cannot_delete(len(uuids)))
            for uuid in uuids:
                await uow.agents.remove(uuid)
            await uow.commit()
        for uuid in uuids:
            self._heard.pop(uuid, None)
            self._forget_cancelling(uuid)
            await self._changed(uuid)
        return len(uuids)

    async def _changed(self, uuid: str) -> None:
        await self._bus.publish(AGENT_CHANGED, {"uuid": uuid})


def _stuck_scope(uuid: str) -> str:
    return f"agent-stuck-in-cancel:{uuid}"


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _cannot_delete(count: int) -> str:
    prefix = "Your request could not be processed. "
    if count == 1:
        return prefix + (
            "Failed to delete an agent, as it is not in a disabled state or is still building."
        )
    return prefix + (
        "Could not delete any agents, as one or more agents might not be disabled or are "
        "still building."
    )


def _without(values: tuple[str, ...], removed: tuple[str, ...]) -> tuple[str, ...]:
    gone = {name.strip().lower() for name in removed}
    return tuple(v for v in values if v.lower() not in gone)


def _bulk_changed(agent: Agent, change: BulkAgentUpdate) -> Agent:
    """Adds first, then removes, as GoCD's `addRemoveEnvsAndResources` does."""
    state = agent.config_state
    if change.config_state is not None:
        state = change.config_state
    return replace(
        agent,
        config_state=state,
        resources=_without(
            clean_names(agent.resources + change.add_resources), change.remove_resources
        ),
        environments=_without(
            clean_names(agent.environments + change.add_environments),
            change.remove_environments,
        ),
    )
