"""Materials API v2: the materials of the config and a material's modifications
(GoCD's `MaterialConfigControllerV2`, `MaterialModificationsControllerV2`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from pygocd.domain.errors import NotFound
from pygocd.domain.modifications import Modification
from pygocd.services.registry import Services
from pygocd.web.api.representers import material_json
from pygocd.web.api.versioning import accepts, versioned_response

VERSION = 2
PAGE_SIZE = 10
DOC = "https://api.gocd.org/current/#materials"
Response2 = versioned_response(VERSION)

router = APIRouter(tags=["materials"], dependencies=[accepts(VERSION)])


def _base(request: Request) -> str:
    site = getattr(request.app.state.settings, "site_url", None)
    return str(site or request.base_url).rstrip("/")


@router.get("/api/config/materials", response_class=Response2, summary="Materials of the config")
async def config_materials(request: Request) -> dict[str, Any]:
    services: Services = request.app.state.services
    seen: dict[str, dict[str, Any]] = {}
    for pipeline in services.config.current.runnable_pipelines():
        for material in pipeline.materials:
            if material.fingerprint not in seen:
                shown = material_json(material)
                seen[material.fingerprint] = {
                    "type": shown["type"],
                    "fingerprint": material.fingerprint,
                    "attributes": shown["attributes"],
                }
    base = _base(request)
    return {
        "_links": {
            "self": {"href": f"{base}/go/api/config/materials"},
            "doc": {"href": DOC},
        },
        "_embedded": {"materials": list(seen.values())},
    }


def modification_json(modification: Modification) -> dict[str, Any]:
    """GoCD's `ModificationRepresenter`: null fields left out, time in epoch milliseconds."""
    values: dict[str, Any] = {
        "id": modification.id,
        "user_name": modification.user_name,
        "email_address": modification.email_address,
        "revision": modification.revision,
        "modified_time": int(modification.modified_time.timestamp() * 1000),
        "comment": modification.comment,
    }
    return {key: value for key, value in values.items() if value is not None}


@router.get(
    "/api/materials/{fingerprint}/modifications",
    response_class=Response2,
    summary="Modifications of a material, newest first",
)
@router.get(
    "/api/materials/{fingerprint}/modifications/{offset}",
    response_class=Response2,
    summary="Modifications of a material from an offset",
)
async def modifications(request: Request, fingerprint: str, offset: int = 0) -> dict[str, Any]:
    services: Services = request.app.state.services
    if services.materials is not None:
        known = services.materials.find(fingerprint) is not None
    else:
        known = any(
            m.fingerprint == fingerprint
            for p in services.config.current.runnable_pipelines()
            for m in p.materials
        )
    if not known:
        raise NotFound(f"Material with fingerprint '{fingerprint}' was not found!")
    offset = max(offset, 0)
    async with services.uow(read_only=True) as uow:
        total = await uow.materials.count_modifications(fingerprint)
        page = await uow.materials.modifications_page(fingerprint, offset, PAGE_SIZE)
    base = _base(request)
    return {
        "_links": {
            "self": {"href": f"{base}/go/api/materials/{fingerprint}/modifications"},
            "doc": {"href": DOC},
            "find": {"href": f"{base}/go/api/materials/:fingerprint/modifications"},
        },
        "_embedded": {
            "modifications": [modification_json(m) for m in page],
            "pagination": {"offset": offset, "total": total, "page_size": PAGE_SIZE},
        },
    }
