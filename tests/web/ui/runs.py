"""Real runs for UI tests: config saved through the service, commits recorded as
modifications, jobs moved along through `JobService` exactly as the agent API does."""

from __future__ import annotations

from datetime import UTC, datetime

from pygocd.domain.config import CruiseConfig
from pygocd.domain.environments import EnvironmentConfig
from pygocd.domain.materials import GitMaterialConfig
from pygocd.domain.modifications import Modification
from pygocd.domain.pipelines import (
    Approval,
    ApprovalType,
    JobConfig,
    LockBehavior,
    PipelineConfig,
    PipelineGroup,
    StageConfig,
)
from pygocd.domain.runs import PipelineInstance
from pygocd.domain.states import JobResult, JobState
from pygocd.domain.tasks import ExecTask
from pygocd.domain.variables import EnvironmentVariable
from pygocd.services.registry import Services

AGENT = "agent-1"
REPO = GitMaterialConfig(url="https://example.com/app.git", name="app")


def stage(name: str, *jobs: str, manual: bool = False) -> StageConfig:
    return StageConfig(
        name,
        jobs=tuple(JobConfig(j, tasks=(ExecTask("true"),)) for j in jobs or ("run",)),
        approval=Approval(ApprovalType.MANUAL if manual else ApprovalType.SUCCESS),
    )


def pipeline(
    name: str,
    *stages: StageConfig,
    group: str = "main",
    lock: LockBehavior = LockBehavior.NONE,
    variables: tuple[EnvironmentVariable, ...] = (),
) -> PipelineConfig:
    return PipelineConfig(
        name=name,
        group=group,
        materials=(REPO,),
        stages=stages or (stage("build"), stage("test")),
        lock_behavior=lock,
        environment_variables=variables,
    )


async def configure(
    services: Services,
    *pipelines: PipelineConfig,
    environments: tuple[EnvironmentConfig, ...] = (),
) -> None:
    groups: dict[str, list[PipelineConfig]] = {}
    for p in pipelines:
        groups.setdefault(p.group, []).append(p)
    await services.config.save(
        CruiseConfig(
            groups=tuple(PipelineGroup(g, tuple(ps)) for g, ps in groups.items()),
            environments=environments,
        ),
        expected_md5=services.config.current.md5,
        author="t",
        message="m",
    )


async def commit(services: Services, revision: str = "abc123", comment: str = "Fix it") -> None:
    async with services.uow() as uow:
        material_id = await uow.materials.ensure(REPO)
        await uow.materials.add_modifications(
            material_id,
            [
                Modification(
                    revision,
                    datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
                    user_name="Ann <ann@example.com>",
                    comment=comment,
                )
            ],
        )
        await uow.commit()


async def trigger(services: Services, name: str) -> PipelineInstance:
    assert services.scheduling is not None
    return await services.scheduling.trigger_manual(name, username="anonymous")


def job_ids(instance: PipelineInstance, stage_name: str | None = None) -> list[int]:
    return [
        j.id
        for s in instance.stages
        if stage_name is None or s.name == stage_name
        for j in s.jobs
        if j.id is not None
    ]


async def build(services: Services, job_id: int) -> None:
    assert services.jobs is not None
    assert await services.jobs.assign(job_id, AGENT)
    await services.jobs.report(job_id, AGENT, JobState.BUILDING)


async def finish(services: Services, job_id: int, result: JobResult = JobResult.PASSED) -> None:
    assert services.jobs is not None
    await services.jobs.report(job_id, AGENT, JobState.COMPLETED, result)


async def run_stage_to(
    services: Services, instance: PipelineInstance, stage_name: str, result: JobResult
) -> None:
    """Run every job of `stage_name` (its latest run) to `result`."""
    async with services.uow(read_only=True) as uow:
        fresh = await uow.pipeline_instances.find(instance.name, instance.counter)
    assert fresh is not None
    run = fresh.latest_stage(stage_name)
    assert run is not None
    for job in run.jobs:
        assert job.id is not None
        await build(services, job.id)
        await finish(services, job.id, result)
