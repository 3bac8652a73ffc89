"""`PerPipelineCache` through the dashboard and CCTray read models: a change reloads only
the pipeline it touched (the others keep their very objects, which the renderers reuse by
identity), and a config change reloads only the pipelines whose config changed."""

from __future__ import annotations

import pytest

from pygocd.services.dashboard import DashboardReadModel, DashboardService
from pygocd.services.registry import Services
from pygocd.services.run_history import CcTrayReadModel, RunHistoryService
from tests import builders as b

pytestmark = pytest.mark.db


async def test_a_run_reloads_only_its_pipeline(services: Services) -> None:
    await b.save(services, b.pipeline("up42"), b.pipeline("other"), b.pipeline("third"))
    await b.commit(services)
    await b.run_to_end(services, "other")
    model = DashboardReadModel(services.uow, services.config)
    cctray = CcTrayReadModel(services.uow, services.config)
    before = {p.name: p for p in (await model.dashboard()).pipelines}
    projects_before = (await cctray.projects()).values
    assert await model.dashboard() is await model.dashboard()  # nothing changed

    await b.trigger(services, "up42")
    after = {p.name: p for p in (await model.dashboard()).pipelines}
    assert after["other"] is before["other"]
    assert after["third"] is before["third"]
    assert after["up42"] is not before["up42"]
    assert after["up42"].has_run
    state = await cctray.projects()
    assert state.reloaded == {"up42"}
    assert state.values["other"] is projects_before["other"]
    assert [p.name for p in state.values["up42"]] == ["up42 :: build", "up42 :: build :: compile"]
    # and what was kept equals what a fresh read gives
    fresh = await DashboardService(services.uow, services.config.current).dashboard()
    assert (await model.dashboard()).pipelines == fresh.pipelines
    history = RunHistoryService(services.uow, services.config)
    assert [p for ps in state.values.values() for p in ps] == await history.cctray()


async def test_a_config_change_reloads_only_the_pipelines_it_changed(services: Services) -> None:
    await b.save(services, b.pipeline("up42"), b.pipeline("other"))
    await b.commit(services)
    await b.run_to_end(services, "up42")
    await b.run_to_end(services, "other")
    model = DashboardReadModel(services.uow, services.config)
    before = {p.name: p for p in (await model.dashboard()).pipelines}

    await b.save(
        services, b.pipeline("up42"), b.pipeline("other", b.stage("build"), b.stage("ship"))
    )
    board = await model.dashboard()
    after = {p.name: p for p in board.pipelines}
    assert after["up42"] is before["up42"]
    assert after["other"] is not before["other"]
    [instance] = after["other"].instances
    assert [(s.name, s.has_run) for s in instance.stages] == [("build", True), ("ship", False)]
    fresh = await DashboardService(services.uow, services.config.current).dashboard()
    assert board.pipelines == fresh.pipelines
