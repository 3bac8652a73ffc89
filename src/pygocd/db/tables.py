"""Table metadata: config revisions (append-only documents) and relational run history.

Names follow GoCD's tables in snake_case (`pipelines`, `stages`, `builds` → `jobs`,
`buildstatetransitions` → `job_state_transitions`, ...). Rows refer to pipelines by name, as
GoCD's do; `name_key` columns hold the lower-cased name because every GoCD name is
case-insensitive. Rows never leave `pygocd.db`: repositories turn them into domain objects.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
Id = BigInteger().with_variant(Integer(), "sqlite")


def _id() -> Column[int]:
    return Column("id", Id, primary_key=True, autoincrement=True)


def _ts(name: str, *, nullable: bool = True) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


config_revisions = Table(
    "config_revisions",
    metadata,
    _id(),
    # The revision this one was saved on top of (0 for the first). Unique, so two saves based
    # on the same revision cannot both land: optimistic locking that holds across processes.
    Column("parent_id", BigInteger, nullable=False, unique=True),
    Column("md5", String(32), nullable=False, index=True),
    Column("parent_md5", String(32), nullable=False),
    Column("document", Text, nullable=False),
    Column("author", String(255), nullable=False),
    Column("message", Text, nullable=False),
    _ts("created_at", nullable=False),
)

pipeline_states = Table(
    "pipeline_states",
    metadata,
    Column("name_key", String(255), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("last_counter", BigInteger, nullable=False, default=0),
    Column("paused", Boolean, nullable=False, default=False),
    Column("pause_cause", String(255)),
    Column("pause_by", String(255)),
    _ts("paused_at"),
    Column("locked", Boolean, nullable=False, default=False),
    Column("locked_by_pipeline_id", BigInteger),
)

# One change counter per pipeline, raised by database triggers (migration 0002) whenever a
# row that the dashboard or CCTray shows for that pipeline is written: its instances, stage
# runs, jobs and pause/lock state. Counters only grow, so a reader that remembers them sees
# every committed change, whichever server process made it (issues 6 and 7).
pipeline_changes = Table(
    "pipeline_changes",
    metadata,
    Column("name_key", String(255), primary_key=True),
    Column("version", BigInteger, nullable=False),
)

pipelines = Table(
    "pipelines",
    metadata,
    _id(),
    Column("name", String(255), nullable=False),
    Column("name_key", String(255), nullable=False),
    Column("counter", BigInteger, nullable=False),
    Column("label", String(255), nullable=False),
    Column("build_cause_type", String(255), nullable=False),
    Column("build_cause_message", Text),
    Column("build_cause_approver", String(255)),
    Column("natural_order", Float, nullable=False, default=0.0),
    Column("comment", Text),
    _ts("created_at", nullable=False),
    UniqueConstraint("name_key", "counter"),
)

stages = Table(
    "stages",
    metadata,
    _id(),
    Column("pipeline_id", ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("name_key", String(255), nullable=False),
    Column("counter", Integer, nullable=False),
    Column("order_id", Integer, nullable=False),
    Column("approval_type", String(20), nullable=False),
    Column("approved_by", String(255)),
    Column("cancelled_by", String(255)),
    Column("state", String(20), nullable=False),
    Column("result", String(20), nullable=False),
    Column("latest_run", Boolean, nullable=False, default=True),
    Column("rerun_of_counter", Integer),
    Column("fetch_materials", Boolean, nullable=False, default=True),
    Column("clean_working_dir", Boolean, nullable=False, default=False),
    Column("artifacts_deleted", Boolean, nullable=False, default=False),
    Column("config_version", String(64)),
    Column("completed_by_transition_id", BigInteger),
    _ts("created_at", nullable=False),
    _ts("last_transitioned_at"),
    UniqueConstraint("pipeline_id", "name_key", "counter"),
    Index("ix_stages_state", "state"),
)

jobs = Table(
    "jobs",
    metadata,
    _id(),
    Column("stage_id", ForeignKey("stages.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("state", String(20), nullable=False),
    Column("result", String(20), nullable=False),
    Column("agent_uuid", String(64)),
    _ts("scheduled_at", nullable=False),
    Column("ignored", Boolean, nullable=False, default=False),
    Column("run_on_all_agents", Boolean, nullable=False, default=False),
    Column("run_multiple_instance", Boolean, nullable=False, default=False),
    Column("original_job_id", BigInteger),
    Column("rerun", Boolean, nullable=False, default=False),
    Index("ix_jobs_state", "state"),
    Index("ix_jobs_stage_id", "stage_id"),
    Index("ix_jobs_agent_uuid", "agent_uuid"),
)

job_state_transitions = Table(
    "job_state_transitions",
    metadata,
    _id(),
    Column("job_id", ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("stage_id", ForeignKey("stages.id", ondelete="CASCADE"), nullable=False),
    Column("state", String(20), nullable=False),
    _ts("changed_at", nullable=False),
    Index("ix_job_state_transitions_job_id", "job_id"),
    Index("ix_job_state_transitions_stage_id", "stage_id"),
)

materials = Table(
    "materials",
    metadata,
    _id(),
    Column("type", String(64), nullable=False),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("url", Text),
    Column("branch", String(255)),
    Column("pipeline_name", String(255)),
    Column("stage_name", String(255)),
    Column("attributes", Text),
)

modifications = Table(
    "modifications",
    metadata,
    _id(),
    Column("material_id", ForeignKey("materials.id", ondelete="CASCADE"), nullable=False),
    Column("revision", String(1024), nullable=False),
    Column("user_name", Text),
    Column("email_address", Text),
    Column("comment", Text),
    _ts("modified_time", nullable=False),
    Column("pipeline_label", String(255)),
    Column("pipeline_id", ForeignKey("pipelines.id", ondelete="RESTRICT")),
    Column("additional_data", Text),
    Index("ix_modifications_material_id_id", "material_id", "id"),
    Index("ix_modifications_revision", "revision"),
)

modified_files = Table(
    "modified_files",
    metadata,
    _id(),
    Column("modification_id", ForeignKey("modifications.id", ondelete="CASCADE"), nullable=False),
    Column("file_name", String(1024), nullable=False),
    Column("action", String(50), nullable=False),
    Column("folder_name", String(512)),
    Column("revision", String(50)),
    Index("ix_modified_files_modification_id", "modification_id"),
)

pipeline_material_revisions = Table(
    "pipeline_material_revisions",
    metadata,
    _id(),
    Column("pipeline_id", ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=False),
    Column("material_id", ForeignKey("materials.id", ondelete="RESTRICT"), nullable=False),
    Column(
        "from_modification_id", ForeignKey("modifications.id", ondelete="RESTRICT"), nullable=False
    ),
    Column(
        "to_modification_id", ForeignKey("modifications.id", ondelete="RESTRICT"), nullable=False
    ),
    Column("changed", Boolean, nullable=False, default=False),
    Column("name", String(255)),
    Column("folder", String(512)),
    Index("ix_pipeline_material_revisions_pipeline_id", "pipeline_id"),
)

environment_variables = Table(
    "environment_variables",
    metadata,
    _id(),
    Column("entity_type", String(20), nullable=False),  # "Trigger" (pipeline) or "Job"
    Column("entity_id", BigInteger, nullable=False),
    Column("name", String(255), nullable=False),
    Column("value", Text),
    Column("secure", Boolean, nullable=False, default=False),
    Index("ix_environment_variables_entity", "entity_type", "entity_id"),
)

agents = Table(
    "agents",
    metadata,
    _id(),
    Column("uuid", String(64), nullable=False, unique=True),
    Column("token_hash", String(128)),
    Column("hostname", String(255), nullable=False),
    Column("ip_address", String(64), nullable=False, default=""),
    Column("config_state", String(20), nullable=False),
    Column("runtime_status", String(20), nullable=False),
    Column("resources", Text, nullable=False, default=""),
    Column("environments", Text, nullable=False, default=""),
    Column("operating_system", String(255)),
    Column("free_space", BigInteger),
    Column("location", Text),
    Column("agent_version", String(64)),
    _ts("last_heard_at"),
    Column("deleted", Boolean, nullable=False, default=False),
)
