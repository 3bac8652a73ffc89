"""The material polling loop: every few seconds it updates the materials that are due (each
auto-update material once per `material_poll_interval`, jittered, longer after failures).

Pushes come through webhooks at once; this loop only catches what nobody told us about.
"""

from __future__ import annotations

import asyncio
import logging

from pygocd.services.materials import MaterialUpdateService
from pygocd.services.registry import Loop, Services
from pygocd.settings import Settings

log = logging.getLogger("pygocd.scheduler")

TICK_SECONDS = 5.0
"""How often the loop looks for due materials; each material has its own, longer interval."""


def material_poller(service: MaterialUpdateService, tick: float = TICK_SECONDS) -> Loop:
    """The loop as a coroutine function, for `Services.loops` (run by the app's lifespan)."""

    async def poll() -> None:
        try:
            while True:
                try:
                    await service.update_all_due()
                except Exception:  # the loop must outlive any one failure
                    log.exception("material polling failed")
                await asyncio.sleep(min(tick, service.poll_interval))
        finally:
            await service.close()

    return poll


def start_material_polling(services: Services, settings: Settings) -> asyncio.Task[None]:
    """Start the loop outside an app (e.g. a scheduler-only process); cancel the task to stop."""
    if services.materials is None:
        raise RuntimeError("material polling needs Services.materials")
    del settings  # the service already carries the poll interval from the settings
    return asyncio.create_task(material_poller(services.materials)(), name="material-polling")


async def stop_material_polling(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
