"""Read-only queries over run history that the pipeline repository does not answer: stage and
job history pages (cursor = row id, as GoCD's), and the batch reads behind CCTray.

Every method is a fixed number of queries, however many pipelines or rows are involved, so
`/go/cctray.xml` stays fast with thousands of pipelines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence

from sqlalchemy import ColumnElement, RowMapping, Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from pygocd.db.repositories.instance_rows import (
    job_from_row,
    stage_from_row,
    transition_from_row,
)
from pygocd.db.repositories.materials import modification_from_row
from pygocd.db.tables import (
    job_state_transitions,
    jobs,
    materials,
    modifications,
    pipeline_material_revisions,
    pipelines,
    stages,
)
from pygocd.domain.modifications import Modification
from pygocd.domain.runs import JobIdentifier, JobInstance, JobStateTransition, StageRun
from pygocd.domain.states import JobState, StageState

COMPLETED_STAGE_STATES = [s.value for s in StageState if s.is_completed]

Page = tuple[list[RowMapping], bool, bool]


class SqlRunHistoryRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    # -- cursor pages ---------------------------------------------------------------------

    async def _page(
        self,
        query: Select[tuple[object, ...]],
        key: ColumnElement[int],
        page_size: int,
        after: int | None,
        before: int | None,
    ) -> Page:
        """Rows of `query` newest first by `key`: older than `after`, else newer than
        `before`, else the newest; and whether older and newer rows exist."""
        if after is not None:
            page = query.where(key < after).order_by(key.desc()).limit(page_size)
            rows = list((await self._connection.execute(page)).mappings().all())
        elif before is not None:
            page = query.where(key > before).order_by(key).limit(page_size)
            rows = list(reversed((await self._connection.execute(page)).mappings().all()))
        else:
            page = query.order_by(key.desc()).limit(page_size)
            rows = list((await self._connection.execute(page)).mappings().all())
        if not rows:
            return rows, False, False
        newest, oldest = rows[0]["id"], rows[-1]["id"]
        older = await self._connection.execute(query.where(key < oldest).limit(1))
        newer = await self._connection.execute(query.where(key > newest).limit(1))
        return rows, older.first() is not None, newer.first() is not None

    async def stage_history(
        self,
        pipeline: str,
        stage: str,
        page_size: int,
        after: int | None = None,
        before: int | None = None,
    ) -> tuple[list[StageRun], bool, bool]:
        """Runs of one stage across instances, newest first (cursor = stage id)."""
        query = (
            select(
                stages,
                pipelines.c.name.label("pipeline_name"),
                pipelines.c.counter.label("pipeline_counter"),
                pipelines.c.label.label("pipeline_label"),
            )
            .join(pipelines, pipelines.c.id == stages.c.pipeline_id)
            .where(pipelines.c.name_key == pipeline.lower(), stages.c.name_key == stage.lower())
        )
        rows, older, newer = await self._page(query, stages.c.id, page_size, after, before)
        return await self._stage_runs(rows), older, newer

    async def job_history(
        self,
        pipeline: str,
        stage: str,
        job: str,
        page_size: int,
        after: int | None = None,
        before: int | None = None,
    ) -> tuple[list[tuple[JobInstance, JobIdentifier]], bool, bool]:
        """Runs of one job across stage runs, newest first (cursor = job id); rescheduled
        (ignored) rows are left out."""
        query = (
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
            .where(
                pipelines.c.name_key == pipeline.lower(),
                stages.c.name_key == stage.lower(),
                func.lower(jobs.c.name) == job.lower(),
                jobs.c.ignored.is_(False),
            )
        )
        rows, older, newer = await self._page(query, jobs.c.id, page_size, after, before)
        return await self._jobs_with_identifiers(rows), older, newer

    # -- CCTray ---------------------------------------------------------------------------

    async def current_stage_runs(self, names: Collection[str] | None = None) -> list[StageRun]:
        """The newest run of every stage of every (named) pipeline, with its jobs."""
        newest = (
            select(func.max(stages.c.id))
            .join(pipelines, pipelines.c.id == stages.c.pipeline_id)
            .group_by(pipelines.c.name_key, stages.c.name_key)
        )
        if names is not None:
            newest = newest.where(pipelines.c.name_key.in_([p.lower() for p in names]))
        query = self._stage_query().where(stages.c.id.in_(newest.scalar_subquery()))
        rows = (await self._connection.execute(query)).mappings().all()
        return await self._stage_runs(rows)

    async def last_completed_stage_runs(
        self, names: Collection[str] | None = None
    ) -> list[StageRun]:
        """The most recently completed run of every stage (without jobs). GoCD never runs a
        stage in two instances at once, so the newest completed row is the last to complete."""
        newest = (
            select(func.max(stages.c.id))
            .join(pipelines, pipelines.c.id == stages.c.pipeline_id)
            .where(stages.c.state.in_(COMPLETED_STAGE_STATES))
            .group_by(pipelines.c.name_key, stages.c.name_key)
        )
        if names is not None:
            newest = newest.where(pipelines.c.name_key.in_([p.lower() for p in names]))
        query = self._stage_query().where(stages.c.id.in_(newest.scalar_subquery()))
        rows = (await self._connection.execute(query)).mappings().all()
        return [
            StageRun(
                r["pipeline_name"],
                r["pipeline_counter"],
                r["pipeline_label"],
                stage_from_row(r, ()),
                r["pipeline_id"],
            )
            for r in rows
        ]

    async def last_completed_jobs(
        self, names: Collection[str] | None = None
    ) -> list[tuple[JobInstance, JobIdentifier]]:
        """The most recent Completed run of every job name of every stage, with transitions."""
        newest = (
            select(func.max(jobs.c.id))
            .join(stages, stages.c.id == jobs.c.stage_id)
            .join(pipelines, pipelines.c.id == stages.c.pipeline_id)
            .where(jobs.c.state == JobState.COMPLETED.value, jobs.c.ignored.is_(False))
            .group_by(pipelines.c.name_key, stages.c.name_key, jobs.c.name)
        )
        if names is not None:
            newest = newest.where(pipelines.c.name_key.in_([p.lower() for p in names]))
        query = (
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
            .where(jobs.c.id.in_(newest.scalar_subquery()))
        )
        rows = list((await self._connection.execute(query)).mappings().all())
        return await self._jobs_with_identifiers(rows)

    async def breakers(self, pipeline_ids: Collection[int]) -> dict[int, list[str]]:
        """GoCD's CCTray breakers per pipeline instance: the authors of its changed material
        revisions (of all of them when none changed), sorted, without blanks."""
        if not pipeline_ids:
            return {}
        pmr = pipeline_material_revisions
        query = (
            select(pmr.c.pipeline_id, pmr.c.changed, modifications.c.user_name)
            .join(
                modifications,
                and_(
                    modifications.c.material_id == pmr.c.material_id,
                    modifications.c.id >= pmr.c.from_modification_id,
                    modifications.c.id <= pmr.c.to_modification_id,
                ),
            )
            .where(pmr.c.pipeline_id.in_(list(pipeline_ids)))
        )
        changed: dict[int, set[str]] = defaultdict(set)
        every: dict[int, set[str]] = defaultdict(set)
        for pipeline_id, was_changed, user in await self._connection.execute(query):
            if not user:
                continue
            every[pipeline_id].add(user)
            if was_changed:
                changed[pipeline_id].add(user)
        return {pid: sorted(changed.get(pid) or every[pid]) for pid in every}

    async def modifications_between(
        self, fingerprint: str, after_id: int, upto_id: int
    ) -> list[Modification]:
        """A material's modifications with ids in (after_id, upto_id], newest first: what
        changed between two pipeline instances (compare)."""
        query = (
            select(modifications)
            .join(materials, materials.c.id == modifications.c.material_id)
            .where(
                materials.c.fingerprint == fingerprint,
                modifications.c.id > after_id,
                modifications.c.id <= upto_id,
            )
            .order_by(modifications.c.id.desc())
        )
        rows = (await self._connection.execute(query)).mappings()
        return [modification_from_row(m, {}) for m in rows]

    async def consumers(self, downstream: str, upstream: str, upstream_counter: int) -> list[int]:
        """Counters of `downstream`'s instances built from a dependency revision of the
        upstream instance `upstream/upstream_counter` (any of its stages), oldest first: GoCD's
        `getPipelineInstancesTriggeredWithDependencyMaterial`, behind the value stream map."""
        prefix = f"{upstream.lower()}/{upstream_counter}/"
        pmr = pipeline_material_revisions
        query = (
            select(pipelines.c.counter)
            .join(pmr, pmr.c.pipeline_id == pipelines.c.id)
            .join(modifications, modifications.c.id == pmr.c.to_modification_id)
            .where(
                pipelines.c.name_key == downstream.lower(),
                modifications.c.pipeline_label.is_not(None),
                func.lower(modifications.c.revision).startswith(prefix, autoescape=True),
            )
            .distinct()
            .order_by(pipelines.c.counter)
        )
        return [int(row[0]) for row in await self._connection.execute(query)]

    async def built_with(self, pipeline: str, fingerprint: str, modification_id: int) -> list[int]:
        """Counters of `pipeline`'s instances whose material revision range took in the
        modification: what a material's value stream map shows downstream of it."""
        pmr = pipeline_material_revisions
        query = (
            select(pipelines.c.counter)
            .join(pmr, pmr.c.pipeline_id == pipelines.c.id)
            .join(materials, materials.c.id == pmr.c.material_id)
            .where(
                pipelines.c.name_key == pipeline.lower(),
                materials.c.fingerprint == fingerprint,
                pmr.c.from_modification_id <= modification_id,
                pmr.c.to_modification_id >= modification_id,
            )
            .distinct()
            .order_by(pipelines.c.counter)
        )
        return [int(row[0]) for row in await self._connection.execute(query)]

    # -- loading --------------------------------------------------------------------------

    @staticmethod
    def _stage_query() -> Select[tuple[object, ...]]:
        return select(
            stages,
            pipelines.c.name.label("pipeline_name"),
            pipelines.c.counter.label("pipeline_counter"),
            pipelines.c.label.label("pipeline_label"),
        ).join(pipelines, pipelines.c.id == stages.c.pipeline_id)

    async def _transitions(
        self, column: ColumnElement[int], ids: Sequence[int]
    ) -> dict[int, list[JobStateTransition]]:
        found: dict[int, list[JobStateTransition]] = defaultdict(list)
        if not ids:
            return found
        rows = await self._connection.execute(
            select(job_state_transitions)
            .where(column.in_(list(ids)))
            .order_by(job_state_transitions.c.id)
        )
        for t in rows.mappings():
            found[t["job_id"]].append(transition_from_row(t))
        return found

    async def _stage_runs(self, rows: Sequence[RowMapping]) -> list[StageRun]:
        """Stage runs with their non-ignored jobs; job transitions are not loaded (history
        summaries and CCTray's stage entries do not show them)."""
        stage_ids = [r["id"] for r in rows]
        jobs_by_stage: dict[int, list[JobInstance]] = defaultdict(list)
        if stage_ids:
            job_rows = (
                (
                    await self._connection.execute(
                        select(jobs)
                        .where(jobs.c.stage_id.in_(stage_ids), jobs.c.ignored.is_(False))
                        .order_by(jobs.c.id)
                    )
                )
                .mappings()
                .all()
            )
            for j in job_rows:
                jobs_by_stage[j["stage_id"]].append(job_from_row(j, ()))
        return [
            StageRun(
                r["pipeline_name"],
                r["pipeline_counter"],
                r["pipeline_label"],
                stage_from_row(r, tuple(jobs_by_stage[r["id"]])),
                r["pipeline_id"],
            )
            for r in rows
        ]

    async def _jobs_with_identifiers(
        self, rows: Sequence[RowMapping]
    ) -> list[tuple[JobInstance, JobIdentifier]]:
        transitions = await self._transitions(
            job_state_transitions.c.job_id, [r["id"] for r in rows]
        )
        return [
            (
                job_from_row(r, tuple(transitions.get(r["id"], ()))),
                JobIdentifier(
                    pipeline_name=r["pipeline_name"],
                    pipeline_counter=r["pipeline_counter"],
                    pipeline_label=r["pipeline_label"],
                    stage_name=r["stage_name"],
                    stage_counter=r["stage_counter"],
                    job_name=r["name"],
                ),
            )
            for r in rows
        ]
