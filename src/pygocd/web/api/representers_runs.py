"""Run history → GoCD's JSON shapes: pipeline instance v1, stage v3, job v1, compare v2,
trigger options, and the CCTray XML.

Field names, order, nulls and time formats follow GoCD's representers (gocd-api.md §2.5–2.7,
§2.19): epoch milliseconds for instance/stage/job times, ISO-8601 for compare and CCTray;
stage `counter` is a string in instances and history, a number in the stage v3 instance.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import quoteattr

from pygocd.domain.materials import (
    DependencyMaterialConfig,
    GitMaterialConfig,
    HgMaterialConfig,
    MaterialConfig,
    P4MaterialConfig,
    PackageMaterialConfig,
    PluggableScmMaterialConfig,
    SvnMaterialConfig,
    TfsMaterialConfig,
    mask_credentials,
)
from pygocd.domain.modifications import MaterialRevision, Modification
from pygocd.domain.pipelines import PipelineConfig, StageConfig
from pygocd.domain.runs import JobIdentifier, JobInstance, StageInstance, StageRun
from pygocd.domain.states import StageState, aggregate_stage_state
from pygocd.services.run_history import CcTrayProject, InstanceView

Json = dict[str, Any]

CANCELLED_BY_GOCD = "GoCD"


def epoch_ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- materials ---------------------------------------------------------------------------

_DISPLAY_TYPES: dict[str, str] = {
    "git": "Git",
    "svn": "Subversion",
    "hg": "Mercurial",
    "p4": "Perforce",
    "tfs": "Tfs",
    "dependency": "Pipeline",
    "package": "Package",
    "plugin": "SCM",
    "configrepo": "Git",
}


def display_type(material: MaterialConfig) -> str:
    """GoCD's `getTypeForDisplay`."""
    return _DISPLAY_TYPES[material.kind]


def display_name(material: MaterialConfig) -> str:
    """GoCD's `getDisplayName`: the configured name, else the URL (credentials masked)."""
    if isinstance(material, DependencyMaterialConfig):
        return material.effective_name
    if material.name:
        return material.name
    url = getattr(material, "url", None) or getattr(material, "port", None)
    if isinstance(url, str) and url:
        return mask_credentials(url)
    if isinstance(material, PackageMaterialConfig):
        return material.package_id
    if isinstance(material, PluggableScmMaterialConfig):
        return material.scm_id or ""
    return material.fingerprint


def description(material: MaterialConfig) -> str:
    """GoCD's `getLongDescription`."""
    if isinstance(material, GitMaterialConfig):
        return f"URL: {mask_credentials(material.url)}, Branch: {material.effective_branch}"
    if isinstance(material, SvnMaterialConfig):
        return (
            f"URL: {mask_credentials(material.url)}, Username: {material.username or ''}, "
            f"CheckExternals: {str(material.check_externals).lower()}"
        )
    if isinstance(material, HgMaterialConfig):
        return f"URL: {mask_credentials(material.url)}"
    if isinstance(material, P4MaterialConfig):
        return f"URL: {material.port}, View: {material.view}, Username: {material.username or ''}"
    if isinstance(material, TfsMaterialConfig):
        return (
            f"URL: {mask_credentials(material.url)}, Username: {material.username or ''}, "
            f"Domain: {material.domain or ''}, ProjectPath: {material.project_path}"
        )
    if isinstance(material, DependencyMaterialConfig):
        return f"{material.pipeline} [ {material.stage} ]"
    return display_name(material)


def modification_json(modification: Modification) -> Json:
    return {
        "revision": modification.revision,
        "modified_time": epoch_ms(modification.modified_time),
        "user_name": modification.user_name,
        "comment": modification.comment,
        "email_address": modification.email_address,
    }


def material_revision_json(
    revision: MaterialRevision, materials: dict[str, MaterialConfig]
) -> Json:
    material = materials.get(revision.fingerprint)
    if material is not None:
        shown: Json = {
            "name": display_name(material),
            "fingerprint": revision.fingerprint,
            "type": display_type(material),
            "description": description(material),
        }
    else:  # the material has left the config since this run
        name = revision.material_name or revision.fingerprint
        shown = {
            "name": name,
            "fingerprint": revision.fingerprint,
            "type": "Unknown",
            "description": name,
        }
    return {
        "changed": revision.changed,
        "material": shown,
        "modifications": [modification_json(m) for m in revision.modifications],
    }


