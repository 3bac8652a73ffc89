"""Server endpoints: health and version (GoCD `/api/v1/health`, `/api/version`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from pygocd import __version__
from pygocd.web.api.versioning import accepts, versioned_response

# The GoCD release whose API pygocd answers like; clients such as gomatic read it.
GOCD_API_LEVEL = "26.1.0"

router = APIRouter()


@router.get("/api/v1/health", tags=["server"], summary="Server health (no Accept needed)")
async def health() -> JSONResponse:
    return JSONResponse({"health": "OK"})


@router.get(
    "/api/version",
    tags=["server"],
    summary="Server version",
    dependencies=[accepts(1)],
    response_class=versioned_response(1),
)
async def version(request: Request) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    return {
        "_links": {
            "self": {"href": f"{base}/go/api/version"},
            "doc": {"href": "https://api.gocd.org/current/#version"},
        },
        "version": GOCD_API_LEVEL,
        "build_number": __version__,
        "git_sha": "",
        "full_version": f"{GOCD_API_LEVEL} (pygocd {__version__})",
        "commit_url": "",
    }
