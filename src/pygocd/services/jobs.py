"""Job state changes: assignment (a portable claim), agent reports, reschedule, cancel.

An agent may only report on the job it was given; reports on a job that was cancelled or
rescheduled meanwhile are ignored, as GoCD does. A completed job re-aggregates its stage,
which drives the rest of the flow (`StageService`).
"""

from __future__ import annotations

import enum
from dataclasses import replace

from pygocd.domain.errors import Conflict, NotFound
from pygocd.domain.runs import JobIdentifier, JobInstance
from pygocd.domain.states import JobResult, JobState, check_job_transition
from pygocd.services.ports import Clock, UnitOfWorkFactory
from pygocd.services.stages import Events, StageService, cancel_job_row, job_event_at


class ReportOutcome(enum.StrEnum):
    APPLIED = "applied"
    IGNORED = "ignored"  # job already cancelled/rescheduled: the agent should stop


class JobFate(enum.Enum):
    """What an agent running a job learns of it from the server (a held ping's answer)."""

    RUNNING = "running"
    STOP = "stop"  # cancelled, rescheduled or given to another agent: the agent must stop
    ENDED = "ended"  # the agent completed it itself: nothing to stop


class NotYourJob(Conflict):
    """An agent reported on a job assigned to another agent (or to none)."""


class JobService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, stages: StageService) -> None:
        self._uow = uow
        self._clock = clock
        self._stages = stages

    async def get(
        self, job_id: int, *, with_transitions: bool = True
    ) -> tuple[JobInstance, JobIdentifier]:
        async with self._uow(read_only=True) as uow:
            found = await uow.jobs.get(job_id, with_transitions=with_transitions)
        if found is None:
            raise NotFound(f"Job {job_id} was not found!")
        return found

    async def fate(self, job_id: int, agent_uuid: str) -> JobFate:
        """Whether `agent_uuid` should go on with the job, stop it, or has finished it."""
        try:
            job, _ = await self.get(job_id, with_transitions=False)
        except NotFound:
            return JobFate.STOP
        if job.agent_uuid != agent_uuid or job.ignored or job.state is JobState.RESCHEDULED:
            return JobFate.STOP
        if job.state is JobState.COMPLETED:
            return JobFate.STOP if job.result is JobResult.CANCELLED else JobFate.ENDED
        return JobFate.RUNNING

    async def assign(self, job_id: int, agent_uuid: str) -> bool:
        """Claim a Scheduled job for an agent; exactly one claimant wins, even across
        processes, because the update is conditional on the job still being Scheduled."""
        out: Events = []
        async with self._uow() as uow:
            found = await uow.jobs.get(job_id, with_transitions=False)
            if found is None or found[0].state is not JobState.SCHEDULED or found[0].ignored:
                return False
            job, where = found
            if job.agent_uuid not in (None, agent_uuid):
                return False  # pinned to another agent (run on all agents)
            claimed = await uow.jobs.change_state(
                job,
                JobState.ASSIGNED,
                self._clock.now(),
                agent_uuid=agent_uuid,
                expected_state=JobState.SCHEDULED,
            )
            if not claimed:
                return False
            _event(out, where, replace(job, state=JobState.ASSIGNED, agent_uuid=agent_uuid))
            await uow.commit()
        await self._stages.publish(out)
        return True

    async def report(
        self, job_id: int, agent_uuid: str, state: JobState, result: JobResult | None = None
    ) -> ReportOutcome:
        """An agent reports Preparing, Building, Completing (with result) or Completed."""
        return await self.report_steps(job_id, agent_uuid, [(state, result)])

    async def report_steps(
        self, job_id: int, agent_uuid: str, steps: list[tuple[JobState, JobResult | None]]
    ) -> ReportOutcome:
        """Several reports of one agent on its job, oldest first, in one transaction (a short
        job's Building, Completing and Completed); each is checked as if reported alone."""
        out: Events = []
        async with self._uow() as uow:
            found = await uow.jobs.get(job_id, with_transitions=False)
            if found is None:
                raise NotFound(f"Job {job_id} was not found!")
            job, where = found
            if job.agent_uuid != agent_uuid:
                raise NotYourJob(f"AgentUUID has changed in the middle of a job: {job_id}")
            recalculate = ignored = False
            for state, result in steps:
                if job.ignored or job.state in (JobState.COMPLETED, JobState.RESCHEDULED):
                    ignored = True
                    break
                if job.state is state:
                    continue
                check_job_transition(job.state, state)
                new_result = result
                if state is JobState.COMPLETED and new_result is None:
                    new_result = (
                        job.result if job.result is not JobResult.UNKNOWN else JobResult.PASSED
                    )
                if not await uow.jobs.change_state(
                    job, state, self._clock.now(), result=new_result
                ):
                    ignored = True
                    break
                job = replace(job, state=state, result=new_result or job.result)
                _event(out, where, job)
                recalculate = (
                    recalculate
                    or state is JobState.COMPLETED
                    or (state is JobState.COMPLETING and new_result is JobResult.FAILED)
                )
            outcome = ReportOutcome.IGNORED if ignored else ReportOutcome.APPLIED
            if not out:
                return outcome
            if recalculate:
                assert job.stage_id is not None
                await self._stages.recalculate_stage(uow, job.stage_id, out)
            await uow.commit()
        await self._stages.publish(out)
        return outcome

    async def reschedule(self, job_id: int) -> JobInstance | None:
        """GoCD's reschedule: the old row becomes Rescheduled and ignored; a fresh Scheduled
        row with the same name takes its place (agent lost, agent restarted mid-job)."""
        out: Events = []
        async with self._uow() as uow:
            found = await uow.jobs.get(job_id, with_transitions=False)
            if found is None or not found[0].state.is_active:
                return None
            job, where = found
            now = self._clock.now()
            if not await uow.jobs.change_state(job, JobState.RESCHEDULED, now):
                return None
            assert job.id is not None
            assert job.stage_id is not None
            await uow.jobs.mark_ignored(job.id)
            fresh = await uow.jobs.add(
                job.stage_id,
                JobInstance(
                    name=job.name,
                    scheduled_at=now,
                    agent_uuid=job.agent_uuid if job.run_on_all_agents else None,
                    run_on_all_agents=job.run_on_all_agents,
                    run_multiple_instance=job.run_multiple_instance,
                    rerun=job.rerun,
                ),
            )
            _event(out, where, fresh)
            await uow.commit()
        await self._stages.publish(out)
        return fresh

    async def cancel(self, job_id: int) -> bool:
        """Cancel one job (timeouts, config removal): Completed with result Cancelled."""
        out: Events = []
        async with self._uow() as uow:
            found = await uow.jobs.get(job_id, with_transitions=False)
            if found is None or not found[0].state.is_active:
                return False
            job, where = found
            cancelled = await cancel_job_row(uow, job, self._clock.now())
            if cancelled is None:
                return False
            _event(out, where, cancelled)
            assert job.stage_id is not None
            await self._stages.recalculate_stage(uow, job.stage_id, out)
            await uow.commit()
        await self._stages.publish(out)
        return True


def _event(out: Events, where: JobIdentifier, job: JobInstance) -> None:
    """The job's change, located by the identifier its row was read with (no instance load)."""
    job_event_at(
        out, where.pipeline_name, where.pipeline_counter, where.stage_name, where.stage_counter, job
    )
