"""Environments: a set of pipelines and agents sharing variables (GoCD `<environment>`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pygocd.domain.pipelines import ConfigOrigin
from pygocd.domain.variables import EnvironmentVariable


@dataclass(frozen=True, slots=True)
class EnvironmentConfig:
    name: str
    pipelines: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    environment_variables: tuple[EnvironmentVariable, ...] = ()
    origin: ConfigOrigin = field(default_factory=ConfigOrigin)

    def has_pipeline(self, pipeline: str) -> bool:
        wanted = pipeline.lower()
        return any(name.lower() == wanted for name in self.pipelines)
