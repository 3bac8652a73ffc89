"""GoCD's job ↔ agent matching, on a real database: resources, environments, pinning, config
state, oldest first, one job to one agent, and the long-poll that wakes on a new job."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pygocd.domain.agents import Agent
from pygocd.domain.environments import EnvironmentConfig
from pygocd.domain.pipelines import JobConfig, PipelineConfig, StageConfig
from pygocd.domain.runs import JobIdentifier, JobInstance
from pygocd.domain.states import AgentConfigState
from pygocd.domain.tasks import ExecTask
from pygocd.services.agents import AgentUpdate
from pygocd.services.assignment import config_job_name
from pygocd.services.registry import Services
from tests.agent_setup import REPO, commit, register, save, trigger, with_agents

pytestmark = pytest.mark.db


@pytest.fixture
def agent_services(services: Services, tmp_path: Path) -> Services:
    return with_agents(services, tmp_path)


def pipeline(name: str, *jobs: JobConfig) -> PipelineConfig:
    return PipelineConfig(
        name=name,
        materials=(REPO,),
        stages=(
            StageConfig("build", jobs=jobs or (JobConfig("compile", tasks=(ExecTask("true"),)),)),
        ),
    )


def job(name: str, *resources: str) -> JobConfig:
    return JobConfig(name, tasks=(ExecTask("true"),), resources=resources)


async def claim(services: Services, uuid: str) -> tuple[JobInstance, JobIdentifier] | None:
    assert services.agents is not None
    assert services.assignment is not None
    return await services.assignment.claim(await services.agents.get(uuid))


async def test_resources_must_be_a_subset_case_insensitively(agent_services: Services) -> None:
    await save(agent_services, pipeline("app", job("needs", "Linux", "docker")))
    await commit(agent_services)
    await register(agent_services, "plain")
    await register(agent_services, "partial", resources=("linux",))
    await register(agent_services, "rich", resources=("DOCKER", "linux", "java"))
    await trigger(agent_services, "app")
    assert await claim(agent_services, "plain") is None
    assert await claim(agent_services, "partial") is None
    found = await claim(agent_services, "rich")
    assert found is not None
    assert found[0].name == "needs"


async def test_environment_rule_both_ways(agent_services: Services) -> None:
    await save(
        agent_services,
        pipeline("inside"),
        pipeline("outside"),
        environments=(EnvironmentConfig("prod", pipelines=("inside",)),),
    )
    await commit(agent_services)
    await register(agent_services, "prod-agent", environments=("prod",))
    await register(agent_services, "free-agent")
    await register(agent_services, "ghost-env", environments=("nowhere",))
    await trigger(agent_services, "inside")
    assert await claim(agent_services, "free-agent") is None
    assert await claim(agent_services, "ghost-env") is None
    got = await claim(agent_services, "prod-agent")
    assert got is not None
    assert got[1].pipeline_name == "inside"
    await trigger(agent_services, "outside")
    assert await claim(agent_services, "prod-agent") is None
    # An environment unknown to the config does not count: that agent is environment-less.
    got = await claim(agent_services, "ghost-env")
    assert got is not None
    assert got[1].pipeline_name == "outside"


async def test_pending_and_disabled_agents_get_nothing(agent_services: Services) -> None:
    assert agent_services.agents is not None
    await save(agent_services, pipeline("app"))
    await commit(agent_services)
    await register(agent_services, "pending", key=None)
    await register(agent_services, "disabled")
    await agent_services.agents.update(
        "disabled", AgentUpdate(config_state=AgentConfigState.DISABLED)
    )
    await trigger(agent_services, "app")
    assert await claim(agent_services, "pending") is None
    assert await claim(agent_services, "disabled") is None


async def test_oldest_job_first_and_one_job_to_one_agent(agent_services: Services) -> None:
    await save(agent_services, pipeline("first"), pipeline("second"))
    await commit(agent_services)
    await register(agent_services, "a1")
    await register(agent_services, "a2")
    await register(agent_services, "a3")
    await trigger(agent_services, "first")
    await trigger(agent_services, "second")
    results = await asyncio.gather(
        claim(agent_services, "a1"), claim(agent_services, "a2"), claim(agent_services, "a3")
    )
    claimed = [r[1].pipeline_name for r in results if r is not None]
    assert sorted(claimed) == ["first", "second"]
    assert len(set(claimed)) == 2


async def test_a_pinned_job_goes_only_to_its_agent(agent_services: Services) -> None:
    assert agent_services.assignment is not None
    await register(agent_services, "a1")
    await register(agent_services, "a2")
    a1 = Agent(uuid="a1", hostname="h", config_state=AgentConfigState.ENABLED)
    a2 = Agent(uuid="a2", hostname="h", config_state=AgentConfigState.ENABLED)
    pinned = JobInstance(name="all-runOnAll-1", agent_uuid="a1", run_on_all_agents=True)
    identifier = JobIdentifier("nope", 1, "1", "build", 1, "all-runOnAll-1")
    assert agent_services.assignment.matches(a1, pinned, identifier)
    assert not agent_services.assignment.matches(a2, pinned, identifier)
    assert config_job_name(pinned) == "all"
    assert config_job_name(JobInstance(name="x-runInstance-3", run_multiple_instance=True)) == "x"
    assert config_job_name(JobInstance(name="plain-runInstance-3")) == "plain-runInstance-3"


async def test_a_waiting_agent_wakes_when_a_job_is_scheduled(agent_services: Services) -> None:
    assert agent_services.assignment is not None
    await save(agent_services, pipeline("app"))
    await commit(agent_services)
    await register(agent_services, "a1")
    waiting = asyncio.create_task(agent_services.assignment.wait_for_work("a1", 30))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await trigger(agent_services, "app")
    found = await asyncio.wait_for(waiting, 10)
    assert found is not None
    assert found[0].name == "compile"


async def test_waiting_ends_empty_when_nothing_comes(agent_services: Services) -> None:
    assert agent_services.assignment is not None
    await register(agent_services, "a1")
    assert await agent_services.assignment.wait_for_work("a1", 0.05) is None


async def test_a_claimed_job_is_assigned_with_its_transition_and_the_agent_building(
    agent_services: Services,
) -> None:
    await save(agent_services, pipeline("app"))
    await commit(agent_services)
    await register(agent_services, "a1")
    await trigger(agent_services, "app")
    found = await claim(agent_services, "a1")
    assert found is not None
    assert found[0].id is not None
    assert agent_services.jobs is not None
    assert agent_services.agents is not None
    full, _ = await agent_services.jobs.get(found[0].id)
    row, where = await agent_services.jobs.get(found[0].id, with_transitions=False)
    assert [t.state.value for t in full.transitions] == ["Scheduled", "Assigned"]
    assert row.transitions == ()
    assert (row.state, row.agent_uuid, where) == (full.state, "a1", found[1])
    assert (await agent_services.agents.get("a1")).runtime_status.value == "Building"
