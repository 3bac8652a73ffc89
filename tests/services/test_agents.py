"""Agent registration, tokens, admin changes and GoCD's lost-contact rule, on a real database."""

from __future__ import annotations

from pathlib import Path

import pytest

from pygocd.domain.errors import Conflict, Invalid, NotFound
from pygocd.domain.pipelines import JobConfig, PipelineConfig, StageConfig
from pygocd.domain.states import AgentConfigState, AgentRuntimeStatus, JobState
from pygocd.domain.tasks import ExecTask
from pygocd.services.agents import AgentUpdate, BadCredentials, NotAuthenticated, hash_token
from pygocd.services.health import ServerHealth
from pygocd.services.registry import Services
from tests.agent_setup import REPO, commit, register, save, trigger, with_agents
from tests.fakes import FakeClock

pytestmark = pytest.mark.db


@pytest.fixture
def agent_services(services: Services, tmp_path: Path) -> Services:
    return with_agents(services, tmp_path)


def one_job_pipeline(name: str = "app") -> PipelineConfig:
    return PipelineConfig(
        name=name,
        materials=(REPO,),
        stages=(StageConfig("build", jobs=(JobConfig("compile", tasks=(ExecTask("true"),)),)),),
    )


async def test_the_auto_register_key_enables_an_agent_with_what_it_asked_for(
    agent_services: Services,
) -> None:
    assert agent_services.agents is not None
    await register(agent_services, resources=("linux", " java ", "LINUX"), environments=("qa",))
    agent = await agent_services.agents.get("agent-1")
    assert agent.config_state is AgentConfigState.ENABLED
    assert agent.resources == ("linux", "java")
    assert agent.environments == ("qa",)
    assert agent.hostname == "agent-1.local"


async def test_without_the_key_an_agent_waits_pending_and_gets_no_resources(
    agent_services: Services,
) -> None:
    assert agent_services.agents is not None
    await register(agent_services, key="wrong", resources=("linux",))
    agent = await agent_services.agents.get("agent-1")
    assert agent.config_state is AgentConfigState.PENDING
    assert agent.resources == ()


async def test_only_a_hash_of_the_token_is_stored(agent_services: Services) -> None:
    token = await register(agent_services)
    async with agent_services.uow() as uow:
        stored = await uow.agents.token_hash("agent-1")
    assert stored == hash_token(token)
    assert stored != token


async def test_tokens_are_checked(agent_services: Services) -> None:
    assert agent_services.agents is not None
    token = await register(agent_services)
    assert (await agent_services.agents.authenticate("agent-1", token)).uuid == "agent-1"
    with pytest.raises(BadCredentials):
        await agent_services.agents.authenticate("agent-1", token + "x")
    with pytest.raises(BadCredentials):
        await agent_services.agents.authenticate("agent-2", token)
    with pytest.raises(NotAuthenticated):
        await agent_services.agents.authenticate("agent-1", None)


async def test_a_uuid_registers_once(agent_services: Services) -> None:
    await register(agent_services)
    with pytest.raises(Conflict):
        await register(agent_services)


async def test_admins_enable_disable_and_change_resources(agent_services: Services) -> None:
    assert agent_services.agents is not None
    await register(agent_services, key=None)
    agent = await agent_services.agents.update(
        "agent-1",
        AgentUpdate(
            config_state=AgentConfigState.ENABLED,
            resources=("docker",),
            environments=("prod",),
            hostname="renamed",
        ),
    )
    assert agent.config_state is AgentConfigState.ENABLED
    assert (await agent_services.agents.get("agent-1")).resources == ("docker",)
    assert agent.hostname == "renamed"
    with pytest.raises(NotFound):
        await agent_services.agents.update("nobody", AgentUpdate(hostname="x"))
    with pytest.raises(Invalid):
        await agent_services.agents.update("agent-1", AgentUpdate(hostname=" "))


async def test_only_a_disabled_idle_agent_can_be_deleted(agent_services: Services) -> None:
    assert agent_services.agents is not None
    await register(agent_services)
    with pytest.raises(Invalid):
        await agent_services.agents.delete("agent-1")
    await agent_services.agents.update(
        "agent-1", AgentUpdate(config_state=AgentConfigState.DISABLED)
    )
    await agent_services.agents.delete("agent-1")
    assert await agent_services.agents.all() == []
    with pytest.raises(NotFound):
        await agent_services.agents.delete("agent-1")


async def test_a_silent_agent_loses_contact_and_its_job_is_rescheduled(
    agent_services: Services, clock: FakeClock
) -> None:
    assert agent_services.agents is not None
    assert agent_services.assignment is not None
    await save(agent_services, one_job_pipeline())
    await commit(agent_services)
    await register(agent_services, "agent-1")
    await register(agent_services, "agent-2")
    await trigger(agent_services, "app")
    agent = await agent_services.agents.get("agent-1")
    claimed = await agent_services.assignment.claim(agent)
    assert claimed is not None
    clock.advance(200)
    await agent_services.agents.heartbeat("agent-2", AgentRuntimeStatus.IDLE)
    assert await agent_services.agents.check_lost_contact() == []
    clock.advance(150)
    assert await agent_services.agents.check_lost_contact() == ["agent-1"]
    lost = await agent_services.agents.get("agent-1")
    assert lost.runtime_status is AgentRuntimeStatus.LOST_CONTACT
    async with agent_services.uow() as uow:
        scheduled = await uow.jobs.scheduled()
        old = await uow.jobs.get(claimed[0].id or 0)
    assert [job.name for job, _ in scheduled] == ["compile"]
    assert old is not None
    assert old[0].state is JobState.RESCHEDULED
    assert old[0].ignored
    # The other agent picks it up.
    other = await agent_services.agents.get("agent-2")
    assert await agent_services.assignment.claim(other) is not None
    # Marking happens once.
    assert await agent_services.agents.check_lost_contact() == []


