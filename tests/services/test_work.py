"""The Work message: checkouts at the build cause's revisions, tasks, artifact plans, fetch
resolution, and GoCD's environment variables in GoCD's order (reference §6.5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pygocd.domain.environments import EnvironmentConfig
from pygocd.domain.materials import DependencyMaterialConfig, GitMaterialConfig
from pygocd.domain.pipelines import (
    ArtifactConfig,
    ArtifactType,
    JobConfig,
    PipelineConfig,
    StageConfig,
)
from pygocd.domain.states import JobResult, JobState
from pygocd.domain.tasks import (
    AntTask,
    ExecTask,
    FetchArtifactTask,
    NantTask,
    PluginTask,
    RakeTask,
    RunIf,
    script_task,
)
from pygocd.domain.variables import EnvironmentVariable
from pygocd.protocol import messages as wire
from pygocd.services.registry import Services
from pygocd.services.scheduling import TriggerOptions
from pygocd.services.work import env_suffix, with_credentials
from tests.agent_setup import commit, register, save, with_agents

pytestmark = pytest.mark.db

CODE = GitMaterialConfig(
    url="https://example.com/code.git",
    branch="main",
    name="my-code",
    destination="src",
    username="bob",
    password="pw",
    shallow_clone=True,
)
SERVER = "http://server:8153/go"


@pytest.fixture
def agent_services(services: Services, tmp_path: Path) -> Services:
    return with_agents(services, tmp_path)


async def run_job(services: Services, pipeline: str, uuid: str = "a1") -> wire.Work:
    """Assign the next job to `uuid`, complete it, and return its Work."""
    assert services.agents is not None
    assert services.assignment is not None
    assert services.work is not None
    agent = await services.agents.get(uuid)
    found = await services.assignment.claim(agent)
    assert found is not None
    job, identifier = found
    assert identifier.pipeline_name == pipeline
    assert job.id is not None
    work = await services.work.build(job.id, agent, SERVER)
    assert services.jobs is not None
    await services.jobs.report(job.id, uuid, JobState.COMPLETED, JobResult.PASSED)
    return work


def env(work: wire.Work) -> dict[str, str]:
    return {v.name: v.value for v in work.environment}


async def test_variables_follow_gocds_order_and_precedence(agent_services: Services) -> None:
    job = JobConfig(
        "compile",
        tasks=(ExecTask("true"),),
        environment_variables=(
            EnvironmentVariable("LEVEL", "job"),
            EnvironmentVariable("TOKEN", "t0ps3cret", secure=True),
        ),
    )
    stage = StageConfig(
        "build",
        jobs=(job,),
        environment_variables=(
            EnvironmentVariable("LEVEL", "stage"),
            EnvironmentVariable("S", "s"),
        ),
    )
    await save(
        agent_services,
        PipelineConfig(
            name="app",
            materials=(CODE,),
            stages=(stage,),
            environment_variables=(
                EnvironmentVariable("LEVEL", "pipeline"),
                EnvironmentVariable("P", "p"),
                EnvironmentVariable("OVERRIDE", "config"),
            ),
        ),
        environments=(
            EnvironmentConfig(
                "prod",
                pipelines=("app",),
                environment_variables=(
                    EnvironmentVariable("LEVEL", "environment"),
                    EnvironmentVariable("E", "e"),
                ),
            ),
        ),
    )
    await commit(agent_services, CODE, "rev-2")
    await register(agent_services, "a1", environments=("prod",), resources=("linux",))
    assert agent_services.scheduling is not None
    await agent_services.scheduling.trigger_manual(
        "app",
        username="alice",
        options=TriggerOptions(
            variables=(EnvironmentVariable("OVERRIDE", "at-trigger", secure=True),),
        ),
    )
    work = await run_job(agent_services, "app")
    values = env(work)
    assert values["GO_SERVER_URL"] == SERVER
    assert values["GO_PIPELINE_NAME"] == "app"
    assert values["GO_PIPELINE_COUNTER"] == "1"
    assert values["GO_PIPELINE_LABEL"] == "1"
    assert values["GO_PIPELINE_GROUP_NAME"] == "team"
    assert values["GO_STAGE_NAME"] == "build"
    assert values["GO_STAGE_COUNTER"] == "1"
    assert values["GO_JOB_NAME"] == "compile"
    assert values["GO_TRIGGER_USER"] == "alice"
    assert values["GO_ENVIRONMENT_NAME"] == "prod"
    assert values["GO_AGENT_RESOURCES"] == "linux"
    assert values["GO_REVISION_MY_CODE"] == "rev-2"
    assert values["GO_TO_REVISION_MY_CODE"] == "rev-2"
    assert values["GO_FROM_REVISION_MY_CODE"] == "rev-2"
    assert values["GO_MATERIAL_URL_MY_CODE"] == "https://example.com/code.git"
    assert values["GO_MATERIAL_BRANCH_MY_CODE"] == "main"
    assert values["GO_MATERIAL_MY_CODE_HAS_CHANGED"] == "true"
    assert values["LEVEL"] == "job"
    assert (values["P"], values["S"], values["E"]) == ("p", "s", "e")
    assert values["OVERRIDE"] == "at-trigger"
    secure = {v.name for v in work.environment if v.secure}
    assert secure == {"TOKEN", "OVERRIDE"}
    names = [v.name for v in work.environment]
    assert names.index("GO_SERVER_URL") < names.index("GO_ENVIRONMENT_NAME")
    assert names.index("E") < names.index("GO_PIPELINE_NAME")
    [checkout] = work.materials
    assert checkout.url == "https://bob:pw@example.com/code.git"
    assert (checkout.revision, checkout.destination, checkout.shallow) == ("rev-2", "src", True)
    assert work.working_directory == "pipelines/app"


async def test_tasks_artifacts_and_timeout(agent_services: Services) -> None:
    failed_only = script_task("echo cleanup")
    failed_only = PluginTask(
        plugin_configuration=failed_only.plugin_configuration,
        configuration=failed_only.configuration,
        run_if=RunIf.FAILED,
    )
    job = JobConfig(
        "compile",
        tasks=(
            ExecTask(
                "make", ("all",), working_directory="src", on_cancel=ExecTask("make", ("stop",))
            ),
            AntTask(build_file="build.xml", target="dist test"),
            NantTask(build_file="x.build", nant_path="/opt/nant"),
            RakeTask(target="spec"),
            failed_only,
            PluginTask(),
        ),
        artifacts=(
            ArtifactConfig(ArtifactType.BUILD, source="out/*.jar", destination="libs"),
            ArtifactConfig(ArtifactType.TEST, source="reports"),
            ArtifactConfig(ArtifactType.EXTERNAL, id="docker", store_id="hub"),
        ),
        timeout=7,
    )
    await save(
        agent_services,
        PipelineConfig(
            name="app",
            materials=(CODE,),
            stages=(StageConfig("build", jobs=(job,), clean_working_directory=True),),
        ),
    )
    await commit(agent_services, CODE)
    await register(agent_services, "a1")
    assert agent_services.scheduling is not None
    await agent_services.scheduling.trigger_manual("app", username="alice")
    work = await run_job(agent_services, "app")
    exec_task, ant, nant, rake, script, plugin = work.tasks
    assert isinstance(exec_task, wire.ExecTask)
    assert (exec_task.command, exec_task.args, exec_task.working_directory) == (
        "make",
        ["all"],
        "src",
    )
    assert isinstance(exec_task.on_cancel, wire.ExecTask)
    assert exec_task.on_cancel.args == ["stop"]
    assert isinstance(ant, wire.ExecTask)
    assert [ant.command, *ant.args] == ["ant", "-f", "build.xml", "dist", "test"]
    assert isinstance(nant, wire.ExecTask)
    assert [nant.command, *nant.args] == ["/opt/nant/nant", "-buildfile:x.build"]
    assert isinstance(rake, wire.ExecTask)
    assert [rake.command, *rake.args] == ["rake", "spec"]
    assert isinstance(script, wire.ScriptTask)
    assert script.script == "echo cleanup"
    assert script.run_if == ["failed"]
    assert isinstance(plugin, wire.UnsupportedTask)
    assert [(a.type, a.source, a.destination) for a in work.artifacts] == [
        ("build", "out/*.jar", "libs"),
        ("test", "reports", ""),
    ]
    assert work.timeout_minutes == 7
    assert work.clean_working_directory


async def test_fetch_resolves_this_pipelines_stage_and_an_upstream(
    agent_services: Services,
) -> None:
    upstream = PipelineConfig(
        name="up",
        materials=(CODE,),
        stages=(
            StageConfig("build", jobs=(JobConfig("compile", tasks=(ExecTask("true"),)),)),
            StageConfig(
                "test",
                jobs=(
                    JobConfig(
                        "verify",
                        tasks=(FetchArtifactTask(stage="build", job="compile", source="bin"),),
                    ),
                ),
            ),
        ),
    )
    dependency = DependencyMaterialConfig(pipeline="up", stage="test")
    downstream = PipelineConfig(
        name="down",
        materials=(dependency,),
        stages=(
            StageConfig(
                "deploy",
                jobs=(
                    JobConfig(
                        "ship",
                        tasks=(
                            FetchArtifactTask(
                                pipeline="up",
                                stage="build",
                                job="compile",
                                source="bin/app.jar",
                                is_source_a_file=True,
                            ),
                            FetchArtifactTask(pipeline="nope", stage="x", job="y", source="z"),
                        ),
                    ),
                ),
            ),
        ),
    )
    await save(agent_services, upstream, downstream)
    await commit(agent_services, CODE)
    await register(agent_services, "a1")
    assert agent_services.scheduling is not None
    await agent_services.scheduling.trigger_manual("up", username="alice")
    await run_job(agent_services, "up")
    verify = await run_job(agent_services, "up")
    [fetch] = verify.tasks
    assert isinstance(fetch, wire.FetchTask)
    assert fetch.locator == "up/1/build/1/compile"
    assert fetch.error is None
    assert not fetch.is_file
    # The upstream stage passing recorded a dependency revision: the downstream runs on it.
    await agent_services.scheduling.trigger_manual("down", username="alice")
    ship = await run_job(agent_services, "down")
    upstream_fetch, missing = ship.tasks
    assert isinstance(upstream_fetch, wire.FetchTask)
    assert upstream_fetch.locator == "up/1/build/1/compile"
    assert upstream_fetch.is_file
    assert isinstance(missing, wire.FetchTask)
    assert missing.locator is None
    assert missing.error is not None
    values = env(ship)
    assert values["GO_DEPENDENCY_LABEL_UP"] == "1"
    assert values["GO_DEPENDENCY_LOCATOR_UP"] == "up/1/test/1"


def test_suffixes_and_credentials() -> None:
    assert env_suffix("my-code.v2") == "MY_CODE_V2"
    assert with_credentials(GitMaterialConfig(url="https://h/x.git")) == "https://h/x.git"
    assert (
        with_credentials(GitMaterialConfig(url="https://h/x.git", username="a b", password="p@"))
        == "https://a%20b:p%40@h/x.git"
    )
    assert (
        with_credentials(GitMaterialConfig(url="https://u@h/x.git", username="v"))
        == "https://u@h/x.git"
    )
