"""Pipeline instances on a real database: counters, labels, stages, jobs, build causes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from pygocd.db.unit_of_work import SqlUnitOfWorkFactory
from pygocd.domain.config import ConfigRevision
from pygocd.domain.errors import Conflict
from pygocd.domain.materials import GitMaterialConfig
from pygocd.domain.modifications import MaterialRevision, Modification, ModifiedAction, ModifiedFile
from pygocd.domain.pipelines import JobConfig, PipelineConfig, StageConfig
from pygocd.domain.runs import BuildCause, BuildCauseType
from pygocd.domain.states import JobState, StageState
from pygocd.domain.tasks import ExecTask
from pygocd.domain.variables import EnvironmentVariable
from pygocd.services.instances import create_instance
from tests.fakes import FakeClock

pytestmark = pytest.mark.db

REPO = GitMaterialConfig(url="https://example.com/app.git", name="app")


def pipeline(label_template: str = "${COUNT}") -> PipelineConfig:
    return PipelineConfig(
        name="Build-App",
        label_template=label_template,
        materials=(REPO,),
        stages=(
            StageConfig(
                "compile",
                jobs=(
                    JobConfig("unit", tasks=(ExecTask("make"),)),
                    JobConfig("lint", tasks=(ExecTask("ruff"),), run_instance_count=2),
                ),
            ),
            StageConfig("deploy", jobs=(JobConfig("ship", tasks=(ExecTask("ship"),)),)),
        ),
    )


def forced() -> BuildCause:
    return BuildCause(BuildCauseType.MANUAL_FORCED, "Forced by admin", "admin")


async def test_first_instance_gets_counter_one_and_its_first_stage(
    uow: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    async with uow() as unit:
        created = await create_instance(unit, pipeline(), forced(), clock)
        await unit.commit()
    assert (created.counter, created.label) == (1, "1")
    [stage] = created.stages
    assert (stage.name, stage.counter, stage.order, stage.approved_by) == ("compile", 1, 1, "admin")
    assert [j.name for j in stage.jobs] == ["unit", "lint-runInstance-1", "lint-runInstance-2"]
    assert all(j.state is JobState.SCHEDULED and j.id for j in stage.jobs)

    async with uow(read_only=True) as unit:
        loaded = await unit.pipeline_instances.find("build-app", 1)
        state = await unit.pipeline_instances.state("BUILD-APP")
    assert loaded == created
    assert loaded.stages[0].state is StageState.BUILDING
    assert loaded.stages[0].jobs[0].transitions[0].state is JobState.SCHEDULED
    assert state.last_counter == 1
    assert not state.pause.paused


async def test_an_uncommitted_instance_is_rolled_back(
    uow: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    async with uow() as unit:
        await create_instance(unit, pipeline(), forced(), clock)
    async with uow(read_only=True) as unit:
        assert await unit.pipeline_instances.find("Build-App", 1) is None
        assert await unit.pipeline_instances.list_counters("Build-App") == []


async def test_the_build_cause_round_trips_and_a_light_load_leaves_out_its_materials(
    uow: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    when = datetime(2026, 5, 1, tzinfo=UTC)
    async with uow() as unit:
        material_id = await unit.materials.ensure(REPO)
        [older, newer] = await unit.materials.add_modifications(
            material_id,
            [
                Modification("a" * 40, when, user_name="ann", comment="first"),
                Modification(
                    "b" * 40,
                    when,
                    user_name="bob",
                    email_address="bob@example.com",
                    comment="second",
                    files=(ModifiedFile("src/x.py", ModifiedAction.MODIFIED),),
                ),
            ],
        )
        cause = BuildCause(
            BuildCauseType.MODIFICATION,
            "modified by bob",
            "changes",
            material_revisions=(
                MaterialRevision(
                    REPO.fingerprint, (newer, older), changed=True, material_name="app"
                ),
            ),
            trigger_variables=(EnvironmentVariable("ENV", "qa"),),
        )
        created = await create_instance(
            unit, pipeline("${COUNT}-${app[:7]}-${env:ENV}"), cause, clock
        )
        await unit.commit()
    assert created.label == "1-bbbbbbb-qa"
    async with uow(read_only=True) as unit:
        loaded = await unit.pipeline_instances.find("Build-App", 1)
    assert loaded is not None
    [revision] = loaded.build_cause.material_revisions
    assert revision.revision == "b" * 40
    assert revision.from_revision == "a" * 40
    assert revision.changed
    assert revision.latest.files[0].file_name == "src/x.py"
    assert loaded.build_cause.trigger_variables == (EnvironmentVariable("ENV", "qa"),)

    async with uow(read_only=True) as unit:
        light = await unit.pipeline_instances.find("Build-App", 1, with_materials=False)
        assert created.stages[0].id is not None
        by_stage = await unit.pipeline_instances.find_by_stage_id(
            created.stages[0].id, with_materials=False
        )
        [newest] = await unit.pipeline_instances.latest("Build-App", with_materials=False)
    for partial in (light, by_stage, newest):
        assert partial is not None
        assert partial.build_cause.material_revisions == ()
        assert partial.build_cause.trigger_variables == loaded.build_cause.trigger_variables
        assert partial.stages == loaded.stages
        assert partial.label == loaded.label


async def test_concurrent_instances_get_distinct_consecutive_counters(
    uow: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    async def one() -> int:
        async with uow() as unit:
            created = await create_instance(unit, pipeline(), forced(), clock)
            await unit.commit()
            return created.counter

    counters = await asyncio.gather(*(one() for _ in range(20)))
    assert sorted(counters) == list(range(1, 21))
    async with uow(read_only=True) as unit:
        assert await unit.pipeline_instances.list_counters("build-app") == list(range(1, 21))


async def test_two_revisions_on_the_same_parent_conflict_in_the_database(
    uow: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    def revision(md5: str) -> ConfigRevision:
        return ConfigRevision(md5, "", {}, "a", "m", clock.now(), parent_id=0)

    async with uow() as unit:
        await unit.config_revisions.add(revision("1" * 32))
        await unit.commit()
    with pytest.raises(Conflict):
        async with uow() as unit:
            await unit.config_revisions.add(revision("2" * 32))
