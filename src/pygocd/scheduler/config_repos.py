"""The config-repo polling loop: every repo is checked at start and then every interval
(GoCD's default: one minute); `trigger_update` checks one at once, outside this loop."""

from __future__ import annotations

import asyncio
import logging
import random

from pygocd.services.config_repos import ConfigRepoService
from pygocd.services.registry import Loop

log = logging.getLogger("pygocd.scheduler")

DEFAULT_INTERVAL_SECONDS = 60.0


def config_repo_poller(
    service: ConfigRepoService, interval: float = DEFAULT_INTERVAL_SECONDS
) -> Loop:
    async def poll() -> None:
        try:
            while True:
                try:
                    await service.check_all()
                except Exception:  # the loop must outlive any one failure
                    log.exception("config repo polling failed")
                # jitter so that several servers (or repos) do not hit remotes in step
                await asyncio.sleep(interval * random.uniform(0.9, 1.1))  # noqa: S311
        finally:
            await service.close()

    return poll
