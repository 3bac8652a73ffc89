"""Plain builders for tests that need config, commits and runs: no fixtures, no magic."""

from __future__ import annotations

from datetime import timedelta

from pygocd.domain.config import CruiseConfig
from pygocd.domain.environments import EnvironmentConfig
from pygocd.domain.materials import GitMaterialConfig, MaterialConfig
from pygocd.domain.modifications import Modification, ModifiedAction, ModifiedFile
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
from pygocd.services.scheduling import TriggerOptions

AGENT = "agent-1"


def git(url: str = "https://example.com/app.git", branch: str = "main") -> GitMaterialConfig:
    return GitMaterialConfig(url=url, branch=branch)


def job(name: str, **kwargs: object) -> JobConfig:
    return JobConfig(name, tasks=(ExecTask("true"),), **kwargs)  # type: ignore[arg-type]


def stage(name: str, *jobs: str, manual: bool = False) -> StageConfig:
    approval = Approval(type=ApprovalType.MANUAL) if manual else Approval()
    return StageConfig(name, jobs=tuple(job(j) for j in jobs or ("compile",)), approval=approval)


def pipeline(
    name: str,
    *stages: StageConfig,
    material: MaterialConfig | None = None,
    lock: LockBehavior = LockBehavior.NONE,
    variables: tuple[EnvironmentVariable, ...] = (),
) -> PipelineConfig:
    return PipelineConfig(
        name=name,
        materials=(material or git(),),
        stages=stages or (stage("build"),),
        lock_behavior=lock,
        environment_variables=variables,
    )


async def save(
    services: Services,
    *pipelines: PipelineConfig,
    group: str = "team",
    environments: tuple[EnvironmentConfig, ...] = (),
) -> None:
    """Replace the stored config with one group holding these pipelines."""
    config = CruiseConfig(
        groups=(PipelineGroup(group, pipelines=pipelines),), environments=environments
    )
    await services.config.save(
        config, expected_md5=services.config.current.md5, author="t", message="m"
    )


async def commit(
    services: Services,
    material: MaterialConfig | None = None,
    revision: str = "abc123",
    user: str = "alice <alice@example.com>",
    comment: str = "a change",
    files: tuple[str, ...] = (),
) -> Modification:
    """Record one new modification of a material (touching `files`), as a poll would."""
    material = material or git()
    async with services.uow() as uow:
        material_id = await uow.materials.ensure(material)
        [saved] = await uow.materials.add_modifications(
            material_id,
            [
                Modification(
                    revision=revision,
                    modified_time=services.clock.now() - timedelta(minutes=5),
                    user_name=user,
                    email_address="alice@example.com",
                    comment=comment,
                    files=tuple(ModifiedFile(f, ModifiedAction.MODIFIED) for f in files),
                )
            ],
        )
        await uow.commit()
    return saved


async def trigger(
    services: Services, name: str, options: TriggerOptions | None = None
) -> PipelineInstance:
    assert services.scheduling is not None
    return await services.scheduling.trigger_manual(name, username="admin", options=options)


async def finish_job(
    services: Services, job_id: int | None, result: JobResult = JobResult.PASSED
) -> None:
    """Walk a scheduled job through an agent to completion with `result`."""
    assert services.jobs is not None
    assert job_id is not None
    assert await services.jobs.assign(job_id, AGENT)
    await services.jobs.report(job_id, AGENT, JobState.BUILDING)
    await services.jobs.report(job_id, AGENT, JobState.COMPLETED, result)


async def start_job(services: Services, job_id: int | None) -> None:
    assert services.jobs is not None
    assert job_id is not None
    assert await services.jobs.assign(job_id, AGENT)
    await services.jobs.report(job_id, AGENT, JobState.BUILDING)


async def instance(services: Services, name: str, counter: int) -> PipelineInstance:
    async with services.uow(read_only=True) as uow:
        found = await uow.pipeline_instances.find(name, counter)
    assert found is not None
    return found


async def run_to_end(
    services: Services, name: str, result: JobResult = JobResult.PASSED
) -> PipelineInstance:
    """Trigger a pipeline and finish every job of its first stage with `result`."""
    started = await trigger(services, name)
    for j in started.stages[0].jobs:
        await finish_job(services, j.id, result)
    return await instance(services, name, started.counter)
