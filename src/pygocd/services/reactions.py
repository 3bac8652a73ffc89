"""What happens next, driven by events instead of GoCD's timers: a material with new
modifications triggers the pipelines that use it; a finished stage or a pipeline that was
unpaused or unlocked lets a queued automatic trigger through."""

from __future__ import annotations

import logging

from pygocd.domain.states import StageState
from pygocd.services.events import MATERIAL_UPDATED, PIPELINE_CHANGED, STAGE_CHANGED
from pygocd.services.ports import Event, EventBus
from pygocd.services.scheduling import SchedulingService

log = logging.getLogger("pygocd.reactions")

_FINISHED = {s.value for s in StageState if s.is_completed}


async def handle(event: Event, scheduling: SchedulingService) -> None:
    payload = event.payload
    if event.topic == MATERIAL_UPDATED:
        if payload.get("modification_ids") == []:
            return
        await scheduling.on_material_updated(str(payload["fingerprint"]))
    elif (event.topic == STAGE_CHANGED and payload.get("state") in _FINISHED) or (
        event.topic == PIPELINE_CHANGED and "counter" not in payload
    ):
        await scheduling.retry_blocked(str(payload["pipeline"]))


async def react(bus: EventBus, scheduling: SchedulingService) -> None:
    """Runs for the life of the server; one failing reaction never stops the next ones."""
    async with bus.subscribe(
        MATERIAL_UPDATED, STAGE_CHANGED, PIPELINE_CHANGED, limit=None
    ) as events:
        async for event in events:
            try:
                await handle(event, scheduling)
            except Exception:
                log.exception("reacting to %s %s failed", event.topic, event.payload)