# -- pipeline instance (v1) --------------------------------------------------------------


def stage_status(stage: StageInstance) -> StageState:
    """GoCD computes `status` from the non-ignored jobs (`StageState.findByBuilds`)."""
    jobs = [j for j in stage.jobs if not j.ignored]
    return aggregate_stage_state(jobs) if jobs else stage.state


def _instance_stage_json(stage: StageInstance, can_run: bool) -> Json:
    body: Json = {
        "result": stage.result.value,
        "status": stage_status(stage).value,
        "rerun_of_counter": stage.rerun_of_counter,
        "name": stage.name,
        "counter": str(stage.counter),
        "scheduled": True,
        "approval_type": stage.approval_type.value,
        "approved_by": stage.approved_by,
        "operate_permission": True,
        "can_run": can_run,
        "jobs": [
            {
                "name": j.name,
                "scheduled_date": epoch_ms(j.scheduled_at),
                "state": j.state.value,
                "result": j.result.value,
            }
            for j in stage.jobs
            if not j.ignored
        ],
    }
    return body


def _placeholder_stage_json(stage: StageConfig, can_run: bool) -> Json:
    return {
        "status": StageState.UNKNOWN.value,
        "rerun_of_counter": None,
        "name": stage.name,
        "counter": "1",
        "scheduled": False,
        "approval_type": stage.approval.type.value,
        "approved_by": None,
        "operate_permission": True,
        "can_run": can_run,
        "jobs": [],
    }


def instance_json(
    view: InstanceView, pipeline: PipelineConfig, stages: tuple[StageConfig, ...]
) -> Json:
    instance = view.instance
    latest: dict[str, StageInstance] = {}
    for stage in instance.stages:
        key = stage.name.lower()
        if key not in latest or stage.counter > latest[key].counter:
            latest[key] = stage
    runs = sorted(latest.values(), key=lambda s: s.order)
    stage_list = [
        _instance_stage_json(s, view.stage_can_run.get(s.name.lower(), False)) for s in runs
    ]
    stage_list += [
        _placeholder_stage_json(s, view.stage_can_run.get(s.name.lower(), False))
        for s in stages
        if s.name.lower() not in latest
    ]
    approver = (runs[0].approved_by if runs else None) or instance.build_cause.approver
    materials = {m.fingerprint: m for m in pipeline.materials}
    return {
        "name": instance.name,
        "counter": instance.counter,
        "label": instance.label,
        "natural_order": float(instance.natural_order),
        "can_run": view.can_run,
        "preparing_to_schedule": False,
        "comment": instance.comment,
        "scheduled_date": epoch_ms(instance.created_at),
        "build_cause": {
            "trigger_message": instance.build_cause.message,
            "trigger_forced": instance.build_cause.trigger_forced,
            "approver": approver,
            "material_revisions": [
                material_revision_json(r, materials)
                for r in instance.build_cause.material_revisions
            ],
        },
        "stages": stage_list,
    }


# -- stages (v3) and jobs (v1) -----------------------------------------------------------


def transitions_json(job: JobInstance) -> list[Json]:
    return [
        {"state": t.state.value, "state_change_time": epoch_ms(t.changed_at)}
        for t in job.transitions
    ]


def _with_cancelled_by(body: Json, stage: StageInstance) -> Json:
    """`cancelled_by` goes right after `result`, only for Cancelled stages."""
    if stage.result.value != "Cancelled":
        return body
    ordered: Json = {}
    for key, value in body.items():
        ordered[key] = value
        if key == "result":
            ordered["cancelled_by"] = stage.cancelled_by or CANCELLED_BY_GOCD
    return ordered


