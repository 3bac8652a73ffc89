"""Batch reads for the dashboard: states and the instances to show of many pipelines at once.

GoCD's dashboard shows, per pipeline, every instance with an active latest-run stage plus the
newest instance (`GoDashboardCurrentStateLoader`). Loading that one pipeline at a time costs
several queries per pipeline; here it is four queries for any number of pipelines: states,
the instance rows, their latest-run stages, and those stages' jobs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import ColumnElement, RowMapping, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from pygocd.db.columns import as_utc
from pygocd.db.repositories.instance_rows import (
    job_from_row,
    pipeline_state_from_row,
    stage_from_row,
)
from pygocd.db.tables import jobs, pipeline_changes, pipeline_states, pipelines, stages
from pygocd.domain.runs import (
    BuildCause,
    BuildCauseType,
    JobInstance,
    PipelineInstance,
    PipelineState,
    StageInstance,
)
from pygocd.domain.states import StageState

_ACTIVE = (StageState.BUILDING.value, StageState.FAILING.value)
_CHUNK = 500  # bound the size of IN lists (SQLite's variable limit, plan sizes)


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)] or [[]]


class SqlDashboardRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def change_marker(self) -> tuple[int, int]:
        """(count, sum) of the per-pipeline change counters. Counters only grow and rows are
        never deleted, so this differs from an earlier reading iff some pipeline changed."""
        query = select(func.count(), func.coalesce(func.sum(pipeline_changes.c.version), 0))
        count, total = (await self._connection.execute(query)).one()
        return int(count), int(total)

    async def change_versions(self) -> dict[str, int]:
        """Every pipeline's change counter, by lower-cased name (missing: never changed)."""
        rows = await self._connection.execute(
            select(pipeline_changes.c.name_key, pipeline_changes.c.version)
        )
        return {str(key): int(version) for key, version in rows}

    async def states(self, names: Collection[str] | None = None) -> dict[str, PipelineState]:
        keys = None if names is None else sorted({p.lower() for p in names})
        found: dict[str, PipelineState] = {}
        for chunk in [None] if keys is None else _chunks(keys):
            query = select(pipeline_states)
            if chunk is not None:
                query = query.where(pipeline_states.c.name_key.in_(chunk))
            for row in (await self._connection.execute(query)).mappings():
                found[row["name_key"]] = pipeline_state_from_row(row)
        return found

    async def instances_to_show(
        self, names: Collection[str] | None = None
    ) -> dict[str, list[PipelineInstance]]:
        keys = None if names is None else sorted({p.lower() for p in names})
        ids: set[int] = set()
        for chunk in [None] if keys is None else _chunks(keys):
            ids |= await self._ids_to_show(chunk)
        if not ids:
            return {}
        rows: list[RowMapping] = []
        stage_rows: list[RowMapping] = []
        for id_chunk in _id_chunks(sorted(ids)):
            rows += (
                (
                    await self._connection.execute(
                        select(pipelines).where(pipelines.c.id.in_(id_chunk))
                    )
                )
                .mappings()
                .all()
            )
            stage_rows += (
                (
                    await self._connection.execute(
                        select(stages)
                        .where(stages.c.pipeline_id.in_(id_chunk), stages.c.latest_run.is_(True))
                        .order_by(stages.c.pipeline_id, stages.c.order_id)
                    )
                )
                .mappings()
                .all()
            )
        jobs_by_stage: dict[int, list[JobInstance]] = defaultdict(list)
        stage_ids = [int(s["id"]) for s in stage_rows]
        for id_chunk in _id_chunks(stage_ids):
            job_query = (
                select(jobs)
                .where(jobs.c.stage_id.in_(id_chunk), jobs.c.ignored.is_(False))
                .order_by(jobs.c.id)
            )
            for j in (await self._connection.execute(job_query)).mappings():
                jobs_by_stage[j["stage_id"]].append(job_from_row(j, ()))
        stages_by_pipeline: dict[int, list[StageInstance]] = defaultdict(list)
        for s in stage_rows:
            stages_by_pipeline[s["pipeline_id"]].append(
                stage_from_row(s, tuple(jobs_by_stage[s["id"]]))
            )
        shown: dict[str, list[PipelineInstance]] = defaultdict(list)
        for row in sorted(rows, key=lambda r: -int(r["counter"])):
            shown[row["name_key"]].append(
                PipelineInstance(
                    name=row["name"],
                    counter=row["counter"],
                    label=row["label"],
                    build_cause=BuildCause(
                        type=BuildCauseType(row["build_cause_type"]),
                        message=row["build_cause_message"] or "",
                        approver=row["build_cause_approver"] or "",
                    ),
                    natural_order=row["natural_order"],
                    comment=row["comment"],
                    stages=tuple(stages_by_pipeline[row["id"]]),
                    created_at=as_utc(row["created_at"]),
                    id=row["id"],
                )
            )
        return dict(shown)

    async def _ids_to_show(self, keys: list[str] | None) -> set[int]:
        def only(column: ColumnElement[str]) -> list[ColumnElement[bool]]:
            return [] if keys is None else [column.in_(keys)]

        newest = (
            select(pipelines.c.name_key, func.max(pipelines.c.counter).label("counter"))
            .where(*only(pipelines.c.name_key))
            .group_by(pipelines.c.name_key)
            .subquery()
        )
        latest = select(pipelines.c.id).join(
            newest,
            (pipelines.c.name_key == newest.c.name_key) & (pipelines.c.counter == newest.c.counter),
        )
        active = (
            select(stages.c.pipeline_id)
            .join(pipelines, pipelines.c.id == stages.c.pipeline_id)
            .where(
                stages.c.state.in_(_ACTIVE),
                stages.c.latest_run.is_(True),
                *only(pipelines.c.name_key),
            )
        )
        found = set((await self._connection.execute(latest)).scalars())
        found |= set((await self._connection.execute(active)).scalars())
        return {int(i) for i in found}


def _id_chunks(values: list[int]) -> list[list[int]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]
