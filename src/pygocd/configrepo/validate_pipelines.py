"""Rules inside one pipeline or template: names, stages, jobs, tasks, variables (its
materials: `validate_materials`).

Messages are GoCD's (`PipelineConfig`, `StageConfig`, `JobConfig`, `MaterialConfigs`, ...)
where GoCD has one; rules that need other pipelines live in `validate_graph`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pygocd.configrepo.validate_materials import check_materials
from pygocd.configrepo.validate_report import (
    Reporter,
    Scope,
    job_path,
    report,
    stage_path,
    task_path,
    variable_path,
)
from pygocd.domain.cron import CronError, parse_cron
from pygocd.domain.labels import label_template_errors
from pygocd.domain.materials import material_name
from pygocd.domain.names import MAX_TAB_NAME_LENGTH, name_error
from pygocd.domain.pipelines import (
    ApprovalType,
    JobConfig,
    LockBehavior,
    PipelineConfig,
    StageConfig,
    TemplateConfig,
)
from pygocd.domain.tasks import ExecTask, PluginTask, Task
from pygocd.domain.variables import EnvironmentVariable, Parameter

VALID_LOCK_VALUES = [b.value for b in LockBehavior]
VALID_APPROVAL_TYPES = [a.value for a in ApprovalType]


# --- pipeline ------------------------------------------------------------------------------


def check_pipeline(
    reporter: Reporter,
    pipeline: PipelineConfig,
    scope: Scope,
    template_exists: bool,
) -> None:
    """Every rule of one pipeline that needs nothing outside it (params already resolved)."""
    path = scope.path
    name = pipeline.name
    if (message := name_error("pipeline", name)) is not None:
        report(reporter, scope, path, message)
    if (message := name_error("group", pipeline.group)) is not None:
        report(reporter, scope, f"{path}.group", message)

    if str(pipeline.lock_behavior) not in VALID_LOCK_VALUES:
        report(
            reporter,
            scope,
            f"{path}.lock_behavior",
            f"Lock behavior has an invalid value ({pipeline.lock_behavior}). "
            f"Valid values are: [{', '.join(VALID_LOCK_VALUES)}]",
        )

    names = {n.lower() for m in pipeline.materials if (n := material_name(m))}
    for message in label_template_errors(pipeline.label_template, names):
        report(reporter, scope, f"{path}.label_template", message)

    if pipeline.tracking_tool is not None and "${ID}" not in pipeline.tracking_tool.link:
        report(
            reporter,
            scope,
            f"{path}.tracking_tool",
            "Link must be a URL containing '${ID}'. Go will replace the string '${ID}' with "
            "the first matched group from the regex at run-time.",
        )

    if pipeline.timer is not None:
        try:
            parse_cron(pipeline.timer.spec)
        except CronError as error:
            report(reporter, scope, f"{path}.timer", f"Invalid cron syntax for timer: {error}")

    check_parameters(reporter, scope, pipeline.parameters, name)
    check_variables(reporter, scope, path, pipeline.environment_variables, "pipeline", name)
    check_materials(reporter, scope, pipeline)

    if pipeline.template:
        if (message := name_error("template", pipeline.template)) is not None:
            report(reporter, scope, f"{path}.template", message)
        if pipeline.stages:
            report(
                reporter,
                scope,
                f"{path}.template",
                f"Cannot add stages to pipeline '{name}' which already references "
                f"template '{pipeline.template}'",
            )
        if not template_exists:
            report(
                reporter,
                scope,
                f"{path}.template",
                f"Pipeline '{name}' refers to non-existent template '{pipeline.template}'.",
            )
    elif not pipeline.stages:
        report(
            reporter,
            scope,
            path,
            f"Pipeline '{name}' does not have any stages configured. "
            "A pipeline must have at least one stage.",
        )
    check_stages(reporter, scope, pipeline.stages, name)


def check_template(reporter: Reporter, template: TemplateConfig, scope: Scope) -> None:
    if (message := name_error("template", template.name)) is not None:
        report(reporter, scope, scope.path, message)
    if not template.stages:
        report(
            reporter,
            scope,
            scope.path,
            f"Template '{template.name}' does not have any stages configured. "
            "A template must have at least one stage.",
        )
    check_stages(reporter, scope, template.stages, template.name)


def check_parameters(
    reporter: Reporter, scope: Scope, parameters: Sequence[Parameter], pipeline: str
) -> None:
    seen: set[str] = set()
    for param in parameters:
        key = f"{scope.path}.parameters.{param.name}"
        if (message := name_error("parameter", param.name)) is not None:
            report(reporter, scope, key, message)
        if param.name.lower() in seen:
            report(
                reporter,
                scope,
                key,
                f"Param name '{param.name}' is not unique for pipeline '{pipeline}'.",
            )
        seen.add(param.name.lower())


def check_variables(
    reporter: Reporter,
    scope: Scope,
    path: str,
    variables: Iterable[EnvironmentVariable],
    kind: str,
    owner: str,
) -> None:
    """Names unique per scope, case-insensitive; a plain and a secure one count as a repeat."""
    seen: set[str] = set()
    for variable in variables:
        key = variable_path(path, variable)
        if not variable.name.strip():
            report(
                reporter,
                scope,
                key,
                f"Environment Variable cannot have an empty name for {kind} '{owner}'.",
            )
            continue
        if variable.name.lower() in seen:
            report(
                reporter,
                scope,
                key,
                f"Environment Variable name '{variable.name}' is not unique for {kind} '{owner}'.",
            )
        seen.add(variable.name.lower())


# --- stages, jobs, tasks -------------------------------------------------------------------


def check_stages(
    reporter: Reporter, scope: Scope, stages: Sequence[StageConfig], owner: str
) -> None:
    seen: dict[str, int] = {}
    reported: set[int] = set()
    for index, stage in enumerate(stages):
        key = stage_path(scope.path, index)
        if (message := name_error("stage", stage.name)) is not None:
            report(reporter, scope, key, message)
        lowered = stage.name.lower()
        if lowered in seen:
            for duplicate in (seen[lowered], index):
                if duplicate in reported:
                    continue
                reported.add(duplicate)
                report(
                    reporter,
                    scope,
                    stage_path(scope.path, duplicate),
                    f"You have defined multiple stages called '{stages[duplicate].name}'. "
                    "Stage names are case-insensitive and must be unique.",
                )
        seen.setdefault(lowered, index)
        if str(stage.approval.type) not in VALID_APPROVAL_TYPES:
            report(
                reporter,
                scope,
                f"{key}.approval",
                f"You have defined approval type as '{stage.approval.type}'. Approval can "
                f"only be of the type '{ApprovalType.MANUAL}' or '{ApprovalType.SUCCESS}'.",
            )
        check_variables(reporter, scope, key, stage.environment_variables, "stage", stage.name)
        check_jobs(reporter, scope, key, stage)


def check_jobs(reporter: Reporter, scope: Scope, path: str, stage: StageConfig) -> None:
    if not stage.jobs:
        report(
            reporter,
            scope,
            path,
            f"Stage '{stage.name}' does not have any jobs configured. "
            "A stage must have at least one job.",
        )
    seen: set[str] = set()
    for job in stage.jobs:
        key = job_path(path, job.name)
        if job.name.lower() in seen:
            report(
                reporter,
                scope,
                key,
                f"You have defined multiple jobs called '{job.name}'. Job names are "
                "case-insensitive and must be unique.",
            )
        seen.add(job.name.lower())
        check_job(reporter, scope, key, job)


def check_job(reporter: Reporter, scope: Scope, key: str, job: JobConfig) -> None:
    if (message := name_error("job", job.name)) is not None:
        report(reporter, scope, key, message)
    if job.run_instance_count is not None and job.run_instance_count <= 0:
        report(
            reporter,
            scope,
            f"{key}.run_instances",
            "'Run Instance Count' should be a valid positive integer as it represents number "
            "of instances Go needs to spawn during runtime.",
        )
    if job.run_on_all_agents and job.run_instance_count is not None:
        report(
            reporter,
            scope,
            f"{key}.run_instances",
            "Job cannot be 'run on all agents' type and 'run multiple instance' type together.",
        )
    if job.timeout is not None and job.timeout < 0:
        report(
            reporter,
            scope,
            f"{key}.timeout",
            "Timeout cannot be a negative number as it represents number of minutes",
        )
    if job.elastic_profile_id is not None:
        if job.resources:
            report(
                reporter,
                scope,
                f"{key}.elastic_profile_id",
                "Job cannot have both `resource` and `elasticProfileId`",
            )
        if not job.elastic_profile_id.strip():
            report(reporter, scope, f"{key}.elastic_profile_id", "Must not be a blank string")
        if job.run_on_all_agents:
            report(
                reporter,
                scope,
                f"{key}.run_instances",
                "Job cannot be set to 'run on all agents' when assigned to an elastic agent",
            )
    for resource in job.resources:
        if not resource.strip():
            report(reporter, scope, f"{key}.resources", f"Empty resource name in job '{job.name}'.")
    for index, tab in enumerate(job.tabs):
        if len(tab.name) > MAX_TAB_NAME_LENGTH:
            report(
                reporter,
                scope,
                f"{key}.tabs.{tab.name}",
                f"Tab name '{tab.name}' is invalid. Tab names cannot exceed "
                f"{MAX_TAB_NAME_LENGTH} characters.",
            )
        if not tab.path.strip() or any(ch.isspace() for ch in tab.path):
            report(
                reporter,
                scope,
                f"{key}.tabs[{index}]",
                f"Tab '{tab.name}' needs a path without spaces.",
            )
    check_variables(reporter, scope, key, job.environment_variables, "job", job.name)
    if not job.tasks:
        report(
            reporter,
            scope,
            f"{key}.tasks",
            f"Job '{job.name}' does not have any tasks. A job must have at least one task.",
        )
    for index, task in enumerate(job.tasks):
        check_task(reporter, scope, task_path(key, index), task)


def check_task(reporter: Reporter, scope: Scope, key: str, task: Task) -> None:
    if isinstance(task, ExecTask):
        if not task.command.strip():
            report(reporter, scope, key, "exec needs a command")
        elif task.command != task.command.strip():
            report(
                reporter,
                scope,
                key,
                f"Command '{task.command}' of the exec task cannot have leading or trailing spaces",
            )
    elif isinstance(task, PluginTask) and (
        task.plugin_configuration is None or not task.plugin_configuration.id.strip()
    ):
        report(reporter, scope, key, "A plugin task needs a plugin configuration with an id.")
    if task.on_cancel is not None:
        check_task(reporter, scope, f"{key}.on_cancel", task.on_cancel)
