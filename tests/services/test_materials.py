"""Material updates against real git repositories in temporary folders."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import pytest

from pygocd.bus.memory import MemoryBus
from pygocd.db.unit_of_work import SqlUnitOfWorkFactory
from pygocd.domain.config import CruiseConfig
from pygocd.domain.materials import GitMaterialConfig, MaterialConfig, SvnMaterialConfig
from pygocd.domain.modifications import ModifiedAction
from pygocd.domain.pipelines import PipelineConfig, PipelineGroup
from pygocd.services.events import MATERIAL_UPDATED
from pygocd.services.materials import Backoff, MaterialUpdateService, git_materials_of
from tests.fakes import FakeClock
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.db


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    path = tmp_path / "repo"
    path.mkdir()
    return GitRepo(path, branch="main")


def config_of(*materials: MaterialConfig) -> CruiseConfig:
    pipelines = tuple(PipelineConfig(name=f"p{i}", materials=(m,)) for i, m in enumerate(materials))
    return CruiseConfig(groups=(PipelineGroup(name="g", pipelines=pipelines),))


class Holder:
    def __init__(self) -> None:
        self.config = CruiseConfig()


@pytest.fixture
def holder() -> Holder:
    return Holder()


@pytest.fixture
def service(
    uow: SqlUnitOfWorkFactory, bus: MemoryBus, clock: FakeClock, tmp_path: Path, holder: Holder
) -> MaterialUpdateService:
    return MaterialUpdateService(
        uow,
        bus,
        clock,
        lambda: holder.config,
        tmp_path / "data" / "materials",
        poll_interval=60.0,
        jitter=lambda: 1.0,
    )


def git_material(repo: GitRepo, **kwargs: object) -> GitMaterialConfig:
    return GitMaterialConfig(url=str(repo.path), branch="main", **kwargs)  # type: ignore[arg-type]


async def recorded(uow: SqlUnitOfWorkFactory, fingerprint: str) -> list[str]:
    async with uow(read_only=True) as unit:
        found = await unit.materials.latest_modifications(fingerprint, limit=100)
    return [m.revision for m in reversed(found)]


async def test_first_update_records_only_the_latest_revision(
    service: MaterialUpdateService, repo: GitRepo, uow: SqlUnitOfWorkFactory
) -> None:
    repo.commit("one", a="1")
    repo.commit("two", b="2")
    head = repo.commit("three", a="3")
    material = git_material(repo)

    result = await service.update(material)

    assert result.ok
    assert [m.revision for m in result.modifications] == [head]
    assert await recorded(uow, material.fingerprint) == [head]
    assert service.cache_path(material.fingerprint).is_dir()


async def test_later_updates_record_every_new_commit_oldest_first_with_files(
    service: MaterialUpdateService, repo: GitRepo, uow: SqlUnitOfWorkFactory
) -> None:
    first = repo.commit("one", a="1", gone="x")
    material = git_material(repo)
    await service.update(material)
    second = repo.commit("two\n\nwith a body", a="2", src__new="n")
    third = repo.commit("three", gone=None)

    result = await service.update(material)

    assert [m.revision for m in result.modifications] == [second, third]
    assert await recorded(uow, material.fingerprint) == [first, second, third]
    two = result.modifications[0]
    assert two.user_name == "Ada Lovelace <ada@example.com>"
    assert two.email_address == "ada@example.com"
    assert two.comment == "two\n\nwith a body"
    assert {(f.file_name, f.action) for f in two.files} == {
        ("a", ModifiedAction.MODIFIED),
        ("src/new", ModifiedAction.ADDED),
    }
    assert [(f.file_name, f.action) for f in result.modifications[1].files] == [
        ("gone", ModifiedAction.DELETED)
    ]
    async with uow(read_only=True) as unit:
        stored = await unit.materials.modifications_by_ids(result.modification_ids)
    assert [m.files for m in stored] == [m.files for m in result.modifications]


async def test_nothing_new_records_nothing_and_still_publishes(
    service: MaterialUpdateService, repo: GitRepo, bus: MemoryBus
) -> None:
    repo.commit("one", a="1")
    material = git_material(repo)
    await service.update(material)

    async with bus.subscribe(MATERIAL_UPDATED) as events:
        result = await service.update(material)
        event = await asyncio.wait_for(events.__anext__(), 5)

    assert result.ok
    assert result.modifications == ()
    assert event.payload == {"fingerprint": material.fingerprint, "modification_ids": []}


async def test_update_publishes_the_new_modification_ids(
    service: MaterialUpdateService, repo: GitRepo, bus: MemoryBus
) -> None:
    repo.commit("one", a="1")
    material = git_material(repo)
    async with bus.subscribe(MATERIAL_UPDATED) as events:
        result = await service.update(material)
        event = await asyncio.wait_for(events.__anext__(), 5)
    assert event.payload == {
        "fingerprint": material.fingerprint,
        "modification_ids": result.modification_ids,
    }
    assert len(result.modification_ids) == 1


async def test_a_rewritten_history_records_the_new_head_only(
    service: MaterialUpdateService, repo: GitRepo, uow: SqlUnitOfWorkFactory
) -> None:
    repo.commit("one", a="1")
    repo.commit("two", a="2")
    material = git_material(repo)
    await service.update(material)
    repo.git("reset", "--quiet", "--hard", "HEAD~1")
    rewritten = repo.commit("two again", a="two")

    result = await service.update(material)

    assert [m.revision for m in result.modifications] == [rewritten]


async def test_shallow_clone_material_fetches_a_shallow_cache(
    service: MaterialUpdateService, repo: GitRepo
) -> None:
    for n in range(5):
        head = repo.commit(f"c{n}", a=str(n))
    material = GitMaterialConfig(url=f"file://{repo.path}", branch="main", shallow_clone=True)

    result = await service.update(material)

    assert [m.revision for m in result.modifications] == [head]
    assert (service.cache_path(material.fingerprint) / "shallow").exists()
    newer = repo.commit("c5", a="5")
    assert [m.revision for m in (await service.update(material)).modifications] == [newer]


async def test_an_unreachable_repo_is_recorded_with_masked_credentials_and_backs_off(
    service: MaterialUpdateService, holder: Holder, clock: FakeClock, tmp_path: Path
) -> None:
    material = GitMaterialConfig(url="https://bob:s3cret@127.0.0.1:9/repo.git", branch="main")
    holder.config = config_of(material)

    results = await service.update_all_due()

    assert len(results) == 1
    assert not results[0].ok
    error = results[0].error or ""
    assert "s3cret" not in error
    assert "failed" in error
    status = service.status(material.fingerprint)
    assert status.failures == 1
    assert status.last_error == error
    assert status.last_error_at == clock.now()
    assert status.next_poll_at == clock.now() + timedelta(minutes=5)
    assert service.due() == []
    clock.advance(299)
    assert service.due() == []
    clock.advance(1)
    assert service.due() == [material]
    await service.update_all_due()
    assert service.status(material.fingerprint).failures == 2
    assert service.status(material.fingerprint).next_poll_at == clock.now() + timedelta(minutes=7.5)


async def test_a_bad_branch_is_an_error_and_a_later_success_clears_it(
    service: MaterialUpdateService, repo: GitRepo, holder: Holder, clock: FakeClock
) -> None:
    repo.commit("one", a="1")
    material = GitMaterialConfig(url=str(repo.path), branch="nope")
    result = await service.update(material)
    assert not result.ok
    assert "nope" in (result.error or "")

    repo.git("branch", "nope")
    assert (await service.update(material)).ok
    status = service.status(material.fingerprint)
    assert status.last_error is None
    assert status.failures == 0
    assert status.last_updated_at == clock.now()


async def test_a_poll_of_an_unchanged_branch_is_answered_by_ls_remote_without_a_fetch(
    service: MaterialUpdateService, repo: GitRepo, uow: SqlUnitOfWorkFactory
) -> None:
    first = repo.commit("one", a="1")
    material = git_material(repo)
    await service.update(material)
    fetch_head = service.cache_path(material.fingerprint) / "FETCH_HEAD"
    os.utime(fetch_head, ns=(0, 0))  # a fetch rewrites FETCH_HEAD; nothing else touches it

    assert (await service.update(material, poll=True)).modifications == ()
    assert fetch_head.stat().st_mtime_ns == 0

    second = repo.commit("two", a="2")
    result = await service.update(material, poll=True)
    assert [m.revision for m in result.modifications] == [second]
    assert fetch_head.stat().st_mtime_ns != 0
    assert await recorded(uow, material.fingerprint) == [first, second]


async def test_a_requested_update_fetches_without_asking_the_remote_first(
    service: MaterialUpdateService, repo: GitRepo
) -> None:
    repo.commit("one", a="1")
    material = git_material(repo)
    await service.update(material)
    fetch_head = service.cache_path(material.fingerprint) / "FETCH_HEAD"
    os.utime(fetch_head, ns=(0, 0))

    assert (await service.update(material)).modifications == ()
    assert fetch_head.stat().st_mtime_ns != 0


async def test_a_known_material_whose_remote_fails_backs_off_and_recovers(
    service: MaterialUpdateService,
    repo: GitRepo,
    holder: Holder,
    clock: FakeClock,
    uow: SqlUnitOfWorkFactory,
) -> None:
    first = repo.commit("one", a="1")
    material = git_material(repo)
    holder.config = config_of(material)
    await service.update_all_due()
    moved = repo.path.with_name("away")
    repo.path.rename(moved)
    clock.advance(60)

    failed = await service.update_all_due()

    assert [r.ok for r in failed] == [False]
    status = service.status(material.fingerprint)
    assert status.failures == 1
    assert status.next_poll_at == clock.now() + timedelta(minutes=5)
    moved.rename(repo.path)
    second = repo.commit("two", a="2")
    clock.advance(300)
    assert [[m.revision for m in r.modifications] for r in await service.update_all_due()] == [
        [second]
    ]
    assert service.status(material.fingerprint).failures == 0
    assert await recorded(uow, material.fingerprint) == [first, second]


async def test_a_branch_reset_to_an_older_commit_records_that_commit_as_the_head(
    service: MaterialUpdateService, repo: GitRepo, uow: SqlUnitOfWorkFactory
) -> None:
    first = repo.commit("one", a="1")
    material = git_material(repo)
    await service.update(material)
    second = repo.commit("two", a="2")
    await service.update(material)
    repo.git("reset", "--quiet", "--hard", first)

    result = await service.update(material)

    assert [m.revision for m in result.modifications] == [first]
    assert (await recorded(uow, material.fingerprint))[-2:] == [second, first]


def test_backoff_is_gocd_exponential_and_capped() -> None:
    backoff = Backoff()
    assert [backoff.delay(n) for n in (0, 1, 2, 3)] == [0.0, 300.0, 450.0, 675.0]
    assert backoff.delay(50) == 3600.0
    assert Backoff(first=1, multiplier=2, cap=5).delay(4) == 5


async def test_polling_updates_due_auto_update_materials_only(
    service: MaterialUpdateService, repo: GitRepo, holder: Holder, clock: FakeClock
) -> None:
    repo.commit("one", a="1")
    polled = git_material(repo)
    manual = GitMaterialConfig(url=str(repo.path), branch="main", auto_update=False, name="m")
    other = repo.path.parent / "other"
    other.mkdir()
    GitRepo(other, branch="main").commit("x", x="1")
    not_polled = GitMaterialConfig(url=str(other), branch="main", auto_update=False)
    holder.config = config_of(polled, manual, not_polled, SvnMaterialConfig(url="svn://x"))

    assert [m.fingerprint for m in service.due()] == [polled.fingerprint]
    results = await service.update_all_due()
    assert [r.fingerprint for r in results] == [polled.fingerprint]

    assert service.due() == []  # polled a moment ago
    clock.advance(60)
    assert [m.fingerprint for m in service.due()] == [polled.fingerprint]


def test_a_material_shared_by_pipelines_polls_if_any_says_so(tmp_path: Path) -> None:
    a = GitMaterialConfig(url="https://h/r.git", auto_update=False)
    b = GitMaterialConfig(url="https://h/r.git", auto_update=True, name="b")
    found = git_materials_of(config_of(a, b))
    assert len(found) == 1
    assert found[0].auto_update


async def test_updates_of_one_material_never_overlap(
    service: MaterialUpdateService, repo: GitRepo, uow: SqlUnitOfWorkFactory
) -> None:
    repo.commit("one", a="1")
    material = git_material(repo)
    first = service.start_update(material)
    second = service.start_update(material)  # while the first runs: run once more
    assert first is second
    assert service.status(material.fingerprint).in_progress
    result = await first
    assert result.ok
    assert len(await recorded(uow, material.fingerprint)) == 1
    assert not service.status(material.fingerprint).in_progress


async def test_matching_compares_urls_without_credentials_and_branches(
    service: MaterialUpdateService, holder: Holder
) -> None:
    main = GitMaterialConfig(url="https://bob:pw@github.com/org/repo.git", branch="main")
    dev = GitMaterialConfig(url="https://github.com/org/repo.git", branch="dev")
    holder.config = config_of(main, dev)
    assert service.matching(["https://github.com/org/repo.git"], "main") == [main]
    assert service.matching(["https://github.com/org/repo.git"]) == [main, dev]
    assert service.matching(["https://github.com/org/other.git"], "main") == []


async def test_close_lets_running_updates_finish(
    service: MaterialUpdateService, repo: GitRepo, uow: SqlUnitOfWorkFactory
) -> None:
    repo.commit("one", a="1")
    material = git_material(repo)
    task = service.start_update(material)
    await service.close()
    assert task.done()
    assert task.result().ok
    assert len(await recorded(uow, material.fingerprint)) == 1


async def test_polling_loop_updates_due_materials_and_stops(
    service: MaterialUpdateService, repo: GitRepo, holder: Holder, bus: MemoryBus
) -> None:
    from pygocd.scheduler.material_polling import material_poller

    head = repo.commit("one", a="1")
    material = git_material(repo)
    holder.config = config_of(material)
    async with bus.subscribe(MATERIAL_UPDATED) as events:
        task = asyncio.create_task(material_poller(service, tick=0.01)())
        event = await asyncio.wait_for(events.__anext__(), 10)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert event.payload["fingerprint"] == material.fingerprint
    assert service.status(material.fingerprint).last_error is None
    assert task.cancelled()
    assert head
