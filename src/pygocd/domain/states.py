"""GoCD's state and result enums, their allowed transitions, and stage aggregation.

The transition tables are data: `JOB_TRANSITIONS[from]` is the set of states a job may move to.
`check_job_transition` raises `InvalidTransition` for anything else, so an impossible change
never passes silently. Names and values are GoCD's (`JobState.java`, `StageState.java`, ...).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Protocol

from pygocd.domain.errors import InvalidTransition


class JobState(enum.StrEnum):
    UNKNOWN = "Unknown"
    SCHEDULED = "Scheduled"
    ASSIGNED = "Assigned"
    PREPARING = "Preparing"
    BUILDING = "Building"
    COMPLETING = "Completing"
    COMPLETED = "Completed"
    DISCONTINUED = "Discontinued"
    RESCHEDULED = "Rescheduled"
    PAUSED = "Paused"
    WAITING = "Waiting"

    @property
    def is_building(self) -> bool:
        return self in _BUILDING_JOB_STATES

    @property
    def is_active(self) -> bool:
        return self in _ACTIVE_JOB_STATES

    @property
    def is_active_on_agent(self) -> bool:
        return self is JobState.ASSIGNED or self.is_building


_BUILDING_JOB_STATES = frozenset({JobState.PREPARING, JobState.BUILDING, JobState.COMPLETING})
_ACTIVE_JOB_STATES = _BUILDING_JOB_STATES | {JobState.SCHEDULED, JobState.ASSIGNED}


class JobResult(enum.StrEnum):
    PASSED = "Passed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    UNKNOWN = "Unknown"


class StageState(enum.StrEnum):
    BUILDING = "Building"
    FAILING = "Failing"
    PASSED = "Passed"
    FAILED = "Failed"
    UNKNOWN = "Unknown"
    CANCELLED = "Cancelled"

    @property
    def result(self) -> StageResult:
        """The result GoCD stores with this state: Failing is stored as result Failed."""
        return _STAGE_RESULT_OF_STATE[self]

    @property
    def is_completed(self) -> bool:
        return self in (StageState.PASSED, StageState.FAILED, StageState.CANCELLED)

    @property
    def is_active(self) -> bool:
        return self in (StageState.BUILDING, StageState.FAILING)

    @property
    def status(self) -> str:
        """GoCD's `status()`: `Completed` for finished stages, else the state's name."""
        return "Completed" if self.is_completed else self.value


class StageResult(enum.StrEnum):
    PASSED = "Passed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    UNKNOWN = "Unknown"


_STAGE_RESULT_OF_STATE = {
    StageState.BUILDING: StageResult.UNKNOWN,
    StageState.FAILING: StageResult.FAILED,
    StageState.PASSED: StageResult.PASSED,
    StageState.FAILED: StageResult.FAILED,
    StageState.UNKNOWN: StageResult.UNKNOWN,
    StageState.CANCELLED: StageResult.CANCELLED,
}


class StageEvent(enum.StrEnum):
    """What a finished stage means for notifications (`StageEvent.java`)."""

    FAILS = "Fails"
    PASSES = "Passes"
    BREAKS = "Breaks"
    FIXED = "Fixed"
    CANCELLED = "Cancelled"
    ALL = "All"


def stage_event(previous: StageResult | None, current: StageResult) -> StageEvent:
    """GoCD's `StageResult.describeChangeEvent`; only a finished stage has an event."""
    if current is StageResult.UNKNOWN:
        raise ValueError("Current result can not be Unknown")
    if current is StageResult.CANCELLED:
        return StageEvent.CANCELLED
    if current is StageResult.PASSED:
        return StageEvent.FIXED if previous is StageResult.FAILED else StageEvent.PASSES
    return StageEvent.BREAKS if previous is StageResult.PASSED else StageEvent.FAILS


class AgentConfigState(enum.StrEnum):
    PENDING = "Pending"
    ENABLED = "Enabled"
    DISABLED = "Disabled"


