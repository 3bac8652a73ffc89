"""The config store on a real database: revisions, optimistic locking, concurrent saves."""

from __future__ import annotations

import asyncio

import pytest

from pygocd.domain.config import CruiseConfig
from pygocd.domain.errors import Conflict, NotFound
from pygocd.domain.materials import GitMaterialConfig
from pygocd.domain.pipelines import JobConfig, PipelineConfig, PipelineGroup, StageConfig
from pygocd.domain.tasks import ExecTask
from pygocd.services.config import ConfigService
from pygocd.services.events import CONFIG_CHANGED
from pygocd.services.registry import Services

pytestmark = pytest.mark.db


def config_with(*names: str) -> CruiseConfig:
    pipelines = tuple(
        PipelineConfig(
            name=name,
            materials=(GitMaterialConfig(url=f"https://example.com/{name}.git"),),
            stages=(StageConfig("build", jobs=(JobConfig("make", tasks=(ExecTask("make"),)),)),),
        )
        for name in names
    )
    return CruiseConfig(groups=(PipelineGroup("first", pipelines),))


async def test_an_empty_store_loads_an_empty_config(services: Services) -> None:
    assert services.config.current == CruiseConfig()
    assert services.config.current.md5 == ""
    assert await services.config.revisions() == []


async def test_save_creates_a_revision_and_swaps_the_snapshot(services: Services) -> None:
    before = services.config.current
    saved = await services.config.save(
        config_with("app"), expected_md5="", author="admin", message="add app"
    )
    assert saved.find_pipeline("APP") is not None
    assert services.config.current is saved
    assert before.find_pipeline("app") is None
    [revision] = await services.config.revisions()
    assert (revision.md5, revision.author, revision.message) == (saved.md5, "admin", "add app")
    assert revision.parent_md5 == ""


async def test_saving_publishes_config_changed(services: Services) -> None:
    async with services.bus.subscribe(CONFIG_CHANGED) as events:
        saved = await services.config.save(
            config_with("app"), expected_md5="", author="a", message="m"
        )
        event = await asyncio.wait_for(events.__anext__(), 1)
    assert event.payload == {"md5": saved.md5}


async def test_a_stale_md5_is_a_conflict_and_changes_nothing(services: Services) -> None:
    first = await services.config.save(config_with("a"), expected_md5="", author="x", message="1")
    await services.config.save(
        config_with("a", "b"), expected_md5=first.md5, author="x", message="2"
    )
    with pytest.raises(Conflict):
        await services.config.save(
            config_with("c"), expected_md5=first.md5, author="y", message="stale"
        )
    assert [r.message for r in await services.config.revisions()] == ["2", "1"]
    assert services.config.current.find_pipeline("c") is None


async def test_saving_the_same_content_adds_no_revision(services: Services) -> None:
    first = await services.config.save(config_with("a"), expected_md5="", author="x", message="1")
    again = await services.config.save(
        config_with("a"), expected_md5=first.md5, author="x", message="noop"
    )
    assert again.md5 == first.md5
    assert len(await services.config.revisions()) == 1


async def test_reverting_to_earlier_content_is_a_new_revision(services: Services) -> None:
    one = await services.config.save(config_with("a"), expected_md5="", author="x", message="1")
    two = await services.config.save(
        config_with("b"), expected_md5=one.md5, author="x", message="2"
    )
    three = await services.config.save(
        config_with("a"), expected_md5=two.md5, author="x", message="revert"
    )
    assert three.md5 == one.md5
    assert len(await services.config.revisions()) == 3


async def test_an_old_revision_can_be_loaded(services: Services) -> None:
    one = await services.config.save(config_with("a"), expected_md5="", author="x", message="1")
    await services.config.save(config_with("b"), expected_md5=one.md5, author="x", message="2")
    old = await services.config.revision(one.md5)
    assert old.find_pipeline("a") is not None
    with pytest.raises(NotFound):
        await services.config.revision("0" * 32)


async def test_a_new_service_loads_what_another_saved(services: Services) -> None:
    saved = await services.config.save(config_with("a"), expected_md5="", author="x", message="1")
    other = ConfigService(services.uow, services.clock, services.bus)
    loaded = await other.load()
    assert loaded == saved
    assert loaded.md5 == saved.md5


async def test_two_concurrent_saves_on_the_same_md5_exactly_one_wins(services: Services) -> None:
    base = await services.config.save(config_with("a"), expected_md5="", author="x", message="1")
    # Two services stand for two server processes: no shared in-memory state between them.
    second = ConfigService(services.uow, services.clock, services.bus)
    await second.load()
    results = await asyncio.gather(
        services.config.save(config_with("a", "b"), expected_md5=base.md5, author="p", message="b"),
        second.save(config_with("a", "c"), expected_md5=base.md5, author="q", message="c"),
        return_exceptions=True,
    )
    conflicts = [r for r in results if isinstance(r, Conflict)]
    wins = [r for r in results if isinstance(r, CruiseConfig)]
    assert len(conflicts) == 1
    assert len(wins) == 1
    assert len(await services.config.revisions()) == 2
