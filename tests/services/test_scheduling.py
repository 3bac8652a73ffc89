"""Triggers, stage flow, approvals, locking, pause, cancel and reruns on a real database.

Agents do not exist here: tests move jobs along through `JobService` exactly as the agent API
will, so every rule is exercised through the same code path.
"""

from __future__ import annotations

import asyncio

import pytest

from pygocd.domain.errors import Conflict, Invalid, NotFound
from pygocd.domain.materials import DependencyMaterialConfig, GitMaterialConfig
from pygocd.domain.pipelines import (
    Approval,
    ApprovalType,
    JobConfig,
    LockBehavior,
    PipelineConfig,
    StageConfig,
)
from pygocd.domain.runs import BuildCauseType, PipelineInstance
from pygocd.domain.states import JobResult, JobState, StageResult, StageState
from pygocd.domain.tasks import ExecTask
from pygocd.domain.variables import EnvironmentVariable
from pygocd.services.events import JOB_CHANGED, MATERIAL_UPDATED
from pygocd.services.jobs import JobService, NotYourJob, ReportOutcome
from pygocd.services.reactions import handle
from pygocd.services.registry import Services
from pygocd.services.scheduling import SchedulingService, TriggerOptions
from pygocd.services.stages import RerunError, StageService
from tests.builders import commit, save
from tests.builders import instance as load

pytestmark = pytest.mark.db

AGENT = "agent-1"
REPO = GitMaterialConfig(url="https://example.com/app.git", name="app")


def job(name: str) -> JobConfig:
    return JobConfig(name, tasks=(ExecTask("true"),))


def stage(
    name: str, *jobs: str, manual: bool = False, only_on_success: bool = False
) -> StageConfig:
    approval = Approval(
        ApprovalType.MANUAL if manual else ApprovalType.SUCCESS,
        allow_only_on_success=only_on_success,
    )
    return StageConfig(name, jobs=tuple(job(j) for j in jobs or ("run",)), approval=approval)


def pipeline(name: str = "app", *stages: StageConfig, **kw: object) -> PipelineConfig:
    return PipelineConfig(
        name=name,
        materials=kw.pop("materials", (REPO,)),  # type: ignore[arg-type]
        stages=stages or (stage("build"), stage("test")),
        **kw,  # type: ignore[arg-type]
    )


def sched(services: Services) -> SchedulingService:
    assert services.scheduling is not None
    return services.scheduling


def stages_of(services: Services) -> StageService:
    assert services.stages is not None
    return services.stages


def jobs_of(services: Services) -> JobService:
    assert services.jobs is not None
    return services.jobs


async def finish(
    services: Services,
    name: str,
    counter: int,
    stage_name: str,
    result: JobResult = JobResult.PASSED,
) -> None:
    """Run every active job of the latest run of a stage to completion with `result`."""
    instance = await load(services, name, counter)
    run = instance.latest_stage(stage_name)
    assert run is not None
    for j in run.jobs:
        if j.ignored or not j.state.is_active:
            continue
        assert j.id is not None
        await jobs_of(services).assign(j.id, AGENT)
        await jobs_of(services).report(j.id, AGENT, JobState.BUILDING)
        await jobs_of(services).report(j.id, AGENT, JobState.COMPLETED, result)


@pytest.fixture
async def app_pipeline(services: Services) -> PipelineConfig:
    config = pipeline()
    await save(services, config)
    await commit(services, REPO, "r1")
    return config


async def test_manual_trigger_creates_an_instance_with_its_first_stage(
    services: Services, app_pipeline: PipelineConfig
) -> None:
    async with services.bus.subscribe(JOB_CHANGED) as events:
        instance = await sched(services).trigger_manual("APP", username="bob")
        event = await asyncio.wait_for(events.__anext__(), 1)
    assert (instance.counter, instance.label) == (1, "1")
    cause = instance.build_cause
    assert (cause.type, cause.message, cause.approver) == (
        BuildCauseType.MANUAL_FORCED,
        "Forced by bob",
        "bob",
    )
    assert cause.trigger_forced
    [revision] = cause.material_revisions
    assert (revision.revision, revision.changed) == ("r1", True)
    assert [s.name for s in instance.stages] == ["build"]
    assert event.payload["state"] == "Scheduled"


