"""Editing the stored config through the API (pipelines, pipeline groups, templates).

An edit is made on the effective config, validated as a whole (`validate_config`), and only
then saved as a new config revision; `ConfigService.save` keeps config-repo definitions out of
the stored document. Errors the config already had before the edit do not count against it.
A rejected edit is GoCD's 422: `Validations failed for <kind> '<name>'. Error(s): [...]`, with
the entity's JSON as `data`, each invalid object carrying `"errors": {"field": ["message"]}`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from pygocd.configrepo.errors import ConfigError
from pygocd.configrepo.validate import validate_config
from pygocd.domain.config import CruiseConfig
from pygocd.domain.runs import ANONYMOUS
from pygocd.services.config import ConfigService
from pygocd.web.api.config_repos import unquote_etag
from pygocd.web.api.versioning import versioned_response

Json = dict[str, Any]

# validation speaks GoCD YAML's words; the API's JSON has these names
_FIELD_NAMES = {
    "run_instances": "run_instance_count",
    "secure_variables": "environment_variables",
    "clean_workspace": "clean_working_directory",
}


def config_service(request: Request) -> ConfigService:
    found: ConfigService = request.app.state.services.config
    return found


def if_match(request: Request, etag: str) -> bool:
    return unquote_etag(request.headers.get("if-match")) == etag


def stale_message(kind: str, name: str) -> str:
    return (
        f"Someone has modified the configuration for {kind} '{name}'. Please update your copy "
        "of the config with the changes and try again."
    )


def failed_message(kind: str, name: str, messages: list[str]) -> str:
    return (
        f"Validations failed for {kind} '{name}'. Error(s): [{', '.join(messages)}]. "
        "Please correct and resubmit."
    )


def unprocessable(version: int, text: str, data: Json | None = None) -> Response:
    body: Json = {"message": text}
    if data is not None:
        body["data"] = _printable(data)
    return versioned_response(version)(body, status_code=422)


def _printable(value: Any) -> Any:
    """`value` with lone surrogates (which JSON input may hold) replaced, so it renders."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable(v) for v in value]
    return value


async def new_errors(config: ConfigService, candidate: CruiseConfig) -> list[ConfigError]:
    """The errors `candidate` has that the effective config has not (off the event loop)."""
    baseline = config.current

    def check() -> list[ConfigError]:
        errors = validate_config(candidate)
        if not errors:
            return []
        known = {(e.key_path.lower(), e.message) for e in validate_config(baseline)}
        return [e for e in errors if (e.key_path.lower(), e.message) not in known]

    return await asyncio.to_thread(check)


async def save(config: ConfigService, candidate: CruiseConfig, message: str) -> CruiseConfig:
    """Save an edit of the current effective config as a new revision; a save by someone
    else in between raises `Conflict` and nothing is saved."""
    return await config.save(
        candidate, expected_md5=config.current.md5, author=ANONYMOUS, message=message
    )


# -- errors onto the entity's JSON ------------------------------------------------------


def attach_errors(data: Json, prefix: str, errors: list[ConfigError]) -> list[str]:
    """Write each error under `prefix` (`pipelines.up42`, `templates.t`) onto the object of
    `data` it is about; every error's message is returned, in order."""
    lowered = prefix.lower()
    for error in errors:
        path = error.key_path
        head = path[: len(prefix)].lower()
        rest = path[len(prefix) :]
        if head == lowered and (not rest or rest[0] in ".["):
            _attach(data, _tokens(rest), error.message)
    return [e.message for e in errors]


def add_error(obj: Json, key: str, message: str) -> None:
    errors = obj.get("errors")
    if not isinstance(errors, dict):
        errors = obj["errors"] = {}
    errors.setdefault(key, []).append(message)


def _tokens(path: str) -> list[str | int]:
    """`.stages[0].jobs.build.tasks[1]` → ["stages", 0, "jobs", "build", "tasks", 1]."""
    tokens: list[str | int] = []
    for part in path.split("."):
        if not part:
            continue
        name, _, indexes = part.partition("[")
        if name:
            tokens.append(name)
        for index in indexes.split("[") if indexes else ():
            number = index.rstrip("]")
            tokens.append(int(number) if number.isascii() and number.isdigit() else number)
    return tokens


def _inner(item: Json) -> Json:
    """Materials and tasks carry their fields, and GoCD their errors, under `attributes`."""
    attributes = item.get("attributes")
    return attributes if isinstance(attributes, dict) else item


def _item_name(item: Json) -> str | None:
    name = item.get("name")
    if name is None:
        name = _inner(item).get("name")
    return name.lower() if isinstance(name, str) else None


def _by_name(items: list[Any], rest: list[str | int]) -> tuple[Json | None, int]:
    """The item named by the longest run of `rest` (names may hold dots), and that length."""
    for length in range(len(rest), 0, -1):
        words = rest[:length]
        if not all(isinstance(w, str) for w in words):
            continue
        wanted = ".".join(str(w) for w in words).lower()
        for item in items:
            if isinstance(item, dict) and _item_name(item) == wanted:
                return item, length
    return None, 0


def _attach(data: Json, tokens: list[str | int], message: str) -> None:
    node = data
    index = 0
    while index < len(tokens):
        token = tokens[index]
        key = _FIELD_NAMES.get(str(token), str(token))
        value = node.get(key)
        more = tokens[index + 1 :]
        if isinstance(value, list) and more:
            following = more[0]
            found: Json | None = None
            used = 1
            if isinstance(following, int):
                item = value[following] if 0 <= following < len(value) else None
                found = item if isinstance(item, dict) else None
            else:
                found, used = _by_name(value, more)
            if found is not None:
                node = _inner(found)
                index += 1 + used
                continue
        elif isinstance(value, dict) and more:
            node = _inner(value)
            index += 1
            continue
        add_error(node, key, message)
        return
    add_error(node, _object_field(message), message)


def _object_field(message: str) -> str:
    """The field an error reported on a whole object is about, as GoCD names it."""
    text = message.lower()
    for starts, field in (
        ("url", "url"),
        ("pipeline name", "pipeline"),
        ("stage name", "stage"),
        ("you may only specify `password`", "encrypted_password"),
        ("environment variable", "name"),
        ("a pipeline must have at least one material", "materials"),
    ):
        if text.startswith(starts):
            return field
    if "does not have any stages" in text:
        return "stages"
    if "has no jobs" in text or "at least one job" in text:
        return "jobs"
    if "task" in text and "job" in text:
        return "tasks"
    return "name"
