"""`GET /go/cctray.xml`: GoCD's CCTray feed for build monitors (no `Accept` needed)."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pygocd.web.api.pipelines import base_url, history_service
from pygocd.web.api.representers_runs import cctray_xml

router = APIRouter(tags=["cctray"])

XML = "application/xml;charset=utf-8"


@router.get(
    "/cctray.xml",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}, "description": "CCTray projects"}},
    summary="CCTray: one project per stage and per job that has run",
)
async def cctray(request: Request) -> Response:
    """Monitors poll this every few seconds; between two run or config changes the document
    is served from a cache keyed by the database's change marker (safe across processes,
    since the key is read from the shared database on every request)."""
    service = history_service(request)
    base = base_url(request)
    key = (base, *await service.cctray_version())
    cached = getattr(request.app.state, "cctray_cache", None)
    if cached is None or cached[0] != key:
        body = cctray_xml(await service.cctray(), base).encode("utf-8")
        cached = (key, body, hashlib.sha256(body).hexdigest())
        request.app.state.cctray_cache = cached
    _, body, etag = cached
    return Response(body, headers={"content-type": XML, "ETag": f'"{etag}"'})
