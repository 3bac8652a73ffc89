"""The migration tree: one head, upgrades an empty database, and yields exactly the metadata."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from pygocd.db import migrate
from pygocd.db.engine import create_engine
from pygocd.db.tables import metadata
from pygocd.settings import async_database_url

pytestmark = pytest.mark.db


def test_the_migration_tree_has_a_single_head() -> None:
    assert len(migrate.heads()) == 1


async def test_upgrade_creates_every_table_in_an_empty_database(database_url: str) -> None:
    def table_names(connection: Connection) -> set[str]:
        return set(inspect(connection).get_table_names())

    engine = create_engine(async_database_url(database_url))
    try:
        assert await migrate.current_revision(engine) is None
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            names = await connection.run_sync(table_names)
    finally:
        await engine.dispose()
    assert set(metadata.tables) <= names
    assert "alembic_version" in names


async def test_migrated_schema_equals_the_table_metadata(engine: AsyncEngine) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_upgrading_twice_is_harmless(engine: AsyncEngine) -> None:
    await migrate.upgrade(engine)
    assert len(migrate.heads()) == 1


def test_the_fast_head_check_agrees_with_alembic() -> None:
    assert migrate.heads() == [migrate.newest_revision()]


async def test_a_migrated_database_reports_the_head(engine: AsyncEngine) -> None:
    assert await migrate.current_revision(engine) == migrate.newest_revision()
