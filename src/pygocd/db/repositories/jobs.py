"""Job rows: state changes with their transition rows, portable claims, look-ups by id."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, Select, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pygocd.db.repositories.instance_rows import job_from_row, transition_from_row
from pygocd.db.repositories.pipelines import SqlPipelineInstanceRepository
from pygocd.db.tables import job_state_transitions, jobs, pipelines, stages
from pygocd.domain.runs import JobIdentifier, JobInstance, JobStateTransition
from pygocd.domain.states import JobResult, JobState


class SqlJobRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    @staticmethod
    def _with_identifiers() -> Select[Any]:
        return (
            select(
                jobs,
                stages.c.name.label("stage_name"),
                stages.c.counter.label("stage_counter"),
                pipelines.c.name.label("pipeline_name"),
                pipelines.c.counter.label("pipeline_counter"),
                pipelines.c.label.label("pipeline_label"),
            )
            .join(stages, stages.c.id == jobs.c.stage_id)
            .join(pipelines, pipelines.c.id == stages.c.pipeline_id)
        )

    @staticmethod
    def _identifier(row: RowMapping) -> JobIdentifier:
        return JobIdentifier(
            pipeline_name=row["pipeline_name"],
            pipeline_counter=row["pipeline_counter"],
            pipeline_label=row["pipeline_label"],
            stage_name=row["stage_name"],
            stage_counter=row["stage_counter"],
            job_name=row["name"],
        )

    async def get(
        self, job_id: int, *, with_transitions: bool = True
    ) -> tuple[JobInstance, JobIdentifier] | None:
        query = self._with_identifiers().where(jobs.c.id == job_id)
        row = (await self._connection.execute(query)).mappings().first()
        if row is None:
            return None
        transitions = await self._transitions(job_id) if with_transitions else ()
        return job_from_row(row, transitions), self._identifier(row)

    async def in_states(
        self, states: Iterable[JobState], limit: int = 1000
    ) -> list[tuple[JobInstance, JobIdentifier]]:
        """Non-ignored jobs in `states`, oldest scheduled first, in one query (without their
        transitions: the scheduler's sweeps look at many jobs and need only these fields)."""
        query = (
            self._with_identifiers()
            .where(jobs.c.state.in_([s.value for s in states]), jobs.c.ignored.is_(False))
            .order_by(jobs.c.scheduled_at, jobs.c.id)
            .limit(limit)
        )
        rows = (await self._connection.execute(query)).mappings().all()
        return [(job_from_row(row, ()), self._identifier(row)) for row in rows]

    async def _transitions(self, job_id: int) -> tuple[JobStateTransition, ...]:
        rows = await self._connection.execute(
            select(job_state_transitions)
            .where(job_state_transitions.c.job_id == job_id)
            .order_by(job_state_transitions.c.id)
        )
        return tuple(transition_from_row(r) for r in rows.mappings())

    async def change_state(
        self,
        job: JobInstance,
        new_state: JobState,
        at: datetime,
        *,
        result: JobResult | None = None,
        agent_uuid: str | None = None,
        expected_state: JobState | None = None,
    ) -> bool:
        """Move a job to `new_state` (+ a transition row) if it is still in `expected_state`.

        The conditional UPDATE is what makes claims portable: of two agents (or two server
        processes) moving the same Scheduled job to Assigned, exactly one sees a row updated.
        """
        assert job.id is not None
        assert job.stage_id is not None
        values: dict[str, object] = {"state": new_state.value}
        if result is not None:
            values["result"] = result.value
        if agent_uuid is not None:
            values["agent_uuid"] = agent_uuid
        statement = update(jobs).where(jobs.c.id == job.id).values(**values)
        statement = statement.where(jobs.c.state == (expected_state or job.state).value)
        updated = (await self._connection.execute(statement)).rowcount
        if updated != 1:
            return False
        await self._connection.execute(
            insert(job_state_transitions).values(
                job_id=job.id, stage_id=job.stage_id, state=new_state.value, changed_at=at
            )
        )
        return True

    async def set_result(self, job_id: int, result: JobResult) -> None:
        await self._connection.execute(
            update(jobs).where(jobs.c.id == job_id).values(result=result.value)
        )

    async def mark_ignored(self, job_id: int) -> None:
        await self._connection.execute(update(jobs).where(jobs.c.id == job_id).values(ignored=True))

    async def add(self, stage_id: int, job: JobInstance) -> JobInstance:
        return await SqlPipelineInstanceRepository(self._connection).add_job(stage_id, job)

    async def scheduled(self, limit: int = 500) -> list[tuple[JobInstance, JobIdentifier]]:
        """Scheduled, non-ignored jobs, oldest first (GoCD hands out the oldest first)."""
        return await self.in_states((JobState.SCHEDULED,), limit)

    async def active_on_agent(self, agent_uuid: str) -> list[int]:
        query = select(jobs.c.id).where(
            jobs.c.agent_uuid == agent_uuid,
            jobs.c.ignored.is_(False),
            jobs.c.state.in_([s.value for s in JobState if s.is_active_on_agent]),
        )
        return [int(i) for i in (await self._connection.execute(query)).scalars()]
