"""per-pipeline change counters for the dashboard and CCTray read models

Revision ID: 0002
Revises: 0001

Triggers raise `pipeline_changes.version` of a pipeline whenever one of its instance, stage,
job or state rows is inserted or updated, so every write path (and every server process)
counts, without each repository having to remember it. The read models compare the counters
with the ones they were built from and rebuild only the pipelines that moved.

SQLite drops a table's triggers when a batch migration recreates the table:
`tests/migrations` checks that they are all present at the head.
"""

# ruff: noqa: S608 (SQL built only from this module's constants)
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# (table, SQL giving the lower-cased pipeline name of the NEW row)
SOURCES = (
    ("pipelines", "SELECT NEW.name_key"),
    ("pipeline_states", "SELECT NEW.name_key"),
    ("stages", "SELECT p.name_key FROM pipelines p WHERE p.id = NEW.pipeline_id"),
    (
        "jobs",
        "SELECT p.name_key FROM stages s JOIN pipelines p ON p.id = s.pipeline_id "
        "WHERE s.id = NEW.stage_id",
    ),
)
TRIGGERS = tuple(
    f"pipeline_changes_{table}_{event}" for table, _ in SOURCES for event in ("insert", "update")
)


def _sqlite() -> list[str]:
    statements = []
    for table, key in SOURCES:
        # The WHERE keeps SQLite from reading ON CONFLICT as part of the SELECT.
        changed = f"SELECT k, 1 FROM (SELECT ({key}) AS k) WHERE k IS NOT NULL"
        for event in ("insert", "update"):
            statements.append(
                f"CREATE TRIGGER pipeline_changes_{table}_{event} AFTER {event.upper()} "
                f"ON {table} BEGIN INSERT INTO pipeline_changes (name_key, version) {changed} "
                "ON CONFLICT (name_key) DO UPDATE SET version = pipeline_changes.version + 1; END"
            )
    return statements


def _postgresql() -> list[str]:
    statements = []
    for table, key in SOURCES:
        statements.append(
            f"CREATE FUNCTION pipeline_changes_{table}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            "DECLARE key text;\n"
            f"BEGIN\n  key := ({key});\n"
            "  IF key IS NOT NULL THEN\n"
            "    INSERT INTO pipeline_changes (name_key, version) VALUES (key, 1)\n"
            "    ON CONFLICT (name_key) DO UPDATE SET version = pipeline_changes.version + 1;\n"
            "  END IF;\n"
            "  RETURN NULL;\n"
            "END $$"
        )
        for event in ("insert", "update"):
            statements.append(
                f"CREATE TRIGGER pipeline_changes_{table}_{event} AFTER {event.upper()} "
                f"ON {table} FOR EACH ROW EXECUTE FUNCTION pipeline_changes_{table}()"
            )
    return statements


def upgrade() -> None:
    op.create_table(
        "pipeline_changes",
        sa.Column("name_key", sa.String(length=255), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name_key", name=op.f("pk_pipeline_changes")),
    )
    # Pipelines that already have history start at 1.
    op.execute(
        "INSERT INTO pipeline_changes (name_key, version) "
        "SELECT DISTINCT name_key, 1 FROM pipeline_states"
    )
    op.execute(
        "INSERT INTO pipeline_changes (name_key, version) SELECT DISTINCT name_key, 1 "
        "FROM pipelines WHERE name_key NOT IN (SELECT name_key FROM pipeline_changes)"
    )
    dialect = op.get_bind().dialect.name
    for statement in _postgresql() if dialect == "postgresql" else _sqlite():
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, _ in SOURCES:
        for event in ("insert", "update"):
            on = f" ON {table}" if dialect == "postgresql" else ""
            op.execute(f"DROP TRIGGER IF EXISTS pipeline_changes_{table}_{event}{on}")
        if dialect == "postgresql":
            op.execute(f"DROP FUNCTION IF EXISTS pipeline_changes_{table}()")
    op.drop_table("pipeline_changes")
