"""Agents: registered build machines, their config state and runtime status, and job matching."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pygocd.domain.states import AgentConfigState, AgentRuntimeStatus, agent_status


@dataclass(frozen=True, slots=True)
class Agent:
    uuid: str
    hostname: str
    ip_address: str = ""
    config_state: AgentConfigState = AgentConfigState.PENDING
    runtime_status: AgentRuntimeStatus = AgentRuntimeStatus.UNKNOWN
    resources: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    operating_system: str | None = None
    free_space: int | None = None
    location: str | None = None
    agent_version: str | None = None
    last_heard_at: datetime | None = None
    building_job_id: int | None = None
    id: int | None = None

    @property
    def status(self) -> str:
        return agent_status(self.config_state, self.runtime_status)

    @property
    def is_enabled(self) -> bool:
        return self.config_state is AgentConfigState.ENABLED

    def has_resources(self, required: tuple[str, ...]) -> bool:
        """Job resources ⊆ agent resources, compared case-insensitively as in GoCD."""
        mine = {r.lower() for r in self.resources}
        return all(r.lower() in mine for r in required)

    def matches_environment(self, pipeline_environment: str | None, known: set[str]) -> bool:
        """GoCD's rule: a pipeline in environment E needs an agent in E; a pipeline in no
        environment needs an agent in none. Environments unknown to config do not count."""
        agent_envs = {e.lower() for e in self.environments} & {k.lower() for k in known}
        if pipeline_environment is None:
            return not agent_envs
        return pipeline_environment.lower() in agent_envs


RESOURCE_NAME = re.compile(r"[-\w\s|.]*", re.ASCII)
r"""GoCD's `ResourceConfig` name pattern `^[-\w\s|.]*$` (Java's `\w` is ASCII only)."""


def invalid_resource_names(names: tuple[str, ...]) -> list[str]:
    """GoCD's message for each resource name it would refuse (pattern, 255 characters)."""
    errors = []
    for name in names:
        if not RESOURCE_NAME.fullmatch(name):
            errors.append(
                f"Resource name '{name}' is not valid. Valid names much match '^[-\\w\\s|.]*$'"
            )
        elif len(name) > 255:
            errors.append(f"Resource name '{name}' is too long: 255 characters at most.")
    return errors
