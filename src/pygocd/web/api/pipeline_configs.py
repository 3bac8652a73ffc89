"""Pipeline config API v11 (`/go/api/admin/pipelines/:name`), GoCD's `PipelineConfigControllerV11`.

GET serves any pipeline of the effective config, with its origin. Pipelines defined in a
config repo cannot be changed here (422, as GoCD). Editing stored pipelines through PUT is not
there yet; DELETE of a stored pipeline is.
"""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pygocd.domain.errors import NotFound
from pygocd.domain.materials import GitMaterialConfig, mask_credentials
from pygocd.domain.pipelines import PipelineConfig
from pygocd.services.config import ConfigService
from pygocd.web.api.config_repos import base_url, unquote_etag
from pygocd.web.api.representers import etag_of, pipeline_json
from pygocd.web.api.versioning import accepts, versioned_response

VERSION = 11
Response11 = versioned_response(VERSION)

router = APIRouter(
    prefix="/api/admin/pipelines", tags=["pipeline config"], dependencies=[accepts(VERSION)]
)


def _config(request: Request) -> ConfigService:
    config: ConfigService = request.app.state.services.config
    return config


def _pipeline(request: Request, name: str) -> PipelineConfig:
    found = _config(request).current.find_pipeline(name)
    if found is None:
        raise NotFound(f"Pipeline with name '{name}' was not found!")
    return found


def _message(text: str, status: int) -> Response:
    return Response11({"message": text}, status_code=status)


def remote_message(request: Request, pipeline: PipelineConfig) -> str:
    """GoCD: `Can not operate on pipeline 'x' as it is defined remotely in '<origin>'.`,
    the origin being the repo material's display name and the revision."""
    origin = pipeline.origin
    repo = _config(request).stored.find_config_repo(origin.repo_id or "")
    material = repo.material if repo is not None else None
    where = (
        mask_credentials(material.url)
        if isinstance(material, GitMaterialConfig)
        else f"config repo '{origin.repo_id}'"
    )
    return (
        f"Can not operate on pipeline '{pipeline.name}' as it is defined remotely in "
        f"'{where} at revision {origin.revision}'."
    )


@router.get("/{name}", summary="A pipeline's config, with its origin")
async def get_pipeline(name: str, request: Request) -> Response:
    pipeline = _pipeline(request, name)
    body = pipeline_json(pipeline, base_url(request))
    etag = etag_of(body)
    if unquote_etag(request.headers.get("if-none-match")) == etag:
        return Response(status_code=304, headers={"ETag": f'"{etag}"'})
    return Response11(body, headers={"ETag": f'"{etag}"'})


@router.put("/{name}", summary="Update a pipeline (If-Match required)")
async def update_pipeline(name: str, request: Request) -> Response:
    pipeline = _pipeline(request, name)
    current = etag_of(pipeline_json(pipeline, base_url(request)))
    if unquote_etag(request.headers.get("if-match")) != current:
        return _message(
            f"Someone has modified the configuration for pipeline '{pipeline.name}'. Please "
            "update your copy of the config with the changes and try again.",
            412,
        )
    if pipeline.is_from_config_repo:
        return _message(remote_message(request, pipeline), 422)
    return _message(
        "Your request could not be processed. Updating pipelines through this API is not "
        "supported by pygocd yet; edit the config repo or the stored config.",
        422,
    )


@router.delete("/{name}", summary="Delete a pipeline defined in the stored config")
async def delete_pipeline(name: str, request: Request) -> Response:
    pipeline = _pipeline(request, name)
    if pipeline.is_from_config_repo:
        return _message(remote_message(request, pipeline), 422)
    config = _config(request)
    stored = config.stored
    groups = tuple(
        replace(g, pipelines=tuple(p for p in g.pipelines if p.name != pipeline.name))
        for g in stored.groups
    )
    await config.save(
        replace(stored, groups=groups),
        expected_md5=stored.md5,
        author="admin",
        message=f"Deleted pipeline '{pipeline.name}'",
    )
    return _message(f"Pipeline '{pipeline.name}' was deleted successfully.", 200)
