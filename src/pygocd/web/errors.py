"""Mapping domain errors and bad requests to GoCD's error bodies and status codes."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from pygocd.domain.errors import Conflict, DomainError, Invalid, NotFound
from pygocd.web.api.requests import RequestRejected
from pygocd.web.api.versioning import WrongAcceptHeader, error_response, wrong_url_response

log = logging.getLogger("pygocd.web")

_STATUS = {NotFound: 404, Conflict: 409, Invalid: 422}

_GOCD_ERROR_BODY: dict[str, object] = {
    "type": "object",
    "description": "GoCD's error body: `message`, or `error` for unparsable JSON",
    "properties": {
        "message": {"type": "string"},
        "error": {"type": "string"},
        "data": {"type": "object"},
    },
}


def _error(description: str, *, text: bool = False) -> dict[str, object]:
    content: dict[str, object] = {"application/json": {"schema": _GOCD_ERROR_BODY}}
    if text:
        content["text/plain"] = {"schema": {"type": "string"}}
    return {"description": description, "content": content}


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    400: _error("Missing X-GoCD-Confirm, malformed JSON or bad query parameters"),
    401: _error("Not authenticated (or a webhook without a valid signature)"),
    403: _error("Not authorized"),
    404: _error("Unknown entity, or a missing or wrong versioned Accept header", text=True),
    409: _error("The current state forbids the request"),
    412: _error("If-Match missing or stale"),
    413: _error("Request body too large"),
    415: _error("A body that is not application/json"),
    422: _error("The request is not valid"),
}
"""GoCD's error answers, documented for every operation of the OpenAPI document."""


def install_error_handlers(app: FastAPI) -> None:
    async def wrong_accept(_request: Request, _error: Exception) -> Response:
        return wrong_url_response()

    async def domain_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, DomainError)
        status = next((code for kind, code in _STATUS.items() if isinstance(error, kind)), 422)
        return error_response(request, {"message": error.message}, status)

    async def rejected(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestRejected)
        return error_response(request, error.body, error.status)

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if error.status_code == 404 and request.url.path.startswith("/go/api/"):
            return wrong_url_response()
        return JSONResponse(
            {"message": str(error.detail)}, status_code=error.status_code, headers=error.headers
        )

    async def invalid_request(_request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in error.errors()
        )
        return JSONResponse({"message": f"Your request could not be processed. {problems}"}, 422)

    app.add_exception_handler(WrongAcceptHeader, wrong_accept)
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestRejected, rejected)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
