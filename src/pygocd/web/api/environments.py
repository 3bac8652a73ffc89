"""Environments API v3 (`/go/api/admin/environments`), GoCD's `EnvironmentsControllerV3`.

Environments are shown merged across the stored config and config repos, sorted by name;
edits change the stored part only (`pygocd.services.environments`). As in GoCD's v3, an
environment is its name, pipelines and environment variables: agents join environments through
the agents API (their `environments`), and a PATCH here reads only `pipelines` and
`environment_variables`.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pygocd.domain.environments import EnvironmentConfig
from pygocd.domain.variables import EnvironmentVariable
from pygocd.services.environments import (
    EnvironmentInvalid,
    EnvironmentService,
    MergedEnvironment,
)
from pygocd.web.api.config_repos import base_url, unquote_etag
from pygocd.web.api.representers import etag_of, variables_json
from pygocd.web.api.requests import RequestRejected, json_object
from pygocd.web.api.versioning import accepts, versioned_response

VERSION = 3
Response3 = versioned_response(VERSION)
DOC = "https://api.gocd.org/current/#environment-config"
BOTH_VALUES = "You may only specify `value` or `encrypted_value`, not both!"

router = APIRouter(
    prefix="/api/admin/environments", tags=["environments"], dependencies=[accepts(VERSION)]
)

Json = dict[str, Any]


def _service(request: Request) -> EnvironmentService:
    return EnvironmentService(request.app.state.services.config)


def _links(base: str, name: str) -> Json:
    return {
        "self": {"href": f"{base}/go/api/admin/environments/{name}"},
        "doc": {"href": DOC},
        "find": {"href": f"{base}/go/api/admin/environments/:environment_name"},
    }


def _pipeline_json(base: str, name: str) -> Json:
    return {
        "_links": {
            "self": {"href": f"{base}/go/api/admin/pipelines/{name}"},
            "doc": {"href": "https://api.gocd.org/current/#pipeline-config"},
            "find": {"href": f"{base}/go/api/admin/pipelines/:pipeline_name"},
        },
        "name": name,
    }


def environment_json(
    base: str,
    name: str,
    pipelines: tuple[str, ...],
    variables: tuple[EnvironmentVariable, ...],
) -> Json:
    return {
        "_links": _links(base, name),
        "name": name,
        "pipelines": [_pipeline_json(base, p) for p in pipelines],
        "environment_variables": [
            {"secure": v["secure"], "name": v["name"], **_value(v)}
            for v in variables_json(variables)
        ],
    }


def _value(variable: Json) -> Json:
    if variable["secure"]:
        return {"encrypted_value": variable.get("encrypted_value")}
    return {"value": variable.get("value")}


def merged_json(base: str, environment: MergedEnvironment) -> Json:
    return environment_json(
        base, environment.name, environment.pipelines, environment.environment_variables
    )


def _etag(request: Request, environment: MergedEnvironment) -> str:
    return etag_of(merged_json(base_url(request), environment))


def _with_etag(request: Request, environment: MergedEnvironment) -> Response:
    body = merged_json(base_url(request), environment)
    return Response3(body, headers={"ETag": f'"{etag_of(body)}"'})


def _invalid(request: Request, error: EnvironmentInvalid) -> Response:
    env = error.environment
    data = environment_json(base_url(request), env.name, env.pipelines, env.environment_variables)
    data["errors"] = error.errors
    return Response3({"message": error.message, "data": data}, status_code=422)


def _missing(body: Any, key: str) -> RequestRejected:
    return RequestRejected(
        422, {"message": f"Json `{json.dumps(body)}` does not contain property '{key}'"}
    )


def _reason(text: str) -> RequestRejected:
    return RequestRejected(422, {"message": f"Your request could not be processed. {text}"})


def _variable(item: Any) -> tuple[EnvironmentVariable, dict[str, list[str]]]:
    """GoCD's `EnvironmentVariableRepresenter.fromJSON`, with its errors."""
    if not isinstance(item, dict):
        raise _reason("Each environment variable must be a JSON object.")
    name = item.get("name")
    if not isinstance(name, str):
        raise _missing(item, "name")
    secure = item.get("secure", False)
    if not isinstance(secure, bool):
        raise _reason(f"'secure' of environment variable '{name}' must be a boolean.")
    value, encrypted = item.get("value"), item.get("encrypted_value")
    for key, given in (("value", value), ("encrypted_value", encrypted)):
        if given is not None and not isinstance(given, str):
            raise _reason(f"'{key}' of environment variable '{name}' must be a string.")
    if value is None and encrypted is None:
        raise _reason("Environment variable must contain either 'value' or 'encrypted_value'")
    if not secure and value is None:
        raise _missing(item, "value")
    errors: dict[str, list[str]] = {}
    if value is not None and encrypted is not None:
        errors = {"value": [BOTH_VALUES], "encrypted_value": [BOTH_VALUES]}
    if encrypted is not None:
        return EnvironmentVariable(name, secure=True, encrypted_value=encrypted), errors
    return EnvironmentVariable(name, value=value, secure=secure), errors


