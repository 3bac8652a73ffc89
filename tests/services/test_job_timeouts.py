"""GoCD's job timeout: no console output (or no agent) for longer than the timeout cancels."""

from __future__ import annotations

from pathlib import Path

import pytest

from pygocd.domain.materials import GitMaterialConfig
from pygocd.domain.pipelines import JobConfig, PipelineConfig, StageConfig
from pygocd.domain.states import JobResult, StageState
from pygocd.domain.tasks import ExecTask
from pygocd.services.artifact_disk import DiskArtifactStore
from pygocd.services.artifacts import ArtifactService, job_locator
from pygocd.services.job_timeouts import JobTimeoutService
from pygocd.services.registry import Services
from tests.builders import commit, instance, save, start_job, trigger
from tests.fakes import FakeClock

pytestmark = pytest.mark.db

REPO = GitMaterialConfig(url="https://example.com/app.git", name="app")


async def setup(services: Services, minutes: int | None) -> None:
    job = JobConfig("slow", tasks=(ExecTask("sleep"),), timeout=minutes)
    await save(
        services,
        PipelineConfig("app", materials=(REPO,), stages=(StageConfig("s", jobs=(job,)),)),
    )
    await commit(services, REPO)


def sweeper(services: Services, tmp_path: Path, default: float = 0) -> JobTimeoutService:
    assert services.jobs is not None
    artifacts = ArtifactService(DiskArtifactStore(tmp_path / "artifacts"))
    return JobTimeoutService(
        services.uow, services.clock, services.config, services.jobs, artifacts, default
    )


async def building_job(services: Services) -> int:
    started = await trigger(services, "app")
    job_id = started.stages[0].jobs[0].id
    assert job_id is not None
    await start_job(services, job_id)
    return job_id


async def test_a_silent_building_job_is_cancelled_after_its_timeout(
    services: Services, clock: FakeClock, tmp_path: Path
) -> None:
    await setup(services, minutes=5)
    sweep = sweeper(services, tmp_path)
    job_id = await building_job(services)
    assert await sweep.sweep() == []
    clock.advance(4 * 60)
    assert await sweep.sweep() == []
    clock.advance(2 * 60)
    assert await sweep.sweep() == [job_id]
    stage = (await instance(services, "app", 1)).stages[0]
    assert (stage.state, stage.jobs[0].result) == (StageState.CANCELLED, JobResult.CANCELLED)
    assert sweep._artifacts is not None
    _, identifier = await services.jobs.get(job_id)  # type: ignore[union-attr]
    console = b"".join(
        [
            c
            async for c in sweep._artifacts.store.read(
                job_locator(identifier), "cruise-output/console.log"
            )
        ]
    ).decode()
    assert "has not generated any console output for more than 5 minute(s)" in console


async def test_console_output_keeps_a_job_alive(
    services: Services, clock: FakeClock, tmp_path: Path
) -> None:
    await setup(services, minutes=5)
    sweep = sweeper(services, tmp_path)
    job_id = await building_job(services)
    _, identifier = await services.jobs.get(job_id)  # type: ignore[union-attr]
    assert sweep._artifacts is not None
    for _ in range(4):
        clock.advance(4 * 60)
        await sweep._artifacts.note(job_locator(identifier), "still working")
        assert await sweep.sweep() == []


async def test_a_job_waiting_for_an_agent_too_long_is_cancelled(
    services: Services, clock: FakeClock, tmp_path: Path
) -> None:
    await setup(services, minutes=None)
    sweep = sweeper(services, tmp_path, default=10)
    started = await trigger(services, "app")
    clock.advance(11 * 60)
    assert await sweep.sweep() == [started.stages[0].jobs[0].id]


async def test_no_timeout_means_never(services: Services, clock: FakeClock, tmp_path: Path) -> None:
    await setup(services, minutes=None)
    sweep = sweeper(services, tmp_path)
    await building_job(services)
    clock.advance(24 * 3600)
    assert await sweep.sweep() == []
