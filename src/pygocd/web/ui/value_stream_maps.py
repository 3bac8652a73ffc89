"""The value stream map page (`/go/pipelines/value_stream_map/<p>/<counter>`): the map that
`ValueStreamMapService` builds (the same one the `.json` route serves), drawn on the server as
GoCD draws it — levels as columns left to right, nodes placed by level and depth, materials
as circles, pipelines as boxes with their instances' stage bars, the current pipeline larger
in a highlighted column, and curved SVG edges through the dummy nodes of long edges.

Positions follow GoCD's `vsm_renderer.js` grid (a column per level, a row per depth), so the
page needs no layout script; the canvas scrolls inside its own region on small screens. The
page is live: when a pipeline on the map changes, the map is re-sent over SSE.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sse_starlette.sse import EventSourceResponse

from pygocd.domain.errors import NotFound
from pygocd.services.value_stream_maps import (
    DUMMY,
    MATERIAL,
    PIPELINE,
    InstanceRevision,
    Node,
    ValueStreamMap,
    ValueStreamMapService,
    VsmNotFound,
)
from pygocd.web.ui import formatting
from pygocd.web.ui.dashboard import services_of
from pygocd.web.ui.live import fragment_stream, sse
from pygocd.web.ui.pages import PageContext, render_fragment, render_page
from pygocd.web.ui.runs import oob

router = APIRouter()

COLUMN = 290
"""Width of a level's column: GoCD's node width 200 + gap 90."""
ROW = 180
"""Height of a depth's row."""
MARGIN = 20
PIPELINE_SIZE = (200, 130)
CURRENT_SIZE = (230, 150)
MATERIAL_SIZE = (140, 140)
SHOWN_INSTANCES = 1
"""A pipeline node shows this many instances; the rest fold under "n more…", as in GoCD."""


@dataclass(frozen=True, slots=True)
class StageBar:
    name: str
    status: str
    css: str
    url: str | None


@dataclass(frozen=True, slots=True)
class InstanceView:
    label: str
    counter: int
    vsm_url: str | None
    duration: str
    stages: tuple[StageBar, ...]


@dataclass(frozen=True, slots=True)
class ModificationView:
    revision: str
    user: str
    comment: str


@dataclass(frozen=True, slots=True)
class NodeView:
    id: str
    kind: str  # "pipeline", "material" or "dummy"
    name: str
    x: int
    y: int
    width: int
    height: int
    current: bool = False
    url: str | None = None
    deleted: bool = False
    material_type: str = ""
    instances: tuple[InstanceView, ...] = ()
    more_instances: tuple[InstanceView, ...] = ()
    modifications: tuple[ModificationView, ...] = ()
    upstream: tuple[str, ...] = ()
    downstream: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EdgeView:
    source: str
    target: str
    path: str
    arrow: bool
    title: str


@dataclass(frozen=True, slots=True)
class MapView:
    width: int
    height: int
    current_column: tuple[int, int] | None
    nodes: tuple[NodeView, ...]
    edges: tuple[EdgeView, ...]
    pipelines: frozenset[str]


@dataclass(frozen=True, slots=True)
class Crumb:
    key: str
    value: str
    url: str | None = None


@dataclass(frozen=True, kw_only=True)
class ValueStreamMapContext(PageContext):
    """`subject` is the pipeline (or material) whose map this is; `crumbs` say which one."""

    subject: str
    crumbs: tuple[Crumb, ...]
    map: MapView
    events_url: str


def _stage_css(status: str) -> str:
    return status.lower() if status else "unknown"


def _instance(name: str, instance: InstanceRevision) -> InstanceView:
    run = instance.counter > 0
    total = sum(s.duration or 0 for s in instance.stages)
    return InstanceView(
        label=instance.label,
        counter=instance.counter,
        vsm_url=f"/go/pipelines/value_stream_map/{quote(name)}/{instance.counter}" if run else None,
        duration=formatting.duration(total) if run and total else "",
        stages=tuple(
            StageBar(
                name=s.name,
                status=s.status,
                css=_stage_css(s.status),
                url=f"/go/pipelines/{quote(name)}/{instance.counter}/{quote(s.name)}/{s.counter}"
                if run and s.counter
                else None,
            )
            for s in instance.stages
        ),
    )


