"""Engine creation: SQLite with WAL, busy_timeout and foreign keys, run on the event loop
(`sqlite_inline`, ADR 0007); PostgreSQL through asyncpg."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from pygocd.db import sqlite_inline

SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000", "foreign_keys=ON")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str) -> AsyncEngine:
    """An async engine for an async-driver URL (see `settings.async_database_url`)."""
    if is_sqlite(url):
        arguments, options = SQLiteDialect_pysqlite().create_connect_args(make_url(url))
        options.setdefault("timeout", 30)
        engine = create_async_engine(
            url, async_creator=lambda: sqlite_inline.connect(*arguments, **options)
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
