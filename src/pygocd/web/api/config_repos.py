"""Config repos API v4 (`/go/api/admin/config_repos`), GoCD's `ConfigReposControllerV4`."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from pygocd.domain.config_repos import YAML_PLUGIN_ID, ConfigRepoConfig
from pygocd.domain.errors import NotFound
from pygocd.domain.materials import GitMaterialConfig, mask_credentials
from pygocd.domain.variables import Parameter
from pygocd.services.config_repos import ConfigRepoService, InvalidConfigRepo
from pygocd.web.api.representers import (
    CONFIG_REPO_DOC,
    config_repo_json,
    etag_of,
    modification_json,
)
from pygocd.web.api.versioning import accepts, versioned_response

VERSION = 4
Response4 = versioned_response(VERSION)

router = APIRouter(
    prefix="/api/admin/config_repos",
    tags=["config repos"],
    dependencies=[accepts(VERSION)],
)

NOT_JSON = "You must specify a 'Content-Type' of 'application/json'"
CONFIRM_MISSING = "Missing required header 'X-GoCD-Confirm' with value 'true'"


class BadRequest(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body)
        self.status = status
        self.body = body


def base_url(request: Request) -> str:
    site = getattr(request.app.state.settings, "site_url", None)
    return str(site or request.base_url).rstrip("/")


def service(request: Request) -> ConfigRepoService:
    found: ConfigRepoService | None = request.app.state.services.config_repos
    if found is None:
        raise NotFound("Config repos are not available on this server.")
    return found


def message(text: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response4({"message": text}, status_code=status, headers=headers)


def unquote_etag(value: str | None) -> str | None:
    """GoCD strips quotes and a trailing `--gzip`/`--deflate` before comparing."""
    if value is None:
        return None
    value = value.strip().removeprefix("W/").strip('"')
    for suffix in ("--gzip", "--deflate"):
        value = value.removesuffix(suffix)
    return value


async def json_body(request: Request) -> Any:
    """The request's JSON, with GoCD's 415 for another content type and 400 for bad JSON;
    a bodyless write needs `X-GoCD-Confirm` (400 otherwise)."""
    raw = await request.body()
    if not raw:
        if "x-gocd-confirm" not in request.headers:
            raise BadRequest(400, {"message": CONFIRM_MISSING})
        return None
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        raise BadRequest(415, {"message": NOT_JSON})
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(400, {"error": f"Payload data is not valid JSON: {error}"}) from None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def repo_from_body(
    body: Any, existing: ConfigRepoConfig | None = None
) -> tuple[ConfigRepoConfig | None, dict[str, list[str]]]:
    """Build a config repo from GoCD's v4 JSON; (None, errors) when its shape is wrong."""
    errors: dict[str, list[str]] = {}
    if not isinstance(body, dict):
        return None, {"body": ["The request body must be a JSON object"]}
    repo_id = body.get("id")
    if not isinstance(repo_id, str):
        errors["id"] = ["Configuration repository id not specified"]
    plugin_id = body.get("plugin_id", YAML_PLUGIN_ID)
    if not isinstance(plugin_id, str):
        errors["plugin_id"] = ["Configuration repository plugin not specified"]
    material = body.get("material")
    attributes = material.get("attributes") if isinstance(material, dict) else None
    if not isinstance(material, dict) or not isinstance(attributes, dict):
        errors["material"] = ["Material must be an object with 'type' and 'attributes'"]
    elif material.get("type") != "git":
        errors["material"] = [
            f"Config repos of type '{material.get('type')}' are not supported; use git"
        ]
    configuration: list[Parameter] = []
    raw_configuration = body.get("configuration", [])
    if not isinstance(raw_configuration, list):
        errors["configuration"] = ["configuration must be a list of {key, value}"]
    else:
        for item in raw_configuration:
            if not isinstance(item, dict) or not isinstance(item.get("key"), str):
                errors["configuration"] = ["configuration must be a list of {key, value}"]
                break
            configuration.append(Parameter(item["key"], _text(item.get("value"))))
    if errors or not isinstance(attributes, dict):
        return None, errors
    url = _text(attributes.get("url")) or ""
    old = existing.material if existing is not None else None
    if isinstance(old, GitMaterialConfig) and url == mask_credentials(old.url):
        url = old.url  # a GET → PUT round trip keeps the credentials GET masked
    branch = _text(attributes.get("branch"))
    git = GitMaterialConfig(
        url=url,
        branch=branch if branch and branch.strip() else GitMaterialConfig().branch,
        username=_text(attributes.get("username")),
        password=_text(attributes.get("password")),
        encrypted_password=_text(attributes.get("encrypted_password")),
        auto_update=attributes.get("auto_update") is not False,
        name=_text(attributes.get("name")),
    )
    if isinstance(old, GitMaterialConfig) and git.password is None and git.username == old.username:
        git = GitMaterialConfig(
            url=git.url,
            branch=git.branch,
            username=git.username,
            password=old.password,
            encrypted_password=git.encrypted_password or old.encrypted_password,
            auto_update=git.auto_update,
            name=git.name,
        )
    assert isinstance(repo_id, str)
    assert isinstance(plugin_id, str)
    return (
        ConfigRepoConfig(
            id=repo_id, material=git, plugin_id=plugin_id, configuration=tuple(configuration)
        ),
        {},
    )