def _size(node: Node, current: bool) -> tuple[int, int]:
    if node.node_type == DUMMY:
        return (0, 0)
    if node.node_type == MATERIAL:
        return MATERIAL_SIZE
    return CURRENT_SIZE if current else PIPELINE_SIZE


def map_view(vsm: ValueStreamMap) -> MapView:
    nodes: list[NodeView] = []
    by_id: dict[str, NodeView] = {}
    names = {n.id: n.name for level in vsm.levels for n in level}
    current_column = None
    for index, level in enumerate(vsm.levels):
        column_x = MARGIN + index * COLUMN
        for node in level:
            if vsm.current_material is not None:
                current = node.node_type == MATERIAL and node.id == vsm.current_material
            else:
                current = node.node_type == PIPELINE and (
                    node.name.lower() == vsm.current_pipeline.lower()
                )
            width, height = _size(node, current)
            row_y = MARGIN + (node.depth - 1) * ROW
            x = column_x + (CURRENT_SIZE[0] - width) // 2
            y = row_y + (CURRENT_SIZE[1] - height) // 2
            if current:
                current_column = (column_x - 10, CURRENT_SIZE[0] + 20)
            view = NodeView(
                id=node.id,
                kind="dummy",
                name=node.name,
                current=current,
                x=x,
                y=y,
                width=width,
                height=height,
                upstream=tuple(names[n.id] for n in _beyond_dummies(node.parents, up=True)),
                downstream=tuple(names[n.id] for n in _beyond_dummies(node.children, up=False)),
            )
            if node.node_type == MATERIAL:
                latest = node.material_revisions[-1] if node.material_revisions else ()
                view = replace(
                    view,
                    kind="material",
                    material_type=node.material_type,
                    modifications=tuple(
                        ModificationView(m.revision, m.user_name or "", m.comment or "")
                        for m in latest
                    ),
                )
            elif node.node_type != DUMMY:
                instances = [_instance(node.name, i) for i in node.instances]
                view = replace(
                    view,
                    kind="pipeline",
                    url=None
                    if node.view_type is not None
                    else f"/go/pipeline/activity/{quote(node.name)}",
                    deleted=node.view_type is not None,
                    instances=tuple(instances[:SHOWN_INSTANCES]),
                    more_instances=tuple(instances[SHOWN_INSTANCES:]),
                )
            nodes.append(view)
            by_id[node.id] = view
    edges = tuple(
        _edge(by_id[source.id], by_id[target.id])
        for level in vsm.levels
        for source in level
        for target in source.children
        if source.id in by_id and target.id in by_id
    )
    width = 2 * MARGIN + len(vsm.levels) * COLUMN
    depth = max((n.depth for level in vsm.levels for n in level), default=1)
    return MapView(
        width=width,
        height=2 * MARGIN + depth * ROW,
        current_column=current_column,
        nodes=tuple(nodes),
        edges=edges,
        pipelines=frozenset(n.name.lower() for n in nodes if n.kind == "pipeline"),
    )


def _beyond_dummies(nodes: list[Node], *, up: bool) -> list[Node]:
    """The pipelines and materials an edge leads to, past the dummy nodes of long edges."""
    out: list[Node] = []
    for node in nodes:
        if node.node_type == DUMMY:
            out += _beyond_dummies(node.parents if up else node.children, up=up)
        else:
            out.append(node)
    return out


