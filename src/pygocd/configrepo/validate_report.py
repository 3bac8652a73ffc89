"""Where validation errors point: key paths for config objects and a reporter that locates them.

Key paths follow the readers' convention (`pygocd.configrepo.errors`): names for map entries,
`[i]` for list items, e.g. `pipelines.build.stages[1].jobs.test.tasks[0]`,
`pipelines.build.materials.repo`, `environments.prod`.

Two parts of the config may share a key path: two files defining pipeline `build`, or the
parts of one environment spread over several files. A merged `SourceMap` only knows the first
of them, so the reporter prefers the source map of the file the object came from
(`origin.file`) when it has one, and otherwise points at that file without a line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pygocd.configrepo.errors import ConfigError, Location, SourceMap
from pygocd.domain.materials import MaterialConfig, material_name
from pygocd.domain.variables import EnvironmentVariable

DEFAULT_FILE = "<config>"


def pipeline_path(name: str) -> str:
    return f"pipelines.{name}"


def template_path(name: str) -> str:
    return f"templates.{name}"


def environment_path(name: str) -> str:
    return f"environments.{name}"


def stage_path(parent: str, index: int) -> str:
    return f"{parent}.stages[{index}]"


def job_path(stage: str, name: str) -> str:
    return f"{stage}.jobs.{name}"


def task_path(job: str, index: int) -> str:
    return f"{job}.tasks[{index}]"


def material_path(pipeline: str, material: MaterialConfig, index: int) -> str:
    name = material_name(material)
    return f"{pipeline}.materials.{name}" if name else f"{pipeline}.materials[{index}]"


def variable_path(scope: str, variable: EnvironmentVariable) -> str:
    section = "secure_variables" if variable.secure else "environment_variables"
    return f"{scope}.{section}.{variable.name}"


def top_level_key(key_path: str) -> str:
    """`pipelines.build.stages[0]` → `pipelines.build` (lower-cased: names are case-insensitive)."""
    head, _, rest = key_path.partition(".")
    name = rest.split(".", 1)[0].split("[", 1)[0]
    return f"{head}.{name}".lower()


@dataclass
class Reporter:
    """Collects every error, each located through the source maps."""

    source_map: SourceMap | None = None
    file_source_maps: Mapping[str, SourceMap] = field(default_factory=dict)
    errors: list[ConfigError] = field(default_factory=list)
    # top-level keys (`pipelines.build`) defined in more than one place
    shared_keys: set[str] = field(default_factory=set)

    def add(
        self,
        key_path: str,
        message: str,
        *,
        origin_file: str | None = None,
        locate_at: str | None = None,
    ) -> None:
        location = self.locate(locate_at or key_path, origin_file)
        self.errors.append(ConfigError(location, key_path, message))

    def locate(self, key_path: str, origin_file: str | None = None) -> Location:
        default = origin_file or DEFAULT_FILE
        if origin_file is not None:
            own_map = self.file_source_maps.get(origin_file)
            if own_map is not None:
                return own_map.locate(key_path, default)
        if self.source_map is None:
            return Location(default)
        location = self.source_map.locate(key_path, default)
        if (
            origin_file is not None
            and top_level_key(key_path) in self.shared_keys
            and location.file != origin_file
        ):
            # the merged map points at the other definition of this name
            return Location(origin_file)
        return location


@dataclass(frozen=True, slots=True)
class Scope:
    """Where errors of one pipeline or template go: its key path and its file."""

    path: str
    origin_file: str | None = None
    locate_at: str | None = None  # e.g. a pipeline's `template` key for template stages

    def child(self, path: str) -> Scope:
        return Scope(path, self.origin_file, self.locate_at)


def report(reporter: Reporter, scope: Scope, key_path: str, message: str) -> None:
    reporter.add(key_path, message, origin_file=scope.origin_file, locate_at=scope.locate_at)