def stage_json(pipeline_name: str, pipeline_counter: int, stage: StageInstance) -> Json:
    body: Json = {
        "name": stage.name,
        "counter": stage.counter,
        "approval_type": stage.approval_type.value,
        "approved_by": stage.approved_by,
        "scheduled_at": epoch_ms(stage.created_at),
        "last_transitioned_time": epoch_ms(stage.last_transitioned_at),
        "result": stage.result.value,
        "rerun_of_counter": stage.rerun_of_counter,
        "fetch_materials": stage.fetch_materials,
        "clean_working_directory": stage.clean_working_directory,
        "artifacts_deleted": stage.artifacts_deleted,
        "pipeline_name": pipeline_name,
        "pipeline_counter": pipeline_counter,
        "jobs": [
            {
                "name": j.name,
                "state": j.state.value,
                "result": j.result.value,
                "scheduled_date": epoch_ms(j.scheduled_at),
                "rerun": j.rerun,
                "original_job_id": j.original_job_id,
                "agent_uuid": j.agent_uuid,
                "pipeline_name": None,
                "pipeline_counter": None,
                "stage_name": None,
                "stage_counter": None,
                "job_state_transitions": transitions_json(j),
            }
            for j in stage.jobs
            if not j.ignored
        ],
    }
    return _with_cancelled_by(body, stage)


def stage_summary_json(run: StageRun) -> Json:
    stage = run.stage
    body: Json = {
        "name": stage.name,
        "counter": str(stage.counter),
        "approval_type": stage.approval_type.value,
        "approved_by": stage.approved_by,
        "result": stage.result.value,
        "rerun_of_counter": stage.rerun_of_counter,
        "pipeline_name": run.pipeline_name,
        "pipeline_counter": run.pipeline_counter,
        "jobs": [
            {
                "name": j.name,
                "state": j.state.value,
                "result": j.result.value,
                "scheduled_date": epoch_ms(j.scheduled_at),
            }
            for j in stage.jobs
            if not j.ignored
        ],
    }
    return _with_cancelled_by(body, stage)


def job_json(job: JobInstance, identifier: JobIdentifier) -> Json:
    return {
        "name": job.name,
        "state": job.state.value,
        "result": job.result.value,
        "original_job_id": job.original_job_id,
        "scheduled_date": epoch_ms(job.scheduled_at),
        "rerun": job.rerun,
        "agent_uuid": job.agent_uuid,
        "pipeline_name": identifier.pipeline_name,
        "pipeline_counter": identifier.pipeline_counter,
        "stage_name": identifier.stage_name,
        "stage_counter": str(identifier.stage_counter),
        "job_state_transitions": transitions_json(job),
    }


# -- CCTray ------------------------------------------------------------------------------


def cctray_document(parts: list[str]) -> str:
    """GoCD's CCTray document around project lines (non-empty parts from `cctray_lines`):
    one line per project, two-space indent, no newline after `</Projects>`."""
    return "\n".join(
        ['<?xml version="1.0" encoding="utf-8"?>', "<Projects>", *parts, "</Projects>"]
    )


def cctray_lines(projects: Sequence[CcTrayProject], base: str) -> str:
    """The `<Project>` lines of `projects` joined by newlines: attributes in GoCD's order,
    breakers nested inline."""
    lines = []
    for p in projects:
        attributes = (
            f"name={_attr(p.name)} activity={_attr(p.activity.value)} "
            f"lastBuildStatus={_attr(p.last_build_status.value)} "
            f"lastBuildLabel={_attr(p.last_build_label)} "
            f"lastBuildTime={_attr(iso(p.last_build_time) or '')} "
            f"webUrl={_attr(base + p.web_path)}"
        )
        if p.breakers:
            text = _attr(", ".join(p.breakers))
            lines.append(
                f'  <Project {attributes}><messages><message text={text} kind="Breakers" />'
                "</messages></Project>"
            )
        else:
            lines.append(f"  <Project {attributes} />")
    return "\n".join(lines)


_PLAIN = re.compile(r"[^&<>\"\r\n\t]*")


def _attr(value: str) -> str:
    """A double-quoted XML attribute value, escaped as JDOM does."""
    if _PLAIN.fullmatch(value):
        return f'"{value}"'
    escaped = quoteattr(value, {"\r": "&#xD;", "\n": "&#xA;", "\t": "&#x9;"})
    if escaped.startswith("'"):  # quoteattr switches quotes when the value has `"`
        escaped = '"' + escaped[1:-1].replace('"', "&quot;") + '"'
    return escaped