def _edge(source: NodeView, target: NodeView) -> EdgeView:
    """A smooth curve from the source's right middle to the target's left middle (GoCD's
    "basis" edges); through a dummy node it continues from the same point."""
    x1, y1 = source.x + source.width, source.y + source.height // 2
    x2, y2 = target.x, target.y + target.height // 2
    if source.kind == "dummy":
        x1 = source.x
    bend = max(25, (x2 - x1) // 2)
    path = f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"
    return EdgeView(
        source=source.id,
        target=target.id,
        path=path,
        arrow=target.kind != "dummy",
        title=f"{source.name} -> {target.name}",
    )


def _service(request: Request) -> ValueStreamMapService:
    services = services_of(request)
    return ValueStreamMapService(services.uow, services.config, services.clock)


async def vsm_context(request: Request, pipeline: str, counter: int) -> ValueStreamMapContext:
    services = services_of(request)
    if services.config.current.runnable(pipeline) is None:
        raise NotFound(f"Pipeline '{pipeline}' not found.")
    try:
        vsm = await _service(request).build(pipeline, counter)
    except VsmNotFound as error:
        raise NotFound(error.message) from error
    view = map_view(vsm)
    current = next(n for n in view.nodes if n.current)
    label = next((i.label for i in current.instances if i.counter == counter), str(counter))
    name = vsm.current_pipeline
    return ValueStreamMapContext(
        title=name,
        active="dashboard",
        path=request.url.path,
        subject=name,
        crumbs=(
            Crumb("Pipeline", name, f"/go/pipeline/activity/{quote(name)}"),
            Crumb("Instance", label),
        ),
        map=view,
        events_url=f"/go/ui/events/value_stream_map/{quote(name)}/{counter}",
    )


async def material_vsm_context(
    request: Request, fingerprint: str, revision: str
) -> ValueStreamMapContext:
    try:
        vsm = await _service(request).build_for_material(fingerprint, revision)
    except VsmNotFound as error:
        raise NotFound(error.message) from error
    where = f"{quote(fingerprint)}/{quote(revision, safe='')}"
    return ValueStreamMapContext(
        title=vsm.current_pipeline,
        active="dashboard",
        path=request.url.path,
        subject=vsm.current_pipeline,
        crumbs=(
            Crumb("Material", vsm.current_pipeline),
            Crumb("Revision", formatting.short_revision(revision)),
        ),
        map=map_view(vsm),
        events_url=f"/go/ui/events/materials/value_stream_map/{where}",
    )


@router.get("/pipelines/value_stream_map/{pipeline}/{counter}", name="ui.value_stream_map")
async def vsm_page(request: Request, pipeline: str, counter: int) -> HTMLResponse:
    page = await vsm_context(request, pipeline, counter)
    return render_page(request, "runs/value_stream_map.html", page)


@router.get("/materials/value_stream_map/{fingerprint}/{revision}", name="ui.material_vsm")
async def material_vsm_page(request: Request, fingerprint: str, revision: str) -> HTMLResponse:
    page = await material_vsm_context(request, fingerprint, revision)
    return render_page(request, "runs/value_stream_map.html", page)


def _map_stream(
    request: Request,
    first: ValueStreamMapContext,
    build: Callable[[], Awaitable[ValueStreamMapContext]],
) -> EventSourceResponse:
    """Re-sends the map when any pipeline on it changes (or the config does)."""
    shown = first.map.pipelines

    async def render(names: set[str] | None) -> str:
        nonlocal shown
        if names is not None and not names & shown:
            return ""
        try:
            page = await build()
        except NotFound:
            return ""
        shown = page.map.pipelines
        return oob(render_fragment("runs/_value_stream_map.html", page=page), "vsm-canvas")

    resume = request.headers.get("last-event-id") is not None
    return sse(request, fragment_stream(services_of(request).bus, render, resume=resume))


@router.get("/ui/events/value_stream_map/{pipeline}/{counter}")
async def vsm_events(request: Request, pipeline: str, counter: int) -> EventSourceResponse:
    first = await vsm_context(request, pipeline, counter)
    return _map_stream(request, first, lambda: vsm_context(request, pipeline, counter))


@router.get("/ui/events/materials/value_stream_map/{fingerprint}/{revision}")
async def material_vsm_events(
    request: Request, fingerprint: str, revision: str
) -> EventSourceResponse:
    first = await material_vsm_context(request, fingerprint, revision)
    return _map_stream(request, first, lambda: material_vsm_context(request, fingerprint, revision))