def invalid_response(
    body: Any,
    text: str,
    errors: dict[str, list[str]],
    material_errors: dict[str, list[str]] | None = None,
) -> Response:
    data = dict(body) if isinstance(body, dict) else {}
    if errors:
        data["errors"] = errors
    if material_errors:
        material = data.get("material")
        material = dict(material) if isinstance(material, dict) else {}
        attributes = material.get("attributes")
        attributes = dict(attributes) if isinstance(attributes, dict) else {}
        attributes["errors"] = material_errors
        material["attributes"] = attributes
        data["material"] = material
    if isinstance(data.get("material"), dict):
        attributes = data["material"].get("attributes")
        if isinstance(attributes, dict):
            attributes.pop("password", None)
            if isinstance(attributes.get("url"), str):
                attributes["url"] = mask_credentials(attributes["url"])
    return Response4({"message": text, "data": data}, status_code=422)


def with_status(svc: ConfigRepoService, repo: ConfigRepoConfig, base: str) -> dict[str, Any]:
    info = svc.parse_info(repo.id)
    return {
        **config_repo_json(repo, base),
        "material_update_in_progress": svc.in_progress(repo.id),
        "parse_info": {
            "latest_parsed_modification": modification_json(info.latest_parsed_modification),
            "good_modification": modification_json(info.good_modification),
            "error": info.error,
        },
    }


def repo_response(
    svc: ConfigRepoService, repo: ConfigRepoConfig, base: str, status: int = 200
) -> Response:
    body = with_status(svc, repo, base)
    etag = etag_of(config_repo_json(repo, base))
    return Response4(body, status_code=status, headers={"ETag": f'"{etag}"'})


@router.get("", summary="All config repos with their parse status")
async def list_repos(request: Request) -> Response:
    svc = service(request)
    base = base_url(request)
    repos = [with_status(svc, repo, base) for repo in svc.list()]
    return Response4(
        {
            "_links": {"self": {"href": f"{base}/go/api/admin/config_repos"}},
            "_embedded": {"config_repos": repos},
        }
    )


@router.post("", summary="Register a config repo")
async def create_repo(request: Request) -> Response:
    svc = service(request)
    try:
        body = await json_body(request)
    except BadRequest as problem:
        return Response4(problem.body, status_code=problem.status)
    if body is None:
        body = {}
    repo, errors = repo_from_body(body)
    if repo is None:
        return invalid_response(
            body, "Validations failed for config-repo. Please correct and resubmit.", errors
        )
    try:
        created = await svc.create(repo)
    except InvalidConfigRepo as problem:
        return invalid_response(body, problem.message, problem.errors, problem.material_errors)
    return repo_response(svc, created, base_url(request))


