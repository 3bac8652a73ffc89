"""The agent ↔ server wire protocol: our own versioned JSON over HTTP (DESIGN §1).

Every route lives under `/go/api/agent/`. Every call but `register` carries
`X-Agent-UUID: <uuid>` and `Authorization: Bearer <token>`; all carry
`X-Pygocd-Agent-Protocol: <PROTOCOL_VERSION>`. The messages are in `pygocd.protocol.messages`.
"""

from __future__ import annotations

PROTOCOL_VERSION = 2
# Versions this server still answers. Protocol 2 added `JobReport.earlier` (several states in
# one report); a protocol 1 agent simply never sends it.
SUPPORTED_PROTOCOL_VERSIONS = frozenset({1, 2})

PROTOCOL_HEADER = "X-Pygocd-Agent-Protocol"
UUID_HEADER = "X-Agent-UUID"

BASE_PATH = "/go/api/agent"
REGISTER_PATH = f"{BASE_PATH}/register"
PING_PATH = f"{BASE_PATH}/ping"
WORK_PATH = f"{BASE_PATH}/work"


def job_path(job_id: int, what: str) -> str:
    """`status`, `console` or `artifacts` of a job the agent was given."""
    return f"{BASE_PATH}/jobs/{job_id}/{what}"


def files_path(locator: str, path: str = "") -> str:
    """Where the fetch task downloads an artifact (`locator` = `p/c/s/sc/job`)."""
    suffix = f"/{path}" if path else ""
    return f"{BASE_PATH}/files/{locator}{suffix}"