async def test_an_idle_agent_asking_for_work_gives_back_what_it_lost(
    agent_services: Services,
) -> None:
    assert agent_services.agents is not None
    assert agent_services.assignment is not None
    await save(agent_services, one_job_pipeline())
    await commit(agent_services)
    await register(agent_services)
    await trigger(agent_services, "app")
    agent = await agent_services.agents.get("agent-1")
    first = await agent_services.assignment.claim(agent)
    assert first is not None
    assert await agent_services.agents.reschedule_leftovers("agent-1") == 1
    again = await agent_services.assignment.claim(agent)
    assert again is not None
    assert again[0].id != first[0].id
    assert (await agent_services.agents.building("agent-1")) is not None


async def test_job_history_pages_through_an_agents_jobs(agent_services: Services) -> None:
    assert agent_services.agents is not None
    assert agent_services.assignment is not None
    await save(agent_services, one_job_pipeline())
    await commit(agent_services)
    await register(agent_services)
    await trigger(agent_services, "app")
    agent = await agent_services.agents.get("agent-1")
    await agent_services.assignment.claim(agent)
    jobs, total = await agent_services.agents.job_history("agent-1", 0, 10)
    assert total == 1
    assert jobs[0][1].locator == "app/1/build/1/compile"
    with pytest.raises(NotFound):
        await agent_services.agents.job_history("nobody", 0, 10)


async def test_after_a_restart_agents_are_missing_until_they_call(
    agent_services: Services, clock: FakeClock, tmp_path: Path
) -> None:
    """A second service on the same database is a restarted server: GoCD's AgentInstance
    starts registered agents as Missing, counts their silence from the start, and shows
    them as they report once they call."""
    assert agent_services.agents is not None
    await register(agent_services, "enabled")
    await register(agent_services, "pending", key=None)
    await register(agent_services, "disabled")
    await agent_services.agents.update(
        "disabled", AgentUpdate(config_state=AgentConfigState.DISABLED)
    )
    clock.advance(10)
    restarted = with_agents(agent_services, tmp_path).agents
    assert restarted is not None
    seen = {a.uuid: a.runtime_status for a in await restarted.all()}
    assert seen == {
        "enabled": AgentRuntimeStatus.MISSING,
        "pending": AgentRuntimeStatus.IDLE,
        "disabled": AgentRuntimeStatus.MISSING,
    }
    assert (await restarted.get("enabled")).status == "Missing"
    assert (await restarted.get("disabled")).status == "Disabled"
    # Silence is counted from the restart, not from the last call before it.
    clock.advance(299)
    assert await restarted.check_lost_contact() == []
    await restarted.heartbeat("enabled", AgentRuntimeStatus.IDLE)
    assert (await restarted.get("enabled")).runtime_status is AgentRuntimeStatus.IDLE
    clock.advance(1)
    assert (await restarted.get("disabled")).runtime_status is AgentRuntimeStatus.LOST_CONTACT
    lost = await restarted.check_lost_contact()
    assert "disabled" in lost
    assert "enabled" not in lost
    assert "pending" not in lost  # GoCD forgets a silent pending agent rather than lose it
    assert "pending" not in {a.uuid for a in await restarted.all()}
    assert (await restarted.get("enabled")).runtime_status is AgentRuntimeStatus.IDLE
    # The old process still sees what it heard itself.
    assert (await agent_services.agents.get("enabled")).runtime_status is AgentRuntimeStatus.IDLE


async def test_an_agent_cancelling_for_over_ten_minutes_gets_a_stuck_warning(
    agent_services: Services, clock: FakeClock, tmp_path: Path
) -> None:
    """GoCD's `Agent `x` is stuck in cancel.` health warning, the hint to kill its tasks."""
    health = ServerHealth(clock)
    agents = with_agents(agent_services, tmp_path, health=health).agents
    assert agents is not None
    await register(agent_services, "a1")
    await agents.heartbeat("a1", AgentRuntimeStatus.CANCELLED)
    clock.advance(600)
    assert await agents.warn_stuck_in_cancel() == []
    await agents.heartbeat("a1", AgentRuntimeStatus.CANCELLED)  # still cancelling
    clock.advance(61)
    assert await agents.check_lost_contact() == []
    [warning] = health.messages()
    assert warning.message == "Agent `a1.local` is stuck in cancel."
    assert warning.detail == (
        "Looks like agent is stuck in cancelling a job, the job was cancelled: 11 (mins) back."
    )
    await agents.heartbeat("a1", AgentRuntimeStatus.IDLE)
    assert health.messages() == []
    assert await agents.warn_stuck_in_cancel() == []


async def test_a_pending_agent_silent_too_long_is_forgotten_and_may_register_again(
    agent_services: Services, clock: FakeClock
) -> None:
    assert agent_services.agents is not None
    await register(agent_services, "new", key=None)
    await register(agent_services, "other")
    clock.advance(299)
    assert await agent_services.agents.check_lost_contact() == []
    assert (await agent_services.agents.get("new")).config_state is AgentConfigState.PENDING
    clock.advance(2)
    assert await agent_services.agents.check_lost_contact() == ["other"]
    with pytest.raises(NotFound):
        await agent_services.agents.get("new")
    await register(agent_services, "new", key=None)  # it came back: Pending again
    assert (await agent_services.agents.get("new")).config_state is AgentConfigState.PENDING