@router.get("/{repo_id}", summary="One config repo")
async def get_repo(repo_id: str, request: Request) -> Response:
    svc = service(request)
    return repo_response(svc, svc.get(repo_id), base_url(request))


@router.put("/{repo_id}", summary="Update a config repo (If-Match required)")
async def update_repo(repo_id: str, request: Request) -> Response:
    svc = service(request)
    existing = svc.get(repo_id)
    base = base_url(request)
    try:
        body = await json_body(request)
    except BadRequest as problem:
        return Response4(problem.body, status_code=problem.status)
    if body is None:
        body = {}
    if isinstance(body, dict) and isinstance(body.get("id"), str) and body["id"] != existing.id:
        return message("Renaming of config repos is not supported by this API.", 422)
    current = etag_of(config_repo_json(existing, base))
    if unquote_etag(request.headers.get("if-match")) != current:
        return message(
            f"Someone has modified the configuration for config repo '{existing.id}'. Please "
            "update your copy of the config with the changes and try again.",
            412,
        )
    if isinstance(body, dict):
        body = {"id": existing.id, **body}
    repo, errors = repo_from_body(body, existing)
    if repo is None:
        return invalid_response(
            body,
            f"Validations failed for config-repo '{existing.id}'. Please correct and resubmit.",
            errors,
        )
    try:
        updated = await svc.update(existing.id, repo)
    except InvalidConfigRepo as problem:
        return invalid_response(body, problem.message, problem.errors, problem.material_errors)
    return repo_response(svc, updated, base)


@router.delete("/{repo_id}", summary="Delete a config repo")
async def delete_repo(repo_id: str, request: Request) -> Response:
    svc = service(request)
    repo = svc.get(repo_id)
    await svc.delete(repo.id)
    return message(f"The config repo '{repo.id}' was deleted successfully.", 200)


@router.post("/{repo_id}/trigger_update", summary="Check the repo for changes now")
async def trigger_update(repo_id: str, request: Request) -> Response:
    svc = service(request)
    repo = svc.get(repo_id)
    try:
        await json_body(request)
    except BadRequest as problem:
        return Response4(problem.body, status_code=problem.status)
    svc.trigger_update(repo.id)  # Conflict → 409 "Update already in progress."
    return message("OK", 201)


@router.get("/{repo_id}/status", summary="Whether a check is running")
async def status(repo_id: str, request: Request) -> Response:
    svc = service(request)
    return JSONResponse(
        {"in_progress": svc.in_progress(repo_id)},
        headers={"content-type": f"application/vnd.go.cd.v{VERSION}+json;charset=utf-8"},
    )


@router.get("/{repo_id}/definitions", summary="Pipelines and environments the repo defines")
async def definitions(repo_id: str, request: Request) -> Response:
    svc = service(request)
    repo = svc.get(repo_id)
    part = request.app.state.services.config.config_repo_part(repo.id)
    groups: dict[str, dict[str, Any]] = {}
    environments: list[dict[str, str]] = []
    if part is not None:
        for pipeline in part.pipelines:
            group = groups.setdefault(
                pipeline.group.lower(), {"name": pipeline.group, "pipelines": []}
            )
            group["pipelines"].append({"name": pipeline.name})
        environments = [{"name": e.name} for e in part.environments]
    base = base_url(request)
    body = {
        "_links": {
            "self": {"href": f"{base}/go/api/admin/config_repos/{repo.id}/definitions"},
            "doc": {"href": CONFIG_REPO_DOC},
        },
        "environments": environments,
        "groups": list(groups.values()),
    }
    etag = etag_of(body)
    if unquote_etag(request.headers.get("if-none-match")) == etag:
        return Response(status_code=304, headers={"ETag": f'"{etag}"'})
    return Response4(body, headers={"ETag": f'"{etag}"'})
