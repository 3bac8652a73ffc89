"""Templates API v7 (`/go/api/admin/templates`), GoCD's `TemplateConfigControllerV7`.

Templates live in the stored config only. Every change is validated with the pipelines that
use the template (their parameters substituted into its stages), so a template edit that would
break one of them is refused. A template still in use cannot be deleted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pygocd.configrepo.validate_params import resolve_stages
from pygocd.domain.config import CruiseConfig
from pygocd.domain.errors import NotFound
from pygocd.domain.pipelines import PipelineConfig, TemplateConfig
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
from pygocd.web.api.pipeline_config_parser import parse_template
from pygocd.web.api.representers import PIPELINE_DOC, etag_of, stage_json
from pygocd.web.api.requests import json_object
from pygocd.web.api.versioning import accepts, versioned_response

VERSION = 7
Response7 = versioned_response(VERSION)
TEMPLATE_DOC = "https://api.gocd.org/current/#template-config"

router = APIRouter(
    prefix="/api/admin/templates", tags=["templates"], dependencies=[accepts(VERSION)]
)

Json = dict[str, Any]


def _links(base: str, name: str) -> Json:
    return {
        "self": {"href": f"{base}/go/api/admin/templates/{name}"},
        "doc": {"href": TEMPLATE_DOC},
        "find": {"href": f"{base}/go/api/admin/templates/:template_name"},
    }


def template_json(template: TemplateConfig, base: str) -> Json:
    return {
        "_links": _links(base, template.name),
        "name": template.name,
        "stages": [stage_json(s) for s in template.stages],
    }


def template_etag(template: TemplateConfig) -> str:
    return etag_of(template_json(template, ""))


def users_of(config: CruiseConfig, name: str) -> list[PipelineConfig]:
    wanted = name.lower()
    return [p for p in config.all_pipelines() if (p.template or "").lower() == wanted]


def _template(request: Request, name: str) -> TemplateConfig:
    found = config_service(request).current.find_template(name)
    if found is None:
        raise NotFound(f"Template with name '{name}' was not found!")
    return found


def _shown(request: Request, template: TemplateConfig) -> Response:
    return Response7(
        template_json(template, base_url(request)),
        headers={"ETag": f'"{template_etag(template)}"'},
    )


def _message(text: str, status: int) -> Response:
    return Response7({"message": text}, status_code=status)


async def _validated_save(
    request: Request, body: Json, previous: TemplateConfig | None
) -> Response | None:
    """Parse, validate and save a template (created or replacing `previous`); the 422 when
    it cannot be saved."""
    parsed = parse_template(body, previous)
    template = parsed.value
    name = template.name if template is not None else str(body.get("name"))
    if template is None or parsed.failed:
        return unprocessable(
            VERSION, failed_message("template", name, parsed.messages), parsed.data
        )
    config = config_service(request)
    current = config.current
    if previous is None:
        templates = (*current.templates, template)
    else:
        wanted = previous.name.lower()
        templates = tuple(template if t.name.lower() == wanted else t for t in current.templates)
    candidate = replace(current, templates=templates)
    errors = await new_errors(config, candidate)
    if errors:
        data = template_json(template, base_url(request))
        messages = attach_errors(data, f"templates.{template.name}", errors)
        return unprocessable(VERSION, failed_message("template", name, messages), data)
    action = "Created" if previous is None else "Updated"
    await save(config, candidate, f"{action} template '{template.name}'")
    return None


@router.get("", summary="All templates with the pipelines that use them")
async def list_templates(request: Request) -> Response:
    base = base_url(request)
    current = config_service(request).current
    shown = [
        {
            "_links": _links(base, t.name),
            "name": t.name,
            "can_edit": True,
            "can_administer": True,
            "_embedded": {
                "pipelines": [
                    {
                        "_links": {
                            "self": {"href": f"{base}/go/api/admin/pipelines/{p.name}"},
                            "doc": {"href": PIPELINE_DOC},
                            "find": {"href": f"{base}/go/api/admin/pipelines/:pipeline_name"},
                        },
                        "name": p.name,
                        "can_administer": True,
                    }
                    for p in users_of(current, t.name)
                ]
            },
        }
        for t in current.templates
    ]
    return Response7(
        {
            "_links": {
                "self": {"href": f"{base}/go/api/admin/templates"},
                "doc": {"href": TEMPLATE_DOC},
                "find": {"href": f"{base}/go/api/admin/templates/:template_name"},
            },
            "_embedded": {"templates": shown},
        }
    )


@router.get("/{template_name}", summary="One template")
async def get_template(template_name: str, request: Request) -> Response:
    template = _template(request, template_name)
    etag = template_etag(template)
    if unquote_etag(request.headers.get("if-none-match")) == etag:
        return Response(status_code=304, headers={"ETag": f'"{etag}"'})
    return _shown(request, template)


class _Recorder(Mapping[str, str | None]):
    """Answers every parameter as defined and remembers the names asked for, in order."""

    def __init__(self) -> None:
        self.names: dict[str, None] = {}

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.names.setdefault(key, None)
        return True

    def __getitem__(self, key: str) -> str | None:
        return ""

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


@router.get("/{template_name}/parameters", summary="The parameters a template uses")
async def template_parameters(template_name: str, request: Request) -> Response:
    template = _template(request, template_name)
    recorder = _Recorder()
    resolve_stages(template.stages, recorder, "template", lambda _key, _message: None)
    base = base_url(request)
    return Response7(
        {
            "_links": {
                "self": {"href": f"{base}/go/api/admin/templates/{template.name}/parameters"},
                "doc": {"href": TEMPLATE_DOC},
                "find": {"href": f"{base}/go/api/admin/templates/:template_name/parameters"},
            },
            "name": template.name,
            "parameters": list(recorder.names),
        }
    )


@router.post("", summary="Create a template")
async def create_template(request: Request) -> Response:
    body = await json_object(request)
    name = body.get("name")
    if isinstance(name, str) and config_service(request).current.find_template(name):
        text = (
            f"Failed to add template '{name}'. Another template with the same name already exists."
        )
        data = dict(body)
        add_error(data, "name", text)
        return unprocessable(VERSION, text, data)
    refused = await _validated_save(request, body, None)
    if refused is not None:
        return refused
    return _shown(request, _template(request, str(name)))


@router.put("/{template_name}", summary="Update a template (If-Match required)")
async def update_template(template_name: str, request: Request) -> Response:
    template = _template(request, template_name)
    body = await json_object(request)
    given = body.get("name")
    if isinstance(given, str) and given.lower() != template.name.lower():
        return unprocessable(VERSION, "Renaming of templates is not supported by this API.")
    if not if_match(request, template_etag(template)):
        return _message(stale_message("template", template.name), 412)
    refused = await _validated_save(request, {**body, "name": template.name}, template)
    if refused is not None:
        return refused
    return _shown(request, _template(request, template.name))


@router.delete("/{template_name}", summary="Delete a template no pipeline uses")
async def delete_template(template_name: str, request: Request) -> Response:
    template = _template(request, template_name)
    config = config_service(request)
    current = config.current
    users = users_of(current, template.name)
    if users:
        return _message(
            f"Cannot delete the template '{template.name}' as it is used by pipeline(s): "
            f"'{', '.join(p.name for p in users)}'",
            422,
        )
    wanted = template.name.lower()
    templates = tuple(t for t in current.templates if t.name.lower() != wanted)
    await save(config, replace(current, templates=templates), f"Deleted template '{template.name}'")
    return _message(f"The template '{template.name}' was deleted successfully.", 200)
