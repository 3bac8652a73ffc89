"""Task configurations: exec, ant, nant, rake, fetch (GoCD and external) and plugin tasks.

Every task has `run_if` (GoCD's `runif`, default `passed`) and an optional `on_cancel` task.
The `script:` shorthand of GoCD YAML is a plugin task for the script-executor plugin.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, Literal

from pygocd.domain.materials import ConfigurationProperty, PluginConfiguration

SCRIPT_EXECUTOR_PLUGIN_ID = "script-executor"


class RunIf(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ANY = "any"

    def applies_to(self, job_failed: bool) -> bool:
        """Whether a task with this run-if runs, given the job's result so far."""
        if self is RunIf.ANY:
            return True
        return job_failed == (self is RunIf.FAILED)


@dataclass(frozen=True, slots=True)
class ExecTask:
    command: str = ""
    arguments: tuple[str, ...] = ()
    working_directory: str | None = None
    timeout: int | None = None
    run_if: RunIf = RunIf.PASSED
    on_cancel: Task | None = None

    kind: ClassVar[Literal["exec"]] = "exec"


@dataclass(frozen=True, slots=True)
class AntTask:
    build_file: str | None = None
    target: str | None = None
    working_directory: str | None = None
    run_if: RunIf = RunIf.PASSED
    on_cancel: Task | None = None

    kind: ClassVar[Literal["ant"]] = "ant"


@dataclass(frozen=True, slots=True)
class NantTask:
    build_file: str | None = None
    target: str | None = None
    working_directory: str | None = None
    nant_path: str | None = None
    run_if: RunIf = RunIf.PASSED
    on_cancel: Task | None = None

    kind: ClassVar[Literal["nant"]] = "nant"


@dataclass(frozen=True, slots=True)
class RakeTask:
    build_file: str | None = None
    target: str | None = None
    working_directory: str | None = None
    run_if: RunIf = RunIf.PASSED
    on_cancel: Task | None = None

    kind: ClassVar[Literal["rake"]] = "rake"


@dataclass(frozen=True, slots=True)
class FetchArtifactTask:
    """Fetch from GoCD's artifact store: `pipeline` empty = this pipeline; may be a path `a/b`."""

    stage: str = ""
    job: str = ""
    source: str = ""
    pipeline: str | None = None
    is_source_a_file: bool = False
    destination: str | None = None
    run_if: RunIf = RunIf.PASSED
    on_cancel: Task | None = None

    kind: ClassVar[Literal["fetch"]] = "fetch"


@dataclass(frozen=True, slots=True)
class FetchExternalArtifactTask:
    stage: str = ""
    job: str = ""
    artifact_id: str = ""
    pipeline: str | None = None
    configuration: tuple[ConfigurationProperty, ...] = ()
    run_if: RunIf = RunIf.PASSED
    on_cancel: Task | None = None

    kind: ClassVar[Literal["fetch_external"]] = "fetch_external"


@dataclass(frozen=True, slots=True)
class PluginTask:
    plugin_configuration: PluginConfiguration | None = None
    configuration: tuple[ConfigurationProperty, ...] = ()
    run_if: RunIf = RunIf.PASSED
    on_cancel: Task | None = None

    kind: ClassVar[Literal["plugin"]] = "plugin"

    @property
    def script(self) -> str | None:
        """The script text when this is GoCD's script-executor shape, else None."""
        if self.plugin_configuration is None:
            return None
        if self.plugin_configuration.id != SCRIPT_EXECUTOR_PLUGIN_ID:
            return None
        for prop in self.configuration:
            if prop.key == "script":
                return prop.value
        return None


def script_task(text: str) -> PluginTask:
    """The plugin task GoCD YAML's `script:` shorthand expands to."""
    return PluginTask(
        plugin_configuration=PluginConfiguration(id=SCRIPT_EXECUTOR_PLUGIN_ID, version="1"),
        configuration=(ConfigurationProperty(key="script", value=text),),
    )


Task = (
    ExecTask
    | AntTask
    | NantTask
    | RakeTask
    | FetchArtifactTask
    | FetchExternalArtifactTask
    | PluginTask
)
