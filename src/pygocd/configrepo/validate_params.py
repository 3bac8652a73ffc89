"""Pipeline parameters: `#{name}` substitution as GoCD's `ParamStateMachine` does it.

`##` is a literal `#`; a `#` followed by anything but `#` or `{` makes the whole value invalid;
an unclosed `#{` is incomplete. A value with any problem is kept as written (GoCD resets it).
Substitution covers every string of a pipeline except those GoCD marks
`@SkipParameterResolution`: the pipeline's name, its parameters and template name, SCM
passwords (and, here, every encrypted value and the config origin).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from typing import Any

from pygocd.configrepo.validate_report import job_path, material_path, stage_path, task_path
from pygocd.domain.config import CruiseConfig
from pygocd.domain.materials import MaterialConfig
from pygocd.domain.pipelines import ConfigOrigin, JobConfig, PipelineConfig, StageConfig
from pygocd.domain.variables import EnvironmentVariable

NOT_DEFINED = (
    "Parameter '{name}' is not defined. "
    "All pipelines using this parameter directly or via a template must define it."
)
BAD_USAGE = (
    "Error when processing params for '{text}' used in field '{field}', "
    "# must be followed by a parameter pattern or escaped by another #"
)
INCOMPLETE = "Incomplete param usage in '{text}'"

Report = Callable[[str, str], None]  # (key path, message)

_NOT_IN_PATTERN, _HASH_SEEN, _IN_PATTERN, _INVALID = range(4)
_SKIPPED_EVERYWHERE = frozenset({"password", "encrypted_password", "encrypted_value", "origin"})
_SKIPPED_ON_PIPELINE = frozenset({"name", "parameters", "template"})


def resolve_text(
    text: str, params: Mapping[str, str | None], field_name: str
) -> tuple[str, list[str]]:
    """The text with `#{...}` substituted, and GoCD's messages for what could not be."""
    if "#" not in text:
        return text, []
    state = _NOT_IN_PATTERN
    out: list[str] = []
    pattern: list[str] = []
    errors: list[str] = []
    for ch in text:
        if state == _NOT_IN_PATTERN:
            if ch == "#":
                state = _HASH_SEEN
            else:
                out.append(ch)
        elif state == _HASH_SEEN:
            if ch == "#":
                out.append("#")
                state = _NOT_IN_PATTERN
            elif ch == "{":
                pattern.clear()
                state = _IN_PATTERN
            else:
                state = _INVALID
                break
        elif ch == "}":
            name = "".join(pattern)
            if name in params:
                out.append(params[name] or "")
            else:
                errors.append(NOT_DEFINED.format(name=name))
            state = _NOT_IN_PATTERN
        else:
            pattern.append(ch)
    if state in (_HASH_SEEN, _INVALID):
        errors.append(BAD_USAGE.format(text=text, field=field_name))
    elif state == _IN_PATTERN:
        errors.append(INCOMPLETE.format(text=text))
    return (text if errors else "".join(out)), errors


def resolve_pipeline(
    pipeline: PipelineConfig, params: Mapping[str, str | None], path: str, report: Report
) -> PipelineConfig:
    """The pipeline with its own `#{...}` values substituted; problems go to `report`."""
    resolved = _resolve(pipeline, params, path, report)
    assert isinstance(resolved, PipelineConfig)
    return resolved


def resolve_stages(
    stages: tuple[StageConfig, ...], params: Mapping[str, str | None], path: str, report: Report
) -> tuple[StageConfig, ...]:
    """Template stages as one pipeline sees them: substituted with that pipeline's params."""
    resolved: list[StageConfig] = []
    for index, stage in enumerate(stages):
        new = _resolve(stage, params, stage_path(path, index), report)
        assert isinstance(new, StageConfig)
        resolved.append(new)
    return tuple(resolved)


def _resolve(value: Any, params: Mapping[str, str | None], path: str, report: Report) -> Any:
    if isinstance(value, enum.Enum | bool | int) or value is None:
        return value
    if isinstance(value, str):
        field_name = path.rsplit(".", 1)[-1]
        resolved, errors = resolve_text(value, params, field_name)
        for message in errors:
            report(path, message)
        return resolved
    if isinstance(value, ConfigOrigin):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        skipped = _SKIPPED_EVERYWHERE
        if isinstance(value, PipelineConfig):
            skipped = skipped | _SKIPPED_ON_PIPELINE
        changes: dict[str, Any] = {}
        for field in dataclasses.fields(value):
            if field.name in skipped:
                continue
            old = getattr(value, field.name)
            if isinstance(old, tuple):
                new: Any = tuple(
                    _resolve(item, params, _item_path(path, field.name, item, i), report)
                    for i, item in enumerate(old)
                )
                if new == old:
                    new = old
            else:
                new = _resolve(old, params, f"{path}.{field.name}", report)
            if new is not old:
                changes[field.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value


def _item_path(path: str, field_name: str, item: Any, index: int) -> str:
    if field_name == "stages" and isinstance(item, StageConfig):
        return stage_path(path, index)
    if field_name == "jobs" and isinstance(item, JobConfig):
        return job_path(path, item.name)
    if field_name == "tasks":
        return task_path(path, index)
    if field_name == "materials":
        material: MaterialConfig = item
        return material_path(path, material, index)
    if field_name == "environment_variables" and isinstance(item, EnvironmentVariable):
        section = "secure_variables" if item.secure else "environment_variables"
        return f"{path}.{section}.{item.name}"
    return f"{path}.{field_name}[{index}]"


def runnable_pipelines(config: CruiseConfig) -> dict[str, PipelineConfig]:
    """Pipelines that use parameters or a template, as they run: `#{...}` substituted and the
    template's stages applied (what GoCD calls `templateApplied`). Problems are validation's to
    report; here a value that cannot be resolved stays as written."""

    def ignore(_path: str, _message: str) -> None:
        return None

    runnable: dict[str, PipelineConfig] = {}
    for pipeline in config.all_pipelines():
        if not pipeline.parameters and not pipeline.template:
            continue
        params = {p.name: p.value for p in pipeline.parameters}
        resolved = resolve_pipeline(pipeline, params, pipeline.name, ignore)
        template = config.find_template(pipeline.template) if pipeline.template else None
        if template is not None and not pipeline.stages:
            stages = resolve_stages(template.stages, params, pipeline.name, ignore)
            resolved = dataclasses.replace(resolved, stages=stages)
        runnable[pipeline.name.lower()] = resolved
    return runnable
