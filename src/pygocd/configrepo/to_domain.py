"""Migrated contract JSON (version 11) → pygocd's domain config, with the server's defaults.

What the server checks while binding the JSON (reference §16.3) is reported here: missing
required fields ("missing field 'url'."), unknown material, task and artifact types, bad
`lock_behavior`. The rules that need the whole pipeline or the whole config (unique names,
destinations, references) belong to validation, which runs on the objects built here.
Every problem is collected; a pipeline with problems is still built as far as possible.
"""

from __future__ import annotations

from pygocd.configrepo.domain_reader import DomainReader, Json, child, item_path
from pygocd.configrepo.to_domain_materials import material_config
from pygocd.configrepo.to_domain_tasks import task_config
from pygocd.domain.environments import EnvironmentConfig
from pygocd.domain.pipelines import (
    DEFAULT_GROUP,
    DEFAULT_LABEL_TEMPLATE,
    Approval,
    ApprovalType,
    ArtifactConfig,
    ArtifactType,
    Authorization,
    ConfigOrigin,
    JobConfig,
    LockBehavior,
    PipelineConfig,
    StageConfig,
    Tab,
    Timer,
    TrackingTool,
)
from pygocd.domain.variables import Parameter


def origin_for(file: str, repo_id: str | None) -> ConfigOrigin:
    if repo_id is None:
        return ConfigOrigin(file=file)
    return ConfigOrigin(type="config_repo", repo_id=repo_id, file=file)


def pipeline_config(data: Json, reader: DomainReader, repo_id: str | None = None) -> PipelineConfig:
    name = reader.text(data, "name", "pipelines") or ""
    path = child("pipelines", name) if name else "pipelines"
    if not name:
        reader.missing(path, "name")
    group = reader.text(data, "group", path, required=True)
    if "materials" not in data or data["materials"] is None:
        reader.missing(path, "materials")
    materials = tuple(
        material
        for index, entry in enumerate(reader.objects(data, "materials", path))
        if (material := material_config(entry, reader, item_path(path, "materials", entry, index)))
        is not None
    )
    template = reader.text(data, "template", path)
    stages = tuple(
        stage_config(entry, reader, f"{path}.stages[{index}]")
        for index, entry in enumerate(reader.objects(data, "stages", path))
    )
    lock_text = reader.text(data, "lock_behavior", path)
    lock = LockBehavior.NONE
    if lock_text is not None:
        try:
            lock = LockBehavior(lock_text)
        except ValueError:
            valid = ", ".join(str(value) for value in LockBehavior)
            reader.error(
                child(path, "lock_behavior"),
                f"Lock behavior has an invalid value ({lock_text}). Valid values are: {valid}",
            )
    timer = None
    timer_data = reader.mapping(data, "timer", path)
    if timer_data is not None:
        timer_path = child(path, "timer")
        timer = Timer(
            spec=reader.required(timer_data, "spec", timer_path),
            only_on_changes=reader.flag(timer_data, "only_on_changes", timer_path, False),
        )
    tracking_tool = None
    tool_data = reader.mapping(data, "tracking_tool", path)
    if tool_data is not None:
        tool_path = child(path, "tracking_tool")
        tracking_tool = TrackingTool(
            link=reader.required(tool_data, "link", tool_path),
            regex=reader.required(tool_data, "regex", tool_path),
        )
    parameters = tuple(
        Parameter(
            name=reader.required(entry, "name", item_path(path, "parameters", entry, index)),
            value=reader.text(entry, "value", item_path(path, "parameters", entry, index)),
        )
        for index, entry in enumerate(reader.objects(data, "parameters", path))
    )
    display_order = reader.number(data, "display_order_weight", path)
    return PipelineConfig(
        name=name,
        group=group or DEFAULT_GROUP,
        materials=materials,
        stages=stages,
        template=template,
        label_template=reader.text(data, "label_template", path) or DEFAULT_LABEL_TEMPLATE,
        lock_behavior=lock,
        timer=timer,
        tracking_tool=tracking_tool,
        parameters=parameters,
        environment_variables=reader.variables(data, path),
        display_order_weight=-1 if display_order is None else display_order,
        origin=origin_for(reader.file, repo_id),
    )


