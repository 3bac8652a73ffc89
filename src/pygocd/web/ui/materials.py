"""The materials page (`/go/materials`): each polled material with its URL and branch, the
pipelines that use it, when it was last polled, its latest modification, and its errors.
Live: the list is re-rendered and pushed over SSE after a material update or a config change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sse_starlette.sse import EventSourceResponse

from pygocd.domain.materials import GitMaterialConfig, mask_credentials
from pygocd.domain.modifications import Modification
from pygocd.services.events import MATERIAL_UPDATED
from pygocd.services.materials import MaterialStatus
from pygocd.services.registry import Services
from pygocd.web.ui.dashboard import services_of
from pygocd.web.ui.live import fragment_stream, sse
from pygocd.web.ui.pages import PageContext, render_fragment, render_page

router = APIRouter()


@dataclass(frozen=True, slots=True)
class MaterialRow:
    fingerprint: str
    kind: str
    name: str
    url: str
    branch: str
    pipelines: tuple[str, ...]
    status: MaterialStatus
    latest: Modification | None

    @property
    def comment_line(self) -> str:
        """The first line of the latest commit message, at most 90 characters, as GoCD."""
        if self.latest is None or not self.latest.comment:
            return ""
        line = self.latest.comment.strip().splitlines()[0] if self.latest.comment.strip() else ""
        return line if len(line) <= 90 else line[:89] + "…"

    @property
    def last_polled(self) -> datetime | None:
        """The last poll, successful or not."""
        times = [t for t in (self.status.last_updated_at, self.status.last_error_at) if t]
        return max(times, default=None)

    @property
    def failing(self) -> bool:
        """The latest poll failed (an error older than the last success is history)."""
        s = self.status
        return s.last_error is not None and (
            s.last_updated_at is None
            or (s.last_error_at is not None and s.last_error_at >= s.last_updated_at)
        )


@dataclass(frozen=True, kw_only=True)
class MaterialsContext(PageContext):
    materials: Sequence[MaterialRow] = ()


def _users(material: GitMaterialConfig, pipelines: dict[str, list[str]]) -> tuple[str, ...]:
    return tuple(pipelines.get(material.fingerprint, ()))


async def materials_context(services: Services) -> MaterialsContext:
    if services.materials is None:
        return MaterialsContext(title="Materials", active="materials", path="/go/materials")
    used_by: dict[str, list[str]] = {}
    for pipeline in services.config.current.all_pipelines():
        for m in pipeline.materials:
            if isinstance(m, GitMaterialConfig):
                used_by.setdefault(m.fingerprint, []).append(pipeline.name)
    materials = services.materials.materials()
    latest: dict[str, Modification | None] = {}
    async with services.uow(read_only=True) as uow:
        for m in materials:
            found = await uow.materials.latest_modifications(m.fingerprint)
            latest[m.fingerprint] = found[0] if found else None
    rows = [
        MaterialRow(
            fingerprint=m.fingerprint,
            kind="git",
            name=m.name or mask_credentials(m.url),
            url=mask_credentials(m.url),
            branch=m.effective_branch,
            pipelines=_users(m, used_by),
            status=services.materials.status(m.fingerprint),
            latest=latest[m.fingerprint],
        )
        for m in materials
    ]
    rows.sort(key=lambda r: (not r.failing, r.name.lower()))
    return MaterialsContext(
        title="Materials", active="materials", path="/go/materials", materials=rows
    )


@router.get("/materials", name="ui.materials")
async def materials_page(request: Request) -> HTMLResponse:
    return render_page(request, "materials.html", await materials_context(services_of(request)))


def render_materials(page: MaterialsContext) -> str:
    """The list, marked for an out-of-band swap."""
    return render_fragment("materials/_list.html", page=page, oob=True)


@router.get("/ui/events/materials")
async def materials_events(request: Request) -> EventSourceResponse:
    services = services_of(request)

    async def render(_names: set[str] | None) -> str:
        return render_materials(await materials_context(services))

    # The page is small, so the stream always starts with a fresh copy: a change between
    # rendering the page and connecting (an agent registering) is never missed.
    return sse(
        request,
        fragment_stream(services.bus, render, topics=(MATERIAL_UPDATED,), resume=True),
    )