async def test_a_material_never_seen_has_no_revisions_yet(services: Services) -> None:
    await save(services, pipeline("fresh"))
    with pytest.raises(Invalid, match=r"\{ Material app has no revisions yet \}$"):
        await sched(services).trigger_manual(
            "fresh", options=TriggerOptions(update_materials_before_scheduling=False)
        )


async def test_unknown_pipeline_material_or_variable_is_refused(
    services: Services, app_pipeline: PipelineConfig
) -> None:
    with pytest.raises(NotFound, match=r"Pipeline 'nope' not found\."):
        await sched(services).trigger_manual("nope")
    with pytest.raises(Invalid, match="does not contain the following material"):
        await sched(services).trigger_manual("app", options=TriggerOptions(revisions={"x": "1"}))
    with pytest.raises(Invalid, match="Variable 'X' has not been configured"):
        await sched(services).trigger_manual(
            "app", options=TriggerOptions(variables=(EnvironmentVariable("X", "1"),))
        )


async def test_a_pinned_revision_is_used(services: Services, app_pipeline: PipelineConfig) -> None:
    await commit(services, REPO, "r2")
    pinned = TriggerOptions(revisions={REPO.fingerprint: "r1"})
    instance = await sched(services).trigger_manual("app", options=pinned)
    assert instance.build_cause.material_revisions[0].revision == "r1"
    await finish(services, "app", 1, "build")
    await finish(services, "app", 1, "test")
    with pytest.raises(Invalid, match="Unable to find revision"):
        await sched(services).trigger_manual(
            "app", options=TriggerOptions(revisions={REPO.fingerprint: "zzz"})
        )


async def test_passing_stage_schedules_the_next_and_the_pipeline_passes(
    services: Services, app_pipeline: PipelineConfig
) -> None:
    await sched(services).trigger_manual("app")
    await finish(services, "app", 1, "build")
    instance = await load(services, "app", 1)
    assert [(s.name, s.state) for s in instance.stages] == [
        ("build", StageState.PASSED),
        ("test", StageState.BUILDING),
    ]
    assert instance.stages[1].approved_by == "changes"
    await finish(services, "app", 1, "test")
    instance = await load(services, "app", 1)
    assert [s.result for s in instance.stages] == [StageResult.PASSED, StageResult.PASSED]


async def test_a_failing_job_fails_the_stage_and_stops_the_pipeline(
    services: Services, app_pipeline: PipelineConfig
) -> None:
    await save(services, pipeline("app", stage("build", "a", "b"), stage("test")))
    instance = await sched(services).trigger_manual("app")
    first, second = instance.stages[0].jobs
    assert first.id is not None
    assert second.id is not None
    await jobs_of(services).assign(first.id, AGENT)
    await jobs_of(services).report(first.id, AGENT, JobState.COMPLETED, JobResult.FAILED)
    failing = (await load(services, "app", 1)).stages[0]
    assert (failing.state, failing.result) == (StageState.FAILING, StageResult.FAILED)
    await jobs_of(services).assign(second.id, "agent-2")
    await jobs_of(services).report(second.id, "agent-2", JobState.COMPLETED, JobResult.PASSED)
    done = await load(services, "app", 1)
    assert [(s.name, s.state) for s in done.stages] == [("build", StageState.FAILED)]


async def test_an_agent_may_only_report_on_its_own_job(
    services: Services, app_pipeline: PipelineConfig
) -> None:
    instance = await sched(services).trigger_manual("app")
    job_id = instance.stages[0].jobs[0].id
    assert job_id is not None
    assert await jobs_of(services).assign(job_id, AGENT)
    assert not await jobs_of(services).assign(job_id, "agent-2")
    with pytest.raises(NotYourJob):
        await jobs_of(services).report(job_id, "agent-2", JobState.BUILDING)


