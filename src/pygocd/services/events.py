"""Event topics services publish after each commit; the UI and agent wake-ups subscribe."""

from __future__ import annotations

CONFIG_CHANGED = "config.changed"
PIPELINE_CHANGED = "pipeline.changed"
STAGE_CHANGED = "stage.changed"
JOB_CHANGED = "job.changed"
MATERIAL_UPDATED = "material.updated"
AGENT_CHANGED = "agent.changed"
