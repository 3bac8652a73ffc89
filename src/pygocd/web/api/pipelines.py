"""Pipeline runtime API: schedule, status, pause, unpause, unlock, trigger options (v1);
history, instance, comment (v1); compare (v2) — GoCD's `PipelineOperationsControllerV1`,
`PipelineInstanceControllerV1`, `CompareControllerV2`.

Security is not in place yet: as GoCD with security off, every caller is an admin named
`anonymous`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pygocd.domain.errors import NotFound
from pygocd.domain.materials import DependencyMaterialConfig
from pygocd.domain.modifications import Modification
from pygocd.domain.runs import ANONYMOUS
from pygocd.domain.variables import EnvironmentVariable
from pygocd.services.comments import CommentService
from pygocd.services.compare import CompareService
from pygocd.services.registry import Services
from pygocd.services.run_history import RunHistoryService
from pygocd.services.scheduling import SchedulingService, TriggerOptions
from pygocd.services.stages import StageService
from pygocd.web.api.representers import material_json
from pygocd.web.api.representers_runs import (
    description,
    display_name,
    display_type,
    instance_json,
    iso,
)
from pygocd.web.api.requests import (
    RequestRejected,
    confirmed,
    history_links,
    json_body,
    json_object,
    message,
    page_request,
    parse_int,
)
from pygocd.web.api.versioning import accepts, versioned_response

Response1 = versioned_response(1)
Response2 = versioned_response(2)
PIPELINE_DOC = "https://api.gocd.org/current/#pipelines"
INSTANCE_DOC = "https://api.gocd.org/current/#pipeline-instances"
COMPARE_DOC = "https://api.gocd.org/current/#compare"

router = APIRouter(prefix="/api/pipelines", tags=["pipelines"])
V1 = [accepts(1)]


def base_url(request: Request) -> str:
    site = getattr(request.app.state.settings, "site_url", None)
    return str(site or request.base_url).rstrip("/")


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def history_service(request: Request) -> RunHistoryService:
    s = services(request)
    return RunHistoryService(s.uow, s.config)


def scheduling(request: Request) -> SchedulingService:
    found = services(request).scheduling
    if found is None:
        raise NotFound("Scheduling is not available on this server.")
    return found


def stage_service(request: Request) -> StageService:
    found = services(request).stages
    if found is None:
        raise NotFound("Stage operations are not available on this server.")
    return found


def ok(text: str, status: int = 200, version: int = 1) -> Response:
    return versioned_response(version)({"message": text}, status_code=status)


def pipeline_counter(value: str) -> int:
    """GoCD's pipeline instance counter rule: an integer ≥ 1, else 422."""
    counter = parse_int(value)
    if counter is None:
        raise message("The pipeline counter should be an integer.", 422)
    if counter < 1:
        raise message("The pipeline counter cannot be less than 1.", 422)
    return counter


# -- schedule ----------------------------------------------------------------------------


def _rejected(detail: str) -> RequestRejected:
    return message(f"Your request could not be processed. {detail}", 422)


def schedule_options(body: dict[str, Any]) -> TriggerOptions:
    """GoCD's `PipelineScheduleOptionsRepresenter`: every key optional, unknown keys ignored,
    wrong types refused with 422."""
    update = body.get("update_materials_before_scheduling", True)
    if not isinstance(update, bool):
        raise _rejected("'update_materials_before_scheduling' must be a boolean.")
    revisions: dict[str, str] = {}
    materials = body.get("materials", [])
    if not isinstance(materials, list):
        raise _rejected("'materials' must be a list.")
    for item in materials:
        if not isinstance(item, dict):
            raise _rejected("Each of 'materials' must be an object.")
        fingerprint, revision = item.get("fingerprint"), item.get("revision")
        if not isinstance(fingerprint, str) or not isinstance(revision, str):
            raise _rejected("Each material needs a string 'fingerprint' and 'revision'.")
        revisions[fingerprint] = revision
    variables: list[EnvironmentVariable] = []
    given = body.get("environment_variables", [])
    if not isinstance(given, list):
        raise _rejected("'environment_variables' must be a list.")
    for item in given:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise _rejected("Each environment variable needs a string 'name'.")
        secure = item.get("secure", False)
        value, encrypted = item.get("value"), item.get("encrypted_value")
        if not isinstance(secure, bool):
            raise _rejected(f"'secure' of variable '{item['name']}' must be a boolean.")
        if value is not None and not isinstance(value, str):
            raise _rejected(f"'value' of variable '{item['name']}' must be a string.")
        if encrypted is not None:
            raise _rejected(
                f"Variable '{item['name']}': 'encrypted_value' is not supported by this "
                "server; send the plain 'value' with 'secure': true."
            )
        if value is None:
            raise _rejected(f"Variable '{item['name']}' needs a 'value'.")
        variables.append(EnvironmentVariable(name=item["name"], value=value, secure=secure))
    return TriggerOptions(
        update_materials_before_scheduling=update,
        revisions=revisions,
        variables=tuple(variables),
    )


