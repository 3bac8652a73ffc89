"""GoCD's request checks shared by the write endpoints, and its cursor paging parameters.

* A write with a body needs `Content-Type: application/json` (parameters such as `charset`
  allowed): else 415. Malformed JSON: 400 with the key `error`, not `message`.
* A write without a body needs an `X-GoCD-Confirm` header (any value): else 400.
* History pages take `page_size` (10–100, default 10) and `after`/`before` cursors (row ids).

Failures raise `RequestRejected`, which `pygocd.web.errors` renders with the endpoint's
versioned content type.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import Request

NOT_JSON = "You must specify a 'Content-Type' of 'application/json'"
CONFIRM_MISSING = "Missing required header 'X-GoCD-Confirm' with value 'true'"
PAGE_SIZE_MESSAGE = (
    "The query parameter 'page_size', if specified must be a number between 10 and 100."
)
CURSOR_MESSAGE = "The query parameter '{}', if specified, must be a positive integer."
MAX_BODY_BYTES = 1024 * 1024
MAX_INT = 2**31 - 1  # counters are Java ints in GoCD: larger values do not parse
MAX_LONG = 2**63 - 1  # cursors (row ids) are Java longs
DEFAULT_PAGE_SIZE = 10


def parse_int(value: str) -> int | None:
    """A Java `Integer.parseInt`: None for anything that is not an int (too large included)."""
    try:
        number = int(value)
    except ValueError:
        return None
    return number if -MAX_INT - 1 <= number <= MAX_INT else None


class RequestRejected(Exception):
    """A request GoCD refuses before it reaches a service: status and body as GoCD's."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body)
        self.status = status
        self.body = body


def message(text: str, status: int) -> RequestRejected:
    return RequestRejected(status, {"message": text})


def is_json_content_type(value: str | None) -> bool:
    return (value or "").split(";", 1)[0].strip().lower() == "application/json"


async def json_body(
    request: Request, *, need_confirm: bool = True, need_json_type: bool = True
) -> Any:
    """The request's JSON, or None for a confirmed bodyless request (see the module text).
    Endpoints GoCD does not filter (the agents API's PATCH and DELETE) turn the checks off."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    raw = await request.body()
    if not raw.strip():
        if need_confirm and "x-gocd-confirm" not in request.headers:
            raise message(CONFIRM_MISSING, 400)
        return None
    if need_json_type and not is_json_content_type(request.headers.get("content-type")):
        raise message(NOT_JSON, 415)
    if len(raw) > MAX_BODY_BYTES:
        raise _too_large()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise RequestRejected(400, {"error": f"Payload data is not valid JSON: {error}"}) from None


def _too_large() -> RequestRejected:
    return message(
        f"Your request could not be processed. The request body is larger than "
        f"{MAX_BODY_BYTES} bytes.",
        413,
    )


async def json_object(request: Request) -> dict[str, Any]:
    """A body that must be a JSON object when present ({} for a confirmed empty request)."""
    body = await json_body(request)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise message("Your request could not be processed. The body must be a JSON object.", 422)
    return body


async def confirmed(request: Request) -> None:
    """A write that takes no body: a body is ignored but must still be JSON, as GoCD's
    `verifyContentType` checks it; without one `X-GoCD-Confirm` is required."""
    await json_body(request)


@dataclass(frozen=True)
class PageRequest:
    page_size: int = DEFAULT_PAGE_SIZE
    after: int | None = None
    before: int | None = None


def _cursor(request: Request, key: str) -> int | None:
    value = request.query_params.get(key)
    if value is None or not value.strip():
        return None
    try:
        cursor = int(value)
    except ValueError:
        raise message(CURSOR_MESSAGE.format(key), 400) from None
    if not 0 <= cursor <= MAX_LONG:
        raise message(CURSOR_MESSAGE.format(key), 400)
    return cursor or None


def page_request(request: Request) -> PageRequest:
    """`page_size`, `after` and `before` with GoCD's 400 messages; `after` wins over
    `before` (GoCD's DAO checks `after` first); 0 means "not given"."""
    raw = request.query_params.get("page_size")
    page_size = DEFAULT_PAGE_SIZE
    if raw is not None:
        try:
            page_size = int(raw)
        except ValueError:
            raise message(PAGE_SIZE_MESSAGE, 400) from None
        if not 10 <= page_size <= 100:
            raise message(PAGE_SIZE_MESSAGE, 400)
    after = _cursor(request, "after")
    before = _cursor(request, "before")
    return PageRequest(page_size, after, None if after is not None else before)


def history_links(
    url: str, older: bool, newer: bool, oldest_id: int | None, newest_id: int | None
) -> dict[str, Any]:
    """`_links.next` (older page) and `_links.previous` (newer page), only when they exist."""
    links: dict[str, Any] = {}
    if older and oldest_id is not None:
        links["next"] = {"href": f"{url}?after={oldest_id}"}
    if newer and newest_id is not None:
        links["previous"] = {"href": f"{url}?before={newest_id}"}
    return links
