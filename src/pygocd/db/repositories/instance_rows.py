"""Pipeline instances read back from their rows: the instance with its stages, jobs, transitions
and build cause, and the row → domain mappers other repositories share."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import RowMapping, select
from sqlalchemy.ext.asyncio import AsyncConnection

from pygocd.db.columns import as_utc, as_utc_or_none
from pygocd.db.repositories.materials import load_material_revisions
from pygocd.db.tables import environment_variables, job_state_transitions, jobs, stages
from pygocd.domain.pipelines import ApprovalType
from pygocd.domain.runs import (
    BuildCause,
    BuildCauseType,
    JobInstance,
    JobStateTransition,
    PipelineInstance,
    PipelineLock,
    PipelinePauseInfo,
    PipelineState,
    StageInstance,
)
from pygocd.domain.states import JobResult, JobState, StageResult, StageState
from pygocd.domain.variables import EnvironmentVariable

TRIGGER_VARIABLES = "Trigger"
"""`environment_variables.entity_type` of the variables a run was triggered with."""


async def load_instance(
    connection: AsyncConnection, row: RowMapping, with_materials: bool = True
) -> PipelineInstance:
    """The instance with its stages, jobs and build cause; without materials, the build
    cause has no material revisions (the costliest part: modifications and their files)."""
    pipeline_id = row["id"]
    stage_rows = (
        (
            await connection.execute(
                select(stages)
                .where(stages.c.pipeline_id == pipeline_id)
                .order_by(stages.c.order_id, stages.c.counter)
            )
        )
        .mappings()
        .all()
    )
    stage_ids = [s["id"] for s in stage_rows]
    job_rows = (
        (
            await connection.execute(
                select(jobs).where(jobs.c.stage_id.in_(stage_ids)).order_by(jobs.c.id)
            )
        )
        .mappings()
        .all()
    )
    transition_rows = (
        (
            await connection.execute(
                select(job_state_transitions)
                .where(job_state_transitions.c.stage_id.in_(stage_ids))
                .order_by(job_state_transitions.c.id)
            )
        )
        .mappings()
        .all()
    )
    transitions_by_job: dict[int, list[JobStateTransition]] = defaultdict(list)
    for t in transition_rows:
        transitions_by_job[t["job_id"]].append(transition_from_row(t))
    jobs_by_stage: dict[int, list[JobInstance]] = defaultdict(list)
    for j in job_rows:
        jobs_by_stage[j["stage_id"]].append(job_from_row(j, tuple(transitions_by_job[j["id"]])))
    variable_rows = (
        await connection.execute(
            select(environment_variables).where(
                environment_variables.c.entity_type == TRIGGER_VARIABLES,
                environment_variables.c.entity_id == pipeline_id,
            )
        )
    ).mappings()
    cause = BuildCause(
        type=BuildCauseType(row["build_cause_type"]),
        message=row["build_cause_message"] or "",
        approver=row["build_cause_approver"] or "",
        material_revisions=(
            await load_material_revisions(connection, pipeline_id) if with_materials else ()
        ),
        trigger_variables=tuple(
            EnvironmentVariable(name=v["name"], value=v["value"], secure=v["secure"])
            for v in variable_rows
        ),
    )
    return PipelineInstance(
        name=row["name"],
        counter=row["counter"],
        label=row["label"],
        build_cause=cause,
        natural_order=row["natural_order"],
        comment=row["comment"],
        stages=tuple(stage_from_row(s, tuple(jobs_by_stage[s["id"]])) for s in stage_rows),
        created_at=as_utc(row["created_at"]),
        id=pipeline_id,
    )


def pipeline_state_from_row(row: RowMapping) -> PipelineState:
    return PipelineState(
        name=row["name"],
        last_counter=row["last_counter"],
        pause=PipelinePauseInfo(
            paused=row["paused"],
            paused_by=row["pause_by"],
            pause_reason=row["pause_cause"],
            paused_at=as_utc_or_none(row["paused_at"]),
        ),
        lock=PipelineLock(locked=row["locked"], locked_by_pipeline_id=row["locked_by_pipeline_id"]),
    )


def transition_from_row(row: RowMapping) -> JobStateTransition:
    return JobStateTransition(JobState(row["state"]), as_utc(row["changed_at"]), row["id"])


def job_from_row(row: RowMapping, transitions: tuple[JobStateTransition, ...]) -> JobInstance:
    return JobInstance(
        name=row["name"],
        state=JobState(row["state"]),
        result=JobResult(row["result"]),
        agent_uuid=row["agent_uuid"],
        scheduled_at=as_utc(row["scheduled_at"]),
        run_on_all_agents=row["run_on_all_agents"],
        run_multiple_instance=row["run_multiple_instance"],
        ignored=row["ignored"],
        rerun=row["rerun"],
        original_job_id=row["original_job_id"],
        transitions=transitions,
        id=row["id"],
        stage_id=row["stage_id"],
    )


def stage_from_row(row: RowMapping, stage_jobs: tuple[JobInstance, ...]) -> StageInstance:
    return StageInstance(
        name=row["name"],
        counter=row["counter"],
        order=row["order_id"],
        approval_type=ApprovalType(row["approval_type"]),
        approved_by=row["approved_by"],
        cancelled_by=row["cancelled_by"],
        state=StageState(row["state"]),
        result=StageResult(row["result"]),
        created_at=as_utc(row["created_at"]),
        last_transitioned_at=as_utc_or_none(row["last_transitioned_at"]),
        latest_run=row["latest_run"],
        rerun_of_counter=row["rerun_of_counter"],
        fetch_materials=row["fetch_materials"],
        clean_working_directory=row["clean_working_dir"],
        artifacts_deleted=row["artifacts_deleted"],
        config_version=row["config_version"],
        jobs=stage_jobs,
        id=row["id"],
        pipeline_id=row["pipeline_id"],
    )
