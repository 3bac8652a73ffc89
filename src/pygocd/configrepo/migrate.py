"""The server's config-repo contract migrations (reference §5.3), from `target_version` to 11.

The plugin's JSON says what the file says; what it *means* is what is left after the server
upgrades it one version at a time. `locking` only survives at version 1, job `properties`
and `mingle` never survive, and an empty task list gets GoCD's placeholder `echo` task.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

CURRENT_CONTRACT_VERSION = 11

Json = dict[str, Any]


def _jobs(pipeline: Json) -> Iterator[Json]:
    for stage in pipeline.get("stages") or ():
        if isinstance(stage, dict):
            for job in stage.get("jobs") or ():
                if isinstance(job, dict):
                    yield job


def _tasks(pipeline: Json) -> Iterator[Json]:
    def walk(task: Any) -> Iterator[Json]:
        if isinstance(task, dict):
            yield task
            yield from walk(task.get("on_cancel"))

    for job in _jobs(pipeline):
        for task in job.get("tasks") or ():
            yield from walk(task)


def _to_2(pipeline: Json) -> None:
    if "enable_pipeline_locking" in pipeline:
        locking = pipeline.pop("enable_pipeline_locking")
        pipeline["lock_behavior"] = "lockOnFailure" if locking is True else "none"


def _to_3(pipeline: Json) -> None:
    for task in _tasks(pipeline):
        if task.get("type") == "fetch" and "artifact_origin" not in task:
            task["artifact_origin"] = "gocd"


def _to_4(pipeline: Json) -> None:
    pipeline.setdefault("display_order_weight", -1)


def _to_7(pipeline: Json) -> None:
    for job in _jobs(pipeline):
        job.pop("properties", None)


def _to_8(pipeline: Json) -> None:
    pipeline.pop("mingle", None)


def _to_10(pipeline: Json) -> None:
    for material in pipeline.get("materials") or ():
        if isinstance(material, dict) and isinstance(material.get("filter"), dict):
            material_filter = material["filter"]
            if "whitelist" in material_filter:
                material_filter["includes"] = material_filter.pop("whitelist")


def _to_11(pipeline: Json) -> None:
    for job in _jobs(pipeline):
        if not job.get("tasks"):
            job["tasks"] = [{"type": "exec", "command": "echo", "run_if": "passed"}]


_STEPS = {2: _to_2, 3: _to_3, 4: _to_4, 7: _to_7, 8: _to_8, 10: _to_10, 11: _to_11}


def migrate(contract: Json) -> Json:
    """A copy of a plugin response upgraded to contract version 11.

    Raises ValueError for a missing, non-integer or too-high `target_version` (the server
    rejects the whole response then).
    """
    version = contract.get("target_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"missing or invalid target_version: {version!r}")
    if version > CURRENT_CONTRACT_VERSION:
        raise ValueError(
            f"target_version {version} is newer than the supported {CURRENT_CONTRACT_VERSION}"
        )
    migrated = copy.deepcopy(contract)
    for step in range(version + 1, CURRENT_CONTRACT_VERSION + 1):
        action = _STEPS.get(step)
        if action is None:
            continue
        for pipeline in migrated.get("pipelines") or ():
            if isinstance(pipeline, dict):
                action(pipeline)
    migrated["target_version"] = CURRENT_CONTRACT_VERSION
    return migrated
