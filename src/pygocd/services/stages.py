"""Stage flow after triggering: job completion → stage result → unlock, next stage, catch-up,
upstream dependency revisions; and the operator actions on stages: run (approve), rerun,
rerun jobs, cancel; pause, unpause, unlock.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from pygocd.domain.errors import Conflict, NotFound
from pygocd.domain.job_plans import new_stage_instance
from pygocd.domain.materials import DependencyMaterialConfig
from pygocd.domain.modifications import Modification
from pygocd.domain.pipelines import ApprovalType, PipelineConfig
from pygocd.domain.runs import (
    APPROVED_BY_CHANGES,
    JobInstance,
    JobStateTransition,
    PipelineInstance,
    StageInstance,
)
from pygocd.domain.scheduling import (
    failed_job_names,
    next_stage_counter,
    run_stage_refusal,
    should_unlock,
    stage_order,
)
from pygocd.domain.states import JobResult, JobState, StageResult, StageState, aggregate_stage_state
from pygocd.services.config import ConfigService
from pygocd.services.events import JOB_CHANGED, MATERIAL_UPDATED, PIPELINE_CHANGED, STAGE_CHANGED
from pygocd.services.instances import agent_context, environment_context
from pygocd.services.ports import Clock, EventBus, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("pygocd.stages")

Events = list[tuple[str, dict[str, object]]]

CANCELLED_BY_GOCD = "GoCD"


class RerunError(Conflict):
    """A rerun request GoCD answers with 400 (nothing to rerun, no job selected)."""


class StageService:
    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, bus: EventBus, config: ConfigService
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._bus = bus
        self._config = config

    # -- reading --------------------------------------------------------------------------

    def pipeline_config(self, name: str) -> PipelineConfig:
        pipeline = self._config.current.runnable(name)
        if pipeline is None:
            raise NotFound(f"Pipeline '{name}' not found.")
        return pipeline

    async def instance(self, uow: UnitOfWork, name: str, counter: int) -> PipelineInstance:
        found = await uow.pipeline_instances.find(name, counter)
        if found is None:
            raise NotFound(f"Pipeline instance '{name}/{counter}' was not found!")
        return found

    # -- job completion -------------------------------------------------------------------

    async def recalculate_stage(self, uow: UnitOfWork, stage_id: int, out: Events) -> None:
        """Aggregate a stage from its jobs; on completion run GoCD's follow-ups."""
        # Stage flow needs the stages and jobs, never the materials the instance was built from.
        instance = await uow.pipeline_instances.find_by_stage_id(stage_id, with_materials=False)
        assert instance is not None
        stage = next(s for s in instance.stages if s.id == stage_id)
        state = aggregate_stage_state(j for j in stage.jobs if not j.ignored)
        if state is stage.state:
            return
        now = self._clock.now()
        await uow.pipeline_instances.update_stage(stage_id, state, now)
        _stage_event(out, instance, replace(stage, state=state, result=state.result))
        if state.is_completed:
            completed = replace(stage, state=state, result=state.result)
            await self._after_stage_completed(uow, instance, completed, out)

    async def _after_stage_completed(
        self, uow: UnitOfWork, instance: PipelineInstance, stage: StageInstance, out: Events
    ) -> None:
        pipeline = self._config.current.runnable(instance.name)
        if pipeline is None or pipeline.find_stage(stage.name) is None:
            return
        if should_unlock(pipeline, stage.name, stage.result):
            await uow.pipeline_instances.set_lock(pipeline.name, None)
        if stage.result is StageResult.PASSED:
            await self._record_dependency_revision(uow, instance, stage, out)
        state = await uow.pipeline_instances.state(pipeline.name)
        if state.pause.paused:
            return
        await self._catch_up(uow, pipeline, instance, stage, out)
        following = pipeline.next_stage(stage.name)
        if (
            stage.result is StageResult.PASSED
            and following is not None
            and following.approval.type is ApprovalType.SUCCESS
        ):
            active = await uow.pipeline_instances.active_stages(pipeline.name)
            if not any(name.lower() == following.name.lower() for _, _, name in active):
                fresh = await self.instance(uow, instance.name, instance.counter)
                await self._schedule_stage(
                    uow, pipeline, fresh, following.name, APPROVED_BY_CHANGES, out
                )

    async def _catch_up(
        self,
        uow: UnitOfWork,
        pipeline: PipelineConfig,
        instance: PipelineInstance,
        stage: StageInstance,
        out: Events,
    ) -> None:
        """GoCD's `triggerCurrentStageInNewerPipeline`: a newer instance whose previous stage
        passed while this stage was busy here gets this stage now."""
        config = pipeline.find_stage(stage.name)
        order = stage_order(pipeline, stage.name)
        if config is None or order == 1 or config.approval.type is not ApprovalType.SUCCESS:
            return
        previous_name = pipeline.stages[order - 2].name
        for newer in await uow.pipeline_instances.latest(pipeline.name, 10, with_materials=False):
            if newer.counter <= instance.counter:
                continue
            previous_run = newer.latest_stage(previous_name)
            if previous_run is None or previous_run.result is not StageResult.PASSED:
                continue
            if newer.latest_stage(stage.name) is not None:
                continue
            active = await uow.pipeline_instances.active_stages(pipeline.name)
            if any(name.lower() == stage.name.lower() for _, _, name in active):
                return
            await self._schedule_stage(uow, pipeline, newer, stage.name, APPROVED_BY_CHANGES, out)
            return

    async def _record_dependency_revision(
        self, uow: UnitOfWork, instance: PipelineInstance, stage: StageInstance, out: Events
    ) -> None:
        """An upstream stage passed: every dependency material on it gets a modification."""
        material = DependencyMaterialConfig(pipeline=instance.name, stage=stage.name)
        if not self._config.current.pipelines_using(material.fingerprint):
            return
        material_id = await uow.materials.ensure(material)
        await uow.materials.add_modifications(
            material_id,
            [
                Modification(
                    revision=f"{instance.name}/{instance.counter}/{stage.name}/{stage.counter}",
                    modified_time=self._clock.now(),
                    pipeline_label=instance.label,
                )
            ],
        )
        out.append((MATERIAL_UPDATED, {"fingerprint": material.fingerprint}))

    # -- scheduling a stage ---------------------------------------------------------------

    async def _schedule_stage(
        self,
        uow: UnitOfWork,
        pipeline: PipelineConfig,
        instance: PipelineInstance,
        stage_name: str,
        approved_by: str,
        out: Events,
        *,
        jobs: tuple[JobInstance, ...] | None = None,
        rerun_of_counter: int | None = None,
    ) -> StageInstance:
        config = pipeline.find_stage(stage_name)
        assert config is not None
        assert instance.id is not None
        now = self._clock.now()
        fresh = new_stage_instance(
            config,
            order=stage_order(pipeline, stage_name),
            counter=next_stage_counter(instance, stage_name),
            approved_by=approved_by,
            now=now,
            config_version=self._config.current.md5 or None,
            **await agent_context(
                uow, pipeline, environment_context(self._config.current, pipeline.name)
            ),
        )
        if jobs is not None:
            fresh = replace(fresh, jobs=jobs, rerun_of_counter=rerun_of_counter)
        await uow.pipeline_instances.mark_older_runs(instance.id, stage_name)
        saved = await uow.pipeline_instances.add_stage(instance.id, fresh)
        if pipeline.lock_behavior.is_lockable:
            await uow.pipeline_instances.set_lock(pipeline.name, instance.id)
        _stage_event(out, instance, saved)
        for job in saved.jobs:
            job_event(out, instance, saved, job)
        # Copied jobs of a rerun may already be complete: the stage may be decided at once.
        if all(not j.state.is_active for j in saved.jobs) and saved.id is not None:
            await self.recalculate_stage(uow, saved.id, out)
        return saved

    async def run_stage(
        self, name: str, counter: int, stage_name: str, *, username: str
    ) -> StageInstance:
        """Approve a manual stage or rerun a stage (GoCD `POST /api/stages/.../run`)."""
        pipeline = self.pipeline_config(name)
        if pipeline.find_stage(stage_name) is None:
            raise NotFound(f"Stage '{stage_name}' not found in pipeline '{pipeline.name}'.")
        out: Events = []
        async with self._uow() as uow:
            instance = await self.instance(uow, pipeline.name, counter)
            await self._refuse_run(uow, pipeline, instance, stage_name)
            stage = await self._schedule_stage(uow, pipeline, instance, stage_name, username, out)
            await uow.commit()
        await self.publish(out)
        return stage

    async def _refuse_run(
        self, uow: UnitOfWork, pipeline: PipelineConfig, instance: PipelineInstance, stage: str
    ) -> None:
        state = await uow.pipeline_instances.state(pipeline.name)
        active = await uow.pipeline_instances.active_stages(pipeline.name)
        refusal = run_stage_refusal(pipeline, instance, stage, state, active)
        if refusal is not None:
            status, message = refusal
            raise (RerunError if status == 400 else Conflict)(message)
        if state.lock.locked and state.lock.locked_by_pipeline_id not in (None, instance.id):
            raise Conflict(
                f"Pipeline '{pipeline.name}' is already locked "
                f"(counter = {await self._locked_counter(uow, state.lock.locked_by_pipeline_id)})"
            )

    async def _locked_counter(self, uow: UnitOfWork, pipeline_id: int | None) -> str:
        holder = await uow.pipeline_instances.find_by_id(pipeline_id) if pipeline_id else None
        return str(holder.counter) if holder else "?"

    async def rerun_jobs(
        self,
        name: str,
        counter: int,
        stage_name: str,
        stage_counter: int,
        job_names: list[str] | None,
        *,
        username: str,
    ) -> StageInstance:
        """Rerun selected jobs (or the failed ones when `job_names` is None): GoCD copies the
        other jobs of the stage run and schedules the selected ones afresh."""
        pipeline = self.pipeline_config(name)
        config = pipeline.find_stage(stage_name)
        if config is None:
            raise NotFound(f"Stage '{stage_name}' not found in pipeline '{pipeline.name}'.")
        out: Events = []
        async with self._uow() as uow:
            instance = await self.instance(uow, pipeline.name, counter)
            original = _stage_run(instance, stage_name, stage_counter)
            selected = failed_job_names(original) if job_names is None else job_names
            if not selected:
                raise RerunError(
                    "There are no failed jobs in the stage that could be re-run"
                    if job_names is None
                    else "No job was selected to re-run."
                )
            by_name = {j.name.lower(): j for j in original.jobs if not j.ignored}
            missing = [n for n in selected if n.lower() not in by_name]
            if missing:
                raise NotFound(
                    f"Job(s) {missing} does not exist in stage "
                    f"'{pipeline.name}/{counter}/{stage_name}/{stage_counter}'."
                )
            await self._refuse_run(uow, pipeline, instance, stage_name)
            now = self._clock.now()
            wanted = {n.lower() for n in selected}
            jobs = tuple(
                JobInstance(
                    name=job.name,
                    scheduled_at=now,
                    agent_uuid=job.agent_uuid if job.run_on_all_agents else None,
                    run_on_all_agents=job.run_on_all_agents,
                    run_multiple_instance=job.run_multiple_instance,
                    rerun=True,
                )
                if job.name.lower() in wanted
                else replace(
                    job,
                    id=None,
                    stage_id=None,
                    rerun=False,
                    original_job_id=job.original_job_id or job.id,
                    transitions=tuple(
                        JobStateTransition(t.state, t.changed_at) for t in job.transitions
                    ),
                )
                for job in original.jobs
                if not job.ignored
            )
            stage = await self._schedule_stage(
                uow,
                pipeline,
                instance,
                stage_name,
                username,
                out,
                jobs=jobs,
                rerun_of_counter=original.rerun_of_counter or original.counter,
            )
            await uow.commit()
        await self.publish(out)
        return stage

    async def cancel_stage(
        self, name: str, counter: int, stage_name: str, stage_counter: int, *, username: str
    ) -> bool:
        """Cancel every unfinished job; False when the stage was not active (GoCD ignores)."""
        pipeline = self.pipeline_config(name)
        out: Events = []
        async with self._uow() as uow:
            instance = await self.instance(uow, pipeline.name, counter)
            stage = _stage_run(instance, stage_name, stage_counter)
            if not stage.state.is_active:
                return False
            now = self._clock.now()
            for job in stage.jobs:
                if job.ignored or job.state is JobState.COMPLETED:
                    continue
                cancelled = await cancel_job_row(uow, job, now)
                if cancelled is not None:
                    job_event(out, instance, stage, cancelled)
            assert stage.id is not None
            await uow.pipeline_instances.update_stage(
                stage.id, StageState.CANCELLED, now, cancelled_by=username
            )
            finished = replace(stage, state=StageState.CANCELLED, result=StageResult.CANCELLED)
            _stage_event(out, instance, finished)
            await self._after_stage_completed(uow, instance, finished, out)
            await uow.commit()
        await self.publish(out)
        return True

    # -- pause, unpause, unlock -----------------------------------------------------------

    async def pause(self, name: str, *, username: str, cause: str | None) -> None:
        pipeline = self.pipeline_config(name)
        async with self._uow() as uow:
            state = await uow.pipeline_instances.state(pipeline.name)
            if state.pause.paused:
                raise Conflict(
                    f"Failed to pause pipeline '{pipeline.name}'. Pipeline '{pipeline.name}' "
                    "is already paused."
                )
            await uow.pipeline_instances.set_paused(
                pipeline.name, True, username, cause or "", self._clock.now()
            )
            await uow.commit()
        await self._bus.publish(PIPELINE_CHANGED, {"pipeline": pipeline.name})

    async def unpause(self, name: str, *, username: str) -> None:
        pipeline = self.pipeline_config(name)
        async with self._uow() as uow:
            state = await uow.pipeline_instances.state(pipeline.name)
            if not state.pause.paused:
                raise Conflict(
                    f"Failed to unpause pipeline '{pipeline.name}'. Pipeline "
                    f"'{pipeline.name}' is already unpaused."
                )
            await uow.pipeline_instances.set_paused(pipeline.name, False, None, None, None)
            await uow.commit()
        await self._bus.publish(PIPELINE_CHANGED, {"pipeline": pipeline.name})

    async def unlock(self, name: str) -> None:
        pipeline = self._config.current.runnable(name)
        if pipeline is None:
            raise NotFound(f"pipeline name {name} is incorrect")
        async with self._uow() as uow:
            if not pipeline.lock_behavior.is_lockable:
                raise Conflict(f"No lock exists within the pipeline configuration for {name}")
            state = await uow.pipeline_instances.state(pipeline.name)
            if not state.lock.locked:
                raise Conflict(
                    "Lock exists within the pipeline configuration but no pipeline instance "
                    "is currently in progress"
                )
            active = await uow.pipeline_instances.active_stages(pipeline.name)
            if any(pid == state.lock.locked_by_pipeline_id for pid, _, _ in active):
                raise Conflict(
                    "Locked pipeline instance is currently running (one of the stages is in "
                    "progress)"
                )
            await uow.pipeline_instances.set_lock(pipeline.name, None)
            await uow.commit()
        await self._bus.publish(PIPELINE_CHANGED, {"pipeline": pipeline.name})

    async def publish(self, out: Events) -> None:
        """Publish what a committed transaction changed; events never precede the commit."""
        for topic, payload in out:
            await self._bus.publish(topic, payload)


