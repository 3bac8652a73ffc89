"""What happens next, driven by events instead of GoCD's timers: a material with new
modifications triggers the pipelines that use it; a finished stage or a pipeline that was
unpaused or unlocked lets a queued automatic trigger through.

Events that arrive while a reaction runs wait in a list and are handled together next: a
burst of material updates (a poll round, a push to a repository many pipelines use) becomes
a few batched triggers instead of one unit of work per pipeline (ADR 0005).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence

from pygocd.domain.states import StageState
from pygocd.services.events import MATERIAL_UPDATED, PIPELINE_CHANGED, STAGE_CHANGED
from pygocd.services.ports import Event, EventBus
from pygocd.services.scheduling import SchedulingService

log = logging.getLogger("pygocd.reactions")

_FINISHED = {s.value for s in StageState if s.is_completed}


async def handle(event: Event, scheduling: SchedulingService) -> None:
    await handle_all([event], scheduling)


async def handle_all(events: Sequence[Event], scheduling: SchedulingService) -> None:
    """React to `events` together: every changed material and every pipeline whose queued
    automatic trigger may now pass, triggered in one batch."""
    fingerprints: list[str] = []
    retry: list[str] = []
    for event in events:
        payload = event.payload
        if event.topic == MATERIAL_UPDATED:
            if payload.get("modification_ids") != []:
                fingerprints.append(str(payload["fingerprint"]))
        elif (event.topic == STAGE_CHANGED and payload.get("state") in _FINISHED) or (
            event.topic == PIPELINE_CHANGED and "counter" not in payload
        ):
            name = str(payload["pipeline"])
            if name.lower() in scheduling.blocked:
                retry.append(name)
    if fingerprints or retry:
        await scheduling.on_materials_updated(fingerprints, also=retry)


async def react(bus: EventBus, scheduling: SchedulingService) -> None:
    """Runs for the life of the server; one failing reaction never stops the next ones."""
    async with bus.subscribe(
        MATERIAL_UPDATED, STAGE_CHANGED, PIPELINE_CHANGED, limit=None
    ) as events:
        waiting: list[Event] = []
        arrived = asyncio.Event()
        collector = asyncio.create_task(_collect(events, waiting, arrived))
        try:
            while True:
                await arrived.wait()
                arrived.clear()
                batch = waiting.copy()
                waiting.clear()
                try:
                    await handle_all(batch, scheduling)
                except Exception:
                    log.exception("reacting to %d events failed", len(batch))
        finally:
            collector.cancel()
            await asyncio.gather(collector, return_exceptions=True)


async def _collect(
    events: AsyncIterator[Event], waiting: list[Event], arrived: asyncio.Event
) -> None:
    async for event in events:
        waiting.append(event)
        arrived.set()
