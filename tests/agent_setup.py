"""Helpers for agent tests: the agent services wired onto the `services` fixture and an agent
registered through the service; storing config, recording a commit and triggering are the
builders' (re-exported here for the tests that import them from this module)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pygocd.domain.materials import GitMaterialConfig, MaterialConfig
from pygocd.domain.modifications import Modification
from pygocd.services.agents import AgentService, Registration
from pygocd.services.artifact_disk import DiskArtifactStore
from pygocd.services.artifacts import ArtifactService
from pygocd.services.assignment import AssignmentService
from pygocd.services.health import ServerHealth
from pygocd.services.registry import Services
from pygocd.services.work import WorkBuilder
from tests import builders
from tests.builders import save, trigger
from tests.gitrepo import GitRepo

__all__ = ["KEY", "REPO", "commit", "git_commit", "register", "save", "trigger", "with_agents"]

KEY = "secret-key"
REPO = GitMaterialConfig(url="https://example.com/app.git", branch="main", name="app")


async def commit(
    services: Services, material: MaterialConfig = REPO, revision: str = "abc123"
) -> Modification:
    """A new revision of `material`, by default the agent tests' REPO."""
    return await builders.commit(services, material, revision)


def with_agents(
    services: Services,
    data_dir: Path,
    *,
    key: str | None = KEY,
    lost_after: float = 300,
    health: ServerHealth | None = None,
) -> Services:
    assert services.jobs is not None
    agents = AgentService(
        services.uow,
        services.clock,
        services.bus,
        services.jobs,
        auto_register_key=key,
        lost_contact_seconds=lost_after,
        health=health,
    )
    return replace(
        services,
        agents=agents,
        assignment=AssignmentService(
            services.uow, services.bus, services.config, services.jobs, agents
        ),
        work=WorkBuilder(services.uow, services.config),
        artifacts=ArtifactService(DiskArtifactStore(data_dir / "artifacts")),
    )


async def register(
    services: Services,
    uuid: str = "agent-1",
    *,
    key: str | None = KEY,
    resources: tuple[str, ...] = (),
    environments: tuple[str, ...] = (),
) -> str:
    """Register an agent; returns its token."""
    assert services.agents is not None
    _agent, token = await services.agents.register(
        Registration(
            uuid=uuid,
            hostname=f"{uuid}.local",
            auto_register_key=key,
            resources=resources,
            environments=environments,
        )
    )
    return token


def git_commit(path: Path, files: dict[str, str], message: str = "change") -> str:
    """Create (or add to) a git repo on branch main; returns the new revision."""
    return GitRepo(path, branch="main").commit(message, files)