@router.post(
    "/{name}/schedule",
    dependencies=V1,
    response_class=Response1,
    status_code=202,
    summary="Trigger a pipeline (GoCD's schedule body or none with X-GoCD-Confirm)",
)
async def schedule(name: str, request: Request) -> Response:
    body = await json_object(request)
    service = scheduling(request)
    service.pipeline_or_404(name)
    options = schedule_options(body)
    await service.trigger_manual(name, username=ANONYMOUS, options=options)
    return ok(f"Request to schedule pipeline {name} accepted", 202)


# -- status, pause, unpause, unlock ------------------------------------------------------


@router.get("/{name}/status", dependencies=V1, response_class=Response1, summary="Pipeline status")
async def status(name: str, request: Request) -> dict[str, Any]:
    found = await history_service(request).status(name)
    pause = found.state.pause
    return {
        "paused": pause.paused,
        "paused_cause": pause.pause_reason if pause.paused else None,
        "paused_by": pause.paused_by if pause.paused else None,
        "locked": found.state.lock.locked,
        "schedulable": found.schedulable,
    }


@router.post("/{name}/pause", dependencies=V1, response_class=Response1, summary="Pause")
async def pause(name: str, request: Request) -> Response:
    body = await json_body(request)
    cause: str | None = None
    if body is not None:
        if not isinstance(body, dict):
            raise _rejected("The body must be a JSON object.")
        given = body.get("pause_cause")
        if given is not None and not isinstance(given, str):
            raise _rejected("'pause_cause' must be a string.")
        cause = given
    history_service(request).pipeline(name)
    await stage_service(request).pause(name, username=ANONYMOUS, cause=cause)
    pipeline = history_service(request).pipeline(name)
    return ok(f"Pipeline '{pipeline.name}' paused successfully.")


@router.post("/{name}/unpause", dependencies=V1, response_class=Response1, summary="Unpause")
async def unpause(name: str, request: Request) -> Response:
    await confirmed(request)
    pipeline = history_service(request).pipeline(name)
    await stage_service(request).unpause(name, username=ANONYMOUS)
    return ok(f"Pipeline '{pipeline.name}' unpaused successfully.")


@router.post("/{name}/unlock", dependencies=V1, response_class=Response1, summary="Unlock")
async def unlock(name: str, request: Request) -> Response:
    await confirmed(request)
    await stage_service(request).unlock(name)
    pipeline = history_service(request).pipeline(name)
    return ok(f"Pipeline lock released for {pipeline.name}")


# -- trigger options ---------------------------------------------------------------------


@router.get(
    "/{name}/trigger_options",
    dependencies=V1,
    response_class=Response1,
    summary="Variables and materials a manual trigger may override",
)
async def trigger_options(name: str, request: Request) -> dict[str, Any]:
    history = history_service(request)
    pipeline = history.pipeline(name)
    s = services(request)
    latest: dict[str, Modification | None] = {}
    async with s.uow(read_only=True) as uow:
        for material in pipeline.materials:
            found = await uow.materials.latest_modifications(material.fingerprint, 1)
            latest[material.fingerprint] = found[0] if found else None
        last_run = await uow.pipeline_instances.latest(pipeline.name, 1)
    last_revisions = {
        r.fingerprint: r.revision
        for r in (last_run[0].build_cause.material_revisions if last_run else ())
    }
    base = base_url(request)
    return {
        "_links": {
            "self": {"href": f"{base}/go/api/pipelines/{pipeline.name}/trigger_options"},
            "doc": {"href": PIPELINE_DOC},
        },
        "variables": [
            {"name": v.name, "secure": v.secure}
            | ({} if v.secure else {"value": v.value if v.value is not None else ""})
            for v in pipeline.environment_variables
        ],
        "materials": [
            {
                "type": display_type(m),
                "name": display_name(m),
                "fingerprint": m.fingerprint,
                "folder": getattr(m, "destination", None),
                "revision": {
                    "date": iso(mod.modified_time) if mod else None,
                    "user": mod.user_name if mod else None,
                    "comment": mod.comment if mod else None,
                    "last_run_revision": last_revisions.get(m.fingerprint),
                },
            }
            for m in pipeline.materials
            for mod in [latest.get(m.fingerprint)]
        ],
    }


