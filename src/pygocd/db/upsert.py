"""`INSERT ... ON CONFLICT DO NOTHING` for the dialect at hand.

The dialect modules are imported on first use: a SQLite server never pays for importing the
PostgreSQL dialect (and asyncpg) at start-up, nor the other way round.
"""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_ignoring_conflicts(
    connection: AsyncConnection, table: Table, index_elements: list[str], **values: Any
) -> Any:
    dialect = "postgresql" if connection.dialect.name == "postgresql" else "sqlite"
    module = importlib.import_module(f"sqlalchemy.dialects.{dialect}")
    return (
        module.insert(table).values(**values).on_conflict_do_nothing(index_elements=index_elements)
    )
