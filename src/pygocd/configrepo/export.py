"""Domain config → GoCD YAML (format_version 10) that reads back to the same objects.

The output is what GoCD's YAML plugin would accept: map keys are names, stages and tasks are
lists of single-key maps, `script:` is used for script-executor tasks, defaults are left
out. Blank values are written as plain empty values (`FOO:`), never as `null`, which GoCD's
reader would take as the text "null".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from pygocd.domain.environments import EnvironmentConfig
from pygocd.domain.materials import (
    ConfigRepoMaterialConfig,
    ConfigurationProperty,
    DependencyMaterialConfig,
    GitMaterialConfig,
    HgMaterialConfig,
    MaterialConfig,
    MaterialFilter,
    P4MaterialConfig,
    PackageMaterialConfig,
    PluggableScmMaterialConfig,
    PluginConfiguration,
    SvnMaterialConfig,
    TfsMaterialConfig,
)
from pygocd.domain.pipelines import (
    DEFAULT_LABEL_TEMPLATE,
    ApprovalType,
    ArtifactConfig,
    ArtifactType,
    JobConfig,
    LockBehavior,
    PipelineConfig,
    StageConfig,
)
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
    script_task,
)
from pygocd.domain.variables import EnvironmentVariable

EXPORT_FORMAT_VERSION = 10

Yaml = dict[str, Any]


class _Dumper(yaml.SafeDumper):
    """Block style, keys in insertion order, None as a plain empty value."""


def _none(dumper: yaml.SafeDumper, _: None) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:null", "")


_LINE_BREAKS = frozenset("\x85\u2028\u2029")


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    """YAML 1.1 readers fold NEL and the Unicode line separators in plain and single-quoted
    text; double quotes escape them, so they survive the round trip."""
    style = '"' if any(char in _LINE_BREAKS for char in value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(type(None), _none)
_Dumper.add_representer(str, _text)


def export_yaml(
    pipelines: Iterable[PipelineConfig], environments: Iterable[EnvironmentConfig] = ()
) -> str:
    document: Yaml = {"format_version": EXPORT_FORMAT_VERSION}
    pipeline_map = {p.name: pipeline_yaml(p) for p in pipelines}
    if pipeline_map:
        document["pipelines"] = pipeline_map
    environment_map = {e.name: environment_yaml(e) for e in environments}
    if environment_map:
        document["environments"] = environment_map
    text: str = yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=2**16,
    )
    return text


def _variables(target: Yaml, variables: tuple[EnvironmentVariable, ...]) -> None:
    plain = {v.name: v.value for v in variables if v.encrypted_value is None}
    secure = {v.name: v.encrypted_value for v in variables if v.encrypted_value is not None}
    if plain:
        target["environment_variables"] = plain
    if secure:
        target["secure_variables"] = secure


def _options(target: Yaml, properties: tuple[ConfigurationProperty, ...]) -> None:
    plain = {p.key: p.value for p in properties if p.encrypted_value is None}
    secure = {p.key: p.encrypted_value for p in properties if p.encrypted_value is not None}
    if plain:
        target["options"] = plain
    if secure:
        target["secure_options"] = secure


def _plugin(config: PluginConfiguration) -> Yaml:
    return {"id": config.id, "version": config.version}


def pipeline_yaml(pipeline: PipelineConfig) -> Yaml:
    body: Yaml = {"group": pipeline.group}
    if pipeline.display_order_weight != -1:
        body["display_order"] = pipeline.display_order_weight
    if pipeline.label_template != DEFAULT_LABEL_TEMPLATE:
        body["label_template"] = pipeline.label_template
    if pipeline.lock_behavior is not LockBehavior.NONE:
        body["lock_behavior"] = str(pipeline.lock_behavior)
    if pipeline.tracking_tool is not None:
        body["tracking_tool"] = {
            "link": pipeline.tracking_tool.link,
            "regex": pipeline.tracking_tool.regex,
        }
    if pipeline.timer is not None:
        body["timer"] = {"spec": pipeline.timer.spec}
        if pipeline.timer.only_on_changes:
            body["timer"]["only_on_changes"] = True
    _variables(body, pipeline.environment_variables)
    if pipeline.parameters:
        body["parameters"] = {p.name: p.value for p in pipeline.parameters}
    body["materials"] = {
        _material_name(m, index): material_yaml(m) for index, m in enumerate(pipeline.materials)
    }
    if pipeline.template is not None:
        body["template"] = pipeline.template
    else:
        body["stages"] = [{stage.name: stage_yaml(stage)} for stage in pipeline.stages]
    return body


def _material_name(material: MaterialConfig, index: int) -> str:
    if material.name:
        return material.name
    if isinstance(material, DependencyMaterialConfig):
        return material.effective_name
    return f"{material.kind}-{material.fingerprint[:7]}-{index}"


def _filter(body: Yaml, material_filter: MaterialFilter) -> None:
    if material_filter.ignore:
        body["ignore"] = list(material_filter.ignore)
    if material_filter.includes:
        body["includes"] = list(material_filter.includes)


def material_yaml(material: MaterialConfig) -> Yaml:
    if isinstance(material, DependencyMaterialConfig):
        body: Yaml = {"pipeline": material.pipeline, "stage": material.stage}
        if material.ignore_for_scheduling:
            body["ignore_for_scheduling"] = True
        return body
    if isinstance(material, PackageMaterialConfig):
        return {"package": material.package_id}
    if isinstance(material, PluggableScmMaterialConfig):
        body = {}
        if material.scm_id is not None:
            body["scm"] = material.scm_id
        if material.plugin_configuration is not None:
            body["plugin_configuration"] = _plugin(material.plugin_configuration)
        _options(body, material.configuration)
    elif isinstance(material, ConfigRepoMaterialConfig):
        body = {"type": "configrepo"}
    else:
        body = _scm_material(material)
    if material.destination is not None:
        body["destination"] = material.destination
    _filter(body, material.filter)
    return body


def _scm_material(
    material: GitMaterialConfig
    | SvnMaterialConfig
    | HgMaterialConfig
    | P4MaterialConfig
    | TfsMaterialConfig,
) -> Yaml:
    body: Yaml
    if isinstance(material, GitMaterialConfig):
        body = {"git": material.url, "branch": material.branch}
        if material.shallow_clone:
            body["shallow_clone"] = True
    elif isinstance(material, SvnMaterialConfig):
        body = {"svn": material.url}
        if material.check_externals:
            body["check_externals"] = True
    elif isinstance(material, HgMaterialConfig):
        body = {"hg": material.url}
        if material.branch is not None:
            body["branch"] = material.branch
    elif isinstance(material, P4MaterialConfig):
        body = {"p4": material.port, "view": material.view}
        if material.use_tickets:
            body["use_tickets"] = True
    else:
        body = {"type": "tfs", "url": material.url, "project": material.project_path}
        if material.domain is not None:
            body["domain"] = material.domain
    for key in ("username", "password", "encrypted_password"):
        value = getattr(material, key)
        if value is not None:
            body[key] = value
    if not material.auto_update:
        body["auto_update"] = False
    return body


def stage_yaml(stage: StageConfig) -> Yaml:
    body: Yaml = {}
    if not stage.fetch_materials:
        body["fetch_materials"] = False
    if stage.never_cleanup_artifacts:
        body["keep_artifacts"] = True
    if stage.clean_working_directory:
        body["clean_workspace"] = True
    approval = stage.approval
    if (
        approval.type is not ApprovalType.SUCCESS
        or approval.allow_only_on_success
        or not approval.authorization.is_empty
    ):
        body["approval"] = {"type": str(approval.type)}
        if approval.allow_only_on_success:
            body["approval"]["allow_only_on_success"] = True
        if approval.authorization.users:
            body["approval"]["users"] = list(approval.authorization.users)
        if approval.authorization.roles:
            body["approval"]["roles"] = list(approval.authorization.roles)
    _variables(body, stage.environment_variables)
    body["jobs"] = {job.name: job_yaml(job) for job in stage.jobs}
    return body


def job_yaml(job: JobConfig) -> Yaml:
    body: Yaml = {}
    if job.timeout:
        body["timeout"] = job.timeout
    if job.run_on_all_agents:
        body["run_instances"] = "all"
    elif job.run_instance_count is not None:
        body["run_instances"] = job.run_instance_count
    if job.resources:
        body["resources"] = list(job.resources)
    if job.elastic_profile_id is not None:
        body["elastic_profile_id"] = job.elastic_profile_id
    if job.tabs:
        body["tabs"] = {tab.name: tab.path for tab in job.tabs}
    if job.artifacts:
        body["artifacts"] = [artifact_yaml(a) for a in job.artifacts]
    _variables(body, job.environment_variables)
    body["tasks"] = [task_yaml(task) for task in job.tasks]
    return body


def artifact_yaml(artifact: ArtifactConfig) -> Yaml:
    if artifact.type is ArtifactType.EXTERNAL:
        body: Yaml = {"id": artifact.id, "store_id": artifact.store_id}
        if artifact.configuration:
            body["configuration"] = {}
            _options(body["configuration"], artifact.configuration)
        return {"external": body}
    body = {"source": artifact.source}
    if artifact.destination is not None:
        body["destination"] = artifact.destination
    return {str(artifact.type): body}


def task_yaml(task: Task) -> Yaml:
    if (
        isinstance(task, PluginTask)
        and task.script is not None
        and task == script_task(task.script)
    ):
        return {"script": task.script}
    body: Yaml = {}
    if isinstance(task, ExecTask):
        kind = "exec"
        body["command"] = task.command
        if task.arguments:
            body["arguments"] = list(task.arguments)
        _optional(body, "working_directory", task.working_directory)
        if task.timeout is not None:
            body["timeout"] = str(task.timeout)
    elif isinstance(task, AntTask | NantTask | RakeTask):
        kind = task.kind
        _optional(body, "build_file", task.build_file)
        _optional(body, "target", task.target)
        _optional(body, "working_directory", task.working_directory)
        if isinstance(task, NantTask):
            _optional(body, "nant_path", task.nant_path)
    elif isinstance(task, FetchArtifactTask):
        kind = "fetch"
        _optional(body, "pipeline", task.pipeline)
        body.update(stage=task.stage, job=task.job, source=task.source)
        if task.is_source_a_file:
            body["is_file"] = True
        _optional(body, "destination", task.destination)
    elif isinstance(task, FetchExternalArtifactTask):
        kind = "fetch"
        body["artifact_origin"] = "external"
        _optional(body, "pipeline", task.pipeline)
        body.update(stage=task.stage, job=task.job, artifact_id=task.artifact_id)
        if task.configuration:
            body["configuration"] = {}
            _options(body["configuration"], task.configuration)
    else:
        kind = "plugin"
        if task.plugin_configuration is not None:
            body["configuration"] = _plugin(task.plugin_configuration)
        _options(body, task.configuration)
    if task.run_if is not RunIf.PASSED:
        body["run_if"] = str(task.run_if)
    if task.on_cancel is not None:
        body["on_cancel"] = task_yaml(task.on_cancel)
    return {kind: body or None}


def _optional(body: Yaml, key: str, value: str | None) -> None:
    if value is not None:
        body[key] = value


def environment_yaml(environment: EnvironmentConfig) -> Yaml | None:
    body: Yaml = {}
    _variables(body, environment.environment_variables)
    if environment.pipelines:
        body["pipelines"] = list(environment.pipelines)
    if environment.agents:
        body["agents"] = list(environment.agents)
    return body or None
