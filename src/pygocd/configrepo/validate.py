"""Validate a whole configuration; collect every error with file, line, column and key path.

    ci.gocd.yaml:14:9 pipelines.build.stages[1].jobs.test.tasks[0]: exec needs a command

The order follows GoCD: parameters are substituted first (a template's stages with each
pipeline's parameters), then each pipeline and template is checked on its own
(`validate_pipelines`), then the rules across pipelines (`validate_graph`), then environments.
Nothing stops at the first error.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from pygocd.configrepo.errors import ConfigError, SourceMap
from pygocd.configrepo.validate_graph import (
    PipelineView,
    check_cycles,
    check_dependencies,
    check_fetch_tasks,
)
from pygocd.configrepo.validate_params import resolve_pipeline, resolve_stages
from pygocd.configrepo.validate_pipelines import (
    check_pipeline,
    check_template,
    check_variables,
)
from pygocd.configrepo.validate_report import (
    Reporter,
    Scope,
    environment_path,
    pipeline_path,
    report,
    template_path,
    variable_path,
)
from pygocd.domain.config import CruiseConfig
from pygocd.domain.environments import EnvironmentConfig
from pygocd.domain.names import name_error
from pygocd.domain.pipelines import PipelineConfig

__all__ = ["validate_config"]


def validate_config(
    config: CruiseConfig,
    source_map: SourceMap | None = None,
    *,
    file_source_maps: Mapping[str, SourceMap] | None = None,
) -> list[ConfigError]:
    """Every problem of `config`, located through `source_map`.

    `file_source_maps` (file → its own source map) lets errors point at the right line when
    the same name is defined in several files; without it such errors point at the file.
    """
    reporter = Reporter(source_map, file_source_maps or {})
    pipelines = list(config.all_pipelines())
    _check_duplicate_pipelines(reporter, pipelines)
    _mark_shared_environments(reporter, config.environments)

    for group in config.groups:
        if not group.pipelines and (message := name_error("group", group.name)) is not None:
            reporter.add(f"groups.{group.name}", message)

    for template in config.templates:
        check_template(reporter, template, Scope(template_path(template.name)))

    views: list[PipelineView] = []
    index: dict[str, PipelineView] = {}
    for pipeline in pipelines:
        view = _view(reporter, config, pipeline)
        check_pipeline(
            reporter,
            view.pipeline,
            view.scope,
            template_exists=view.template_found,
        )
        if pipeline.name.lower() not in index:
            index[pipeline.name.lower()] = view
            views.append(view)

    check_dependencies(reporter, views, index)
    check_cycles(reporter, views, index)
    check_fetch_tasks(reporter, views, index)
    _check_environments(reporter, config.environments, index)
    return reporter.errors


def _view(reporter: Reporter, config: CruiseConfig, pipeline: PipelineConfig) -> PipelineView:
    """The pipeline with parameters substituted, and the stages it runs."""
    path = pipeline_path(pipeline.name)
    scope = Scope(path, pipeline.origin.file)
    params = {p.name: p.value for p in pipeline.parameters}

    def on_param_error(key_path: str, message: str) -> None:
        report(reporter, scope, key_path, message)

    resolved = resolve_pipeline(pipeline, params, path, on_param_error)
    template = config.find_template(pipeline.template) if pipeline.template else None
    if template is None or pipeline.stages:
        return PipelineView(resolved, resolved.stages, scope, scope, template is not None)

    stage_scope = Scope(template_path(template.name), pipeline.origin.file, f"{path}.template")

    def on_template_param_error(key_path: str, message: str) -> None:
        report(reporter, stage_scope, key_path, f"{message} (pipeline '{pipeline.name}')")

    stages = resolve_stages(
        template.stages, params, template_path(template.name), on_template_param_error
    )
    return PipelineView(resolved, stages, scope, stage_scope, template_found=True)


def _source_name(pipeline: PipelineConfig) -> str:
    origin = pipeline.origin
    if origin.file:
        return origin.file
    if origin.repo_id:
        return f"config repo '{origin.repo_id}'"
    return "cruise-config.xml"


def _check_duplicate_pipelines(reporter: Reporter, pipelines: list[PipelineConfig]) -> None:
    by_name: dict[str, list[PipelineConfig]] = defaultdict(list)
    for pipeline in pipelines:
        by_name[pipeline.name.lower()].append(pipeline)
    for same in by_name.values():
        if len(same) < 2:
            continue
        reporter.shared_keys.add(pipeline_path(same[0].name).lower())
        sources = ", ".join(_source_name(p) for p in same)
        for pipeline in same:
            reporter.add(
                pipeline_path(pipeline.name),
                f"You have defined multiple pipelines named '{pipeline.name}'. Pipeline names "
                f"must be unique. Source(s): [{sources}]",
                origin_file=pipeline.origin.file,
            )


def _mark_shared_environments(
    reporter: Reporter, environments: tuple[EnvironmentConfig, ...]
) -> None:
    counts: dict[str, int] = defaultdict(int)
    for environment in environments:
        counts[environment.name.lower()] += 1
    for name, count in counts.items():
        if count > 1:
            reporter.shared_keys.add(environment_path(name).lower())


def _check_environments(
    reporter: Reporter,
    environments: tuple[EnvironmentConfig, ...],
    pipelines: Mapping[str, PipelineView],
) -> None:
    """Parts with the same name merge into one environment; a pipeline is in at most one."""
    parts: dict[str, list[EnvironmentConfig]] = defaultdict(list)
    for environment in environments:
        parts[environment.name.lower()].append(environment)

    owner: dict[str, str] = {}  # pipeline → the environment it is in
    for same in parts.values():
        listed: set[str] = set()
        agents: set[str] = set()
        variables: dict[str, int] = {}
        for part_number, part in enumerate(same):
            path = environment_path(part.name)
            scope = Scope(path, part.origin.file)
            if (message := name_error("environment", part.name)) is not None:
                report(reporter, scope, path, message)
            check_variables(
                reporter, scope, path, part.environment_variables, "environment", part.name
            )
            for variable in part.environment_variables:
                first = variables.setdefault(variable.name.lower(), part_number)
                if first != part_number:
                    report(
                        reporter,
                        scope,
                        variable_path(path, variable),
                        f"Environment Variable name '{variable.name}' is not unique for "
                        f"environment '{part.name}': it is also defined in another part of "
                        "this environment.",
                    )
            for position, agent in enumerate(part.agents):
                if agent.lower() in agents:
                    report(
                        reporter,
                        scope,
                        f"{path}.agents[{position}]",
                        f"Agent '{agent}' is listed more than once in environment '{part.name}'.",
                    )
                agents.add(agent.lower())
            for position, name in enumerate(part.pipelines):
                key = f"{path}.pipelines[{position}]"
                lowered = name.lower()
                if lowered not in pipelines:
                    report(
                        reporter,
                        scope,
                        key,
                        f"Environment '{part.name}' refers to an unknown pipeline '{name}'.",
                    )
                if lowered in listed:
                    report(
                        reporter,
                        scope,
                        key,
                        f"Pipeline '{name}' is listed more than once in environment '{part.name}'.",
                    )
                    continue
                listed.add(lowered)
                other = owner.setdefault(lowered, part.name)
                if other.lower() != part.name.lower():
                    report(
                        reporter,
                        scope,
                        key,
                        f"Pipeline '{name}' is already in environment '{other}'. A pipeline "
                        "can be in at most one environment.",
                    )
