"""GoCD YAML files → the JSON the YAML plugin sends to the server (reference §4-6, §12, §14).

`yaml_contract(files)` reproduces the plugin's response for a set of files:
`{target_version, pipelines[], environments[], errors[]}`, each pipeline and environment
carrying `location` (its file). Failures keep the plugin's three severities:

- repository-fatal (unknown top-level key, root not a map, bad or conflicting
  `format_version`): nothing from the repository is used, one error located at the plugin;
- file-level (YAML errors, duplicate keys, empty file): nothing from that file is used;
- per pipeline / environment: "Failed to parse pipeline <name>; <reason>", the others stay.

Beside the contract, every error also comes as a `ConfigError` with file, line, column and
key path, and every key path read is recorded in a `SourceMap`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pygocd.configrepo.contract_materials import transform_material
from pygocd.configrepo.contract_stages import transform_stages
from pygocd.configrepo.contract_values import (
    Context,
    Json,
    Paths,
    TransformFailure,
    as_map,
    get_bool,
    get_int,
    get_string,
    get_string_list,
    parameters,
    parse_int,
    required_string,
    type_name,
    variables,
)
from pygocd.configrepo.errors import ConfigError, Location, SourceMap
from pygocd.configrepo.yaml_reader import PositionedMap, YamlLoadError, load_yaml

YAML_PLUGIN_LOCATION = "YAML config plugin"
ROOT_KEYS = ("format_version", "pipelines", "environments", "common")


class RepositoryFailure(Exception):
    """A problem that fails the whole repository parse, as upstream."""

    def __init__(self, error: ConfigError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass
class ContractResult:
    """The plugin's response plus what the plugin cannot say: positions and key paths."""

    contract: Json
    errors: list[ConfigError] = field(default_factory=list)
    source_map: SourceMap = field(default_factory=SourceMap)
    fatal: bool = False


def transform_pipeline(name: str, value: Any, ctx: Context, paths: Paths) -> Json:
    """One entry of `pipelines:` → the plugin's pipeline JSON (without `location`)."""
    body = as_map(value, ctx, paths, f"pipeline {name} should be a hash, got {type_name(value)}")
    ctx.record_map(paths, body)
    pipeline: Json = {"name": name}
    for key in ("group", "label_template", "lock_behavior"):
        text = get_string(body, key, ctx, paths)
        if text is not None:
            pipeline[key] = text
    display_order = get_int(body, "display_order", ctx, paths)
    if display_order is not None:
        pipeline["display_order_weight"] = display_order
    locking = get_bool(body, "locking", ctx, paths)
    if locking is not None:
        pipeline["enable_pipeline_locking"] = locking
    if body.get("tracking_tool") is not None:
        tool = as_map(
            body["tracking_tool"], ctx, paths.key("tracking_tool"), "tracking_tool should be a hash"
        )
        ctx.record_map(paths.key("tracking_tool"), tool)
        pipeline["tracking_tool"] = dict(tool)
    if body.get("timer") is not None:
        pipeline["timer"] = _timer(body["timer"], ctx, paths.key("timer"))
    env = variables(body, ctx, paths)
    if env:
        pipeline["environment_variables"] = env
    params = parameters(body, ctx, paths)
    if params:
        pipeline["parameters"] = params
    materials = body.get("materials")
    if materials is not None:
        if not isinstance(materials, dict):
            raise ctx.fail("expected a hash of pipeline materials", paths.key("materials"))
        pipeline["materials"] = [
            transform_material(
                material_name, material, ctx, paths.entry("materials", material_name, index)
            )
            for index, (material_name, material) in enumerate(
                _record_entries(materials, ctx, paths, "materials")
            )
        ]
    template = get_string(body, "template", ctx, paths)
    if template is not None:
        pipeline["template"] = template
        return pipeline
    stages = body.get("stages")
    if not isinstance(stages, list):
        raise ctx.fail(
            "expected a list of pipeline stages or a template reference", paths.key("stages")
        )
    pipeline["stages"] = transform_stages(stages, ctx, paths.key("stages"))
    return pipeline


def _record_entries(
    mapping: dict[str, Any], ctx: Context, paths: Paths, section: str
) -> list[tuple[str, Any]]:
    entries = list(mapping.items())
    for index, (name, _) in enumerate(entries):
        ctx.record(paths.entry(section, name, index), mapping, name)
    return entries


def _timer(value: Any, ctx: Context, paths: Paths) -> Json:
    body = as_map(value, ctx, paths, f"timer should be a hash, got {type_name(value)}")
    ctx.record_map(paths, body)
    timer: Json = {"spec": required_string(body, "spec", ctx, paths)}
    only_on_changes = get_bool(body, "only_on_changes", ctx, paths)
    if only_on_changes is not None:
        timer["only_on_changes"] = only_on_changes
    return timer


def transform_environment(name: str, value: Any, ctx: Context, paths: Paths) -> Json:
    """One entry of `environments:` → the plugin's environment JSON (without `location`)."""
    environment: Json = {"name": name}
    if value is None:
        return environment
    body = as_map(value, ctx, paths, f"environment {name} should be a hash")
    ctx.record_map(paths, body)
    env = variables(body, ctx, paths)
    if env:
        environment["environment_variables"] = env
    for key in ("agents", "pipelines"):
        names = get_string_list(body, key, ctx, paths)
        if names:
            environment[key] = names
    return environment


