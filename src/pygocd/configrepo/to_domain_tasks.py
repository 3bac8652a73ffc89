"""Contract task JSON → domain task config, with the server's defaults (§11)."""

from __future__ import annotations

from pygocd.configrepo.domain_reader import DomainReader, Json, child
from pygocd.configrepo.to_domain_materials import plugin_configuration
from pygocd.domain.tasks import (
    AntTask,
    ExecTask,
    FetchArtifactTask,
    FetchExternalArtifactTask,
    NantTask,
    PluginTask,
    RakeTask,
    RunIf,
    Task,
)

TASK_TYPES = ("exec", "ant", "nant", "rake", "fetch", "plugin")


def run_if(data: Json, reader: DomainReader, path: str) -> RunIf:
    text = reader.text(data, "run_if", path)
    try:
        return RunIf(text) if text is not None else RunIf.PASSED
    except ValueError:
        # the server reads an unknown run_if as absent, which means `passed`
        return RunIf.PASSED


def task_config(data: Json, reader: DomainReader, path: str) -> Task | None:
    kind = reader.text(data, "type", path)
    if kind is None:
        reader.missing(path, "type")
        return None
    if kind not in TASK_TYPES:
        reader.error(child(path, "type"), f"unknown task type '{kind}'")
        return None
    condition = run_if(data, reader, path)
    on_cancel = None
    cancel_data = reader.mapping(data, "on_cancel", path)
    if cancel_data is not None:
        on_cancel = task_config(cancel_data, reader, child(path, "on_cancel"))
    if kind == "exec":
        return ExecTask(
            command=reader.required(data, "command", path),
            arguments=reader.strings(data, "arguments", path),
            working_directory=reader.text(data, "working_directory", path),
            timeout=reader.number(data, "timeout", path),
            run_if=condition,
            on_cancel=on_cancel,
        )
    if kind in ("ant", "rake"):
        build = AntTask if kind == "ant" else RakeTask
        return build(
            build_file=reader.text(data, "build_file", path),
            target=reader.text(data, "target", path),
            working_directory=reader.text(data, "working_directory", path),
            run_if=condition,
            on_cancel=on_cancel,
        )
    if kind == "nant":
        return NantTask(
            build_file=reader.text(data, "build_file", path),
            target=reader.text(data, "target", path),
            working_directory=reader.text(data, "working_directory", path),
            nant_path=reader.text(data, "nant_path", path),
            run_if=condition,
            on_cancel=on_cancel,
        )
    if kind == "fetch":
        return _fetch(data, reader, path, condition, on_cancel)
    config = plugin_configuration(data, "plugin_configuration", reader, path)
    if config is None:
        reader.missing(path, "plugin_configuration")
    return PluginTask(
        plugin_configuration=config,
        configuration=reader.properties(data, "configuration", path),
        run_if=condition,
        on_cancel=on_cancel,
    )


def _fetch(
    data: Json, reader: DomainReader, path: str, condition: RunIf, on_cancel: Task | None
) -> Task | None:
    origin = reader.text(data, "artifact_origin", path) or "gocd"
    if origin == "external":
        return FetchExternalArtifactTask(
            stage=reader.required(data, "stage", path),
            job=reader.required(data, "job", path),
            artifact_id=reader.required(data, "artifact_id", path),
            pipeline=reader.text(data, "pipeline", path),
            configuration=reader.properties(data, "configuration", path),
            run_if=condition,
            on_cancel=on_cancel,
        )
    if origin != "gocd":
        reader.error(child(path, "artifact_origin"), f"unknown artifact origin '{origin}'")
        return None
    return FetchArtifactTask(
        stage=reader.required(data, "stage", path),
        job=reader.required(data, "job", path),
        source=reader.required(data, "source", path),
        pipeline=reader.text(data, "pipeline", path),
        is_source_a_file=reader.flag(data, "is_source_a_file", path, False),
        destination=reader.text(data, "destination", path),
        run_if=condition,
        on_cancel=on_cancel,
    )
