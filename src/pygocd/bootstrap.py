"""Composition root: settings → engine → migrations → services. The only place (with `cli`)
that wires adapters to the services that use them."""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from pygocd.bus.memory import MemoryBus
from pygocd.db import migrate
from pygocd.db.engine import create_engine
from pygocd.db.unit_of_work import SqlUnitOfWorkFactory
from pygocd.services.clock import SystemClock
from pygocd.services.config import ConfigService
from pygocd.services.registry import Services
from pygocd.settings import Settings

log = logging.getLogger("pygocd")


class StartupError(Exception):
    """A problem that stops the server from starting, told to the user in one line."""


@dataclass
class Container:
    settings: Settings
    engine: AsyncEngine
    services: Services

    async def close(self) -> None:
        await self.engine.dispose()


def prepare_data_dir(data_dir: Path) -> Path:
    """Create the data dir and prove we can write into it."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".write-check-"):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        raise StartupError(f"data dir {str(data_dir)!r} is not writable: {reason}") from error
    return data_dir.resolve()


async def start(settings: Settings) -> Container:
    """Open the database, bring its schema up to date and load the config."""
    prepare_data_dir(settings.data_dir)
    try:
        url = settings.effective_database_url
    except ValueError as error:
        raise StartupError(str(error)) from error
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
    except Exception as error:
        await engine.dispose()
        raise StartupError(f"cannot open database {_safe_url(url)}: {_reason(error)}") from error
    uow = SqlUnitOfWorkFactory(engine)
    bus = MemoryBus()
    clock = SystemClock()
    config = ConfigService(uow, clock, bus)
    await config.load()
    log.info("pygocd ready (pid %s, database %s)", os.getpid(), _safe_url(url))
    return Container(settings, engine, Services(uow=uow, bus=bus, clock=clock, config=config))


def _safe_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        rest = f"{user}:***@{host}"
    return f"{scheme}{sep}{rest}"


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
