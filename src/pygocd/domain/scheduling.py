"""GoCD's scheduling rules as pure functions: schedule checks, locking, stage flow.

Messages are GoCD's own (`SchedulingCheckerService`, `ScheduleService`), because scripts and
people match on them.
"""

from __future__ import annotations

from collections.abc import Iterable

from pygocd.domain.pipelines import ApprovalType, LockBehavior, PipelineConfig, StageConfig
from pygocd.domain.runs import PipelineInstance, PipelineState, StageInstance
from pygocd.domain.states import JobResult, StageResult


def manual_trigger_refusal(
    pipeline: PipelineConfig,
    state: PipelineState,
    active_stages: Iterable[tuple[int, int, str]],
) -> str | None:
    """Why a manual/timer trigger cannot run now (GoCD's checker order), or None."""
    name = pipeline.name
    if state.pause.paused:
        return f"Failed to trigger pipeline [{name}] {{ Pipeline {name} is paused }}"
    first = pipeline.first_stage.name.lower()
    if any(stage.lower() == first for _, _, stage in active_stages):
        return (
            f"Failed to trigger pipeline [{name}] {{ Stage [{pipeline.first_stage.name}] in "
            f"pipeline [{name}] is still in progress }}"
        )
    if pipeline.lock_behavior.is_lockable and state.lock.locked:
        return (
            f"Pipeline {name} cannot be scheduled {{ Pipeline {name} is locked as another "
            "instance of this pipeline is running. }"
        )
    return None


def auto_trigger_blocked(
    pipeline: PipelineConfig,
    state: PipelineState,
    active_stages: Iterable[tuple[int, int, str]],
) -> bool:
    """GoCD keeps an automatic build cause queued while any of these holds."""
    return manual_trigger_refusal(pipeline, state, active_stages) is not None


def is_first_stage_manual(pipeline: PipelineConfig) -> bool:
    return pipeline.first_stage.approval.type is ApprovalType.MANUAL


def should_unlock(pipeline: PipelineConfig, stage_name: str, result: StageResult) -> bool:
    """GoCD's `unlockIfNecessary`: the last stage always unlocks; `unlockWhenFinished` also
    unlocks when the stage did not pass or the next stage waits for a person."""
    if not pipeline.lock_behavior.is_lockable:
        return False
    following = pipeline.next_stage(stage_name)
    if following is None:
        return True
    if pipeline.lock_behavior is LockBehavior.UNLOCK_WHEN_FINISHED:
        return result is not StageResult.PASSED or following.approval.type is ApprovalType.MANUAL
    return False


def next_stage_counter(instance: PipelineInstance, stage_name: str) -> int:
    latest = instance.latest_stage(stage_name)
    return 1 if latest is None else latest.counter + 1


def stage_order(pipeline: PipelineConfig, stage_name: str) -> int:
    names = [s.name.lower() for s in pipeline.stages]
    return names.index(stage_name.lower()) + 1


def previous_stage(pipeline: PipelineConfig, stage_name: str) -> StageConfig | None:
    index = stage_order(pipeline, stage_name) - 1
    return pipeline.stages[index - 1] if index > 0 else None


def run_stage_refusal(
    pipeline: PipelineConfig,
    instance: PipelineInstance,
    stage_name: str,
    state: PipelineState,
    active_stages: Iterable[tuple[int, int, str]],
) -> tuple[int, str] | None:
    """Why a stage cannot be run or rerun in `instance` now: (HTTP status, GoCD message)."""
    name = pipeline.name
    stage = pipeline.find_stage(stage_name)
    assert stage is not None
    before = previous_stage(pipeline, stage_name)
    already_run = instance.latest_stage(stage_name) is not None
    if before is not None and not already_run:
        previous_run = instance.latest_stage(before.name)
        if previous_run is None:
            return 400, (
                f"Can not run stage [{stage.name}] in pipeline [{name}] because its previous "
                "stage has not been run."
            )
        if stage.approval.allow_only_on_success and previous_run.result is not StageResult.PASSED:
            return 409, (
                f"Cannot schedule {stage.name} as the previous stage {before.name} has "
                f"{previous_run.result.value}!"
            )
    if state.pause.paused:
        return 409, f"Cannot schedule: Pipeline {name} is paused"
    active = list(active_stages)
    if any(pipeline_id == instance.id for pipeline_id, _, _ in active):
        return 409, (f"Cannot schedule: Stage [{name}/{instance.counter}] is still in progress")
    if any(stage_name.lower() == active_name.lower() for _, _, active_name in active):
        return 409, f"Cannot schedule: Stage [{stage.name}] is still in progress"
    return None


def holds_lock_elsewhere(state: PipelineState, instance: PipelineInstance) -> bool:
    return state.lock.locked and state.lock.locked_by_pipeline_id != instance.id


def failed_job_names(stage: StageInstance) -> list[str]:
    return [
        j.name
        for j in stage.jobs
        if not j.ignored and j.result in (JobResult.FAILED, JobResult.CANCELLED)
    ]
