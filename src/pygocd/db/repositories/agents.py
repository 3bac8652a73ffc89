"""Agent rows: registration, config state, resources/environments, heartbeats, token hashes.

Only a hash of an agent's token is stored; resources and environments are comma-separated
text as in GoCD's `agents` table.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from pygocd.db.columns import as_utc_or_none, join_list, split_list
from pygocd.db.repositories.jobs import SqlJobRepository
from pygocd.db.tables import agents, jobs
from pygocd.domain.agents import Agent
from pygocd.domain.runs import JobIdentifier, JobInstance
from pygocd.domain.states import AgentConfigState, AgentRuntimeStatus


class SqlAgentRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, agent: Agent, token_hash: str) -> Agent:
        result = await self._connection.execute(
            insert(agents)
            .values(token_hash=token_hash, deleted=False, **_values(agent))
            .returning(agents.c.id)
        )
        return _with_id(agent, int(result.scalar_one()))

    async def get(self, uuid: str) -> Agent | None:
        row = (
            (await self._connection.execute(select(agents).where(agents.c.uuid == uuid)))
            .mappings()
            .first()
        )
        return None if row is None else _agent(row)

    async def token_hash(self, uuid: str) -> str | None:
        query = select(agents.c.token_hash).where(agents.c.uuid == uuid)
        value = (await self._connection.execute(query)).scalar_one_or_none()
        return None if value is None else str(value)

    async def all(self) -> list[Agent]:
        rows = await self._connection.execute(select(agents).order_by(agents.c.id))
        return [_agent(row) for row in rows.mappings()]

    async def update(self, agent: Agent) -> None:
        await self._connection.execute(
            update(agents).where(agents.c.uuid == agent.uuid).values(**_values(agent))
        )

    async def heartbeat(
        self,
        uuid: str,
        runtime_status: AgentRuntimeStatus,
        at: datetime,
        *,
        free_space: int | None = None,
        ip_address: str | None = None,
    ) -> None:
        values: dict[str, object] = {"runtime_status": runtime_status.value, "last_heard_at": at}
        if free_space is not None:
            values["free_space"] = free_space
        if ip_address:
            values["ip_address"] = ip_address
        await self._connection.execute(update(agents).where(agents.c.uuid == uuid).values(values))

    async def silent_since(self, before: datetime) -> list[Agent]:
        """Agents not heard from since `before` that are not already LostContact."""
        query = select(agents).where(
            agents.c.last_heard_at < before,
            agents.c.runtime_status != AgentRuntimeStatus.LOST_CONTACT.value,
        )
        return [_agent(row) for row in (await self._connection.execute(query)).mappings()]

    async def set_runtime_status(
        self, uuid: str, status: AgentRuntimeStatus, *, only_if_heard_before: datetime | None
    ) -> bool:
        statement = update(agents).where(agents.c.uuid == uuid)
        if only_if_heard_before is not None:
            statement = statement.where(agents.c.last_heard_at < only_if_heard_before)
        result = await self._connection.execute(statement.values(runtime_status=status.value))
        return bool(result.rowcount)

    async def remove(self, uuid: str) -> None:
        await self._connection.execute(delete(agents).where(agents.c.uuid == uuid))

    async def remove_silent_pending(self, uuid: str, heard_before: datetime) -> bool:
        statement = delete(agents).where(
            agents.c.uuid == uuid,
            agents.c.config_state == AgentConfigState.PENDING.value,
            agents.c.last_heard_at < heard_before,
        )
        return bool((await self._connection.execute(statement)).rowcount)

    async def job_history(
        self, uuid: str, offset: int, limit: int
    ) -> tuple[list[tuple[JobInstance, JobIdentifier]], int]:
        """Jobs this agent ran (newest first), one page, and how many there are in all."""
        where = jobs.c.agent_uuid == uuid
        total = (
            await self._connection.execute(select(func.count()).select_from(jobs).where(where))
        ).scalar_one()
        ids = (
            await self._connection.execute(
                select(jobs.c.id)
                .where(where)
                .order_by(jobs.c.id.desc())
                .offset(offset)
                .limit(limit)
            )
        ).scalars()
        repository = SqlJobRepository(self._connection)
        found = [await repository.get(int(job_id)) for job_id in ids]
        return [f for f in found if f is not None], int(total)


def _values(agent: Agent) -> dict[str, object]:
    return {
        "uuid": agent.uuid,
        "hostname": agent.hostname,
        "ip_address": agent.ip_address,
        "config_state": agent.config_state.value,
        "runtime_status": agent.runtime_status.value,
        "resources": join_list(agent.resources),
        "environments": join_list(agent.environments),
        "operating_system": agent.operating_system,
        "free_space": agent.free_space,
        "location": agent.location,
        "agent_version": agent.agent_version,
        "last_heard_at": agent.last_heard_at,
    }


def _with_id(agent: Agent, agent_id: int) -> Agent:
    return replace(agent, id=agent_id)


def _agent(row: RowMapping) -> Agent:
    return Agent(
        uuid=row["uuid"],
        hostname=row["hostname"],
        ip_address=row["ip_address"] or "",
        config_state=AgentConfigState(row["config_state"]),
        runtime_status=AgentRuntimeStatus(row["runtime_status"]),
        resources=split_list(row["resources"]),
        environments=split_list(row["environments"]),
        operating_system=row["operating_system"],
        free_space=row["free_space"],
        location=row["location"],
        agent_version=row["agent_version"],
        last_heard_at=as_utc_or_none(row["last_heard_at"]),
        id=row["id"],
    )
