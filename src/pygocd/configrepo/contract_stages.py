"""YAML stages, jobs, tasks and artifacts → the plugin's JSON (reference §9-11).

Stages and tasks are lists of single-key maps (only the first key counts); stage lists
flatten one level, task lists to any depth. A stage without `jobs` is the single-job
shorthand: one job named after the stage, built from the stage's own map.
"""

from __future__ import annotations

from typing import Any

from pygocd.configrepo.contract_values import (
    Context,
    Json,
    Paths,
    as_map,
    flatten,
    get_bool,
    get_int,
    get_string,
    get_string_list,
    key_value_list,
    required_string,
    type_name,
    variables,
)

SCRIPT_PLUGIN = {"id": "script-executor", "version": "1"}
_TASK_CONSUMED = frozenset(
    ["type", "is_file", "on_cancel", "arguments", "options", "secure_options", "configuration"]
)


def transform_stages(value: Any, ctx: Context, paths: Paths) -> list[Json | None]:
    stages: list[Json | None] = []
    for index, (item, holder, held_at) in enumerate(flatten(value, 1)):
        ctx.record(paths.item(index), holder, held_at)
        stages.append(transform_stage(item, ctx, paths.item(index)))
    return stages


def _single_entry(item: Any, ctx: Context, paths: Paths, what: str) -> tuple[str, Any]:
    if not isinstance(item, dict) or not item:
        raise ctx.fail(f"{what} should be a hash with one entry, got {type_name(item)}", paths)
    name = next(iter(item))
    return name, item[name]


def transform_stage(item: Any, ctx: Context, paths: Paths) -> Json | None:
    if "stages" in ctx.mocked:
        return None
    name, value = _single_entry(item, ctx, paths, "stage")
    body = as_map(value, ctx, paths, f"stage {name} should be a hash, got {type_name(value)}")
    ctx.record_map(paths, body)
    stage: Json = {"name": name}
    for yaml_key, json_key in (
        ("fetch_materials", "fetch_materials"),
        ("keep_artifacts", "never_cleanup_artifacts"),
        ("clean_workspace", "clean_working_directory"),
    ):
        flag = get_bool(body, yaml_key, ctx, paths)
        if flag is not None:
            stage[json_key] = flag
    if body.get("approval") is not None:
        stage["approval"] = _approval(body["approval"], ctx, paths.key("approval"))
    env = variables(body, ctx, paths)
    if env:
        stage["environment_variables"] = env
    jobs = body.get("jobs")
    if jobs is not None:
        mapping = as_map(
            jobs, ctx, paths.key("jobs"), f"jobs should be a hash, got {type_name(jobs)}"
        )
        stage["jobs"] = [
            transform_job(job_name, job_body, ctx, paths.entry("jobs", job_name, index))
            for index, (job_name, job_body) in enumerate(_recorded(mapping, ctx, paths, "jobs"))
        ]
    elif "tasks" in body:
        job_paths = paths.entry("jobs", name, 0)
        ctx.record(job_paths, item, name)
        stage["jobs"] = [transform_job(name, body, ctx, job_paths)]
    else:
        raise ctx.fail(f"stage {name} has no jobs, nor tasks for a single job", paths)
    return stage


def _recorded(
    mapping: dict[str, Any], ctx: Context, paths: Paths, section: str
) -> list[tuple[str, Any]]:
    entries = list(mapping.items())
    for index, (name, _) in enumerate(entries):
        ctx.record(paths.entry(section, name, index), mapping, name)
    return entries


def _approval(value: Any, ctx: Context, paths: Paths) -> Json:
    if isinstance(value, str):
        if value == "manual":
            return {"type": "manual"}
        if value in ("success", "auto"):
            return {"type": "success"}
    if not isinstance(value, dict):
        raise ctx.fail(
            "approval should be a hash or one of the strings 'auto', 'manual' or 'success', "
            f"got {type_name(value)}",
            paths,
        )
    body = as_map(value, ctx, paths, "approval should be a hash")
    ctx.record_map(paths, body)
    approval: Json = {"type": required_string(body, "type", ctx, paths)}
    only_on_success = get_bool(body, "allow_only_on_success", ctx, paths)
    if only_on_success is not None:
        approval["allow_only_on_success"] = only_on_success
    for key in ("users", "roles"):
        names = get_string_list(body, key, ctx, paths)
        if names:
            approval[key] = names
    return approval


def transform_job(name: str, value: Any, ctx: Context, paths: Paths) -> Json | None:
    if "jobs" in ctx.mocked:
        return None
    body = as_map(value, ctx, paths, f"job {name} should be a hash, got {type_name(value)}")
    ctx.record_map(paths, body)
    job: Json = {"name": name}
    timeout = get_int(body, "timeout", ctx, paths)
    if timeout is not None:
        job["timeout"] = timeout
    if body.get("run_instances") is not None:
        job["run_instance_count"] = _run_instances(body["run_instances"], ctx, paths)
    resources = get_string_list(body, "resources", ctx, paths)
    if resources:
        job["resources"] = resources
    profile = get_string(body, "elastic_profile_id", ctx, paths)
    if profile is not None:
        job["elastic_profile_id"] = profile
    env = variables(body, ctx, paths)
    if env:
        job["environment_variables"] = env
    if body.get("tabs") is not None:
        job["tabs"] = _tabs(body["tabs"], ctx, paths)
    if body.get("artifacts") is not None:
        job["artifacts"] = _artifacts(body["artifacts"], ctx, paths.key("artifacts"))
    if body.get("properties") is not None:
        job["properties"] = _properties(body["properties"], ctx, paths.key("properties"))
    tasks = body.get("tasks")
    if tasks is None:
        raise ctx.fail(f"tasks are required in job {name}", paths)
    if not isinstance(tasks, list):
        raise ctx.fail(f"tasks of job {name} should be a list, got {type_name(tasks)}", paths)
    job["tasks"] = []
    for index, (item, holder, held_at) in enumerate(flatten(tasks, None)):
        ctx.record(paths.key("tasks").item(index), holder, held_at)
        job["tasks"].append(transform_task(item, ctx, paths.key("tasks").item(index)))
    return job


