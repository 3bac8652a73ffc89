"""Pipeline config API v11 (`/go/api/admin/pipelines`), GoCD's `PipelineConfigControllerV11`.

GET serves any pipeline of the effective config, with its origin. POST, PUT and DELETE edit
the stored config: each change is validated as part of the whole config and saved as a new
config revision, or refused with GoCD's 422 and nothing saved. Pipelines defined in a config
repo cannot be changed here (422, as GoCD).
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pygocd.domain.config import CruiseConfig
from pygocd.domain.errors import Conflict, NotFound
from pygocd.domain.materials import DependencyMaterialConfig, GitMaterialConfig, mask_credentials
from pygocd.domain.pipelines import PipelineConfig, PipelineGroup
from pygocd.domain.runs import ANONYMOUS
from pygocd.web.api.config_edits import (
    add_error,
    attach_errors,
    config_service,
    failed_message,
    if_match,
    new_errors,
    save,
    stale_message,
    unprocessable,
)
from pygocd.web.api.config_repos import base_url, unquote_etag
from pygocd.web.api.pipeline_config_parser import Parsed, parse_pipeline
from pygocd.web.api.representers import etag_of, pipeline_json
from pygocd.web.api.requests import json_object
from pygocd.web.api.versioning import accepts, versioned_response

VERSION = 11
Response11 = versioned_response(VERSION)
NO_GROUP = "Pipeline group must be specified for creating a pipeline."
DEFAULT_PAUSE_CAUSE = "No pause cause was specified when pipeline was created via API"

router = APIRouter(
    prefix="/api/admin/pipelines", tags=["pipeline config"], dependencies=[accepts(VERSION)]
)


def _pipeline(request: Request, name: str) -> PipelineConfig:
    found = config_service(request).current.find_pipeline(name)
    if found is None:
        raise NotFound(f"Pipeline with name '{name}' was not found!")
    return found


def _message(text: str, status: int) -> Response:
    return Response11({"message": text}, status_code=status)


def pipeline_etag(pipeline: PipelineConfig) -> str:
    """The ETag of a pipeline's config: a digest of its representation, host-independent."""
    return etag_of(pipeline_json(pipeline, ""))


def _shown(request: Request, pipeline: PipelineConfig) -> Response:
    body = pipeline_json(pipeline, base_url(request))
    return Response11(body, headers={"ETag": f'"{pipeline_etag(pipeline)}"'})


def remote_message(request: Request, pipeline: PipelineConfig) -> str:
    """GoCD: `Can not operate on pipeline 'x' as it is defined remotely in '<origin>'.`,
    the origin being the repo material's display name and the revision."""
    return (
        f"Can not operate on pipeline '{pipeline.name}' as it is defined remotely in "
        f"'{_origin_name(request, pipeline)}'."
    )


def _origin_name(request: Request, pipeline: PipelineConfig) -> str:
    origin = pipeline.origin
    if not pipeline.is_from_config_repo:
        return "cruise-config.xml"
    repo = config_service(request).stored.find_config_repo(origin.repo_id or "")
    material = repo.material if repo is not None else None
    where = (
        mask_credentials(material.url)
        if isinstance(material, GitMaterialConfig)
        else f"config repo '{origin.repo_id}'"
    )
    return f"{where} at revision {origin.revision}"


# -- read ----------------------------------------------------------------------------------


@router.get("/{name}", summary="A pipeline's config, with its origin")
async def get_pipeline(name: str, request: Request) -> Response:
    pipeline = _pipeline(request, name)
    etag = pipeline_etag(pipeline)
    if unquote_etag(request.headers.get("if-none-match")) == etag:
        return Response(status_code=304, headers={"ETag": f'"{etag}"'})
    return _shown(request, pipeline)


# -- write ---------------------------------------------------------------------------------


def _group_name(body: dict[str, Any]) -> str | None:
    group = body.get("group")
    return group.strip() if isinstance(group, str) and group.strip() else None


def _placed(config: CruiseConfig, pipeline: PipelineConfig, replacing: str | None) -> CruiseConfig:
    """`config` with `pipeline` in its group (made when missing), in place of `replacing`
    (kept at its position when the group stays the same)."""
    old = replacing.lower() if replacing is not None else None
    target = pipeline.group.lower()
    groups: list[PipelineGroup] = []
    placed = False
    for group in config.groups:
        pipelines = list(group.pipelines)
        at = next((i for i, p in enumerate(pipelines) if p.name.lower() == old), None)
        if at is not None:
            del pipelines[at]
        if group.name.lower() == target:
            pipeline = replace(pipeline, group=group.name)
            pipelines.insert(at if at is not None else len(pipelines), pipeline)
            placed = True
        groups.append(replace(group, pipelines=tuple(pipelines)))
    if not placed:
        groups.append(PipelineGroup(pipeline.group, pipelines=(pipeline,)))
    return replace(config, groups=tuple(groups))


