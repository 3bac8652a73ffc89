"""How the UI writes times, durations and statuses, as GoCD's pages do.

Times are rendered as `<time>` elements holding the UTC instant; `js/local-time.js` rewrites
the text into the browser's local time ("02 Jan, 2026 at 03:04:05 Local Time") and the title
keeps the server-time equivalent, as GoCD does.
"""

from __future__ import annotations

from datetime import UTC, datetime

from markupsafe import Markup, escape

from pygocd.domain.runs import JobInstance
from pygocd.domain.states import JobResult, JobState, StageState

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def gocd_time(moment: datetime) -> str:
    """GoCD's `DD Mon, YYYY at HH:MM:SS` (in the moment's own zone)."""
    return (
        f"{moment.day:02d} {_MONTHS[moment.month - 1]}, {moment.year} at "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )


def time_tag(moment: datetime | None) -> Markup:
    """A `<time>` GoCD-style: local time once the script ran, server time in the title."""
    if moment is None:
        return Markup("")
    utc = moment.astimezone(UTC)
    server = f"{gocd_time(utc)} +0000 Server Time"
    return Markup(
        '<time datetime="{iso}" title="{server}" data-local-time>{text} UTC</time>'
    ).format(iso=utc.isoformat().replace("+00:00", "Z"), server=server, text=gocd_time(utc))


def duration(seconds: float | None) -> str:
    """GoCD's short durations: `43s`, `1m 7s`, `2h 3m`."""
    if seconds is None:
        return ""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def clock_duration(seconds: float | None) -> str:
    """Legacy pages' `HH:MM:SS`."""
    if seconds is None:
        return ""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def stage_css(status: StageState) -> str:
    """The status class of a stage segment: passed, failed, building, failing, cancelled,
    unknown."""
    return status.value.lower()


def job_status(state: JobState, result: JobResult) -> str:
    """A job's status word for its square: the result once completed, else building or
    waiting."""
    if state is JobState.COMPLETED:
        return result.value.lower()
    if result is JobResult.FAILED:
        return "failing"
    if state.is_building or state is JobState.ASSIGNED:
        return "building"
    if state is JobState.SCHEDULED:
        return "scheduled"
    return "unknown"


_STATE_TEXT = {
    JobState.SCHEDULED: "Waiting for an agent",
    JobState.ASSIGNED: "Agent assigned",
    JobState.PREPARING: "Checking out materials",
    JobState.BUILDING: "Building",
    JobState.COMPLETING: "Uploading artifacts",
    JobState.RESCHEDULED: "Rescheduled",
}


def job_state_text(state: JobState, result: JobResult) -> str:
    """GoCD's stage-overview state column: a phrase while running, the result when done."""
    if state is JobState.COMPLETED:
        return result.value
    return _STATE_TEXT.get(state, state.value)


def job_duration(job: JobInstance, now: datetime) -> float | None:
    """Building → Completed (or now while running), as GoCD counts a job's duration."""
    started = next((t.changed_at for t in job.transitions if t.state is JobState.BUILDING), None)
    if started is None:
        return None
    ended = next((t.changed_at for t in job.transitions if t.state is JobState.COMPLETED), None)
    return ((ended or now) - started).total_seconds()


def short_revision(revision: str) -> str:
    return revision[:12] if len(revision) > 12 else revision


def status_label(status: str) -> Markup:
    """Visually hidden words that carry a status for screen readers and colour-blind users."""
    return Markup('<span class="visually-hidden">{}</span>').format(escape(status))
