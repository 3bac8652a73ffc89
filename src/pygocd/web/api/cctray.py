"""`GET /go/cctray.xml`: GoCD's CCTray feed for build monitors (no `Accept` needed)."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pygocd.services.pipeline_changes import PerPipelineState
from pygocd.services.run_history import CcTrayProject
from pygocd.web.api.pipelines import base_url
from pygocd.web.api.representers_runs import cctray_document, cctray_lines
from pygocd.web.read_models import read_models

router = APIRouter(tags=["cctray"])

XML = "application/xml;charset=utf-8"


class CcTrayBody:
    """The document, assembled from each pipeline's lines; a pipeline's lines are kept while
    the read model hands out the same tuple of projects, i.e. until that pipeline changes."""

    def __init__(self) -> None:
        self._lines: dict[str, tuple[tuple[CcTrayProject, ...], str, bytes]] = {}
        self._base = ""
        self._last: tuple[object, bytes, str] | None = None

    def render(
        self, state: PerPipelineState[tuple[CcTrayProject, ...]], base: str
    ) -> tuple[bytes, str]:
        """The document and its ETag."""
        last = self._last
        if last is not None and last[0] is state and self._base == base:
            return last[1], last[2]
        if base != self._base:
            self._lines, self._base = {}, base
        lines = {}
        for key, projects in state.values.items():
            found = self._lines.get(key)
            if found is None or found[0] is not projects:
                text = cctray_lines(projects, base)
                found = (projects, text, hashlib.sha256(text.encode("utf-8")).digest())
            lines[key] = found
        self._lines = lines
        body = cctray_document([text for _, text, _ in lines.values() if text]).encode("utf-8")
        # a hash of the pipelines' digests: as strong as hashing the body, far less to hash
        etag = hashlib.sha256(b"".join(digest for _, _, digest in lines.values())).hexdigest()
        self._last = (state, body, etag)
        return body, etag


def cctray_body(request: Request) -> CcTrayBody:
    found: CcTrayBody | None = getattr(request.app.state, "cctray_body", None)
    if found is None:
        found = request.app.state.cctray_body = CcTrayBody()
    return found


@router.get(
    "/cctray.xml",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}, "description": "CCTray projects"}},
    summary="CCTray: one project per stage and per job that has run",
)
async def cctray(request: Request) -> Response:
    """Monitors poll this every few seconds. The app's CCTray read model re-reads only the
    pipelines that changed (per-pipeline change counters in the shared database, so changes
    made by other server processes show too), and only their lines are rendered again."""
    state = await read_models(request).cctray.projects()
    body, etag = cctray_body(request).render(state, base_url(request))
    return Response(body, headers={"content-type": XML, "ETag": f'"{etag}"'})
