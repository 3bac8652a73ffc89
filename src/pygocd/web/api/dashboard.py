"""Dashboard API v4 (`GET /go/api/dashboard`), GoCD's `DashboardControllerV4`: the UI's read
model (`pygocd.services.dashboard`) in GoCD's JSON, with an ETag and 304 on `If-None-Match`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pygocd.domain.pipelines import ApprovalType
from pygocd.services.dashboard import (
    Dashboard,
    DashboardInstance,
    DashboardPipeline,
    DashboardSection,
    DashboardStage,
)
from pygocd.web.api.config_repos import unquote_etag
from pygocd.web.api.pipelines import base_url
from pygocd.web.api.representers_runs import epoch_ms, iso
from pygocd.web.api.versioning import NO_CACHE, accepts, compact_response, media_type
from pygocd.web.read_models import read_models

Response4 = compact_response(4)
DOC = "https://api.gocd.org/current/#dashboard"

router = APIRouter(tags=["dashboard"], dependencies=[accepts(4)])

Json = dict[str, Any]


def _section(section: DashboardSection, base: str, kind: str) -> Json:
    path = "admin/pipeline_groups" if kind == "group" else "admin/environments"
    return {
        "_links": {
            "self": {"href": f"{base}/go/api/{path}/{section.name}"},
            "doc": {"href": DOC},
        },
        "name": section.name,
        "pipelines": list(section.pipelines),
        "can_administer": section.can_administer,
        "defines_pipelines": bool(section.pipelines),
    }


def _stage(pipeline: str, counter: int, stage: DashboardStage, base: str) -> Json:
    body: Json = {
        "_links": {
            "self": {
                "href": f"{base}/go/api/stages/{pipeline}/{counter}/{stage.name}/{stage.counter}"
            }
        },
        "name": stage.name,
        "counter": str(stage.counter),
        "status": stage.status.value,
        "allow_only_on_success_of_previous_stage": stage.allow_only_on_success_of_previous_stage,
        "can_operate": stage.can_operate,
        "approval_type": "manual" if stage.approval_type is ApprovalType.MANUAL else "auto",
        "approved_by": stage.approved_by,
        "scheduled_at": iso(stage.scheduled_at),
    }
    if stage.cancelled_by is not None:
        body["cancelled_by"] = stage.cancelled_by
    return body


def _instance(pipeline: str, instance: DashboardInstance, base: str) -> Json:
    return {
        "_links": {
            "self": {"href": f"{base}/go/api/pipelines/{pipeline}/{instance.counter}/instance"}
        },
        "label": instance.label,
        "counter": instance.counter,
        "triggered_by": instance.triggered_by,
        "scheduled_at": iso(instance.scheduled_at),
        "_embedded": {
            "stages": [_stage(pipeline, instance.counter, s, base) for s in instance.stages]
        },
    }


def _pipeline(pipeline: DashboardPipeline, base: str) -> Json:
    pause = pipeline.pause_info
    body: Json = {
        "_links": {
            "self": {"href": f"{base}/go/api/pipelines/{pipeline.name}/history"},
            "doc": {"href": DOC},
        },
        "name": pipeline.name,
        "last_updated_timestamp": epoch_ms(pipeline.last_updated),
        "locked": pipeline.locked,
        "pause_info": {
            "paused": pause.paused,
            "paused_by": pause.paused_by if pause.paused else None,
            "pause_reason": pause.pause_reason if pause.paused else None,
            "paused_at": iso(pause.paused_at) if pause.paused else None,
        },
        "template_info": {
            "is_using_template": pipeline.template_info.is_using_template,
            "template_name": pipeline.template_info.template_name,
        },
        "can_operate": pipeline.can_operate,
        "can_administer": pipeline.can_administer,
        "can_unlock": pipeline.can_unlock,
        "can_pause": pipeline.can_pause,
        "from_config_repo": pipeline.from_config_repo,
    }
    if pipeline.from_config_repo:
        body["config_repo_id"] = pipeline.config_repo_id
        body["config_repo_material_url"] = pipeline.config_repo_material_url
    if pipeline.tracking_tool is not None:
        body["tracking_tool"] = {
            "regex": pipeline.tracking_tool.regex,
            "link": pipeline.tracking_tool.link,
        }
    body["_embedded"] = {
        "instances": [_instance(pipeline.name, i, base) for i in pipeline.instances]
    }
    return body


def dashboard_json(dashboard: Dashboard, base: str) -> Json:
    return {
        "_links": {"self": {"href": f"{base}/go/api/dashboard"}, "doc": {"href": DOC}},
        "_personalization": hashlib.md5(b"default", usedforsecurity=False).hexdigest(),
        "_embedded": {
            "pipeline_groups": [_section(g, base, "group") for g in dashboard.pipeline_groups],
            "environments": [_section(e, base, "environment") for e in dashboard.environments],
            "pipelines": [_pipeline(p, base) for p in dashboard.pipelines],
        },
    }


def _compact(content: object) -> bytes:
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True, slots=True)
class _Fragment:
    pipeline: DashboardPipeline
    json: bytes
    digest: bytes


class DashboardBody:
    """The v4 body, assembled from one JSON fragment per pipeline (compact JSON concatenates
    into exactly what encoding the whole tree gives). A fragment is kept while the read
    model hands out the same `DashboardPipeline` object, i.e. until that pipeline changes.
    The ETag hashes the fragments' digests rather than the whole body (megabytes with
    thousands of pipelines): as strong, and only the changed fragments are hashed again."""

    def __init__(self) -> None:
        self._fragments: dict[str, _Fragment] = {}
        self._base = ""
        self._last: tuple[Dashboard, bytes, str] | None = None

    def render(self, board: Dashboard, base: str) -> tuple[bytes, str]:
        """The body and its ETag."""
        last = self._last
        if last is not None and last[0] is board and self._base == base:
            return last[1], last[2]
        if base != self._base:
            self._fragments, self._base = {}, base
        fragments = {}
        for p in board.pipelines:
            key = p.name.lower()
            found = self._fragments.get(key)
            if found is None or found.pipeline is not p:
                encoded = _compact(_pipeline(p, base))
                found = _Fragment(p, encoded, hashlib.sha256(encoded).digest())
            fragments[key] = found
        self._fragments = fragments
        sections = Dashboard(board.pipeline_groups, board.environments, ())
        head = _compact(dashboard_json(sections, base))
        head = head[: -len(b"]}}")]  # up to the opening of the pipelines list
        body = b"".join((head, b",".join(f.json for f in fragments.values()), b"]}}"))
        etag = hashlib.sha256(b"".join((head, *(f.digest for f in fragments.values()))))
        self._last = (board, body, etag.hexdigest())
        return body, etag.hexdigest()


def dashboard_body(request: Request) -> DashboardBody:
    found: DashboardBody | None = getattr(request.app.state, "dashboard_body", None)
    if found is None:
        found = request.app.state.dashboard_body = DashboardBody()
    return found


@router.get(
    "/api/dashboard",
    response_class=Response4,
    responses={304: {"description": "Not modified (If-None-Match matched the ETag)"}},
    summary="Every pipeline with its groups, environments and latest instances",
)
async def dashboard(request: Request) -> Response:
    """Rendered from the app's dashboard read model, which re-reads only the pipelines that
    changed (per-pipeline change counters in the shared database, so changes made by other
    server processes show too); each pipeline's JSON is re-encoded only when it changed."""
    board = await read_models(request).dashboard.dashboard()
    body, etag = dashboard_body(request).render(board, base_url(request))
    if unquote_etag(request.headers.get("if-none-match")) == etag:
        return Response(status_code=304, headers={"ETag": f'"{etag}"'})
    return Response(
        body,
        headers={
            "content-type": f"{media_type(4)};charset=utf-8",
            "cache-control": NO_CACHE,
            "ETag": f'"{etag}"',
        },
    )
