"""The incremental read models behind `GET /go/api/dashboard`, `/go/cctray.xml` and the
dashboard page: after every kind of change, an app that refreshed only the changed
pipelines answers exactly what an app building everything afresh answers, and a second app
on the same database sees the first one's changes (and the other way round)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from pygocd.bus.memory import MemoryBus
from pygocd.db import migrate
from pygocd.db.engine import create_engine
from pygocd.db.unit_of_work import SqlUnitOfWorkFactory
from pygocd.domain.pipelines import LockBehavior
from pygocd.domain.states import JobResult, JobState
from pygocd.services.config import ConfigService
from pygocd.services.jobs import JobService
from pygocd.services.registry import Services
from pygocd.services.scheduling import SchedulingService
from pygocd.services.stages import StageService
from pygocd.settings import Settings, async_database_url
from pygocd.web.app import create_app
from tests import builders as b
from tests.fakes import FakeClock

pytestmark = pytest.mark.db

V4 = {"Accept": "application/vnd.go.cd.v4+json"}


@dataclass(frozen=True)
class Views:
    v4: bytes
    cctray: bytes
    page: str

    def card(self, name: str) -> str:
        """The HTML of one pipeline's card on the page."""
        found = re.search(
            rf'<li class="pipeline-card[^"]*" id="pipeline-{name}".*?</article>', self.page, re.S
        )
        assert found is not None, name
        return found.group(0)

    def pipeline(self, name: str) -> dict[str, object]:
        pipelines = json.loads(self.v4)["_embedded"]["pipelines"]
        [found] = [p for p in pipelines if p["name"] == name]
        assert isinstance(found, dict)
        return found


async def views(app: FastAPI) -> Views:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8153") as c:
        v4 = await c.get("/go/api/dashboard", headers=V4)
        cctray = await c.get("/go/cctray.xml")
        page = await c.get("/go/pipelines")
    assert (v4.status_code, cctray.status_code, page.status_code) == (200, 200, 200)
    return Views(v4.content, cctray.content, page.text)


async def same_as_afresh(app: FastAPI, services: Services, settings: Settings) -> Views:
    """The long-lived app's answers, checked against a new app's (which reads everything)."""
    kept = await views(app)
    fresh = await views(create_app(services, settings))
    assert kept.v4 == fresh.v4
    assert kept.cctray == fresh.cctray
    assert kept.page == fresh.page
    return kept


def instances(view: Views, name: str) -> list[dict[str, object]]:
    embedded = view.pipeline(name)["_embedded"]
    assert isinstance(embedded, dict)
    found = embedded["instances"]
    assert isinstance(found, list)
    return found


def stage_statuses(view: Views, name: str) -> list[str]:
    [newest, *_] = instances(view, name)
    stages = newest["_embedded"]["stages"]  # type: ignore[index]
    return [s["status"] for s in stages]


