"""Domain config → GoCD's JSON shapes (pipeline config v11, config repo v4, modifications).

Key names, nulls and enumerations are GoCD's (`api-pipeline-config-v11`,
`api-config-repos-v4` representers); `_links` are minimal, built from the request's base URL.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from pygocd.domain.config_repos import ConfigRepoConfig
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
    SvnMaterialConfig,
    TfsMaterialConfig,
    mask_credentials,
)
from pygocd.domain.pipelines import (
    ArtifactConfig,
    ArtifactType,
    ConfigOrigin,
    JobConfig,
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
    Task,
)
from pygocd.domain.variables import EnvironmentVariable
from pygocd.services.git import Commit

Json = dict[str, Any]

PIPELINE_DOC = "https://api.gocd.org/current/#pipeline-config"
CONFIG_REPO_DOC = "https://api.gocd.org/current/#config-repos"


def etag_of(body: object) -> str:
    """A stable digest of a representation (without `_links`, which depend on the host)."""
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k != "_links"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def iso_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- pipeline config (v11) ---------------------------------------------------------------


def pipeline_json(pipeline: PipelineConfig, base: str) -> Json:
    name = pipeline.name
    return {
        "_links": {
            "self": {"href": f"{base}/go/api/admin/pipelines/{name}"},
            "doc": {"href": PIPELINE_DOC},
            "find": {"href": f"{base}/go/api/admin/pipelines/:pipeline_name"},
        },
        "label_template": pipeline.label_template,
        "lock_behavior": pipeline.lock_behavior.value,
        "name": name,
        "template": pipeline.template,
        "group": pipeline.group,
        "origin": origin_json(pipeline.origin, base),
        "parameters": [{"name": p.name, "value": p.value} for p in pipeline.parameters],
        "environment_variables": variables_json(pipeline.environment_variables),
        "materials": [material_json(m) for m in pipeline.materials],
        "stages": [stage_json(s) for s in pipeline.stages],
        "tracking_tool": (
            {
                "type": "generic",
                "attributes": {
                    "url_pattern": pipeline.tracking_tool.link,
                    "regex": pipeline.tracking_tool.regex,
                },
            }
            if pipeline.tracking_tool is not None
            else None
        ),
        "timer": (
            {"spec": pipeline.timer.spec, "only_on_changes": pipeline.timer.only_on_changes}
            if pipeline.timer is not None
            else None
        ),
    }


def origin_json(origin: ConfigOrigin, base: str) -> Json:
    if origin.type == "config_repo" and origin.repo_id:
        return {
            "_links": {
                "self": {"href": f"{base}/go/api/admin/config_repos/{origin.repo_id}"},
                "doc": {"href": CONFIG_REPO_DOC},
                "find": {"href": f"{base}/go/api/admin/config_repos/:id"},
            },
            "type": "config_repo",
            "id": origin.repo_id,
        }
    return {
        "_links": {"self": {"href": f"{base}/go/admin/config_xml"}},
        "type": "gocd",
    }


def variables_json(variables: tuple[EnvironmentVariable, ...]) -> list[Json]:
    shown: list[Json] = []
    for variable in variables:
        if variable.secure:
            shown.append(
                {
                    "name": variable.name,
                    "encrypted_value": variable.encrypted_value,
                    "secure": True,
                }
            )
        else:
            shown.append({"name": variable.name, "value": variable.value or "", "secure": False})
    return shown


def _filter(material_filter: MaterialFilter) -> tuple[Json | None, bool]:
    patterns = material_filter.patterns
    return ({"ignore": list(patterns)} if patterns else None), material_filter.invert


def _properties(properties: tuple[ConfigurationProperty, ...]) -> list[Json]:
    return [
        {"key": p.key, "encrypted_value": p.encrypted_value}
        if p.encrypted_value is not None
        else {"key": p.key, "value": p.value}
        for p in properties
    ]


def material_json(material: MaterialConfig) -> Json:
    if isinstance(material, DependencyMaterialConfig):
        return {
            "type": "dependency",
            "attributes": {
                "pipeline": material.pipeline,
                "stage": material.stage,
                "name": material.effective_name,
                "auto_update": True,
                "ignore_for_scheduling": material.ignore_for_scheduling,
            },
        }
    if isinstance(material, PackageMaterialConfig):
        return {"type": "package", "attributes": {"ref": material.package_id}}
    if isinstance(material, PluggableScmMaterialConfig | ConfigRepoMaterialConfig):
        shown_filter, invert = _filter(material.filter)
        ref = material.scm_id if isinstance(material, PluggableScmMaterialConfig) else None
        kind = "plugin" if isinstance(material, PluggableScmMaterialConfig) else "configrepo"
        return {
            "type": kind,
            "attributes": {
                "ref": ref,
                "name": material.name,
                "destination": material.destination,
                "filter": shown_filter,
                "invert_filter": invert,
            },
        }
    shown_filter, invert = _filter(material.filter)
    common: Json = {
        "destination": material.destination,
        "filter": shown_filter,
        "invert_filter": invert,
        "name": material.name,
        "auto_update": material.auto_update,
    }
    credentials: Json = {"username": material.username}
    if material.encrypted_password:
        credentials["encrypted_password"] = material.encrypted_password
    if isinstance(material, GitMaterialConfig):
        return {
            "type": "git",
            "attributes": {
                "url": mask_credentials(material.url),
                "branch": material.effective_branch,
                **common,
                "submodule_folder": None,
                "shallow_clone": material.shallow_clone,
                **credentials,
            },
        }
    if isinstance(material, SvnMaterialConfig):
        return {
            "type": "svn",
            "attributes": {
                "url": mask_credentials(material.url),
                **common,
                "check_externals": material.check_externals,
                **credentials,
            },
        }
    if isinstance(material, HgMaterialConfig):
        return {
            "type": "hg",
            "attributes": {
                "url": mask_credentials(material.url),
                "branch": material.branch,
                **common,
                **credentials,
            },
        }
    if isinstance(material, P4MaterialConfig):
        return {
            "type": "p4",
            "attributes": {
                "port": material.port,
                "use_tickets": material.use_tickets,
                "view": material.view,
                **common,
                **credentials,
            },
        }
    assert isinstance(material, TfsMaterialConfig)
    return {
        "type": "tfs",
        "attributes": {
            "url": mask_credentials(material.url),
            "project_path": material.project_path,
            "domain": material.domain,
            **common,
            **credentials,
        },
    }


def stage_json(stage: StageConfig) -> Json:
    approval = stage.approval
    return {
        "name": stage.name,
        "fetch_materials": stage.fetch_materials,
        "clean_working_directory": stage.clean_working_directory,
        "never_cleanup_artifacts": stage.never_cleanup_artifacts,
        "approval": {
            "type": approval.type.value,
            "allow_only_on_success": approval.allow_only_on_success,
            "authorization": {
                "roles": list(approval.authorization.roles),
                "users": list(approval.authorization.users),
            },
        },
        "environment_variables": variables_json(stage.environment_variables),
        "jobs": [job_json(j) for j in stage.jobs],
    }


def job_json(job: JobConfig) -> Json:
    return {
        "name": job.name,
        "run_instance_count": "all" if job.run_on_all_agents else job.run_instance_count,
        "timeout": job.timeout,
        "elastic_profile_id": job.elastic_profile_id,
        "environment_variables": variables_json(job.environment_variables),
        "resources": list(job.resources),
        "tasks": [task_json(t) for t in job.tasks],
        "tabs": [{"name": t.name, "path": t.path} for t in job.tabs],
        "artifacts": [artifact_json(a) for a in job.artifacts],
    }


def artifact_json(artifact: ArtifactConfig) -> Json:
    if artifact.type is ArtifactType.EXTERNAL:
        return {
            "type": "external",
            "artifact_id": artifact.id,
            "store_id": artifact.store_id,
            "configuration": _properties(artifact.configuration),
        }
    return {
        "type": artifact.type.value,
        "source": artifact.source,
        "destination": artifact.destination,
    }


def task_json(task: Task) -> Json:
    attributes: Json = {"run_if": [task.run_if.value]}
    kind: str = task.kind
    if isinstance(task, ExecTask):
        attributes.update(
            command=task.command,
            arguments=list(task.arguments),
            working_directory=task.working_directory,
        )
    elif isinstance(task, AntTask | RakeTask | NantTask):
        attributes.update(
            build_file=task.build_file,
            target=task.target,
            working_directory=task.working_directory,
        )
        if isinstance(task, NantTask):
            attributes["nant_path"] = task.nant_path
    elif isinstance(task, FetchArtifactTask):
        kind = "fetch"
        attributes.update(
            artifact_origin="gocd",
            pipeline=task.pipeline,
            stage=task.stage,
            job=task.job,
            source=task.source,
            is_source_a_file=task.is_source_a_file,
            destination=task.destination,
        )
    elif isinstance(task, FetchExternalArtifactTask):
        kind = "fetch"
        attributes.update(
            artifact_origin="external",
            pipeline=task.pipeline,
            stage=task.stage,
            job=task.job,
            artifact_id=task.artifact_id,
            configuration=_properties(task.configuration),
        )
    else:
        assert isinstance(task, PluginTask)
        kind = "pluggable_task"
        plugin = task.plugin_configuration
        attributes.update(
            plugin_configuration=(
                {"id": plugin.id, "version": plugin.version} if plugin is not None else None
            ),
            configuration=_properties(task.configuration),
        )
    attributes["on_cancel"] = task_json(task.on_cancel) if task.on_cancel is not None else None
    return {"type": kind, "attributes": attributes}


# -- config repos (v4) -------------------------------------------------------------------


def modification_json(commit: Commit | None) -> Json | None:
    if commit is None:
        return None
    return {
        "username": commit.username,
        "email_address": commit.email_address,
        "revision": commit.revision,
        "comment": commit.comment,
        "modified_time": iso_time(commit.modified_time),
    }


def config_repo_json(repo: ConfigRepoConfig, base: str) -> Json:
    material = repo.material
    attributes: Json
    if isinstance(material, GitMaterialConfig):
        attributes = {
            "url": mask_credentials(material.url),
            "username": material.username,
            "branch": material.effective_branch,
            "auto_update": material.auto_update,
        }
        if material.encrypted_password:
            attributes["encrypted_password"] = material.encrypted_password
    else:
        attributes = material_json(material)["attributes"]
    return {
        "_links": {
            "self": {"href": f"{base}/go/api/admin/config_repos/{repo.id}"},
            "doc": {"href": CONFIG_REPO_DOC},
            "find": {"href": f"{base}/go/api/admin/config_repos/:id"},
        },
        "id": repo.id,
        "plugin_id": repo.plugin_id,
        "material": {"type": material.kind, "attributes": attributes},
        "configuration": [
            {"key": p.name, "value": p.value, "is_secure": False} for p in repo.configuration
        ],
        "rules": [],
    }
