"""A cancel that races the agent's reports: the job's row moved on between reading and
cancelling it (on PostgreSQL a report commits in its own transaction meanwhile)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pygocd.domain.states import JobResult, JobState
from pygocd.services.registry import Services
from pygocd.services.stages import cancel_job_row
from tests.builders import commit, git, pipeline, save, stage, trigger

pytestmark = pytest.mark.db


async def test_a_cancel_retries_when_the_job_moved_on_meanwhile(services: Services) -> None:
    await save(services, pipeline("app", stage("build")))
    await commit(services, git())
    instance = await trigger(services, "app")
    [stale] = instance.stages[0].jobs
    assert stale.state is JobState.SCHEDULED
    now = services.clock.now()
    async with services.uow() as uow:  # the agent's report, committed before the cancel
        assert await uow.jobs.change_state(stale, JobState.ASSIGNED, now, agent_uuid="a1")
        moved = replace(stale, state=JobState.ASSIGNED)
        assert await uow.jobs.change_state(moved, JobState.BUILDING, now)
        await uow.commit()

    async with services.uow() as uow:
        cancelled = await cancel_job_row(uow, stale, now)
        await uow.commit()

    assert cancelled is not None
    assert (cancelled.state, cancelled.result) == (JobState.COMPLETED, JobResult.CANCELLED)
    async with services.uow(read_only=True) as uow:
        found = await uow.jobs.get(stale.id or 0)
    assert found is not None
    assert (found[0].state, found[0].result) == (JobState.COMPLETED, JobResult.CANCELLED)


async def test_a_cancel_leaves_a_job_that_finished_meanwhile_alone(services: Services) -> None:
    await save(services, pipeline("app", stage("build")))
    await commit(services, git())
    instance = await trigger(services, "app")
    [stale] = instance.stages[0].jobs
    now = services.clock.now()
    async with services.uow() as uow:
        assert await uow.jobs.change_state(stale, JobState.COMPLETED, now, result=JobResult.PASSED)
        await uow.commit()

    async with services.uow() as uow:
        assert await cancel_job_row(uow, stale, now) is None
        await uow.commit()

    async with services.uow(read_only=True) as uow:
        found = await uow.jobs.get(stale.id or 0)
    assert found is not None
    assert found[0].result is JobResult.PASSED