# -- history, instance, comment ----------------------------------------------------------


@router.get(
    "/{name}/history",
    dependencies=V1,
    response_class=Response1,
    summary="Pipeline history, newest first (cursors `after`/`before` are row ids)",
)
async def history(name: str, request: Request) -> dict[str, Any]:
    page = page_request(request)
    service = history_service(request)
    pipeline = service.pipeline(name)
    views, older, newer = await service.history(name, page.page_size, page.after, page.before)
    stages = service.stages_of(pipeline)
    url = f"{base_url(request)}/go/api/pipelines/{pipeline.name}/history"
    body: dict[str, Any] = {}
    links = history_links(
        url,
        older,
        newer,
        views[-1].instance.id if views else None,
        views[0].instance.id if views else None,
    )
    if links:
        body["_links"] = links
    body["pipelines"] = [instance_json(v, pipeline, stages) for v in views]
    return body


@router.get(
    "/{name}/{counter}",
    dependencies=V1,
    response_class=Response1,
    summary="A pipeline instance",
)
async def instance(name: str, counter: str, request: Request) -> dict[str, Any]:
    number = pipeline_counter(counter)
    service = history_service(request)
    pipeline = service.pipeline(name)
    view = await service.instance(name, number)
    return instance_json(view, pipeline, service.stages_of(pipeline))


@router.post(
    "/{name}/{counter}/comment",
    dependencies=V1,
    response_class=Response1,
    summary="Comment on a pipeline instance",
)
async def comment(name: str, counter: str, request: Request) -> Response:
    body = await json_object(request)
    number = pipeline_counter(counter)
    text = body.get("comment")
    if not isinstance(text, str):
        raise _rejected("'comment' must be a string.")
    s = services(request)
    await CommentService(s.uow, s.bus, s.config).update_comment(name, number, text)
    return ok("Comment successfully updated.")


# -- compare (v2) ------------------------------------------------------------------------


@router.get(
    "/{name}/compare/{from_counter}/{to_counter}",
    dependencies=[accepts(2)],
    response_class=Response2,
    summary="Material changes between two instances",
)
async def compare(
    name: str, from_counter: str, to_counter: str, request: Request
) -> dict[str, Any]:
    first, second = pipeline_counter(from_counter), pipeline_counter(to_counter)
    s = services(request)
    comparison = await CompareService(s.uow, s.config).compare(name, first, second)
    changes = []
    for found in comparison.changes:
        material = found.material
        attributes = dict(material_json(material)["attributes"])
        attributes |= {"display_type": display_type(material)}
        attributes |= {"description": description(material)}
        changes.append(
            {
                "material": {"type": material.kind, "attributes": attributes},
                "revision": [_compare_revision(material, m) for m in found.modifications],
            }
        )
    base = base_url(request)
    return {
        "_links": {
            "self": {
                "href": f"{base}/go/api/pipelines/{comparison.pipeline}/compare/{first}/{second}"
            },
            "doc": {"href": COMPARE_DOC},
        },
        "pipeline_name": comparison.pipeline,
        "from_counter": first,
        "to_counter": second,
        "is_bisect": False,
        "changes": changes,
    }


def _compare_revision(material: object, modification: Modification) -> dict[str, Any]:
    if isinstance(material, DependencyMaterialConfig):
        parts = modification.revision.split("/")
        return {
            "revision": modification.revision,
            "pipeline_counter": parts[1] if len(parts) > 1 else "",
            "completed_at": iso(modification.modified_time),
        }
    return {
        "revision_sha": modification.revision,
        "modified_by": modification.user_name,
        "modified_at": iso(modification.modified_time),
        "commit_message": modification.comment,
    }