def _stage_event(out: Events, instance: PipelineInstance, stage: StageInstance) -> None:
    out.append(
        (
            STAGE_CHANGED,
            {
                "pipeline": instance.name,
                "counter": instance.counter,
                "stage": stage.name,
                "stage_counter": stage.counter,
                "state": stage.state.value,
            },
        )
    )


def job_event(
    out: Events, instance: PipelineInstance, stage: StageInstance, job: JobInstance
) -> None:
    job_event_at(out, instance.name, instance.counter, stage.name, stage.counter, job)


MAX_CANCEL_ATTEMPTS = 10
"""A job passes through at most six states, so a cancel racing the agent's reports wins
within a few attempts; the bound only guards against a loop."""


async def cancel_job_row(uow: UnitOfWork, job: JobInstance, now: datetime) -> JobInstance | None:
    """Complete `job` as Cancelled; the cancelled job, or None when it had finished meanwhile.

    The update is conditional on the job's state, and an agent may move the job on (its
    reports run in their own transactions) between reading and cancelling it: then the row is
    read again and the cancel retried, so a cancel never silently leaves a job running."""
    current = job
    for _ in range(MAX_CANCEL_ATTEMPTS):
        if await uow.jobs.change_state(
            current, JobState.COMPLETED, now, result=JobResult.CANCELLED
        ):
            return replace(current, state=JobState.COMPLETED, result=JobResult.CANCELLED)
        assert current.id is not None
        found = await uow.jobs.get(current.id, with_transitions=False)
        if found is None or not found[0].state.is_active:
            return None
        current = found[0]
    raise RuntimeError(f"job {job.id} kept changing state while being cancelled")


def job_event_at(
    out: Events,
    pipeline: str,
    counter: int,
    stage: str,
    stage_counter: int,
    job: JobInstance,
) -> None:
    out.append(
        (
            JOB_CHANGED,
            {
                "job_id": job.id,
                "pipeline": pipeline,
                "counter": counter,
                "stage": stage,
                "stage_counter": stage_counter,
                "job": job.name,
                "state": job.state.value,
                "result": job.result.value,
                "agent_uuid": job.agent_uuid,
            },
        )
    )


def _stage_run(instance: PipelineInstance, stage_name: str, counter: int) -> StageInstance:
    for stage in instance.stages:
        if stage.name.lower() == stage_name.lower() and stage.counter == counter:
            return stage
    raise NotFound(
        f"Stage '{instance.name}/{instance.counter}/{stage_name}/{counter}' was not found!"
    )