def stage_config(data: Json, reader: DomainReader, path: str) -> StageConfig:
    name = reader.required(data, "name", path)
    approval = Approval()
    approval_data = reader.mapping(data, "approval", path)
    if approval_data is not None:
        approval_path = child(path, "approval")
        kind = reader.text(approval_data, "type", approval_path)
        if kind not in ("success", "manual"):
            # the server reads an unknown approval type as no type at all
            reader.missing(approval_path, "type")
        approval = Approval(
            type=ApprovalType(kind) if kind in ("success", "manual") else ApprovalType.SUCCESS,
            allow_only_on_success=reader.flag(
                approval_data, "allow_only_on_success", approval_path, False
            ),
            authorization=Authorization(
                users=reader.strings(approval_data, "users", approval_path),
                roles=reader.strings(approval_data, "roles", approval_path),
            ),
        )
    jobs = tuple(
        job_config(entry, reader, item_path(path, "jobs", entry, index))
        for index, entry in enumerate(reader.objects(data, "jobs", path))
    )
    return StageConfig(
        name=name,
        jobs=jobs,
        approval=approval,
        fetch_materials=reader.flag(data, "fetch_materials", path, True),
        clean_working_directory=reader.flag(data, "clean_working_directory", path, False),
        never_cleanup_artifacts=reader.flag(data, "never_cleanup_artifacts", path, False),
        environment_variables=reader.variables(data, path),
    )


def job_config(data: Json, reader: DomainReader, path: str) -> JobConfig:
    name = reader.required(data, "name", path)
    if "tasks" not in data or data["tasks"] is None:
        reader.missing(path, "tasks")
    tasks = tuple(
        task
        for index, entry in enumerate(reader.objects(data, "tasks", path))
        if (task := task_config(entry, reader, f"{path}.tasks[{index}]")) is not None
    )
    run_on_all = False
    count: int | None = None
    instances = data.get("run_instance_count")
    if isinstance(instances, str) and instances.lower() == "all":
        run_on_all = True
    elif instances is not None:
        count = reader.number(data, "run_instance_count", path)
    timeout = reader.number(data, "timeout", path)
    tabs = tuple(
        Tab(
            name=reader.required(entry, "name", f"{path}.tabs[{index}]"),
            path=reader.required(entry, "path", f"{path}.tabs[{index}]"),
        )
        for index, entry in enumerate(reader.objects(data, "tabs", path))
    )
    artifacts = tuple(
        artifact
        for index, entry in enumerate(reader.objects(data, "artifacts", path))
        if (artifact := artifact_config(entry, reader, f"{path}.artifacts[{index}]")) is not None
    )
    return JobConfig(
        name=name,
        tasks=tasks,
        resources=reader.strings(data, "resources", path),
        timeout=timeout or None,  # 0 means "not set": the server default applies
        run_instance_count=count,
        run_on_all_agents=run_on_all,
        tabs=tabs,
        artifacts=artifacts,
        elastic_profile_id=reader.text(data, "elastic_profile_id", path),
        environment_variables=reader.variables(data, path),
    )


def artifact_config(data: Json, reader: DomainReader, path: str) -> ArtifactConfig | None:
    kind = reader.text(data, "type", path, required=True)
    if kind is None:
        return None
    try:
        artifact_type = ArtifactType(kind)
    except ValueError:
        reader.error(child(path, "type"), f"unknown artifact type '{kind}'")
        return None
    if artifact_type is ArtifactType.EXTERNAL:
        return ArtifactConfig(
            type=artifact_type,
            id=reader.required(data, "id", path),
            store_id=reader.required(data, "store_id", path),
            configuration=reader.properties(data, "configuration", path),
        )
    return ArtifactConfig(
        type=artifact_type,
        source=reader.required(data, "source", path),
        destination=reader.text(data, "destination", path),
    )


def environment_config(
    data: Json, reader: DomainReader, repo_id: str | None = None
) -> EnvironmentConfig:
    name = reader.text(data, "name", "environments") or ""
    path = child("environments", name) if name else "environments"
    if not name:
        reader.missing(path, "name")
    return EnvironmentConfig(
        name=name,
        pipelines=reader.strings(data, "pipelines", path),
        agents=reader.strings(data, "agents", path),
        environment_variables=reader.variables(data, path),
        origin=origin_for(reader.file, repo_id),
    )
