"""Value stream map JSON, GoCD's Rails `ValueStreamMapController#show` (`.json`).

`GET /go/pipelines/value_stream_map/:pipeline/:counter.json` and a material revision's map
`GET /go/materials/value_stream_map/:fingerprint/:revision.json` (`current_material` instead
of `current_pipeline`): no versioned `Accept` (Rails paths). Only the fields GoCD's Ruby
models assign appear. An unknown pipeline or counter is
answered as GoCD does: HTTP 200 with `{"error": "Pipeline 'x' with counter '9' not found."}`
(a counter that is not a number counts as 0, Ruby's `to_i`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from pygocd.services.registry import Services
from pygocd.services.value_stream_maps import (
    DUMMY,
    MATERIAL,
    InstanceRevision,
    Node,
    ValueStreamMap,
    ValueStreamMapService,
    VsmNotFound,
    time_ago,
)
from pygocd.web.api.requests import MAX_INT

router = APIRouter(tags=["value stream map"])

Json = dict[str, Any]


def _ruby_to_i(text: str) -> int:
    """Ruby's `String#to_i`: leading digits (with a sign), else 0."""
    text = text.strip()
    sign = -1 if text.startswith("-") else 1
    digits = ""
    for char in text.lstrip("+-"):
        if not (char.isascii() and char.isdigit()):
            break
        digits += char
    return sign * int(digits) if digits else 0


def _instance_json(name: str, instance: InstanceRevision) -> Json:
    return {
        "label": instance.label,
        "counter": instance.counter,
        "locator": f"/go/pipelines/value_stream_map/{quote(name)}/{instance.counter}"
        if instance.counter
        else "",
        "stages": [
            {
                "name": s.name,
                "status": s.status,
                "locator": f"/go/pipelines/{quote(name)}/{instance.counter}/{quote(s.name)}/"
                f"{s.counter}"
                if s.status != "Unknown"
                else "",
                "duration": s.duration,
            }
            for s in instance.stages
        ],
    }


def _node_json(node: Node, service: ValueStreamMapService) -> Json:
    body: Json = {
        "id": node.id,
        "name": node.name,
        "dependents": [c.id for c in node.children],
        "parents": [p.id for p in node.parents],
        "node_type": node.material_type if node.node_type == MATERIAL else node.node_type,
        "depth": node.depth,
        "instances": [],
        "locator": "",
    }
    if node.node_type == DUMMY:
        return body
    if node.node_type == MATERIAL:
        if node.material_names:
            body["material_names"] = node.material_names
        now = service.clock.now()
        body["material_revisions"] = [
            {
                "modifications": [
                    {
                        "revision": m.revision,
                        "user": m.user_name,
                        "comment": m.comment,
                        "modified_time": time_ago(m.modified_time, now),
                        "locator": f"/go/materials/value_stream_map/{node.id}/{quote(m.revision)}",
                    }
                    for m in modifications
                ]
            }
            for modifications in node.material_revisions
        ]
        return body
    body["instances"] = [_instance_json(node.name, i) for i in node.instances]
    if node.view_type is None:
        body["locator"] = f"/go/pipeline/activity/{quote(node.name)}"
    else:
        body["view_type"] = node.view_type
    body["edit_path"] = f"/go/admin/pipelines/{quote(node.name)}/edit"
    body["can_edit"] = node.can_edit
    body["template_name"] = node.template_name
    return body


@router.get(
    "/pipelines/value_stream_map/{pipeline}/{counter}.json",
    summary="The value stream map of a pipeline instance",
)
async def value_stream_map(pipeline: str, counter: str, request: Request) -> Response:
    service = _service(request)
    number = _ruby_to_i(counter)
    try:
        if not 0 < number <= MAX_INT:
            raise VsmNotFound(f"Pipeline '{pipeline}' with counter '{number}' not found.")
        vsm = await service.build(pipeline, number)
    except VsmNotFound as error:
        return JSONResponse({"error": error.message})
    return _map_json({"current_pipeline": vsm.current_pipeline}, vsm, service)


@router.get(
    "/materials/value_stream_map/{fingerprint}/{revision}.json",
    summary="The value stream map of a material revision",
)
async def material_value_stream_map(fingerprint: str, revision: str, request: Request) -> Response:
    service = _service(request)
    try:
        vsm = await service.build_for_material(fingerprint, revision)
    except VsmNotFound as error:
        return JSONResponse({"error": error.message})
    return _map_json({"current_material": fingerprint}, vsm, service)


def _service(request: Request) -> ValueStreamMapService:
    services: Services = request.app.state.services
    return ValueStreamMapService(services.uow, services.config, services.clock)


def _map_json(current: Json, vsm: ValueStreamMap, service: ValueStreamMapService) -> JSONResponse:
    """GoCD's body: what the map is centred on, then its levels of nodes."""
    levels = [{"nodes": [_node_json(node, service) for node in level]} for level in vsm.levels]
    return JSONResponse({**current, "levels": levels})