async def _validated_save(
    request: Request, parsed: Parsed[PipelineConfig], replacing: str | None, action: str
) -> Response | None:
    """Validate and save the parsed pipeline; the 422 answer when it cannot be saved."""
    pipeline = parsed.value
    name = pipeline.name if pipeline is not None else str(parsed.data.get("name"))
    if pipeline is None or parsed.failed:
        return unprocessable(
            VERSION, failed_message("pipeline", name, parsed.messages), parsed.data
        )
    config = config_service(request)
    candidate = _placed(config.current, pipeline, replacing)
    errors = await new_errors(config, candidate)
    if errors:
        shown = candidate.find_pipeline(pipeline.name) or pipeline
        data = pipeline_json(shown, base_url(request))
        messages = attach_errors(data, f"pipelines.{pipeline.name}", errors)
        if shown.template:
            attach_errors(data, f"templates.{shown.template}", errors)
        return unprocessable(VERSION, failed_message("pipeline", name, messages), data)
    await save(config, candidate, f"{action} pipeline '{pipeline.name}'")
    return None


@router.post("", summary="Create a pipeline in the stored config")
async def create_pipeline(request: Request) -> Response:
    body = await json_object(request)
    given = body.get("pipeline")
    if given is None and "name" in body:
        given = body  # the pipeline's own keys beside `group`, as PUT takes them
    if not isinstance(given, dict):
        return unprocessable(
            VERSION, "Your request could not be processed. The body needs a 'pipeline' object."
        )
    group = _group_name(body) or _group_name(given)
    parsed = parse_pipeline(given, group)
    name = parsed.value.name if parsed.value is not None else ""
    existing = config_service(request).current.find_pipeline(name) if name else None
    if existing is not None:
        text = (
            f"Failed to add pipeline '{name}'. Another pipeline with the same name already exists."
        )
        add_error(parsed.data, "name", text)
        return unprocessable(VERSION, text, parsed.data)
    if group is None:
        return unprocessable(VERSION, NO_GROUP)
    refused = await _validated_save(request, parsed, None, "Created")
    if refused is not None:
        return refused
    if (request.headers.get("x-pause-pipeline") or "").strip().lower() == "true":
        cause = (request.headers.get("x-pause-cause") or "").strip() or DEFAULT_PAUSE_CAUSE
        stages = request.app.state.services.stages
        if stages is not None:
            with contextlib.suppress(Conflict):  # paused already (a former pipeline's state)
                await stages.pause(name, username=ANONYMOUS, cause=cause)
    return _shown(request, _pipeline(request, name))


@router.put("/{name}", summary="Update a pipeline (If-Match required)")
async def update_pipeline(name: str, request: Request) -> Response:
    pipeline = _pipeline(request, name)
    body = await json_object(request)
    given_name = body.get("name")
    if isinstance(given_name, str) and given_name.lower() != pipeline.name.lower():
        return unprocessable(VERSION, "Renaming of pipelines is not supported by this API.")
    if pipeline.is_from_config_repo:
        return _message(remote_message(request, pipeline), 422)
    if not if_match(request, pipeline_etag(pipeline)):
        return _message(stale_message("pipeline", pipeline.name), 412)
    group = _group_name(body)
    if group is None:
        return unprocessable(VERSION, NO_GROUP)
    parsed = parse_pipeline(body, group, previous=pipeline)
    refused = await _validated_save(request, parsed, pipeline.name, "Updated")
    if refused is not None:
        return refused
    return _shown(request, _pipeline(request, name))


@router.delete("/{name}", summary="Delete a pipeline defined in the stored config")
async def delete_pipeline(name: str, request: Request) -> Response:
    pipeline = _pipeline(request, name)
    if pipeline.is_from_config_repo:
        return _message(remote_message(request, pipeline), 422)
    config = config_service(request)
    current = config.current
    wanted = pipeline.name.lower()
    for other in current.all_pipelines():
        if other.name.lower() != wanted and any(
            isinstance(m, DependencyMaterialConfig) and m.pipeline.lower() == wanted
            for m in other.materials
        ):
            return _message(
                f"Cannot delete pipeline '{pipeline.name}' as pipeline '{other.name} "
                f"({_origin_name(request, other)})' depends on it",
                422,
            )
    environment = current.environment_of(pipeline.name)
    if environment is not None:
        return _message(
            f"Cannot delete pipeline '{pipeline.name}' as it is present in environment "
            f"'{environment.name}'.",
            422,
        )
    groups = tuple(
        replace(g, pipelines=tuple(p for p in g.pipelines if p.name.lower() != wanted))
        for g in current.groups
    )
    await save(config, replace(current, groups=groups), f"Deleted pipeline '{pipeline.name}'")
    return _message(f"Pipeline '{pipeline.name}' was deleted successfully.", 200)
