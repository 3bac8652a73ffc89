"""Pipeline instances written and found: counters, instances with their stages and jobs, stage
state, pause and lock; reading rows back into instances is `instance_rows`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pygocd.db.repositories.instance_rows import (
    TRIGGER_VARIABLES,
    load_instance,
    pipeline_state_from_row,
)
from pygocd.db.repositories.materials import save_material_revisions
from pygocd.db.tables import (
    environment_variables,
    job_state_transitions,
    jobs,
    materials,
    pipeline_material_revisions,
    pipeline_states,
    pipelines,
    stages,
)
from pygocd.db.upsert import insert_ignoring_conflicts, insert_or_update
from pygocd.domain.runs import (
    JobInstance,
    JobStateTransition,
    PipelineInstance,
    PipelineState,
    StageInstance,
)
from pygocd.domain.states import StageState


class SqlPipelineInstanceRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def _ensure_state_row(self, pipeline: str) -> None:
        statement = insert_ignoring_conflicts(
            self._connection,
            pipeline_states,
            ["name_key"],
            name_key=pipeline.lower(),
            name=pipeline,
            last_counter=0,
            paused=False,
            locked=False,
        )
        await self._connection.execute(statement)

    async def next_counter(self, pipeline: str) -> int:
        return (await self.next_counters([pipeline]))[pipeline.lower()]

    async def next_counters(self, names: Iterable[str]) -> dict[str, int]:
        """Increment and return each pipeline's counter, by lower-cased name.

        One upsert: a pipeline's first instance creates its row with counter 1, later ones
        add 1 under the row's lock, so concurrent schedulers (even in several processes)
        always get distinct, consecutive counters. Rows are taken in name order, so two
        batches never wait for each other's rows crosswise."""
        by_key = {name.lower(): name for name in names}
        rows = [
            {
                "name_key": key,
                "name": by_key[key],
                "last_counter": 1,
                "paused": False,
                "locked": False,
            }
            for key in sorted(by_key)
        ]
        if not rows:
            return {}
        statement = insert_or_update(
            self._connection,
            pipeline_states,
            ["name_key"],
            values=rows,
            updates={"last_counter": pipeline_states.c.last_counter + 1},
        ).returning(pipeline_states.c.name_key, pipeline_states.c.last_counter)
        result = await self._connection.execute(statement)
        return {str(key): int(counter) for key, counter in result}

    async def last_revision_ids(self, pipeline: str) -> dict[str, int]:
        """Fingerprint → newest modification id the pipeline's latest instance was built from."""
        latest = (
            select(pipelines.c.id)
            .where(pipelines.c.name_key == pipeline.lower())
            .order_by(pipelines.c.counter.desc())
            .limit(1)
            .scalar_subquery()
        )
        query = (
            select(materials.c.fingerprint, pipeline_material_revisions.c.to_modification_id)
            .join(materials, materials.c.id == pipeline_material_revisions.c.material_id)
            .where(pipeline_material_revisions.c.pipeline_id == latest)
        )
        rows = await self._connection.execute(query)
        return {str(fingerprint): int(to_id) for fingerprint, to_id in rows}

    async def last_revision_ids_of(self, names: Iterable[str]) -> dict[str, dict[str, int]]:
        """`last_revision_ids` of several pipelines at once, by lower-case name."""
        keys = list({name.lower() for name in names})
        latest = (
            select(pipelines.c.name_key, func.max(pipelines.c.counter).label("counter"))
            .where(pipelines.c.name_key.in_(keys))
            .group_by(pipelines.c.name_key)
            .subquery()
        )
        query = (
            select(
                pipelines.c.name_key,
                materials.c.fingerprint,
                pipeline_material_revisions.c.to_modification_id,
            )
            .join(
                latest,
                (latest.c.name_key == pipelines.c.name_key)
                & (latest.c.counter == pipelines.c.counter),
            )
            .join(
                pipeline_material_revisions,
                pipeline_material_revisions.c.pipeline_id == pipelines.c.id,
            )
            .join(materials, materials.c.id == pipeline_material_revisions.c.material_id)
        )
        found: dict[str, dict[str, int]] = {key: {} for key in keys}
        for key, fingerprint, to_id in await self._connection.execute(query):
            found[str(key)][str(fingerprint)] = int(to_id)
        return found

    async def state(self, pipeline: str) -> PipelineState:
        query = select(pipeline_states).where(pipeline_states.c.name_key == pipeline.lower())
        row = (await self._connection.execute(query)).mappings().first()
        return PipelineState(name=pipeline) if row is None else pipeline_state_from_row(row)

    async def add(self, instance: PipelineInstance) -> PipelineInstance:
        [saved] = await self.add_many([instance])
        return saved

    async def add_many(self, instances: Sequence[PipelineInstance]) -> list[PipelineInstance]:
        """Insert instances with their stages and jobs: one statement per table however many
        instances (a batch of automatic triggers), ids filled in, in the order given."""
        rows = []
        for instance in instances:
            assert instance.created_at is not None, "instances are stamped by the service"
            cause = instance.build_cause
            rows.append(
                {
                    "name": instance.name,
                    "name_key": instance.name.lower(),
                    "counter": instance.counter,
                    "label": instance.label,
                    "build_cause_type": cause.type.value,
                    "build_cause_message": cause.message,
                    "build_cause_approver": cause.approver,
                    "natural_order": instance.natural_order,
                    "comment": instance.comment,
                    "created_at": instance.created_at,
                }
            )
        ids = await self._insert_returning_ids(pipelines, rows)
        await save_material_revisions(
            self._connection,
            [
                (i, instance.build_cause.material_revisions)
                for i, instance in zip(ids, instances, strict=True)
            ],
        )
        variables = [
            {
                "entity_type": TRIGGER_VARIABLES,
                "entity_id": pipeline_id,
                "name": v.name,
                "value": v.value,
                "secure": v.secure,
            }
            for pipeline_id, instance in zip(ids, instances, strict=True)
            for v in instance.build_cause.trigger_variables
        ]
        if variables:
            await self._connection.execute(insert(environment_variables), variables)
        saved = iter(
            await self._add_stages(
                [
                    (i, stage)
                    for i, instance in zip(ids, instances, strict=True)
                    for stage in instance.stages
                ]
            )
        )
        return [
            replace(instance, stages=tuple(next(saved) for _ in instance.stages), id=pipeline_id)
            for pipeline_id, instance in zip(ids, instances, strict=True)
        ]

    async def add_stage(self, pipeline_id: int, stage: StageInstance) -> StageInstance:
        [saved] = await self._add_stages([(pipeline_id, stage)])
        return saved

    async def _add_stages(self, added: list[tuple[int, StageInstance]]) -> list[StageInstance]:
        rows = []
        for pipeline_id, stage in added:
            assert stage.created_at is not None, "stages are stamped by the service"
            rows.append(
                {
                    "pipeline_id": pipeline_id,
                    "name": stage.name,
                    "name_key": stage.name.lower(),
                    "counter": stage.counter,
                    "order_id": stage.order,
                    "approval_type": stage.approval_type.value,
                    "approved_by": stage.approved_by,
                    "cancelled_by": stage.cancelled_by,
                    "state": stage.state.value,
                    "result": stage.result.value,
                    "latest_run": stage.latest_run,
                    "rerun_of_counter": stage.rerun_of_counter,
                    "fetch_materials": stage.fetch_materials,
                    "clean_working_dir": stage.clean_working_directory,
                    "artifacts_deleted": stage.artifacts_deleted,
                    "config_version": stage.config_version,
                    "created_at": stage.created_at,
                    "last_transitioned_at": stage.last_transitioned_at or stage.created_at,
                }
            )
        ids = await self._insert_returning_ids(stages, rows)
        saved = iter(
            await self._add_jobs(
                [(i, job) for i, (_, stage) in zip(ids, added, strict=True) for job in stage.jobs]
            )
        )
        return [
            replace(
                stage,
                id=stage_id,
                pipeline_id=pipeline_id,
                jobs=tuple(next(saved) for _ in stage.jobs),
                last_transitioned_at=stage.last_transitioned_at or stage.created_at,
            )
            for stage_id, (pipeline_id, stage) in zip(ids, added, strict=True)
        ]

    async def add_job(self, stage_id: int, job: JobInstance) -> JobInstance:
        [saved] = await self._add_jobs([(stage_id, job)])
        return saved

    async def _add_jobs(self, added: list[tuple[int, JobInstance]]) -> list[JobInstance]:
        rows = []
        for stage_id, job in added:
            rows.append(
                {
                    "stage_id": stage_id,
                    "name": job.name,
                    "state": job.state.value,
                    "result": job.result.value,
                    "agent_uuid": job.agent_uuid,
                    "scheduled_at": _stamped(job.scheduled_at),
                    "ignored": job.ignored,
                    "run_on_all_agents": job.run_on_all_agents,
                    "run_multiple_instance": job.run_multiple_instance,
                    "original_job_id": job.original_job_id,
                    "rerun": job.rerun,
                }
            )
        ids = await self._insert_returning_ids(jobs, rows)
        planned = [
            (
                job_id,
                stage_id,
                job.transitions or (JobStateTransition(job.state, _stamped(job.scheduled_at)),),
            )
            for job_id, (stage_id, job) in zip(ids, added, strict=True)
        ]
        transition_ids = iter(
            await self._insert_returning_ids(
                job_state_transitions,
                [
                    {
                        "job_id": job_id,
                        "stage_id": stage_id,
                        "state": t.state.value,
                        "changed_at": t.changed_at,
                    }
                    for job_id, stage_id, transitions in planned
                    for t in transitions
                ],
            )
        )
        return [
            replace(
                job,
                id=job_id,
                stage_id=stage_id,
                transitions=tuple(
                    JobStateTransition(t.state, t.changed_at, next(transition_ids))
                    for t in transitions
                ),
            )
            for (job_id, stage_id, transitions), (_, job) in zip(planned, added, strict=True)
        ]

    async def _insert_returning_ids(self, table: Table, rows: list[dict[str, Any]]) -> list[int]:
        """Insert `rows` in one statement; their ids in the order of `rows`."""
        if not rows:
            return []
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return [int(i) for i in (await self._connection.execute(statement, rows)).scalars()]

    async def list_counters(self, pipeline: str) -> list[int]:
        query = (
            select(pipelines.c.counter)
            .where(pipelines.c.name_key == pipeline.lower())
            .order_by(pipelines.c.counter)
        )
        return [int(c) for c in (await self._connection.execute(query)).scalars()]

    async def find(
        self, pipeline: str, counter: int, *, with_materials: bool = True
    ) -> PipelineInstance | None:
        query = select(pipelines).where(
            pipelines.c.name_key == pipeline.lower(), pipelines.c.counter == counter
        )
        row = (await self._connection.execute(query)).mappings().first()
        if row is None:
            return None
        return await self._load(row, with_materials)

    async def _load(self, row: RowMapping, with_materials: bool = True) -> PipelineInstance:
        return await load_instance(self._connection, row, with_materials)

    async def find_by_id(self, pipeline_id: int) -> PipelineInstance | None:
        query = select(pipelines).where(pipelines.c.id == pipeline_id)
        row = (await self._connection.execute(query)).mappings().first()
        return await self._load(row) if row is not None else None

    async def find_by_stage_id(
        self, stage_id: int, *, with_materials: bool = True
    ) -> PipelineInstance | None:
        query = select(pipelines).where(
            pipelines.c.id
            == select(stages.c.pipeline_id).where(stages.c.id == stage_id).scalar_subquery()
        )
        row = (await self._connection.execute(query)).mappings().first()
        return await self._load(row, with_materials) if row is not None else None

    async def latest(
        self, pipeline: str, limit: int = 1, *, with_materials: bool = True
    ) -> list[PipelineInstance]:
        """The newest instances of a pipeline, newest first."""
        query = (
            select(pipelines)
            .where(pipelines.c.name_key == pipeline.lower())
            .order_by(pipelines.c.counter.desc())
            .limit(limit)
        )
        rows = (await self._connection.execute(query)).mappings().all()
        return [await self._load(row, with_materials) for row in rows]

    async def history(
        self, pipeline: str, page_size: int, after: int | None = None, before: int | None = None
    ) -> tuple[list[PipelineInstance], bool, bool]:
        """A page of instances newest first by id cursor; also whether older/newer ones exist."""
        base = select(pipelines).where(pipelines.c.name_key == pipeline.lower())
        if before is not None:
            query = base.where(pipelines.c.id > before).order_by(pipelines.c.id).limit(page_size)
            rows = list(reversed((await self._connection.execute(query)).mappings().all()))
        else:
            if after is not None:
                base = base.where(pipelines.c.id < after)
            query = base.order_by(pipelines.c.id.desc()).limit(page_size)
            rows = list((await self._connection.execute(query)).mappings().all())
        page = [await self._load(row) for row in rows]
        if not rows:
            return page, False, False
        newest, oldest = rows[0]["id"], rows[-1]["id"]
        key = pipelines.c.name_key == pipeline.lower()
        older = await self._connection.execute(
            select(pipelines.c.id).where(key, pipelines.c.id < oldest).limit(1)
        )
        newer = await self._connection.execute(
            select(pipelines.c.id).where(key, pipelines.c.id > newest).limit(1)
        )
        return page, older.first() is not None, newer.first() is not None

    async def active_stages_of(self, names: Iterable[str]) -> dict[str, list[tuple[int, int, str]]]:
        """`active_stages` of several pipelines at once, by lower-case name."""
        keys = list({name.lower() for name in names})
        query = (
            select(pipelines.c.name_key, pipelines.c.id, pipelines.c.counter, stages.c.name)
            .join(stages, stages.c.pipeline_id == pipelines.c.id)
            .where(
                pipelines.c.name_key.in_(keys),
                stages.c.state.in_([StageState.BUILDING.value, StageState.FAILING.value]),
            )
        )
        found: dict[str, list[tuple[int, int, str]]] = {key: [] for key in keys}
        for key, pipeline_id, counter, stage in await self._connection.execute(query):
            found[str(key)].append((int(pipeline_id), int(counter), str(stage)))
        return found

    async def active_stages(self, pipeline: str) -> list[tuple[int, int, str]]:
        """(pipeline id, pipeline counter, stage name) of every active stage of a pipeline."""
        query = (
            select(pipelines.c.id, pipelines.c.counter, stages.c.name)
            .join(stages, stages.c.pipeline_id == pipelines.c.id)
            .where(
                pipelines.c.name_key == pipeline.lower(),
                stages.c.state.in_([StageState.BUILDING.value, StageState.FAILING.value]),
            )
        )
        rows = await self._connection.execute(query)
        return [(int(r[0]), int(r[1]), str(r[2])) for r in rows]

    async def update_stage(
        self,
        stage_id: int,
        state: StageState,
        at: datetime,
        *,
        cancelled_by: str | None = None,
    ) -> None:
        values: dict[str, object] = {
            "state": state.value,
            "result": state.result.value,
            "last_transitioned_at": at,
        }
        if cancelled_by is not None:
            values["cancelled_by"] = cancelled_by
        if state.is_completed:
            last = select(func.max(job_state_transitions.c.id)).where(
                job_state_transitions.c.stage_id == stage_id
            )
            values["completed_by_transition_id"] = (
                await self._connection.execute(last)
            ).scalar_one_or_none()
        await self._connection.execute(
            update(stages).where(stages.c.id == stage_id).values(**values)
        )

    async def mark_older_runs(self, pipeline_id: int, stage_name: str) -> None:
        """A new run of a stage makes every earlier run of it `latest_run = false`."""
        await self._connection.execute(
            update(stages)
            .where(stages.c.pipeline_id == pipeline_id, stages.c.name_key == stage_name.lower())
            .values(latest_run=False)
        )

    async def set_comment(self, pipeline_id: int, comment: str) -> None:
        await self._connection.execute(
            update(pipelines).where(pipelines.c.id == pipeline_id).values(comment=comment)
        )

    async def set_paused(
        self, pipeline: str, paused: bool, by: str | None, cause: str | None, at: datetime | None
    ) -> None:
        await self._ensure_state_row(pipeline)
        await self._connection.execute(
            update(pipeline_states)
            .where(pipeline_states.c.name_key == pipeline.lower())
            .values(paused=paused, pause_by=by, pause_cause=cause, paused_at=at)
        )

    async def set_lock(self, pipeline: str, locked_by_pipeline_id: int | None) -> None:
        await self._ensure_state_row(pipeline)
        await self._connection.execute(
            update(pipeline_states)
            .where(pipeline_states.c.name_key == pipeline.lower())
            .values(
                locked=locked_by_pipeline_id is not None,
                locked_by_pipeline_id=locked_by_pipeline_id,
            )
        )


def _stamped(at: datetime | None) -> datetime:
    assert at is not None, "jobs are stamped by the service"
    return at
