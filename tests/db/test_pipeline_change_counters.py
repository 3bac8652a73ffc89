"""The per-pipeline change counters (`pipeline_changes`, migration 0002) that the dashboard
and CCTray read models trust: every write that changes what they show raises the counter
of that pipeline alone, and the triggers that do it are all in place at the head."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from pygocd.domain.pipelines import LockBehavior
from pygocd.domain.states import JobResult, JobState
from pygocd.services.registry import Services
from tests import builders as b

pytestmark = pytest.mark.db

TRIGGERS = {
    f"pipeline_changes_{table}_{event}"
    for table in ("pipelines", "pipeline_states", "stages", "jobs")
    for event in ("insert", "update")
}


async def test_every_change_trigger_is_in_place_at_the_head(engine: AsyncEngine) -> None:
    # A later migration that recreates one of these tables (SQLite's batch mode copies the
    # table) drops its triggers: it must create them again.
    query = (
        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        if engine.dialect.name == "postgresql"
        else "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    )
    async with engine.connect() as connection:
        names = set((await connection.execute(text(query))).scalars())
    assert names >= TRIGGERS


async def versions(services: Services) -> dict[str, int]:
    async with services.uow(read_only=True) as uow:
        return await uow.dashboard.change_versions()


async def test_each_write_raises_the_counter_of_its_pipeline_only(services: Services) -> None:
    await b.save(
        services,
        b.pipeline("up42", b.stage("build"), b.stage("ship"), lock=LockBehavior.LOCK_ON_FAILURE),
        b.pipeline("other"),
    )
    await b.commit(services)
    assert await versions(services) == {}

    steps = []
    started = await b.trigger(services, "up42")
    steps.append(await versions(services))
    job_id = started.stages[0].jobs[0].id
    assert services.jobs is not None
    assert services.stages is not None
    assert await services.jobs.assign(job_id or 0, b.AGENT)
    steps.append(await versions(services))
    await services.jobs.report(job_id or 0, b.AGENT, JobState.COMPLETED, JobResult.FAILED)
    steps.append(await versions(services))
    await services.stages.unlock("up42")
    steps.append(await versions(services))
    await services.stages.pause("up42", username="alice", cause=None)
    steps.append(await versions(services))
    await services.stages.unpause("up42", username="alice")
    steps.append(await versions(services))

    assert all(set(step) == {"up42"} for step in steps)
    counters = [step["up42"] for step in steps]
    assert counters == sorted(set(counters))  # each step raised it

    await services.stages.pause("other", username="alice", cause=None)
    after = await versions(services)
    assert after["up42"] == counters[-1]
    assert after["other"] >= 1
    async with services.uow(read_only=True) as uow:
        assert await uow.dashboard.change_marker() == (2, sum(after.values()))