def _run_instances(value: Any, ctx: Context, paths: Paths) -> str | int:
    if isinstance(value, str):
        if value.lower() == "all":
            return "all"
        if value.isdigit() and value.isascii():
            return int(value)
    raise ctx.fail("run_instances must be 'all' or a number", paths.key("run_instances"))


def _tabs(value: Any, ctx: Context, job_paths: Paths) -> list[Json]:
    paths = job_paths.key("tabs")
    mapping = as_map(value, ctx, paths, f"tabs should be a hash, got {type_name(value)}")
    tabs: list[Json] = []
    for index, (name, path) in enumerate(mapping.items()):
        if not isinstance(path, str):
            raise ctx.fail(f"tab {name} should be a path, got {type_name(path)}", paths.key(name))
        ctx.record(job_paths.entry("tabs", name, index), mapping, name)
        tabs.append({"name": name, "path": path})
    return tabs


def _artifacts(value: Any, ctx: Context, paths: Paths) -> list[Json]:
    if not isinstance(value, list):
        raise ctx.fail(f"artifacts should be a list, got {type_name(value)}", paths)
    artifacts: list[Json] = []
    for index, item in enumerate(value):
        item_paths = paths.item(index)
        ctx.record(item_paths, value, index)
        kind, raw = _single_entry(item, ctx, item_paths, "artifact")
        kind = kind.lower()
        if kind not in ("build", "test", "external"):
            raise ctx.fail(f"expected build, test or external artifact, got {kind}", item_paths)
        body = as_map(raw, ctx, item_paths, f"{kind} artifact should be a hash")
        ctx.record_map(item_paths, body)
        artifact: Json = {"type": kind}
        if kind == "external":
            artifact["id"] = required_string(body, "id", ctx, item_paths)
            artifact["store_id"] = required_string(body, "store_id", ctx, item_paths)
            config = body.get("configuration")
            if config is not None:
                config_paths = item_paths.key("configuration")
                options = key_value_list(
                    as_map(config, ctx, config_paths, "configuration should be a hash"),
                    "options",
                    "secure_options",
                    ctx,
                    config_paths,
                )
                if options:
                    artifact["configuration"] = options
        else:
            artifact["source"] = required_string(body, "source", ctx, item_paths)
            destination = get_string(body, "destination", ctx, item_paths)
            if destination is not None:
                artifact["destination"] = destination
        artifacts.append(artifact)
    return artifacts


def _properties(value: Any, ctx: Context, paths: Paths) -> list[Json]:
    mapping = as_map(value, ctx, paths, f"properties should be a hash, got {type_name(value)}")
    result: list[Json] = []
    for name, raw in mapping.items():
        body = as_map(raw, ctx, paths.key(name), f"property {name} should be a hash")
        result.append(
            {
                "name": name,
                "source": required_string(body, "source", ctx, paths.key(name)),
                "xpath": required_string(body, "xpath", ctx, paths.key(name)),
            }
        )
    return result


def transform_task(item: Any, ctx: Context, paths: Paths) -> Json | None:
    if "tasks" in ctx.mocked:
        return None
    kind, value = _single_entry(item, ctx, paths, "task")
    if kind.lower() == "script" and isinstance(value, str):
        return {
            "type": "plugin",
            "plugin_configuration": dict(SCRIPT_PLUGIN),
            "configuration": [{"key": "script", "value": value}],
        }
    task: Json = {"type": kind}
    if value is None:
        return task
    body = as_map(value, ctx, paths, f"task {kind} should be a hash, got {type_name(value)}")
    ctx.record_map(paths, body)
    if body.get("on_cancel") is not None:
        cancel = body["on_cancel"]
        if not isinstance(cancel, dict):
            raise ctx.fail(
                f"on_cancel should be a hash, got {type_name(cancel)}", paths.key("on_cancel")
            )
        task["on_cancel"] = transform_task(cancel, ctx, paths.key("on_cancel"))
    is_file = get_bool(body, "is_file", ctx, paths)
    if is_file is not None:
        task["is_source_a_file"] = is_file
    arguments = get_string_list(body, "arguments", ctx, paths)
    if arguments:
        task["arguments"] = arguments
    if kind == "plugin":
        config = body.get("configuration")
        if config is not None:
            task["plugin_configuration"] = dict(
                as_map(config, ctx, paths.key("configuration"), "configuration should be a hash")
            )
        options = key_value_list(body, "options", "secure_options", ctx, paths)
        if options:
            task["configuration"] = options
    elif kind == "fetch" and body.get("configuration") is not None:
        config_paths = paths.key("configuration")
        config = as_map(body["configuration"], ctx, config_paths, "configuration should be a hash")
        if "options" in config or "secure_options" in config:
            task["configuration"] = key_value_list(
                config, "options", "secure_options", ctx, config_paths
            )
        else:
            task["configuration"] = dict(config)
    for key, text in body.items():
        if key in _TASK_CONSUMED or key in task or not isinstance(text, str):
            continue
        task[key] = text
    return task
