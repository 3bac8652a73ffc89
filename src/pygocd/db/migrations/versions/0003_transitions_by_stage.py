"""index job state transitions by stage

Revision ID: 0003
Revises: 0002

Loading a pipeline instance reads the transitions of all its stages' jobs by `stage_id`, and
without an index each load scanned every transition ever recorded: the cost of opening one
run grew with the server's whole history.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_job_state_transitions_stage_id", "job_state_transitions", ["stage_id"])


def downgrade() -> None:
    op.drop_index("ix_job_state_transitions_stage_id", table_name="job_state_transitions")
