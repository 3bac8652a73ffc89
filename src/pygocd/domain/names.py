"""GoCD's name rules (`NameTypeValidator`): what a pipeline, stage, job or group may be called."""

from __future__ import annotations

import re

MAX_NAME_LENGTH = 255
MAX_TAB_NAME_LENGTH = 15

_NAME = re.compile(r"[a-zA-Z0-9_\-][a-zA-Z0-9_\-.]*")
_JOB_NAME = re.compile(r"[a-zA-Z0-9_\-.]+")
# GoCD's `RunOnAllAgentsJobTypeConfig` / `RunMultipleInstanceJobTypeConfig.MARKER_PATTERN`:
# a case-sensitive *suffix* `-runOnAll-<n>` / `-runInstance-<n>`.
_RESERVED_JOB_MARKERS = re.compile(r"-(runOnAll|runInstance)-[0-9]+\Z")


def is_valid_name(name: str) -> bool:
    """Group, pipeline, stage, template, environment, parameter, material name and role."""
    return len(name) <= MAX_NAME_LENGTH and _NAME.fullmatch(name) is not None


def is_valid_job_name(name: str) -> bool:
    """Jobs may start with `.` but must not carry GoCD's run-on-all / run-instance suffixes."""
    return (
        len(name) <= MAX_NAME_LENGTH
        and _JOB_NAME.fullmatch(name) is not None
        and _RESERVED_JOB_MARKERS.search(name) is None
    )


def name_error(kind: str, name: str) -> str | None:
    """GoCD's message for an invalid name, or None when the name is valid."""
    if kind == "job":
        return _job_name_error(name)
    if is_valid_name(name):
        return None
    return (
        f"Invalid {kind} name '{name}'. This must be alphanumeric and can contain underscores, "
        f"hyphens and periods (however, it cannot start with a period). "
        f"The maximum allowed length is {MAX_NAME_LENGTH} characters."
    )


def _job_name_error(name: str) -> str | None:
    """`JobConfig.validate`: required, then pattern and length, then the reserved markers."""
    if not name.strip():
        return "Name is a required field"
    if len(name) > MAX_NAME_LENGTH or _JOB_NAME.fullmatch(name) is None:
        return (
            f"Invalid job name '{name}'. This must be alphanumeric and may contain underscores "
            f"and periods. The maximum allowed length is {MAX_NAME_LENGTH} characters."
        )
    marker = _RESERVED_JOB_MARKERS.search(name)
    if marker is not None:
        return (
            f"A job cannot have '{marker.group(1)}' in it's name: {name} "
            "because it is a reserved keyword"
        )
    return None
