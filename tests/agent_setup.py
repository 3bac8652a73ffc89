"""Helpers for agent tests: the agent services wired onto the `services` fixture, a pipeline
stored in config, a recorded commit, and an agent registered through the service."""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from pygocd.domain.config import CruiseConfig
from pygocd.domain.environments import EnvironmentConfig
from pygocd.domain.materials import GitMaterialConfig, MaterialConfig
from pygocd.domain.modifications import Modification
from pygocd.domain.pipelines import PipelineConfig, PipelineGroup
from pygocd.domain.runs import PipelineInstance
from pygocd.services.agents import AgentService, Registration
from pygocd.services.artifact_disk import DiskArtifactStore
from pygocd.services.artifacts import ArtifactService
from pygocd.services.assignment import AssignmentService
from pygocd.services.registry import Services
from pygocd.services.work import WorkBuilder

KEY = "secret-key"
REPO = GitMaterialConfig(url="https://example.com/app.git", branch="main", name="app")


def with_agents(
    services: Services, data_dir: Path, *, key: str | None = KEY, lost_after: float = 300
) -> Services:
    assert services.jobs is not None
    agents = AgentService(
        services.uow,
        services.clock,
        services.bus,
        services.jobs,
        auto_register_key=key,
        lost_contact_seconds=lost_after,
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


async def save(
    services: Services,
    *pipelines: PipelineConfig,
    environments: tuple[EnvironmentConfig, ...] = (),
) -> None:
    config = CruiseConfig(
        groups=(PipelineGroup("team", pipelines=pipelines),), environments=environments
    )
    await services.config.save(
        config, expected_md5=services.config.current.md5, author="t", message="m"
    )


async def commit(
    services: Services, material: MaterialConfig = REPO, revision: str = "abc123"
) -> Modification:
    async with services.uow() as uow:
        material_id = await uow.materials.ensure(material)
        [saved] = await uow.materials.add_modifications(
            material_id,
            [
                Modification(
                    revision=revision,
                    modified_time=services.clock.now() - timedelta(minutes=1),
                    user_name="alice <alice@example.com>",
                    comment="a change",
                )
            ],
        )
        await uow.commit()
    return saved


async def trigger(services: Services, name: str, **kwargs: object) -> PipelineInstance:
    assert services.scheduling is not None
    return await services.scheduling.trigger_manual(name, username="admin", **kwargs)  # type: ignore[arg-type]


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


GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Ada Lovelace",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Lovelace",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
}


def git_commit(path: Path, files: dict[str, str], message: str = "change") -> str:
    """Create (or add to) a git repo on branch main; returns the new revision."""
    env = {**os.environ, **GIT_IDENTITY}

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=path, env=env, check=True, capture_output=True, text=True
        ).stdout.strip()

    if not (path / ".git").exists():
        path.mkdir(parents=True, exist_ok=True)
        git("init", "--quiet", "-b", "main")
    for name, text in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git("add", "--all")
    git("commit", "--quiet", "--allow-empty", "-m", message)
    return git("rev-parse", "HEAD")