def declared_format_version(root: PositionedMap, file: str) -> int | None:
    """The file's `format_version` (key compared case-insensitively), None when absent."""
    for key, value in root.items():
        if key.lower() != "format_version":
            continue
        if value is None:
            return None
        ctx = Context(file)
        try:
            return parse_int(value, "format_version", ctx, Paths.root("format_version"))
        except TransformFailure as failure:
            line, column = root.positions.get(key, (None, None))
            raise RepositoryFailure(
                ConfigError(Location(file, line, column), "format_version", failure.reason)
            ) from None
    return None


def check_root(root: Any, file: str) -> PositionedMap:
    if not isinstance(root, PositionedMap):
        line, column = getattr(root, "position", (1, 1))
        raise RepositoryFailure(
            ConfigError(
                Location(file, line, column),
                "",
                f"the root of a GoCD YAML file must be a hash, got {type_name(root)}",
            )
        )
    for key in root:
        if key.lower() not in ROOT_KEYS:
            line, column = root.positions[key]
            raise RepositoryFailure(
                ConfigError(
                    Location(file, line, column),
                    key,
                    f"{key} is invalid, expected format_version, pipelines, environments, "
                    "or common",
                )
            )
    return root


def transform_root(
    root: PositionedMap, ctx: Context
) -> tuple[list[Json], list[Json], list[ConfigError]]:
    """Walk one file's pipelines and environments; failed ones become errors."""
    pipelines: list[Json] = []
    environments: list[Json] = []
    errors: list[ConfigError] = []
    for key, section in root.items():
        kind = key.lower()
        if kind not in ("pipelines", "environments") or section is None:
            continue
        label = "pipeline" if kind == "pipelines" else "environment"
        section_paths = Paths.root(kind)
        if not isinstance(section, dict):
            errors.append(
                ConfigError(
                    ctx.source_map.locate(kind, ctx.file),
                    kind,
                    f"{kind} should be a hash, got {type_name(section)}",
                )
            )
            continue
        for name, body in section.items():
            paths = section_paths.key(name)
            ctx.record(paths, section, name)
            try:
                if "pipelines" in ctx.mocked and kind == "pipelines":
                    pipelines.append({"name": name, "location": ctx.file})
                elif "environments" in ctx.mocked and kind == "environments":
                    environments.append({"name": name, "location": ctx.file})
                elif kind == "pipelines":
                    pipelines.append(
                        {**transform_pipeline(name, body, ctx, paths), "location": ctx.file}
                    )
                else:
                    environments.append(
                        {**transform_environment(name, body, ctx, paths), "location": ctx.file}
                    )
            except TransformFailure as failure:
                errors.append(
                    ConfigError(
                        ctx.source_map.locate(failure.paths.canonical, ctx.file),
                        failure.paths.canonical,
                        f"Failed to parse {label} {name}; {failure.reason}",
                    )
                )
    return pipelines, environments, errors


def yaml_contract(
    files: Sequence[tuple[str, str]],
    *,
    source_map: SourceMap | None = None,
    mocked: frozenset[str] = frozenset(),
) -> ContractResult:
    """The YAML plugin's response for these files (relative path, text), in the given order."""
    result = ContractResult(
        {"target_version": 1, "pipelines": [], "environments": [], "errors": []},
        source_map=source_map if source_map is not None else SourceMap(),
    )
    declared: dict[int, str] = {}
    try:
        for file, text in files:
            try:
                root = check_root(load_yaml(text, file), file)
            except YamlLoadError as failure:
                _add_error(result, failure.error, file)
                continue
            version = declared_format_version(root, file)
            if version is not None:
                declared.setdefault(version, file)
            ctx = Context(file, result.source_map, version if version is not None else 1, mocked)
            pipelines, environments, errors = transform_root(root, ctx)
            result.contract["pipelines"].extend(pipelines)
            result.contract["environments"].extend(environments)
            for error in errors:
                _add_error(result, error, file)
        if len(declared) > 1:
            found = ", ".join(str(v) for v in sorted(declared))
            raise RepositoryFailure(
                ConfigError(
                    Location(", ".join(declared[v] for v in sorted(declared))),
                    "format_version",
                    f"Versions across files are not unique. Found versions: [{found}]. "
                    "There can only be one version across the whole repository.",
                )
            )
    except RepositoryFailure as failure:
        return fatal_result(result, failure.error, YAML_PLUGIN_LOCATION)
    if declared:
        result.contract["target_version"] = next(iter(declared))
    return result


def fatal_result(result: ContractResult, error: ConfigError, plugin: str) -> ContractResult:
    """Upstream answers a repository-fatal problem with that one error and nothing else."""
    result.contract["pipelines"] = []
    result.contract["environments"] = []
    result.contract["errors"] = [{"location": plugin, "message": error.message}]
    result.errors = [*result.errors, error]
    result.fatal = True
    return result


def _add_error(result: ContractResult, error: ConfigError, file: str) -> None:
    result.errors.append(error)
    message = error.message
    if error.location.line is not None and not message.startswith("Failed to parse"):
        message = f"Line {error.location.line}, column {error.location.column}: {message}"
    result.contract["errors"].append({"location": file, "message": message})
