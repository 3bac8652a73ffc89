"""Which job instances a stage's config turns into when the stage is scheduled.

GoCD's run types: one instance; `run_instance_count` N → `<job>-runInstance-1..N`;
`run_on_all_agents` → `<job>-runOnAll-1..n`, one per matching enabled agent, pinned to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pygocd.domain.agents import Agent
from pygocd.domain.errors import Conflict
from pygocd.domain.pipelines import JobConfig, StageConfig
from pygocd.domain.runs import JobInstance, StageInstance


@dataclass(frozen=True, slots=True)
class JobPlan:
    name: str
    config_name: str
    agent_uuid: str | None = None
    run_index: int | None = None
    run_count: int | None = None
    run_on_all_agents: bool = False
    run_multiple_instance: bool = False


def plan_jobs(
    job: JobConfig, agents: Sequence[Agent], pipeline_environment: str | None, known: set[str]
) -> list[JobPlan]:
    if job.run_on_all_agents:
        matching = [
            a
            for a in agents
            if a.is_enabled
            and a.has_resources(job.resources)
            and a.matches_environment(pipeline_environment, known)
        ]
        if not matching:
            raise Conflict(f"Could not find matching agents to run job [{job.name}].")
        return [
            JobPlan(
                name=f"{job.name}-runOnAll-{i}",
                config_name=job.name,
                agent_uuid=agent.uuid,
                run_on_all_agents=True,
            )
            for i, agent in enumerate(matching, start=1)
        ]
    if job.run_instance_count is not None:
        count = job.run_instance_count
        return [
            JobPlan(
                name=f"{job.name}-runInstance-{i}",
                config_name=job.name,
                run_index=i,
                run_count=count,
                run_multiple_instance=True,
            )
            for i in range(1, count + 1)
        ]
    return [JobPlan(name=job.name, config_name=job.name)]


def new_stage_instance(
    stage: StageConfig,
    *,
    order: int,
    counter: int,
    approved_by: str,
    now: datetime,
    agents: Sequence[Agent] = (),
    pipeline_environment: str | None = None,
    known_environments: set[str] | None = None,
    config_version: str | None = None,
) -> StageInstance:
    known = known_environments or set()
    plans = [
        plan for job in stage.jobs for plan in plan_jobs(job, agents, pipeline_environment, known)
    ]
    return StageInstance(
        name=stage.name,
        counter=counter,
        order=order,
        approval_type=stage.approval.type,
        approved_by=approved_by,
        created_at=now,
        fetch_materials=stage.fetch_materials,
        clean_working_directory=stage.clean_working_directory,
        config_version=config_version,
        jobs=tuple(
            JobInstance(
                name=plan.name,
                agent_uuid=plan.agent_uuid,
                scheduled_at=now,
                run_on_all_agents=plan.run_on_all_agents,
                run_multiple_instance=plan.run_multiple_instance,
            )
            for plan in plans
        ),
    )
