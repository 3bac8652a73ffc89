"""Live pages: Server-Sent Events that carry re-rendered fragments when the bus says so.

Each page connects to one stream (`hx-ext="sse"`); the stream subscribes to the event bus
and, when a pipeline it shows changes, sends the fresh fragments marked `hx-swap-oob` so
htmx replaces the elements with the same ids. Bursts of events (a trigger publishes one
event per stage and job) are coalesced for a few milliseconds into one message. Nothing
polls on a timer; a page that reconnects (server restart) gets everything afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from sse_starlette.sse import EventSourceResponse

from pygocd.services.events import CONFIG_CHANGED, JOB_CHANGED, PIPELINE_CHANGED, STAGE_CHANGED
from pygocd.services.ports import Event, EventBus
from pygocd.web.ui.dashboard import (
    GROUP_BY_GROUPS,
    current_dashboard,
    dashboard_context,
    render_cards,
    services_of,
)
from pygocd.web.ui.pages import render_fragment

router = APIRouter()

RUN_TOPICS = (PIPELINE_CHANGED, STAGE_CHANGED, JOB_CHANGED)
COALESCE_SECONDS = 0.015
RETRY_MS = 1000
"""How soon a browser reconnects after losing the stream (EventSource's `retry`)."""

Render = Callable[[set[str] | None], Awaitable[str]]
"""Renders the fragments for the changed pipelines (lower-cased names), or everything when
given None (after a config change or a reconnect)."""


async def _next_batch(events: AsyncIterator[Event]) -> tuple[set[str], bool]:
    """Wait for an event, then gather whatever else arrives within the coalescing window.
    Returns the changed pipeline names and whether the config changed."""
    names: set[str] = set()
    config = False

    def take(event: Event) -> None:
        nonlocal config
        if event.topic == CONFIG_CHANGED:
            config = True
        pipeline = event.payload.get("pipeline")
        if isinstance(pipeline, str):
            names.add(pipeline.lower())

    take(await anext(events))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + COALESCE_SECONDS
    while (left := deadline - loop.time()) > 0:
        try:
            take(await asyncio.wait_for(anext(events), left))
        except TimeoutError:
            break
    return names, config


async def fragment_stream(
    bus: EventBus,
    render: Render,
    *,
    topics: tuple[str, ...] = RUN_TOPICS,
    resume: bool = False,
    event: str = "update",
) -> AsyncIterator[dict[str, Any]]:
    """SSE messages (dicts for `EventSourceResponse`) with the fragments to swap.

    `resume` (the browser sent `Last-Event-ID`: it missed what happened while away) sends
    everything first."""
    counter = 0
    async with bus.subscribe(*topics, CONFIG_CHANGED) as events:
        yield {"event": "hello", "data": "", "retry": RETRY_MS}
        if resume:
            counter += 1
            yield {"event": event, "id": str(counter), "data": await render(None)}
        while True:
            names, config = await _next_batch(events)
            html = await render(None if config else names)
            if html:
                counter += 1
                yield {"event": event, "id": str(counter), "data": html}


def sse(request: Request, messages: AsyncIterator[dict[str, Any]]) -> EventSourceResponse:
    return EventSourceResponse(messages, headers={"Cache-Control": "no-store"}, ping=15)


@router.get("/ui/events/dashboard")
async def dashboard_events(
    request: Request, group_by: str = GROUP_BY_GROUPS
) -> EventSourceResponse:
    services = services_of(request)

    async def render(names: set[str] | None) -> str:
        if names is None:
            page = await dashboard_context(request, group_by)
            content = render_fragment("dashboard/_content.html", page=page)
            return content.replace(
                'id="dashboard-content"', 'id="dashboard-content" hx-swap-oob="true"', 1
            )
        if not names:
            return ""
        # From the app's read model (refreshed here for the changed pipelines), so the next
        # page load and the other open dashboards find these pipelines read already.
        board = await current_dashboard(request)
        return render_cards([p for p in board.pipelines if p.name.lower() in names])

    resume = request.headers.get("last-event-id") is not None
    return sse(request, fragment_stream(services.bus, render, resume=resume, event="cards"))


def watch_pipeline(
    request: Request, pipeline: str, render: Callable[[], Awaitable[str]]
) -> EventSourceResponse:
    """A stream for a page about one pipeline: re-render when it (or the config) changes."""
    services = services_of(request)
    wanted = pipeline.lower()

    async def render_if_mine(names: set[str] | None) -> str:
        if names is not None and wanted not in names:
            return ""
        with contextlib.suppress(Exception):
            return await render()
        return ""

    resume = request.headers.get("last-event-id") is not None
    return sse(request, fragment_stream(services.bus, render_if_mine, resume=resume))
