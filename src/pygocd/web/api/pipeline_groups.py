"""Pipeline groups API v1 (`/go/api/admin/pipeline_groups`), GoCD's `PipelineGroupsControllerV1`.

Groups are listed from the effective config (a group config repos fill shows their
pipelines); create, update (its authorization, If-Match required) and delete edit the stored
config. A group that still holds pipelines cannot be deleted.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pygocd.domain.errors import NotFound
from pygocd.domain.names import name_error
from pygocd.domain.pipelines import Authorization, GroupAuthorization, PipelineGroup
from pygocd.web.api.config_edits import (
    add_error,
    config_service,
    failed_message,
    if_match,
    new_errors,
    save,
    stale_message,
    unprocessable,
)
from pygocd.web.api.config_repos import base_url, unquote_etag
from pygocd.web.api.pipeline_config_parser import parse_authorization
from pygocd.web.api.representers import PIPELINE_DOC, etag_of
from pygocd.web.api.requests import json_object
from pygocd.web.api.versioning import accepts, versioned_response

VERSION = 1
Response1 = versioned_response(VERSION)
GROUP_DOC = "https://api.gocd.org/current/#pipeline-group-config"

router = APIRouter(
    prefix="/api/admin/pipeline_groups",
    tags=["pipeline groups"],
    dependencies=[accepts(VERSION)],
)

Json = dict[str, Any]


def _authorization_json(authorization: GroupAuthorization) -> Json:
    """Only the configured parts, as GoCD: `{}` when the group has no authorization."""

    def one(part: Authorization) -> Json:
        return {"users": list(part.users), "roles": list(part.roles)}

    shown: Json = {}
    for key, part in (
        ("view", authorization.view),
        ("operate", authorization.operate),
        ("admins", authorization.admins),
    ):
        if not part.is_empty:
            shown[key] = one(part)
    return shown


def group_json(group: PipelineGroup, base: str) -> Json:
    return {
        "_links": {
            "self": {"href": f"{base}/go/api/admin/pipeline_groups/{group.name}"},
            "doc": {"href": GROUP_DOC},
            "find": {"href": f"{base}/go/api/admin/pipeline_groups/:group_name"},
        },
        "name": group.name,
        "authorization": _authorization_json(group.authorization),
        "pipelines": [
            {
                "_links": {
                    "self": {"href": f"{base}/go/api/admin/pipelines/{p.name}"},
                    "doc": {"href": PIPELINE_DOC},
                    "find": {"href": f"{base}/go/api/admin/pipelines/:pipeline_name"},
                },
                "name": p.name,
            }
            for p in group.pipelines
        ],
    }


def group_etag(group: PipelineGroup) -> str:
    return etag_of(group_json(group, ""))


def _group(request: Request, name: str) -> PipelineGroup:
    found = config_service(request).current.find_group(name)
    if found is None:
        raise NotFound(f"Pipeline group with name '{name}' was not found!")
    return found


def _shown(request: Request, group: PipelineGroup) -> Response:
    return Response1(
        group_json(group, base_url(request)), headers={"ETag": f'"{group_etag(group)}"'}
    )


def _message(text: str, status: int) -> Response:
    return Response1({"message": text}, status_code=status)


def _read(body: Json) -> tuple[str | None, GroupAuthorization, Json, list[str]]:
    """Name and authorization from a v1 group body; the body with errors on it."""
    data = dict(body)
    authorization, messages = parse_authorization(data)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        add_error(data, "name", "Group name is a required field.")
        messages.append("Group name is a required field.")
        return None, authorization, data, messages
    if (problem := name_error("group", name)) is not None:
        add_error(data, "name", problem)
        messages.append(problem)
    return name, authorization, data, messages


@router.get("", summary="All pipeline groups")
async def list_groups(request: Request) -> Response:
    base = base_url(request)
    groups = config_service(request).current.groups
    shown = [group_json(g, base) for g in groups]
    etag = etag_of([group_json(g, "") for g in groups])
    if unquote_etag(request.headers.get("if-none-match")) == etag:
        return Response(status_code=304, headers={"ETag": f'"{etag}"'})
    return Response1(
        {
            "_links": {
                "self": {"href": f"{base}/go/api/admin/pipeline_groups"},
                "doc": {"href": GROUP_DOC},
                "find": {"href": f"{base}/go/api/admin/pipeline_groups/:group_name"},
            },
            "_embedded": {"groups": shown},
        },
        headers={"ETag": f'"{etag}"'},
    )


@router.get("/{group_name}", summary="One pipeline group")
async def get_group(group_name: str, request: Request) -> Response:
    group = _group(request, group_name)
    etag = group_etag(group)
    if unquote_etag(request.headers.get("if-none-match")) == etag:
        return Response(status_code=304, headers={"ETag": f'"{etag}"'})
    return _shown(request, group)


@router.post("", summary="Create a pipeline group")
async def create_group(request: Request) -> Response:
    body = await json_object(request)
    name, authorization, data, messages = _read(body)
    config = config_service(request)
    if name is not None and config.current.find_group(name) is not None:
        text = (
            f"Failed to add pipeline group '{name}'. Another pipeline group with the same "
            "name already exists."
        )
        add_error(data, "name", text)
        return unprocessable(VERSION, text, data)
    if name is None or messages:
        return unprocessable(VERSION, failed_message("pipeline group", str(name), messages), data)
    group = PipelineGroup(name, authorization=authorization)
    candidate = replace(config.current, groups=(*config.current.groups, group))
    errors = await new_errors(config, candidate)
    if errors:
        text = failed_message("pipeline group", name, [e.message for e in errors])
        return unprocessable(VERSION, text, data)
    await save(config, candidate, f"Created pipeline group '{name}'")
    return _shown(request, _group(request, name))


@router.put("/{group_name}", summary="Update a pipeline group's authorization (If-Match)")
async def update_group(group_name: str, request: Request) -> Response:
    group = _group(request, group_name)
    body = await json_object(request)
    given = body.get("name")
    if isinstance(given, str) and given != group.name:
        return unprocessable(VERSION, "Renaming of pipeline group is not supported by this API.")
    if not if_match(request, group_etag(group)):
        return _message(stale_message("pipeline group", group.name), 412)
    _, authorization, data, messages = _read({**body, "name": group.name})
    if messages:
        return unprocessable(VERSION, failed_message("pipeline group", group.name, messages), data)
    config = config_service(request)
    current = config.current
    wanted = group.name.lower()
    groups = tuple(
        replace(g, authorization=authorization) if g.name.lower() == wanted else g
        for g in current.groups
    )
    if not any(g.name.lower() == wanted for g in config.stored.groups):
        # a group only config repos fill: the stored config gets an empty one to hold it
        groups = (*groups, PipelineGroup(group.name, authorization=authorization))
    await save(config, replace(current, groups=groups), f"Updated pipeline group '{group.name}'")
    return _shown(request, _group(request, group.name))


@router.delete("/{group_name}", summary="Delete an empty pipeline group")
async def delete_group(group_name: str, request: Request) -> Response:
    group = _group(request, group_name)
    if group.pipelines:
        return _message(f"Failed to delete group {group.name} because it was not empty.", 422)
    config = config_service(request)
    current = config.current
    groups = tuple(g for g in current.groups if g.name.lower() != group.name.lower())
    await save(config, replace(current, groups=groups), f"Deleted pipeline group '{group.name}'")
    return _message(f"The Pipeline group '{group.name}' was deleted successfully.", 200)
