"""Shared fixtures: a migrated database (SQLite by default, PostgreSQL when
`PYGOCD_TEST_DB_URL` is set, as `make test` does in its second run), a fake clock, services
and the ASGI app wired as in production."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from pygocd.bus.memory import MemoryBus
from pygocd.db import migrate
from pygocd.db.engine import create_engine
from pygocd.db.unit_of_work import SqlUnitOfWorkFactory
from pygocd.services.config import ConfigService
from pygocd.services.jobs import JobService
from pygocd.services.registry import Services
from pygocd.services.scheduling import SchedulingService
from pygocd.services.stages import StageService
from pygocd.settings import Settings, async_database_url
from pygocd.web.app import create_app
from tests.fakes import FakeClock

# The database the run was given; under pytest-xdist each worker uses one of its own next to it
# (made in pytest_configure), so servers that tests start with `PYGOCD_TEST_DB_URL` never
# share a database with another worker's.
_GIVEN_POSTGRES_URL = os.environ.get("PYGOCD_TEST_DB_URL")
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
POSTGRES_URL = (
    f"{_GIVEN_POSTGRES_URL}_{_WORKER}" if _GIVEN_POSTGRES_URL and _WORKER else _GIVEN_POSTGRES_URL
)


def pytest_configure(config: pytest.Config) -> None:
    if _GIVEN_POSTGRES_URL and POSTGRES_URL and POSTGRES_URL != _GIVEN_POSTGRES_URL:
        asyncio.run(_recreate_postgres_database(_GIVEN_POSTGRES_URL, POSTGRES_URL))
        os.environ["PYGOCD_TEST_DB_URL"] = POSTGRES_URL


def pytest_unconfigure(config: pytest.Config) -> None:
    if _GIVEN_POSTGRES_URL and POSTGRES_URL != _GIVEN_POSTGRES_URL:
        assert POSTGRES_URL is not None
        asyncio.run(_drop_postgres_database(_GIVEN_POSTGRES_URL, POSTGRES_URL))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def _fresh_postgres_database(admin_url: str, template: str | None = None) -> str:
    """A new database per test on the throwaway cluster (empty, or a copy of `template`);
    dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_async_engine(async_database_url(admin_url), isolation_level="AUTOCOMMIT")
    copy = f' TEMPLATE "{template}"' if template else ""
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    await admin.dispose()
    base = admin_url.rsplit("/", 1)[0]
    return f"{base}/{name}"


_MIGRATED_TEMPLATE: list[str] = []


async def _migrated_template(admin_url: str) -> str:
    """One database migrated to the head, made once per run; tests copy it (PostgreSQL's
    CREATE DATABASE ... TEMPLATE) instead of migrating a database of their own each."""
    if not _MIGRATED_TEMPLATE:
        url = await _fresh_postgres_database(admin_url)
        engine = create_engine(async_database_url(url))
        await migrate.upgrade(engine)
        await engine.dispose()
        _MIGRATED_TEMPLATE.append(url.rsplit("/", 1)[1])
    return _MIGRATED_TEMPLATE[0]


async def _recreate_postgres_database(admin_url: str, url: str) -> None:
    """An empty database at `url` (a leftover of an interrupted run is dropped first)."""
    await _drop_postgres_database(admin_url, url)
    admin = create_async_engine(async_database_url(admin_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"'))
    await admin.dispose()


async def _drop_postgres_database(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_async_engine(async_database_url(admin_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    """A plain URL of an empty database of the dialect under test."""
    if POSTGRES_URL:
        url = await _fresh_postgres_database(POSTGRES_URL)
        yield url
        await _drop_postgres_database(POSTGRES_URL, url)
    else:
        yield f"sqlite:///{tmp_path / 'test.db'}"


_SQLITE_TEMPLATE: list[Path] = []


async def _migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to the head, made once per run (per xdist worker); tests copy
    the file instead of migrating a database of their own each (a third of a second apiece)."""
    if not _SQLITE_TEMPLATE:
        path = tmp_path_factory.mktemp("template") / "migrated.db"
        engine = create_engine(async_database_url(f"sqlite:///{path}"))
        await migrate.upgrade(engine)
        await engine.dispose()  # the last connection closing checkpoints the WAL into the file
        _SQLITE_TEMPLATE.append(path)
    return _SQLITE_TEMPLATE[0]


@pytest.fixture
async def migrated_database_url(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A URL of a database already at the migration head: a copy of one migrated template."""
    if POSTGRES_URL:
        url = await _fresh_postgres_database(POSTGRES_URL, await _migrated_template(POSTGRES_URL))
        yield url
        await _drop_postgres_database(POSTGRES_URL, url)
    else:
        copy = tmp_path / "test.db"
        shutil.copyfile(await _migrated_sqlite_template(tmp_path_factory), copy)
        yield f"sqlite:///{copy}"


@pytest.fixture
async def engine(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(async_database_url(migrated_database_url))
    await migrate.upgrade(engine)  # a no-op on a copy of the migrated template
    yield engine
    await engine.dispose()


@pytest.fixture
def uow(engine: AsyncEngine) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(engine)


@pytest.fixture
def bus() -> MemoryBus:
    return MemoryBus()


@pytest.fixture
async def services(uow: SqlUnitOfWorkFactory, bus: MemoryBus, clock: FakeClock) -> Services:
    config = ConfigService(uow, clock, bus)
    await config.load()
    scheduling = SchedulingService(uow, clock, bus, config)
    stages = StageService(uow, clock, bus, config)
    return Services(
        uow=uow,
        bus=bus,
        clock=clock,
        config=config,
        scheduling=scheduling,
        stages=stages,
        jobs=JobService(uow, clock, stages),
    )


@pytest.fixture
def settings(tmp_path: Path, migrated_database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=migrated_database_url)


@pytest.fixture
async def client(services: Services, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services, settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8153") as c:
        yield c
