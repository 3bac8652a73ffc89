"""The compare page (`/go/compare/<p>/<from>/with/<to>`, GoCD's SPA compare page): the two
instances side by side — stage bars, who triggered them, their material revisions — and what
changed in between, per material: commits for SCM materials, upstream runs for dependency
materials, from the same `CompareService` as compare API v2."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from pygocd.domain.materials import DependencyMaterialConfig
from pygocd.domain.modifications import Modification
from pygocd.domain.runs import PipelineInstance
from pygocd.services.compare import CompareService
from pygocd.services.dashboard import DashboardInstance, configured_stages, dashboard_instance
from pygocd.web.api.representers_runs import description, display_type
from pygocd.web.ui.dashboard import ChangesView, services_of
from pygocd.web.ui.pages import PageContext, render_page
from pygocd.web.ui.runs import changes_view

router = APIRouter()

CHOICES = 50
"""How many recent instances the pickers offer (plus the two being compared)."""


@dataclass(frozen=True, slots=True)
class CompareSide:
    instance: DashboardInstance
    changes: ChangesView


@dataclass(frozen=True, slots=True)
class CompareChange:
    header: str
    dependency: bool
    modifications: tuple[Modification, ...]
    upstream: str


@dataclass(frozen=True, kw_only=True)
class CompareContext(PageContext):
    pipeline: str
    sides: tuple[CompareSide, CompareSide]
    changes: tuple[CompareChange, ...]
    choices: tuple[tuple[int, str], ...]


async def compare_context(
    request: Request, pipeline: str, first: int, second: int
) -> CompareContext:
    services = services_of(request)
    comparison = await CompareService(services.uow, services.config).compare(
        pipeline, first, second
    )
    config = services.config.current
    found = config.runnable(comparison.pipeline)
    stages = configured_stages(config, found) if found is not None else ()
    async with services.uow(read_only=True) as uow:
        recent, _, _ = await uow.pipeline_instances.history(comparison.pipeline, CHOICES)

    def side(instance: PipelineInstance) -> CompareSide:
        return CompareSide(dashboard_instance(instance, stages), changes_view(services, instance))

    choices = {i.counter: i.label for i in (*recent, comparison.older, comparison.newer)}
    return CompareContext(
        title=comparison.pipeline,
        active="dashboard",
        path=request.url.path,
        pipeline=comparison.pipeline,
        sides=(side(comparison.older), side(comparison.newer)),
        changes=tuple(
            CompareChange(
                header=f"{display_type(c.material)} - {description(c.material)}",
                dependency=isinstance(c.material, DependencyMaterialConfig),
                modifications=c.modifications,
                upstream=c.material.pipeline
                if isinstance(c.material, DependencyMaterialConfig)
                else "",
            )
            for c in comparison.changes
        ),
        choices=tuple(sorted(choices.items(), reverse=True)),
    )


@router.get("/compare/{pipeline}/{from_counter}/with/{to_counter}", name="ui.compare")
async def compare_page(
    request: Request, pipeline: str, from_counter: int, to_counter: int
) -> HTMLResponse:
    page = await compare_context(request, pipeline, from_counter, to_counter)
    return render_page(request, "runs/compare.html", page)


@router.get("/ui/compare/{pipeline}")
async def compare_picked(pipeline: str, from_counter: int, to_counter: int) -> RedirectResponse:
    """The pickers' form (works without JavaScript): on to the page's own URL."""
    return RedirectResponse(
        f"/go/compare/{quote(pipeline)}/{from_counter}/with/{to_counter}", status_code=303
    )
