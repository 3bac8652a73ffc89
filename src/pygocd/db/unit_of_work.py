"""The unit of work: one database transaction with the repositories bound to it.

SQLite allows one writer at a time; rather than let concurrent writers fail with "database is
locked", writing units of work in this process queue on one asyncio lock (DESIGN §4), and
read-only units cannot write at all. On PostgreSQL, transactions run concurrently and
constraints settle races.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pygocd.db.engine import is_sqlite
from pygocd.db.repositories.agents import SqlAgentRepository
from pygocd.db.repositories.config_revisions import SqlConfigRevisionRepository
from pygocd.db.repositories.dashboard import SqlDashboardRepository
from pygocd.db.repositories.jobs import SqlJobRepository
from pygocd.db.repositories.materials import SqlMaterialRepository
from pygocd.db.repositories.pipelines import SqlPipelineInstanceRepository
from pygocd.db.repositories.run_history import SqlRunHistoryRepository
from pygocd.db.sqlite_inline import InlineConnection


class SqlUnitOfWork:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        self._config_revisions = SqlConfigRevisionRepository(connection)
        self._pipeline_instances = SqlPipelineInstanceRepository(connection)
        self._materials = SqlMaterialRepository(connection)
        self._jobs = SqlJobRepository(connection)
        self._dashboard = SqlDashboardRepository(connection)

    @property
    def config_revisions(self) -> SqlConfigRevisionRepository:
        return self._config_revisions

    @property
    def pipeline_instances(self) -> SqlPipelineInstanceRepository:
        return self._pipeline_instances

    @property
    def jobs(self) -> SqlJobRepository:
        return self._jobs

    @property
    def materials(self) -> SqlMaterialRepository:
        return self._materials

    @property
    def dashboard(self) -> SqlDashboardRepository:
        return self._dashboard

    @property
    def agents(self) -> SqlAgentRepository:
        return SqlAgentRepository(self._connection)

    @property
    def history(self) -> SqlRunHistoryRepository:
        return SqlRunHistoryRepository(self._connection)

    async def commit(self) -> None:
        await self._connection.commit()


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._write_lock = asyncio.Lock() if is_sqlite(str(engine.url)) else None

    def __call__(self, *, read_only: bool = False) -> AbstractAsyncContextManager[SqlUnitOfWork]:
        return self._unit(read_only=read_only)

    @asynccontextmanager
    async def _unit(self, *, read_only: bool) -> AsyncIterator[SqlUnitOfWork]:
        if self._write_lock is None:
            async with self.engine.connect() as connection:
                yield SqlUnitOfWork(connection)
        elif read_only:
            async with self.engine.connect() as connection, _query_only(connection):
                yield SqlUnitOfWork(connection)
        else:
            async with self._write_lock, self.engine.connect() as connection:
                yield SqlUnitOfWork(connection)


@asynccontextmanager
async def _query_only(connection: AsyncConnection) -> AsyncIterator[None]:
    """SQLite refuses writes in a read-only unit at once ("attempt to write a readonly
    database") instead of letting it write without the write lock: statements run on the event
    loop (ADR 0007), so two writers at a time would stall the loop for `busy_timeout`."""
    # Straight to sqlite3: through SQLAlchemy, these two statements cost as much as the
    # queries of a small unit.
    raw = (await connection.get_raw_connection()).driver_connection
    assert isinstance(raw, InlineConnection)
    raw.query_only(True)
    try:
        yield
    finally:
        try:
            raw.query_only(False)
        except Exception:
            await connection.invalidate()  # never hand a read-only connection to a writer
            raise