def _variables(
    items: Any, key: str
) -> list[tuple[EnvironmentVariable, Json, dict[str, list[str]]]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise _reason(f"'{key}' must be a list.")
    out = []
    for item in items:
        variable, errors = _variable(item)
        out.append((variable, item, errors))
    return out


def _variables_error(
    message: str, parsed: list[tuple[EnvironmentVariable, Json, dict[str, list[str]]]]
) -> RequestRejected:
    shown = []
    for variable, item, errors in parsed:
        entry: Json = {"secure": variable.secure, "name": variable.name}
        for key in ("value", "encrypted_value"):
            if key in item:
                entry[key] = item[key]
        if errors:
            entry["errors"] = errors
        shown.append(entry)
    return RequestRejected(422, {"message": message, "data": {"environment_variables": shown}})


def _environment_from(body: Json) -> EnvironmentConfig:
    name = body.get("name")
    if not isinstance(name, str):
        raise _missing(body, "name")
    raw_pipelines = body.get("pipelines", [])
    if raw_pipelines is None:
        raw_pipelines = []
    if not isinstance(raw_pipelines, list):
        raise _reason("'pipelines' must be a list of objects with a 'name'.")
    pipelines = []
    for item in raw_pipelines:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise _reason("'pipelines' must be a list of objects with a 'name'.")
        pipelines.append(item["name"])
    parsed = _variables(body.get("environment_variables"), "environment_variables")
    if any(errors for _, _, errors in parsed):
        raise _variables_error("Error parsing environment config from the request", parsed)
    return EnvironmentConfig(
        name=name,
        pipelines=tuple(pipelines),
        environment_variables=tuple(v for v, _, _ in parsed),
    )


def _names(section: Json, key: str, where: str) -> list[str]:
    value = section.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _reason(f"'{where}.{key}' must be a list of names.")
    return list(value)


def _section(body: Json, key: str) -> Json:
    value = body.get(key, {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _reason(f"'{key}' must be an object with 'add' and 'remove'.")
    return value


@router.get("", summary="Every environment, merged across the config and config repos")
async def list_environments(request: Request) -> Response:
    base = base_url(request)
    environments = [merged_json(base, e) for e in _service(request).all()]
    body = {
        "_links": {"self": {"href": f"{base}/go/api/admin/environments"}, "doc": {"href": DOC}},
        "_embedded": {"environments": environments},
    }
    return Response3(body, headers={"ETag": f'"{etag_of(environments)}"'})


@router.get("/{name}", summary="One environment")
async def get_environment(name: str, request: Request) -> Response:
    return _with_etag(request, _service(request).get(name))


@router.post("", summary="Create an environment in the stored config")
async def create_environment(request: Request) -> Response:
    environment = _environment_from(await json_object(request))
    try:
        created = await _service(request).create(environment)
    except EnvironmentInvalid as error:
        return _invalid(request, error)
    return _with_etag(request, created)


@router.put("/{name}", summary="Replace an environment (If-Match required)")
async def update_environment(name: str, request: Request) -> Response:
    service = _service(request)
    existing = service.get(name)
    wanted = _environment_from(await json_object(request))
    if unquote_etag(request.headers.get("if-match")) != _etag(request, existing):
        return Response3(
            {
                "message": f"Someone has modified the configuration for environment "
                f"'{existing.name}'. Please update your copy of the config with the changes "
                "and try again."
            },
            status_code=412,
        )
    if wanted.name != name:
        return Response3(
            {"message": "Renaming of environments is not supported by this API."},
            status_code=422,
        )
    try:
        updated = await service.replace_local(existing, wanted)
    except EnvironmentInvalid as error:
        return _invalid(request, error)
    return _with_etag(request, updated)


@router.patch("/{name}", summary="Add or remove pipelines and environment variables")
async def patch_environment(name: str, request: Request) -> Response:
    service = _service(request)
    existing = service.get(name)
    body = await json_object(request)
    pipelines = _section(body, "pipelines")
    variables = _section(body, "environment_variables")
    add_pipelines = _names(pipelines, "add", "pipelines")
    remove_pipelines = _names(pipelines, "remove", "pipelines")
    remove_variables = _names(variables, "remove", "environment_variables")
    parsed = _variables(variables.get("add"), "environment_variables.add")
    if any(errors for _, _, errors in parsed):
        raise _variables_error("Error parsing patch request", parsed)
    try:
        updated = await service.patch(
            existing,
            add_pipelines=add_pipelines,
            remove_pipelines=remove_pipelines,
            add_variables=[v for v, _, _ in parsed],
            remove_variables=remove_variables,
        )
    except EnvironmentInvalid as error:
        return _invalid(request, error)
    return _with_etag(request, updated)


@router.delete("/{name}", summary="Delete an environment defined in the stored config")
async def delete_environment(name: str, request: Request) -> Response:
    service = _service(request)
    existing = service.get(name)
    await service.delete(existing)
    return Response3({"message": f"Environment '{existing.name}' was deleted successfully."})