async def test_a_job_goes_to_exactly_one_of_many_agents(
    services: Services, app_pipeline: PipelineConfig
) -> None:
    instance = await sched(services).trigger_manual("app")
    job_id = instance.stages[0].jobs[0].id
    assert job_id is not None
    claims = await asyncio.gather(*(jobs_of(services).assign(job_id, f"a{i}") for i in range(10)))
    assert claims.count(True) == 1


async def test_manual_gate_waits_for_an_approval(services: Services) -> None:
    await save(services, pipeline("app", stage("build"), stage("deploy", manual=True)))
    await commit(services, REPO, "r1")
    await sched(services).trigger_manual("app")
    await finish(services, "app", 1, "build")
    assert [s.name for s in (await load(services, "app", 1)).stages] == ["build"]
    approved = await stages_of(services).run_stage("app", 1, "deploy", username="carol")
    assert (approved.approved_by, approved.counter) == ("carol", 1)
    assert (await load(services, "app", 1)).latest_stage("deploy") is not None


async def test_allow_only_on_success_refuses_after_a_failure(services: Services) -> None:
    await save(
        services,
        pipeline("app", stage("build"), stage("deploy", manual=True, only_on_success=True)),
    )
    await commit(services, REPO, "r1")
    await sched(services).trigger_manual("app")
    await finish(services, "app", 1, "build", JobResult.FAILED)
    with pytest.raises(
        Conflict, match="Cannot schedule deploy as the previous stage build has Failed!"
    ):
        await stages_of(services).run_stage("app", 1, "deploy", username="carol")


async def test_a_stage_whose_previous_stage_never_ran_cannot_run(services: Services) -> None:
    await save(
        services, pipeline("app", stage("build"), stage("test", manual=True), stage("deploy"))
    )
    await commit(services, REPO, "r1")
    await sched(services).trigger_manual("app")
    await finish(services, "app", 1, "build")
    with pytest.raises(RerunError, match="because its previous stage has not been run"):
        await stages_of(services).run_stage("app", 1, "deploy", username="x")


async def test_a_second_trigger_while_the_first_stage_runs_is_refused(
    services: Services, app_pipeline: PipelineConfig
) -> None:
    await sched(services).trigger_manual("app")
    with pytest.raises(Conflict, match=r"Stage \[build\] in pipeline \[app\] is still in progress"):
        await sched(services).trigger_manual("app")