async def test_every_kind_of_change_shows_in_the_next_response(
    services: Services, settings: Settings
) -> None:
    await b.save(
        services,
        b.pipeline("up42", b.stage("build"), b.stage("ship")),
        b.pipeline("guarded", b.stage("build"), b.stage("ship"), lock=LockBehavior.LOCK_ON_FAILURE),
        b.pipeline("never"),
    )
    await b.commit(services)
    app = create_app(services, settings)
    first = await same_as_afresh(app, services, settings)
    assert instances(first, "up42") == []
    assert b"up42" not in first.cctray

    started = await b.trigger(services, "up42")
    view = await same_as_afresh(app, services, settings)
    assert stage_statuses(view, "up42") == ["Building", "Unknown"]
    assert b'name="up42 :: build" activity="Building"' in view.cctray

    await b.start_job(services, started.stages[0].jobs[0].id)
    view = await same_as_afresh(app, services, settings)
    assert b'name="up42 :: build :: compile" activity="Building"' in view.cctray

    assert services.jobs is not None
    await services.jobs.report(
        started.stages[0].jobs[0].id or 0, b.AGENT, JobState.COMPLETED, JobResult.PASSED
    )
    view = await same_as_afresh(app, services, settings)
    assert stage_statuses(view, "up42")[0] == "Passed"
    assert b'name="up42 :: build" activity="Sleeping" lastBuildStatus="Success"' in view.cctray

    assert services.stages is not None
    await services.stages.pause("never", username="alice", cause="freeze")
    view = await same_as_afresh(app, services, settings)
    assert view.pipeline("never")["pause_info"]["paused"] is True  # type: ignore[index]
    assert "is-paused" in view.card("never")
    await services.stages.unpause("never", username="alice")
    view = await same_as_afresh(app, services, settings)
    assert view.pipeline("never")["pause_info"]["paused"] is False  # type: ignore[index]
    assert "is-paused" not in view.card("never")

    await b.run_to_end(services, "guarded", JobResult.FAILED)
    view = await same_as_afresh(app, services, settings)
    assert view.pipeline("guarded")["locked"] is True
    assert "card-icon--lock" in view.card("guarded")
    await services.stages.unlock("guarded")
    view = await same_as_afresh(app, services, settings)
    assert view.pipeline("guarded")["locked"] is False
    assert "card-icon--lock" not in view.card("guarded")

    # config: a new pipeline, a deleted one, and a changed one (a third stage)
    await b.save(
        services,
        b.pipeline("up42", b.stage("build"), b.stage("ship"), b.stage("announce")),
        b.pipeline("guarded", b.stage("build"), b.stage("ship"), lock=LockBehavior.LOCK_ON_FAILURE),
        b.pipeline("fresh"),
    )
    view = await same_as_afresh(app, services, settings)
    names = [p["name"] for p in json.loads(view.v4)["_embedded"]["pipelines"]]
    assert names == ["up42", "guarded", "fresh"]
    assert 'id="pipeline-never"' not in view.page
    assert 'id="pipeline-fresh"' in view.page
    assert stage_statuses(view, "up42") == ["Passed", "Building", "Unknown"]


async def _second_services(database_url: str, clock: FakeClock) -> tuple[Services, AsyncEngine]:
    """Another server's services on the same database: own engine, bus and config."""
    engine = create_engine(async_database_url(database_url))
    await migrate.upgrade(engine)
    uow = SqlUnitOfWorkFactory(engine)
    bus = MemoryBus()
    config = ConfigService(uow, clock, bus)
    await config.load()
    stages = StageService(uow, clock, bus, config)
    return (
        Services(
            uow=uow,
            bus=bus,
            clock=clock,
            config=config,
            scheduling=SchedulingService(uow, clock, bus, config),
            stages=stages,
            jobs=JobService(uow, clock, stages),
        ),
        engine,
    )


@pytest.fixture
async def other(migrated_database_url: str, clock: FakeClock) -> AsyncIterator[Services]:
    services, engine = await _second_services(migrated_database_url, clock)
    yield services
    await engine.dispose()


async def test_two_servers_on_one_database_see_each_others_changes(
    services: Services, other: Services, settings: Settings
) -> None:
    await b.save(services, b.pipeline("up42"), b.pipeline("down"))
    await b.commit(services)
    await other.config.load()  # what the config-change notification does in the other server
    one, two = create_app(services, settings), create_app(other, settings)
    assert instances(await views(one), "up42") == instances(await views(two), "up42") == []

    started = await b.trigger(services, "up42")
    seen = await views(two)
    assert stage_statuses(seen, "up42") == ["Building"]
    assert b'name="up42 :: build" activity="Building"' in seen.cctray

    await b.finish_job(other, started.stages[0].jobs[0].id)
    assert other.stages is not None
    await other.stages.pause("down", username="bob", cause=None)
    seen = await views(one)
    assert stage_statuses(seen, "up42") == ["Passed"]
    assert b'name="up42 :: build" activity="Sleeping" lastBuildStatus="Success"' in seen.cctray
    assert "is-paused" in seen.card("down")
    assert (await views(one)).v4 == (await views(two)).v4
