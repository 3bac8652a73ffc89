"""The timer loop: looks for fired pipeline timers once a second."""

from __future__ import annotations

import asyncio
import logging

from pygocd.services.registry import Loop
from pygocd.services.timers import TimerService

log = logging.getLogger("pygocd.timers")

TICK_SECONDS = 1.0


def timer_loop(timers: TimerService, tick: float = TICK_SECONDS) -> Loop:
    async def run() -> None:
        while True:
            try:
                await timers.fire_due()
            except Exception:
                log.exception("timer check failed")
            await asyncio.sleep(tick)

    return run
