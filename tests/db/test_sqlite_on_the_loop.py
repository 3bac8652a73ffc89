"""SQLite run on the event loop (ADR 0007): units of work see each other's commits, a write
waits for the one before it, and a read-only unit cannot write at all."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from pygocd.db.engine import is_sqlite
from pygocd.db.unit_of_work import SqlUnitOfWorkFactory


@pytest.fixture
def sqlite_uow(engine: AsyncEngine, uow: SqlUnitOfWorkFactory) -> SqlUnitOfWorkFactory:
    if not is_sqlite(str(engine.url)):
        pytest.skip("the read-only guard and the loop-side driver are SQLite's")
    return uow


async def test_a_read_only_unit_refuses_to_write_and_leaves_the_connection_writable(
    sqlite_uow: SqlUnitOfWorkFactory,
) -> None:
    with pytest.raises(OperationalError, match="readonly"):
        async with sqlite_uow(read_only=True) as unit:
            await unit._connection.execute(
                text(
                    "INSERT INTO pipeline_states (name_key, name, last_counter, paused, locked)"
                    " VALUES ('x', 'x', 0, 0, 0)"
                )
            )
    async with sqlite_uow() as unit:  # the pool's connection was handed back writable
        await unit._connection.execute(
            text(
                "INSERT INTO pipeline_states (name_key, name, last_counter, paused, locked)"
                " VALUES ('y', 'y', 0, 0, 0)"
            )
        )
        await unit.commit()
    async with sqlite_uow(read_only=True) as unit:
        names = (await unit._connection.execute(text("SELECT name FROM pipeline_states"))).all()
    assert [n for (n,) in names] == ["y"]


async def test_writers_take_turns_and_readers_see_only_committed_rows(
    sqlite_uow: SqlUnitOfWorkFactory,
) -> None:
    first_wrote = asyncio.Event()
    order: list[str] = []

    async def first() -> None:
        async with sqlite_uow() as unit:
            await unit.pipeline_instances.next_counter("app")
            first_wrote.set()
            async with sqlite_uow(read_only=True) as reader:  # not committed yet
                rows = await reader._connection.execute(text("SELECT name FROM pipeline_states"))
                order.append(f"reader saw {rows.all()}")
            await asyncio.sleep(0.01)
            await unit.commit()
            order.append("first committed")

    async def second() -> None:
        await first_wrote.wait()
        async with sqlite_uow() as unit:
            order.append("second began")
            counter = await unit.pipeline_instances.next_counter("app")
            await unit.commit()
            order.append(f"second got {counter}")

    await asyncio.gather(first(), second())
    assert order == ["reader saw []", "first committed", "second began", "second got 2"]


async def test_the_loop_side_driver_streams_runs_many_and_switches_isolation(
    engine: AsyncEngine, sqlite_uow: SqlUnitOfWorkFactory
) -> None:
    """The paths of SQLAlchemy's aiosqlite dialect our queries do not take every day: a
    server-side cursor, executemany, and setting the isolation level on the connection."""
    async with engine.connect() as connection:
        await connection.execute(text("CREATE TEMP TABLE t (n INTEGER)"))
        await connection.execute(text("INSERT INTO t (n) VALUES (:n)"), [{"n": n} for n in (1, 2)])
        await connection.execute(text("UPDATE t SET n = n * 10 WHERE n = :n"), [{"n": 1}, {"n": 2}])
        streamed = await connection.stream(text("SELECT n FROM t ORDER BY n"))
        assert [n async for (n,) in streamed] == [10, 20]
        partial = await connection.stream(text("SELECT n FROM t ORDER BY n"))
        assert [tuple(r) for r in await partial.fetchmany(1)] == [(10,)]
        assert (await partial.fetchone()) == (20,)
        await partial.close()
        inserted = await connection.execute(text("INSERT INTO t (n) VALUES (30)"))
        assert inserted.lastrowid == 3
        await connection.commit()
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        driver = (await autocommit.get_raw_connection()).driver_connection
        assert driver.isolation_level is None  # sqlite3's autocommit, set through the driver
        assert (await autocommit.execute(text("SELECT count(*) FROM t"))).scalar() == 3
