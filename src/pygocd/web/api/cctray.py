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
    projects = await history_service(request).cctray()
    body = cctray_xml(projects, base_url(request)).encode("utf-8")
    etag = hashlib.sha256(body).hexdigest()
    return Response(body, headers={"content-type": XML, "ETag": f'"{etag}"'})
