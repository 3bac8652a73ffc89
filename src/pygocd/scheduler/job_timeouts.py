"""The job-timeout sweep: every 30 s, as GoCD's `ConsoleActivityMonitor`."""

from __future__ import annotations

import asyncio
import logging

from pygocd.services.job_timeouts import JobTimeoutService
from pygocd.services.registry import Loop

log = logging.getLogger("pygocd.timeouts")

SWEEP_SECONDS = 30.0


def job_timeout_loop(timeouts: JobTimeoutService, every: float = SWEEP_SECONDS) -> Loop:
    async def run() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await timeouts.sweep()
            except Exception:
                log.exception("job timeout sweep failed")

    return run
