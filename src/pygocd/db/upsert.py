"""`INSERT ... ON CONFLICT DO NOTHING` for the dialect at hand.

The dialect modules are imported on first use: a SQLite server never pays for importing the
PostgreSQL dialect (and asyncpg) at start-up, nor the other way round.
"""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection


def _dialect_module(connection: AsyncConnection) -> Any:
    dialect = "postgresql" if connection.dialect.name == "postgresql" else "sqlite"
    return importlib.import_module(f"sqlalchemy.dialects.{dialect}")


def insert_or_update(
    connection: AsyncConnection,
    table: Table,
    index_elements: list[str],
    values: dict[str, Any] | list[dict[str, Any]],
    updates: dict[str, Any],
) -> Any:
    """`INSERT ... ON CONFLICT (...) DO UPDATE SET ...` of one row (or several): one
    statement, one lock per row."""
    return (
        _dialect_module(connection)
        .insert(table)
        .values(values)
        .on_conflict_do_update(index_elements=index_elements, set_=updates)
    )


def insert_ignoring_conflicts(
    connection: AsyncConnection, table: Table, index_elements: list[str], **values: Any
) -> Any:
    return (
        _dialect_module(connection)
        .insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=index_elements)
    )