async def test_twenty_concurrent_manual_triggers_make_one_instance(
    services: Services, app_pipeline: PipelineConfig
) -> None:
    results = await asyncio.gather(
        *(sched(services).trigger_manual("app") for _ in range(20)), return_exceptions=True
    )
    created = [r for r in results if isinstance(r, PipelineInstance)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(created) == 1
    assert len(refused) == 19
    assert all(
        "Pipeline already triggered" in str(r) or "still in progress" in str(r) for r in refused
    )
    async with services.uow(read_only=True) as uow:
        assert await uow.pipeline_instances.list_counters("app") == [1]


async def test_pause_blocks_triggers_until_unpaused(
    services: Services, app_pipeline: PipelineConfig
) -> None:
    await stages_of(services).pause("app", username="ops", cause="maintenance")
    with pytest.raises(Conflict, match=r"Pipeline app is paused"):
        await sched(services).trigger_manual("app")
    with pytest.raises(Conflict, match="is already paused"):
        await stages_of(services).pause("app", username="ops", cause="again")
    async with services.uow(read_only=True) as uow:
        state = await uow.pipeline_instances.state("app")
    assert (state.pause.paused, state.pause.paused_by, state.pause.pause_reason) == (
        True,
        "ops",
        "maintenance",
    )
    await stages_of(services).unpause("app", username="ops")
    with pytest.raises(Conflict, match="is already unpaused"):
        await stages_of(services).unpause("app", username="ops")
    assert (await sched(services).trigger_manual("app")).counter == 1


async def test_pause_stops_the_next_stage_from_starting(
    services: Services, app_pipeline: PipelineConfig
) -> None:
    await sched(services).trigger_manual("app")
    await stages_of(services).pause("app", username="ops", cause=None)
    await finish(services, "app", 1, "build")
    assert [s.name for s in (await load(services, "app", 1)).stages] == ["build"]


@pytest.mark.parametrize(
    "behavior", [LockBehavior.LOCK_ON_FAILURE, LockBehavior.UNLOCK_WHEN_FINISHED]
)
async def test_a_locked_pipeline_runs_one_instance_at_a_time(
    services: Services, behavior: LockBehavior
) -> None:
    await save(services, pipeline("app", lock_behavior=behavior))
    await commit(services, REPO, "r1")
    await sched(services).trigger_manual("app")
    await finish(services, "app", 1, "build")
    with pytest.raises(Conflict, match="is locked as another instance"):
        await sched(services).trigger_manual("app")
    await finish(services, "app", 1, "test")
    assert (await sched(services).trigger_manual("app")).counter == 2


async def test_lock_on_failure_keeps_the_lock_until_unlocked(services: Services) -> None:
    await save(services, pipeline("app", lock_behavior=LockBehavior.LOCK_ON_FAILURE))
    await commit(services, REPO, "r1")
    await sched(services).trigger_manual("app")
    await finish(services, "app", 1, "build", JobResult.FAILED)
    with pytest.raises(Conflict, match="is locked"):
        await sched(services).trigger_manual("app")
    await stages_of(services).unlock("app")
    with pytest.raises(Conflict, match="no pipeline instance is currently in progress"):
        await stages_of(services).unlock("app")
    assert (await sched(services).trigger_manual("app")).counter == 2


async def test_unlock_when_finished_unlocks_after_a_failure(services: Services) -> None:
    await save(services, pipeline("app", lock_behavior=LockBehavior.UNLOCK_WHEN_FINISHED))
    await commit(services, REPO, "r1")
    await sched(services).trigger_manual("app")
    await finish(services, "app", 1, "build", JobResult.FAILED)
    assert (await sched(services).trigger_manual("app")).counter == 2


async def test_unlock_refusals(services: Services, app_pipeline: PipelineConfig) -> None:
    with pytest.raises(Conflict, match="No lock exists within the pipeline configuration for app"):
        await stages_of(services).unlock("app")
    with pytest.raises(NotFound, match="pipeline name nope is incorrect"):
        await stages_of(services).unlock("nope")
    await save(services, pipeline("app", lock_behavior=LockBehavior.LOCK_ON_FAILURE))
    await sched(services).trigger_manual("app")
    with pytest.raises(Conflict, match="currently running"):
        await stages_of(services).unlock("app")


async def test_cancel_stops_every_unfinished_job(
    services: Services, app_pipeline: PipelineConfig
) -> None:
    instance = await sched(services).trigger_manual("app")
    job_id = instance.stages[0].jobs[0].id
    assert job_id is not None
    await jobs_of(services).assign(job_id, AGENT)
    await jobs_of(services).report(job_id, AGENT, JobState.BUILDING)
    assert await stages_of(services).cancel_stage("app", 1, "build", 1, username="ops")
    cancelled = (await load(services, "app", 1)).stages[0]
    assert (cancelled.state, cancelled.result, cancelled.cancelled_by) == (
        StageState.CANCELLED,
        StageResult.CANCELLED,
        "ops",
    )
    assert cancelled.jobs[0].result is JobResult.CANCELLED
    outcome = await jobs_of(services).report(job_id, AGENT, JobState.COMPLETED, JobResult.PASSED)
    assert outcome is ReportOutcome.IGNORED
    assert not await stages_of(services).cancel_stage("app", 1, "build", 1, username="ops")
    assert [s.name for s in (await load(services, "app", 1)).stages] == ["build"]


async def test_rerun_stage_gets_a_new_counter(
    services: Services, app_pipeline: PipelineConfig
) -> None:
    await sched(services).trigger_manual("app")
    await finish(services, "app", 1, "build")
    await finish(services, "app", 1, "test", JobResult.FAILED)
    rerun = await stages_of(services).run_stage("app", 1, "test", username="dave")
    assert (rerun.counter, rerun.approved_by, rerun.rerun_of_counter) == (2, "dave", None)
    instance = await load(services, "app", 1)
    runs = [s for s in instance.stages if s.name == "test"]
    assert [(s.counter, s.latest_run) for s in runs] == [(1, False), (2, True)]


async def test_rerun_failed_jobs_copies_the_passed_ones(services: Services) -> None:
    await save(services, pipeline("app", stage("build", "good", "bad")))
    await commit(services, REPO, "r1")
    instance = await sched(services).trigger_manual("app")
    good, bad = instance.stages[0].jobs
    for j, result in ((good, JobResult.PASSED), (bad, JobResult.FAILED)):
        assert j.id is not None
        await jobs_of(services).assign(j.id, AGENT)
        await jobs_of(services).report(j.id, AGENT, JobState.COMPLETED, result)
    rerun = await stages_of(services).rerun_jobs("app", 1, "build", 1, None, username="eve")
    assert (rerun.counter, rerun.rerun_of_counter) == (2, 1)
    copied, fresh = rerun.jobs
    assert (copied.name, copied.state, copied.result, copied.original_job_id, copied.rerun) == (
        "good",
        JobState.COMPLETED,
        JobResult.PASSED,
        good.id,
        False,
    )
    assert (fresh.name, fresh.state, fresh.rerun) == ("bad", JobState.SCHEDULED, True)
    await finish(services, "app", 1, "build")
    assert (await load(services, "app", 1)).latest_stage("build").state is StageState.PASSED  # type: ignore[union-attr]


async def test_rerun_selected_jobs_and_its_refusals(services: Services) -> None:
    await save(services, pipeline("app", stage("build", "a", "b")))
    await commit(services, REPO, "r1")
    await sched(services).trigger_manual("app")
    await finish(services, "app", 1, "build")
    with pytest.raises(RerunError, match="There are no failed jobs"):
        await stages_of(services).rerun_jobs("app", 1, "build", 1, None, username="x")
    with pytest.raises(RerunError, match="No job was selected"):
        await stages_of(services).rerun_jobs("app", 1, "build", 1, [], username="x")
    with pytest.raises(NotFound, match=r"Job\(s\) \['zz'\] does not exist"):
        await stages_of(services).rerun_jobs("app", 1, "build", 1, ["zz"], username="x")
    rerun = await stages_of(services).rerun_jobs("app", 1, "build", 1, ["b"], username="x")
    assert [(j.name, j.rerun) for j in rerun.jobs] == [("a", False), ("b", True)]
    await finish(services, "app", 1, "build")
    again = await stages_of(services).rerun_jobs("app", 1, "build", 2, ["a"], username="x")
    assert again.rerun_of_counter == 1  # a rerun of a rerun keeps the original counter


async def test_a_material_change_triggers_automatically(
    services: Services, app_pipeline: PipelineConfig
) -> None:
    [instance] = await sched(services).on_material_updated(REPO.fingerprint)
    assert instance.build_cause.type is BuildCauseType.MODIFICATION
    assert instance.build_cause.approver == "changes"
    assert instance.build_cause.message == "modified by alice <alice@example.com>"
    # Nothing new: no second instance.
    await finish(services, "app", 1, "build")
    await finish(services, "app", 1, "test")
    assert await sched(services).on_material_updated(REPO.fingerprint) == []
    await commit(services, REPO, "r2")
    [second] = await sched(services).on_material_updated(REPO.fingerprint)
    assert second.counter == 2
    assert second.build_cause.material_revisions[0].revision == "r2"


async def test_a_manual_first_stage_is_never_auto_triggered(services: Services) -> None:
    await save(services, pipeline("app", stage("build", manual=True)))
    await commit(services, REPO, "r1")
    assert await sched(services).on_material_updated(REPO.fingerprint) == []
    assert (await sched(services).trigger_manual("app")).counter == 1


async def test_an_auto_trigger_blocked_by_a_running_first_stage_runs_later(
    services: Services, app_pipeline: PipelineConfig
) -> None:
    await sched(services).trigger_manual("app")
    await commit(services, REPO, "r2")
    assert await sched(services).on_material_updated(REPO.fingerprint) == []
    assert "app" in sched(services).blocked
    await finish(services, "app", 1, "build")
    later = await sched(services).retry_blocked("app")
    assert later is not None
    assert later.counter == 2


async def test_an_upstream_pass_triggers_the_downstream_pipeline(services: Services) -> None:
    upstream = pipeline("up", stage("build"))
    downstream = pipeline(
        "down",
        stage("deploy"),
        materials=(DependencyMaterialConfig(pipeline="up", stage="build"),),
        label_template="${up}-${COUNT}",
    )
    await save(services, upstream, downstream)
    await commit(services, REPO, "r1")
    await sched(services).trigger_manual("up")
    async with services.bus.subscribe(MATERIAL_UPDATED) as events:
        await finish(services, "up", 1, "build")
        event = await asyncio.wait_for(events.__anext__(), 1)
    await handle(event, sched(services))
    [down] = (await load(services, "down", 1),)
    assert down.label == "1-1"
    [revision] = down.build_cause.material_revisions
    assert revision.revision == "up/1/build/1"
    assert down.build_cause.message == "triggered by up/1/build/1"


async def test_ignore_for_scheduling_does_not_trigger(services: Services) -> None:
    upstream = pipeline("up", stage("build"))
    dependency = DependencyMaterialConfig(pipeline="up", stage="build", ignore_for_scheduling=True)
    downstream = pipeline("down", stage("deploy"), materials=(dependency,))
    await save(services, upstream, downstream)
    await commit(services, REPO, "r1")
    await sched(services).trigger_manual("up")
    await finish(services, "up", 1, "build")
    assert await sched(services).on_material_updated(dependency.fingerprint) == []


async def test_a_later_instance_catches_up_on_a_busy_stage(
    services: Services, app_pipeline: PipelineConfig
) -> None:
    await sched(services).trigger_manual("app")
    await finish(services, "app", 1, "build")  # test stage of #1 is now running
    await sched(services).trigger_manual("app")
    await finish(services, "app", 2, "build")  # test is busy in #1: #2 must wait
    assert (await load(services, "app", 2)).latest_stage("test") is None
    await finish(services, "app", 1, "test")
    assert (await load(services, "app", 2)).latest_stage("test") is not None


async def test_timer_only_on_changes_skips_without_changes(
    services: Services, app_pipeline: PipelineConfig
) -> None:
    first = await sched(services).trigger_timer("app", only_on_changes=True)
    assert first is not None
    assert first.build_cause.approver == "timer"
    await finish(services, "app", 1, "build")
    await finish(services, "app", 1, "test")
    assert await sched(services).trigger_timer("app", only_on_changes=True) is None
    assert await sched(services).trigger_timer("app", only_on_changes=False) is not None


async def test_reschedule_replaces_the_job_row(
    services: Services, app_pipeline: PipelineConfig
) -> None:
    instance = await sched(services).trigger_manual("app")
    job_id = instance.stages[0].jobs[0].id
    assert job_id is not None
    await jobs_of(services).assign(job_id, AGENT)
    fresh = await jobs_of(services).reschedule(job_id)
    assert fresh is not None
    assert (fresh.name, fresh.state, fresh.agent_uuid) == ("run", JobState.SCHEDULED, None)
    jobs = (await load(services, "app", 1)).stages[0].jobs
    assert [(j.state, j.ignored) for j in jobs] == [
        (JobState.RESCHEDULED, True),
        (JobState.SCHEDULED, False),
    ]


async def test_cancelling_one_job_decides_its_stage(
    services: Services, app_pipeline: PipelineConfig
) -> None:
    instance = await sched(services).trigger_manual("app")
    job_id = instance.stages[0].jobs[0].id
    assert job_id is not None
    assert await jobs_of(services).cancel(job_id)
    assert not await jobs_of(services).cancel(job_id)
    assert (await load(services, "app", 1)).stages[0].state is StageState.CANCELLED


async def finish_and_react(services: Services, name: str, counter: int, stage_name: str) -> None:
    """Finish a stage and run the reactions its events cause, as the server's loop does."""
    async with services.bus.subscribe(MATERIAL_UPDATED) as events:
        await finish(services, name, counter, stage_name)
        while not events.queue.empty():
            await handle(events.queue.get_nowait(), sched(services))


async def counters(services: Services, name: str) -> list[int]:
    async with services.uow(read_only=True) as uow:
        return await uow.pipeline_instances.list_counters(name)


async def test_a_diamond_runs_only_with_consistent_revisions(services: Services) -> None:
    left = pipeline("left", stage("build"))
    right = pipeline("right", stage("build"))
    join = pipeline(
        "join",
        stage("deploy"),
        materials=(
            DependencyMaterialConfig(pipeline="left", stage="build"),
            DependencyMaterialConfig(pipeline="right", stage="build"),
        ),
    )
    await save(services, left, right, join)
    await commit(services, REPO, "r1")
    assert len(await sched(services).on_material_updated(REPO.fingerprint)) == 2
    await finish_and_react(services, "left", 1, "build")
    assert await counters(services, "join") == []  # right has not passed yet
    await finish_and_react(services, "right", 1, "build")
    assert await counters(services, "join") == [1]
    await finish(services, "join", 1, "deploy")

    await commit(services, REPO, "r2")
    assert len(await sched(services).on_material_updated(REPO.fingerprint)) == 2
    await finish_and_react(services, "left", 2, "build")
    # left#2 (r2) and right#1 (r1) disagree on the repo: join waits rather than mix them.
    assert await counters(services, "join") == [1]
    await finish_and_react(services, "right", 2, "build")
    assert await counters(services, "join") == [1, 2]
    second = await load(services, "join", 2)
    assert sorted(r.revision for r in second.build_cause.material_revisions) == [
        "left/2/build/1",
        "right/2/build/1",
    ]


async def test_a_pipeline_timer_fires_with_the_clock(services: Services) -> None:
    from pygocd.domain.pipelines import Timer
    from pygocd.services.timers import TimerService
    from tests.fakes import FakeClock

    clock = services.clock
    assert isinstance(clock, FakeClock)
    await save(services, pipeline("nightly", timer=Timer("0 0 * ? * *", only_on_changes=False)))
    await commit(services, REPO, "r1")
    timers = TimerService(services.config, sched(services), clock)
    assert await timers.fire_due() == []  # first look only learns the next fire time
    clock.advance(30 * 60)
    assert await timers.fire_due() == []
    clock.advance(60 * 60)
    [fired] = await timers.fire_due()
    assert (fired.name, fired.build_cause.approver) == ("nightly", "timer")
    assert await timers.fire_due() == []


async def test_an_invalid_timer_is_ignored(services: Services) -> None:
    from pygocd.domain.pipelines import Timer
    from pygocd.services.timers import TimerService

    await save(services, pipeline("bad", timer=Timer("not cron")))
    timers = TimerService(services.config, sched(services), services.clock)
    assert timers.due(services.clock.now()) == []


async def test_a_change_only_to_ignored_paths_does_not_trigger(services: Services) -> None:
    from pygocd.domain.materials import MaterialFilter

    filtered = GitMaterialConfig(
        url="https://example.com/app.git", name="app", filter=MaterialFilter(ignore=("docs/**/*",))
    )
    await save(services, pipeline("app", materials=(filtered,)))
    await commit(services, filtered, "r1", files=("src/main.py",))
    [first] = await sched(services).on_material_updated(filtered.fingerprint)
    await finish(services, "app", 1, "build")
    await finish(services, "app", 1, "test")
    await commit(services, filtered, "r2", files=("docs/guide/intro.md",))
    assert await sched(services).on_material_updated(filtered.fingerprint) == []
    await commit(
        services,
        filtered,
        "r3",
        files=(
            "docs/guide/more.md",
            "src/main.py",
        ),
    )
    [second] = await sched(services).on_material_updated(filtered.fingerprint)
    assert second.counter == first.counter + 1
    assert [m.revision for m in second.build_cause.material_revisions[0].modifications] == [
        "r3",
        "r2",
    ]


async def test_a_manual_trigger_is_not_overtaken_by_the_update_it_starts(
    services: Services,
) -> None:
    """Updating materials before a manual trigger finds a new commit; the automatic trigger
    that commit causes must not take the run from the manual one."""
    await save(services, pipeline())

    async def update_material(material: object) -> object:
        await commit(services, REPO, "r9")
        # What the reaction loop does when the update publishes its new modification:
        assert await scheduling.trigger_automatic("app") is None
        return None

    scheduling = SchedulingService(
        services.uow, services.clock, services.bus, services.config, update_material
    )
    instance = await scheduling.trigger_manual("app", username="ann")
    assert instance.build_cause.type is BuildCauseType.MANUAL_FORCED
    assert instance.build_cause.material_revisions[0].revision == "r9"


async def test_a_template_pipeline_runs_the_templates_stages_with_its_params(
    services: Services,
) -> None:
    from pygocd.domain.config import CruiseConfig
    from pygocd.domain.pipelines import PipelineGroup, TemplateConfig
    from pygocd.domain.variables import Parameter

    template = TemplateConfig(
        "build-and-test",
        stages=(
            StageConfig(
                "#{first}", jobs=(JobConfig("run", tasks=(ExecTask("make", ("#{target}",)),)),)
            ),
            stage("test"),
        ),
    )
    uses = PipelineConfig(
        name="app",
        materials=(REPO,),
        template="build-and-test",
        parameters=(Parameter("first", "compile"), Parameter("target", "all")),
    )
    await services.config.save(
        CruiseConfig(groups=(PipelineGroup("main", (uses,)),), templates=(template,)),
        expected_md5=services.config.current.md5,
        author="t",
        message="template",
    )
    await commit(services, REPO, "r1")
    assert services.config.current.find_pipeline("app") == uses  # as written, for the API
    runnable = services.config.current.runnable("app")
    assert runnable is not None
    assert [s.name for s in runnable.stages] == ["compile", "test"]
    task = runnable.stages[0].jobs[0].tasks[0]
    assert isinstance(task, ExecTask)
    assert task.arguments == ("all",)
    instance = await sched(services).trigger_manual("app")
    assert [s.name for s in instance.stages] == ["compile"]
    await finish(services, "app", 1, "compile")
    assert [s.name for s in (await load(services, "app", 1)).stages] == ["compile", "test"]
    # The stored document keeps the template reference, not the applied stages.
    assert services.config.stored.find_pipeline("app") == uses


async def test_run_on_all_agents_plans_one_job_per_matching_enabled_agent(
    services: Services,
) -> None:
    from pygocd.domain.agents import Agent
    from pygocd.domain.states import AgentConfigState

    async with services.uow() as uow:
        for uuid, state, resources in (
            ("a1", AgentConfigState.ENABLED, ("linux",)),
            ("a2", AgentConfigState.ENABLED, ("linux", "docker")),
            ("a3", AgentConfigState.DISABLED, ("linux",)),
            ("a4", AgentConfigState.ENABLED, ("windows",)),
        ):
            await uow.agents.add(
                Agent(uuid, f"host-{uuid}", config_state=state, resources=resources), "hash"
            )
        await uow.commit()
    everywhere = JobConfig(
        "smoke", tasks=(ExecTask("true"),), run_on_all_agents=True, resources=("linux",)
    )
    await save(services, pipeline("app", StageConfig("check", jobs=(everywhere,))))
    await commit(services, REPO, "r1")
    instance = await sched(services).trigger_manual("app")
    assert [(j.name, j.agent_uuid, j.run_on_all_agents) for j in instance.stages[0].jobs] == [
        ("smoke-runOnAll-1", "a1", True),
        ("smoke-runOnAll-2", "a2", True),
    ]
    # A pinned job goes to its own agent only.
    first = instance.stages[0].jobs[0]
    assert first.id is not None
    assert not await jobs_of(services).assign(first.id, "a2")
    assert await jobs_of(services).assign(first.id, "a1")
