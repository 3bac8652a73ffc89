"""GoCD's job/stage/agent state rules: aggregation, transition tables, events, projections."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pygocd.domain.errors import InvalidTransition
from pygocd.domain.states import (
    JOB_TRANSITIONS,
    STAGE_TRANSITIONS,
    AgentConfigState,
    AgentRuntimeStatus,
    JobResult,
    JobState,
    StageEvent,
    StageResult,
    StageState,
    agent_status,
    aggregate_stage_state,
    check_job_transition,
    check_stage_transition,
    stage_event,
)
from pygocd.domain.tasks import RunIf

J = JobState
R = JobResult
S = StageState


@dataclass(frozen=True)
class Job:
    state: JobState
    result: JobResult


def gocd_stage_state(jobs: list[tuple[str, str]]) -> str:
    """`StageState.findByBuilds`, transcribed from the reference over plain strings."""
    if not jobs:
        return "Unknown"
    active = ("Scheduled", "Assigned", "Preparing", "Building", "Completing")
    building = any(state in active for state, _ in jobs)
    failed = any(result == "Failed" for _, result in jobs)
    cancelled = any(result == "Cancelled" for _, result in jobs)
    unknown = any(result == "Unknown" for _, result in jobs)
    if building and failed:
        return "Failing"
    if building:
        return "Building"
    if cancelled:
        return "Cancelled"
    if failed:
        return "Failed"
    if unknown:
        return "Unknown"
    return "Passed"


jobs_strategy = st.lists(
    st.tuples(st.sampled_from(list(JobState)), st.sampled_from(list(JobResult))), max_size=8
)


# ---- aggregation -------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(jobs_strategy)
def test_aggregation_matches_gocd_rule(jobs: list[tuple[JobState, JobResult]]) -> None:
    expected = gocd_stage_state([(state.value, result.value) for state, result in jobs])
    assert aggregate_stage_state(Job(s, r) for s, r in jobs).value == expected


@settings(max_examples=200, deadline=None)
@given(jobs_strategy)
def test_aggregation_ignores_job_order(jobs: list[tuple[JobState, JobResult]]) -> None:
    forward = aggregate_stage_state([Job(s, r) for s, r in jobs])
    assert aggregate_stage_state([Job(s, r) for s, r in reversed(jobs)]) is forward


@settings(max_examples=200, deadline=None)
@given(jobs_strategy)
def test_stored_result_of_aggregated_state(jobs: list[tuple[JobState, JobResult]]) -> None:
    state = aggregate_stage_state([Job(s, r) for s, r in jobs])
    expected = {
        "Building": "Unknown",
        "Failing": "Failed",
        "Passed": "Passed",
        "Failed": "Failed",
        "Unknown": "Unknown",
        "Cancelled": "Cancelled",
    }[state.value]
    assert state.result.value == expected


def test_stage_without_jobs_is_unknown() -> None:
    assert aggregate_stage_state([]) is S.UNKNOWN
    assert aggregate_stage_state(iter([])) is S.UNKNOWN


def test_stage_is_failing_while_a_job_builds_after_another_failed() -> None:
    jobs = [Job(J.COMPLETED, R.FAILED), Job(J.BUILDING, R.UNKNOWN)]
    assert aggregate_stage_state(jobs) is S.FAILING


def test_failing_stage_is_stored_with_result_failed() -> None:
    assert S.FAILING.result is StageResult.FAILED
    assert not S.FAILING.is_completed


def test_stage_is_failing_when_a_completing_job_has_failed() -> None:
    assert aggregate_stage_state([Job(J.COMPLETING, R.FAILED)]) is S.FAILING


def test_stage_is_building_while_a_job_is_scheduled() -> None:
    jobs = [Job(J.COMPLETED, R.PASSED), Job(J.SCHEDULED, R.UNKNOWN)]
    assert aggregate_stage_state(jobs) is S.BUILDING


def test_stage_is_passed_when_every_job_passed() -> None:
    jobs = [Job(J.COMPLETED, R.PASSED), Job(J.COMPLETED, R.PASSED)]
    assert aggregate_stage_state(jobs) is S.PASSED


def test_stage_is_failed_when_a_job_failed_and_none_builds() -> None:
    jobs = [Job(J.COMPLETED, R.PASSED), Job(J.COMPLETED, R.FAILED)]
    assert aggregate_stage_state(jobs) is S.FAILED


def test_cancelled_wins_over_failed_once_nothing_builds() -> None:
    jobs = [Job(J.COMPLETED, R.FAILED), Job(J.COMPLETED, R.CANCELLED)]
    assert aggregate_stage_state(jobs) is S.CANCELLED


def test_stage_is_unknown_when_a_finished_job_has_no_result() -> None:
    jobs = [Job(J.COMPLETED, R.PASSED), Job(J.RESCHEDULED, R.UNKNOWN)]
    assert aggregate_stage_state(jobs) is S.UNKNOWN


def test_building_with_a_cancelled_job_is_still_building() -> None:
    jobs = [Job(J.COMPLETED, R.CANCELLED), Job(J.ASSIGNED, R.UNKNOWN)]
    assert aggregate_stage_state(jobs) is S.BUILDING


# ---- StageState properties -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "result", "completed", "active", "status"),
    [
        (S.BUILDING, StageResult.UNKNOWN, False, True, "Building"),
        (S.FAILING, StageResult.FAILED, False, True, "Failing"),
        (S.PASSED, StageResult.PASSED, True, False, "Completed"),
        (S.FAILED, StageResult.FAILED, True, False, "Completed"),
        (S.UNKNOWN, StageResult.UNKNOWN, False, False, "Unknown"),
        (S.CANCELLED, StageResult.CANCELLED, True, False, "Completed"),
    ],
)
def test_stage_state_table(
    state: StageState, result: StageResult, completed: bool, active: bool, status: str
) -> None:
    assert state.result is result
    assert state.is_completed is completed
    assert state.is_active is active
    assert state.status == status


# ---- JobState helpers -----------------------------------------------------------------------


@pytest.mark.parametrize("state", list(JobState))
def test_job_state_helpers(state: JobState) -> None:
    building = state.value in ("Preparing", "Building", "Completing")
    assert state.is_building is building
    assert state.is_active is (building or state.value in ("Scheduled", "Assigned"))
    assert state.is_active_on_agent is (building or state.value == "Assigned")


def test_enum_values_are_gocd_names() -> None:
    assert [s.value for s in JobState] == [
        "Unknown",
        "Scheduled",
        "Assigned",
        "Preparing",
        "Building",
        "Completing",
        "Completed",
        "Discontinued",
        "Rescheduled",
        "Paused",
        "Waiting",
    ]
    assert {r.value for r in JobResult} == {"Passed", "Failed", "Cancelled", "Unknown"}
    assert {r.value for r in StageResult} == {"Passed", "Failed", "Cancelled", "Unknown"}
    assert {e.value for e in StageEvent} == {
        "Fails",
        "Passes",
        "Breaks",
        "Fixed",
        "Cancelled",
        "All",
    }


# ---- job transitions ------------------------------------------------------------------------

# Written out independently of the module: the server/agent lifecycle of §3.3.
ALLOWED_JOB_MOVES = {
    (J.SCHEDULED, J.ASSIGNED),
    (J.SCHEDULED, J.COMPLETING),  # server-side failure before assignment
    (J.SCHEDULED, J.COMPLETED),  # cancel
    (J.SCHEDULED, J.RESCHEDULED),
    (J.ASSIGNED, J.PREPARING),
    (J.ASSIGNED, J.BUILDING),
    (J.ASSIGNED, J.COMPLETING),
    (J.ASSIGNED, J.COMPLETED),
    (J.ASSIGNED, J.RESCHEDULED),
    (J.PREPARING, J.BUILDING),
    (J.PREPARING, J.COMPLETING),
    (J.PREPARING, J.COMPLETED),
    (J.PREPARING, J.RESCHEDULED),
    (J.BUILDING, J.COMPLETING),
    (J.BUILDING, J.COMPLETED),
    (J.BUILDING, J.RESCHEDULED),
    (J.COMPLETING, J.COMPLETED),
    (J.COMPLETING, J.RESCHEDULED),
}


@pytest.mark.parametrize(
    ("current", "new"),
    list(itertools.product(JobState, JobState)),
    ids=lambda s: s.value,
)
def test_every_job_transition(current: JobState, new: JobState) -> None:
    if (current, new) in ALLOWED_JOB_MOVES:
        check_job_transition(current, new)
        assert new in JOB_TRANSITIONS[current]
    else:
        with pytest.raises(InvalidTransition, match=f"from {current} to {new}"):
            check_job_transition(current, new)


@pytest.mark.parametrize("terminal", [J.COMPLETED, J.RESCHEDULED])
def test_terminal_job_states_allow_nothing(terminal: JobState) -> None:
    assert JOB_TRANSITIONS[terminal] == frozenset()


def test_every_active_job_state_can_be_cancelled_and_rescheduled() -> None:
    for state in JobState:
        if state.is_active:
            check_job_transition(state, J.COMPLETED)
            check_job_transition(state, J.RESCHEDULED)


def test_invalid_transition_is_a_domain_error() -> None:
    with pytest.raises(InvalidTransition) as caught:
        check_job_transition(J.COMPLETED, J.BUILDING)
    assert caught.value.message == "A job cannot move from Completed to Building"


# ---- stage transitions ----------------------------------------------------------------------

ALLOWED_STAGE_MOVES = (
    {(S.UNKNOWN, new) for new in StageState}
    | {(S.BUILDING, new) for new in StageState}
    | {(S.FAILING, S.FAILING), (S.FAILING, S.FAILED), (S.FAILING, S.CANCELLED)}
    | {(S.PASSED, S.PASSED), (S.FAILED, S.FAILED), (S.CANCELLED, S.CANCELLED)}
)


@pytest.mark.parametrize(
    ("current", "new"),
    list(itertools.product(StageState, StageState)),
    ids=lambda s: s.value,
)
def test_every_stage_transition(current: StageState, new: StageState) -> None:
    if (current, new) in ALLOWED_STAGE_MOVES:
        check_stage_transition(current, new)
    else:
        with pytest.raises(InvalidTransition, match=f"from {current} to {new}"):
            check_stage_transition(current, new)


@pytest.mark.parametrize("terminal", [S.PASSED, S.FAILED, S.CANCELLED])
def test_completed_stage_states_never_change(terminal: StageState) -> None:
    assert terminal.is_completed
    assert STAGE_TRANSITIONS[terminal] == frozenset({terminal})


@settings(max_examples=200, deadline=None)
@given(jobs_strategy, st.lists(st.tuples(st.integers(0, 7), st.sampled_from(list(JobResult)))))
def test_completing_jobs_only_moves_the_stage_along_allowed_transitions(
    jobs: list[tuple[JobState, JobResult]], completions: list[tuple[int, JobResult]]
) -> None:
    """Jobs finishing one by one never drive the stage through a forbidden transition.

    Only a Completing or Completed job has a result; the others are still Unknown.
    """
    current = [
        Job(s, r if s in (J.COMPLETING, J.COMPLETED) else R.UNKNOWN)
        for s, r in jobs
        if s.is_active or s is J.COMPLETED
    ]
    state = aggregate_stage_state(current)
    for index, result in completions:
        if not current:
            break
        position = index % len(current)
        if not current[position].state.is_active:
            continue
        job = current[position]
        current[position] = Job(J.COMPLETED, job.result if job.state is J.COMPLETING else result)
        new_state = aggregate_stage_state(current)
        if state.is_active:
            check_stage_transition(state, new_state)
        state = new_state


# ---- stage events ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("previous", "current", "event"),
    [
        (StageResult.FAILED, StageResult.PASSED, StageEvent.FIXED),
        (StageResult.PASSED, StageResult.PASSED, StageEvent.PASSES),
        (StageResult.CANCELLED, StageResult.PASSED, StageEvent.PASSES),
        (StageResult.UNKNOWN, StageResult.PASSED, StageEvent.PASSES),
        (None, StageResult.PASSED, StageEvent.PASSES),
        (StageResult.PASSED, StageResult.FAILED, StageEvent.BREAKS),
        (StageResult.FAILED, StageResult.FAILED, StageEvent.FAILS),
        (StageResult.CANCELLED, StageResult.FAILED, StageEvent.FAILS),
        (None, StageResult.FAILED, StageEvent.FAILS),
        (StageResult.PASSED, StageResult.CANCELLED, StageEvent.CANCELLED),
        (StageResult.FAILED, StageResult.CANCELLED, StageEvent.CANCELLED),
        (None, StageResult.CANCELLED, StageEvent.CANCELLED),
    ],
)
def test_stage_event(previous: StageResult | None, current: StageResult, event: StageEvent) -> None:
    assert stage_event(previous, current) is event


@pytest.mark.parametrize("previous", [None, *StageResult])
def test_an_unfinished_stage_has_no_event(previous: StageResult | None) -> None:
    with pytest.raises(ValueError, match="can not be Unknown"):
        stage_event(previous, StageResult.UNKNOWN)


# ---- agents ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "runtime"), list(itertools.product(AgentConfigState, AgentRuntimeStatus))
)
def test_agent_status_config_wins_unless_enabled(
    config: AgentConfigState, runtime: AgentRuntimeStatus
) -> None:
    expected = runtime.value if config.value == "Enabled" else config.value
    assert agent_status(config, runtime) == expected


@pytest.mark.parametrize(
    ("runtime", "agent_state", "build_state"),
    [
        (AgentRuntimeStatus.IDLE, "Idle", "Idle"),
        (AgentRuntimeStatus.BUILDING, "Building", "Building"),
        (AgentRuntimeStatus.LOST_CONTACT, "LostContact", "Unknown"),
        (AgentRuntimeStatus.MISSING, "Missing", "Unknown"),
        (AgentRuntimeStatus.CANCELLED, "Building", "Cancelled"),
        (AgentRuntimeStatus.UNKNOWN, "Unknown", "Unknown"),
    ],
)
def test_agent_runtime_projections(
    runtime: AgentRuntimeStatus, agent_state: str, build_state: str
) -> None:
    assert runtime.agent_state == agent_state
    assert runtime.build_state == build_state


# ---- run-if ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run_if", "job_failed", "runs"),
    [
        (RunIf.PASSED, False, True),
        (RunIf.PASSED, True, False),
        (RunIf.FAILED, False, False),
        (RunIf.FAILED, True, True),
        (RunIf.ANY, False, True),
        (RunIf.ANY, True, True),
    ],
)
def test_run_if_applies_to(run_if: RunIf, job_failed: bool, runs: bool) -> None:
    assert run_if.applies_to(job_failed) is runs
