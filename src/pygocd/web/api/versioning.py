"""GoCD's versioned `Accept` rule: the exact header for the endpoint's version, else 404.

`Accept: application/vnd.go.cd.vN+json` must match the whole header, case-sensitively;
`application/vnd.go.cd+json` means "latest". Anything else (`application/json`, `*/*`, a list)
gets GoCD's plain-text 404, as GoCD answers it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

LATEST_ACCEPT = "application/vnd.go.cd+json"
WRONG_URL_MESSAGE = "The url you are trying to reach appears to be incorrect.\r\n"
NO_CACHE = "max-age=0, private, must-revalidate"


def media_type(version: int) -> str:
    return f"application/vnd.go.cd.v{version}+json"


class WrongAcceptHeader(Exception):
    pass


def accepts(version: int) -> Any:
    """A dependency that enforces `Accept` for an endpoint of this API version."""
    wanted = media_type(version)

    def check(request: Request) -> None:
        accept = request.headers.get("accept")
        if accept not in (wanted, LATEST_ACCEPT):
            raise WrongAcceptHeader
        request.state.api_version = version

    return Depends(check)


def wrong_url_response() -> PlainTextResponse:
    return PlainTextResponse(WRONG_URL_MESSAGE, status_code=404)


class GoCDJSONResponse(JSONResponse):
    """JSON with GoCD's versioned content type and cache headers."""

    version = 1

    def __init__(self, content: Any, status_code: int = 200, **kwargs: Any) -> None:
        super().__init__(content, status_code=status_code, **kwargs)
        self.headers["content-type"] = f"{media_type(self.version)};charset=utf-8"
        self.headers["cache-control"] = NO_CACHE

    def render(self, content: Any) -> bytes:
        return json.dumps(content, indent=2, ensure_ascii=False).encode("utf-8")


def versioned_response(version: int) -> type[GoCDJSONResponse]:
    return _RESPONSE_CLASSES.setdefault(
        version, type(f"GoCDJSONResponseV{version}", (GoCDJSONResponse,), {"version": version})
    )


_RESPONSE_CLASSES: dict[int, type[GoCDJSONResponse]] = {}


class CompactGoCDJSONResponse(GoCDJSONResponse):
    """Without GoCD's pretty-printing (cosmetic): for large bodies such as the dashboard,
    where the indenting encoder (pure Python) would cost more than building the body."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def compact_response(version: int) -> type[GoCDJSONResponse]:
    return _COMPACT_CLASSES.setdefault(
        version,
        type(
            f"CompactGoCDJSONResponseV{version}", (CompactGoCDJSONResponse,), {"version": version}
        ),
    )


_COMPACT_CLASSES: dict[int, type[GoCDJSONResponse]] = {}


def error_response(request: Request, body: dict[str, Any], status_code: int) -> Response:
    """An error body with the content type of the endpoint's version when the request got
    past the `Accept` check (as GoCD's controllers answer), plain JSON otherwise."""
    version = getattr(request.state, "api_version", None)
    if isinstance(version, int):
        return versioned_response(version)(body, status_code=status_code)
    return JSONResponse(body, status_code=status_code)


ResponseFactory = Callable[..., GoCDJSONResponse]