class AgentRuntimeStatus(enum.StrEnum):
    IDLE = "Idle"
    BUILDING = "Building"
    LOST_CONTACT = "LostContact"
    MISSING = "Missing"
    CANCELLED = "Cancelled"
    UNKNOWN = "Unknown"

    @property
    def agent_state(self) -> str:
        """The agents API's `agent_state`: runtime status, Cancelled shown as Building."""
        return "Building" if self is AgentRuntimeStatus.CANCELLED else self.value

    @property
    def build_state(self) -> str:
        """The agents API's `build_state`: Idle/Building/Cancelled, anything else Unknown."""
        if self in (
            AgentRuntimeStatus.IDLE,
            AgentRuntimeStatus.BUILDING,
            AgentRuntimeStatus.CANCELLED,
        ):
            return self.value
        return "Unknown"


def agent_status(config_state: AgentConfigState, runtime: AgentRuntimeStatus) -> str:
    """GoCD's combined `AgentStatus`: the config state wins unless the agent is Enabled."""
    if config_state is AgentConfigState.ENABLED:
        return runtime.value
    return config_state.value


# Allowed job state changes. Any non-terminal state may be cancelled (→ Completed) or
# rescheduled (→ Rescheduled) by the server; the agent walks the rest of the chain in order,
# and may skip ahead (an agent that fails before building goes straight to Completing).
JOB_TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.SCHEDULED: frozenset(
        {JobState.ASSIGNED, JobState.COMPLETED, JobState.RESCHEDULED, JobState.COMPLETING}
    ),
    JobState.ASSIGNED: frozenset(
        {
            JobState.PREPARING,
            JobState.BUILDING,
            JobState.COMPLETING,
            JobState.COMPLETED,
            JobState.RESCHEDULED,
        }
    ),
    JobState.PREPARING: frozenset(
        {JobState.BUILDING, JobState.COMPLETING, JobState.COMPLETED, JobState.RESCHEDULED}
    ),
    JobState.BUILDING: frozenset({JobState.COMPLETING, JobState.COMPLETED, JobState.RESCHEDULED}),
    JobState.COMPLETING: frozenset({JobState.COMPLETED, JobState.RESCHEDULED}),
    JobState.COMPLETED: frozenset(),
    JobState.RESCHEDULED: frozenset(),
}


def check_job_transition(current: JobState, new: JobState) -> None:
    """Raise `InvalidTransition` unless a job may move from `current` to `new`."""
    if new not in JOB_TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(f"A job cannot move from {current} to {new}")


# A stored stage moves only by re-aggregation of its jobs; once completed it never changes
# (a rerun is a new stage row with a new counter).
STAGE_TRANSITIONS: dict[StageState, frozenset[StageState]] = {
    StageState.UNKNOWN: frozenset(StageState),
    StageState.BUILDING: frozenset(StageState),
    StageState.FAILING: frozenset({StageState.FAILING, StageState.FAILED, StageState.CANCELLED}),
    StageState.PASSED: frozenset({StageState.PASSED}),
    StageState.FAILED: frozenset({StageState.FAILED}),
    StageState.CANCELLED: frozenset({StageState.CANCELLED}),
}


def check_stage_transition(current: StageState, new: StageState) -> None:
    if new not in STAGE_TRANSITIONS[current]:
        raise InvalidTransition(f"A stage cannot move from {current} to {new}")


class JobStatus(Protocol):
    @property
    def state(self) -> JobState: ...

    @property
    def result(self) -> JobResult: ...


def aggregate_stage_state(jobs: Iterable[JobStatus]) -> StageState:
    """GoCD's `StageState.findByBuilds` over a stage's (non-ignored) jobs."""
    building = failed = cancelled = unknown = False
    seen = False
    for job in jobs:
        seen = True
        building = building or job.state.is_active
        failed = failed or job.result is JobResult.FAILED
        cancelled = cancelled or job.result is JobResult.CANCELLED
        unknown = unknown or job.result is JobResult.UNKNOWN
    if not seen:
        return StageState.UNKNOWN
    if building and failed:
        return StageState.FAILING
    if building:
        return StageState.BUILDING
    if cancelled:
        return StageState.CANCELLED
    if failed:
        return StageState.FAILED
    if unknown:
        return StageState.UNKNOWN
    return StageState.PASSED
