"""Materials this server cannot poll or check out (hg, svn, p4, tfs, package, SCM plugin) get
an error health message naming the pipelines that cannot run, instead of silence."""

from __future__ import annotations

from pathlib import Path

import pytest

from pygocd.bus.memory import MemoryBus
from pygocd.db.unit_of_work import SqlUnitOfWorkFactory
from pygocd.domain.config import CruiseConfig
from pygocd.domain.materials import (
    GitMaterialConfig,
    HgMaterialConfig,
    P4MaterialConfig,
    SvnMaterialConfig,
    TfsMaterialConfig,
)
from pygocd.domain.pipelines import PipelineConfig, PipelineGroup
from pygocd.services.health import HealthLevel, ServerHealth
from pygocd.services.materials import MaterialUpdateService
from tests.fakes import FakeClock

pytestmark = pytest.mark.db

SVN = SvnMaterialConfig(url="https://bob:hunter2@svn.example.com/trunk")
HG = HgMaterialConfig(url="https://hg.example.com/repo")


def config_with(*pipelines: PipelineConfig) -> CruiseConfig:
    return CruiseConfig(groups=(PipelineGroup(name="g", pipelines=pipelines),))


async def test_each_unsupported_material_gets_one_health_message_until_it_is_gone(
    uow: SqlUnitOfWorkFactory, bus: MemoryBus, clock: FakeClock, tmp_path: Path
) -> None:
    git = GitMaterialConfig(url=str(tmp_path / "nowhere"), branch="main", auto_update=False)
    holder = {
        "config": config_with(
            PipelineConfig(name="legacy", materials=(SVN,)),
            PipelineConfig(name="mixed", materials=(git, SVN)),
            PipelineConfig(name="hg", materials=(HG,)),
            PipelineConfig(
                name="p4",
                materials=(P4MaterialConfig(port="perforce:1666", view="//depot/... //x/..."),),
            ),
            PipelineConfig(
                name="tfs",
                materials=(TfsMaterialConfig(url="https://tfs.example.com", project_path="$/x"),),
            ),
        )
    }
    health = ServerHealth(clock)
    service = MaterialUpdateService(
        uow, bus, clock, lambda: holder["config"], tmp_path / "cache", health=health
    )
    await service.update_all_due()
    messages = {m.message: m for m in health.messages()}
    assert len(messages) == 4
    svn = messages["Subversion material is not supported: https://bob:******@svn.example.com/trunk"]
    assert svn.level is HealthLevel.ERROR
    assert svn.detail == (
        "pygocd polls and checks out git materials only; this Subversion material is never "
        "updated, so pipeline(s) legacy, mixed cannot be scheduled until it is replaced by a "
        "git material."
    )
    assert "hunter2" not in "".join(m.message + m.detail for m in health.messages())
    assert {m.split(" material")[0] for m in messages} == {
        "Subversion",
        "Mercurial",
        "Perforce",
        "Tfs",
    }
    holder["config"] = config_with(PipelineConfig(name="hg", materials=(HG,)))
    assert service.report_unsupported() == [HG.fingerprint]
    assert [m.message for m in health.messages()] == [
        "Mercurial material is not supported: https://hg.example.com/repo"
    ]
