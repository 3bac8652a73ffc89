"""The agent program against the real app in-process (httpx ASGITransport): registration,
checkout of a real git repo, tasks with run_if, console, artifacts, fetch, cancel."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from pygocd.agent import main as agent_main
from pygocd.agent.main import Agent, AgentOptions
from pygocd.domain.materials import GitMaterialConfig, SvnMaterialConfig
from pygocd.domain.pipelines import (
    ArtifactConfig,
    ArtifactType,
    JobConfig,
    PipelineConfig,
    StageConfig,
)
from pygocd.domain.runs import PipelineInstance
from pygocd.domain.states import AgentRuntimeStatus, JobResult, StageResult
from pygocd.domain.tasks import ExecTask, FetchArtifactTask, RunIf, script_task
from pygocd.domain.variables import EnvironmentVariable
from pygocd.protocol import messages as wire
from pygocd.services.registry import Services
from pygocd.settings import Settings
from pygocd.web.app import create_app
from tests.agent_setup import KEY, commit, git_commit, save, trigger, with_agents

pytestmark = pytest.mark.db


@pytest.fixture
def agent_services(services: Services, settings: Settings) -> Services:
    return with_agents(services, settings.data_dir)


@pytest.fixture
def transport(agent_services: Services, settings: Settings) -> httpx.ASGITransport:
    app = create_app(agent_services, settings, loops=())
    return httpx.ASGITransport(app=app)


@pytest.fixture
def make_agent(transport: httpx.ASGITransport, tmp_path: Path) -> Callable[..., Agent]:
    def make(name: str = "a1", **options: object) -> Agent:
        return Agent(
            AgentOptions(
                server_url="http://127.0.0.1:8153/go",
                work_dir=tmp_path / name,
                auto_register_key=KEY,
                hostname=name,
                max_backoff=0.2,
                **options,  # type: ignore[arg-type]
            ),
            transport=transport,
        )

    return make


async def git_material(
    services: Services, tmp_path: Path, files: dict[str, str]
) -> GitMaterialConfig:
    repo = tmp_path / "repo"
    revision = git_commit(repo, files)
    material = GitMaterialConfig(url=str(repo), branch="main", name="code", destination="src")
    await commit(services, material, revision)
    return material


async def run_alone(
    services: Services,
    make_agent: Callable[..., Agent],
    material: GitMaterialConfig,
    job: JobConfig,
) -> PipelineInstance:
    """Pipeline `app` with this one job, triggered and run by a fresh agent; instance 1."""
    await save(
        services,
        PipelineConfig(
            name="app", materials=(material,), stages=(StageConfig("build", jobs=(job,)),)
        ),
    )
    await trigger(services, "app")
    await asyncio.wait_for(make_agent().run(max_jobs=1), 60)
    async with services.uow() as uow:
        instance = await uow.pipeline_instances.find("app", 1)
    assert instance is not None
    return instance


async def console_of(client: httpx.AsyncClient, locator: str) -> str:
    response = await client.get(f"/go/files/{locator}/cruise-output/console.log")
    assert response.status_code == 200, response.text
    return response.text


async def run_stages(
    services: Services,
    make_agent: Callable[..., Agent],
    material: GitMaterialConfig,
    *stages: StageConfig,
) -> None:
    """Pipeline `app` with these stages, triggered and run to the end by one agent."""
    await save(services, PipelineConfig(name="app", materials=(material,), stages=stages))
    await trigger(services, "app")
    jobs = sum(len(stage.jobs) for stage in stages)
    await asyncio.wait_for(make_agent().run(max_jobs=jobs), 60)


async def test_a_two_stage_pipeline_passes_an_artifact_by_fetch(
    agent_services: Services,
    transport: httpx.ASGITransport,
    make_agent: Callable[..., Agent],
    tmp_path: Path,
) -> None:
    material = await git_material(agent_services, tmp_path, {"hello.txt": "hello from git\n"})
    build = JobConfig(
        "compile",
        tasks=(
            script_task(
                "mkdir -p out && cp src/hello.txt out/app.txt && echo built $GO_PIPELINE_NAME"
            ),
        ),
        artifacts=(ArtifactConfig(ArtifactType.BUILD, source="out/app.txt", destination="bin"),),
    )
    test = JobConfig(
        "verify",
        tasks=(
            FetchArtifactTask(
                stage="build",
                job="compile",
                source="bin/app.txt",
                is_source_a_file=True,
                destination="fetched",
            ),
            ExecTask("cat", ("fetched/app.txt",)),
        ),
    )
    await run_stages(
        agent_services,
        make_agent,
        material,
        StageConfig("build", jobs=(build,)),
        StageConfig("test", jobs=(test,)),
    )
    async with agent_services.uow() as uow:
        instance = await uow.pipeline_instances.find("app", 1)
    assert instance is not None
    assert [(s.name, s.result) for s in instance.stages] == [
        ("build", StageResult.PASSED),
        ("test", StageResult.PASSED),
    ]
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8153") as client:
        build_log = await console_of(client, "app/1/build/1/compile")
        test_log = await console_of(client, "app/1/test/1/verify")
        artifact = await client.get("/go/files/app/1/build/1/compile/bin/app.txt")
    assert "&1|" in build_log, build_log
    assert "built app" in build_log
    assert "?0|" in build_log
    assert "hello from git" in test_log
    assert artifact.text == "hello from git\n"


async def test_fetch_sends_the_sha1_of_a_local_copy_and_skips_an_unchanged_file(
    agent_services: Services,
    transport: httpx.ASGITransport,
    make_agent: Callable[..., Agent],
    tmp_path: Path,
) -> None:
    """GoCD's fetch sends `?sha1=` for a file it already has; 304 keeps the local copy."""
    material = await git_material(agent_services, tmp_path, {"hello.txt": "hello\n"})
    build = JobConfig(
        "compile",
        tasks=(script_task("mkdir -p out && cp src/hello.txt out/app.txt"),),
        artifacts=(ArtifactConfig(ArtifactType.BUILD, source="out/app.txt", destination="bin"),),
    )
    fetch = FetchArtifactTask(
        stage="build",
        job="compile",
        source="bin/app.txt",
        is_source_a_file=True,
        destination="fetched",
    )
    test = JobConfig(
        "verify",
        tasks=(
            fetch,
            fetch,
            script_task("echo tampered > fetched/app.txt"),
            fetch,
            ExecTask("cat", ("fetched/app.txt",)),
        ),
    )
    await run_stages(
        agent_services,
        make_agent,
        material,
        StageConfig("build", jobs=(build,)),
        StageConfig("test", jobs=(test,)),
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8153") as client:
        log = await console_of(client, "app/1/test/1/verify")
    assert log.count("Artifact is not modified, skipped fetching it") == 1, log
    output = [line.split(" ", 1)[1] for line in log.splitlines() if line.startswith("&1|")]
    assert output[-1] == "hello"
    assert "j0|" in log
    assert not list((tmp_path / "a1").rglob("*.pygocd-part"))


async def test_a_job_with_a_subversion_revision_fails_while_preparing_and_says_why(
    agent_services: Services,
    transport: httpx.ASGITransport,
    make_agent: Callable[..., Agent],
    tmp_path: Path,
) -> None:
    """No svn client runs here: rather than build without the material, the job fails."""
    material = await git_material(agent_services, tmp_path, {"a.txt": "a"})
    svn = SvnMaterialConfig(url="https://svn.example.com/trunk", destination="legacy")
    await commit(agent_services, svn, "r42")
    job = JobConfig("compile", tasks=(script_task("echo should-not-run"),))
    await save(
        agent_services,
        PipelineConfig(
            name="app", materials=(material, svn), stages=(StageConfig("build", jobs=(job,)),)
        ),
    )
    await trigger(agent_services, "app")
    await asyncio.wait_for(make_agent().run(max_jobs=1), 60)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8153") as client:
        log = await console_of(client, "app/1/build/1/compile")
    assert "pe|" in log
    assert "Subversion material is not supported: https://svn.example.com/trunk" in log
    assert "should-not-run" not in log
    async with agent_services.uow() as uow:
        instance = await uow.pipeline_instances.find("app", 1)
    assert instance is not None
    assert instance.stages[0].result is StageResult.FAILED


async def wait_until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(600):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} not met in time")


async def test_kill_running_tasks_ends_a_hanging_on_cancel_and_frees_the_agent(
    agent_services: Services,
    transport: httpx.ASGITransport,
    make_agent: Callable[..., Agent],
    tmp_path: Path,
) -> None:
    assert agent_services.agents is not None
    assert agent_services.stages is not None
    agents = agent_services.agents
    material = await git_material(agent_services, tmp_path, {"a.txt": "a"})
    started = tmp_path / "started"
    hanging = ExecTask(
        "sh",
        ("-c", f"touch {started}; sleep 300"),
        on_cancel=script_task(f"touch {tmp_path / 'cancelling'}; sleep 300"),
    )
    await save(
        agent_services,
        PipelineConfig(
            name="app",
            materials=(material,),
            stages=(StageConfig("build", jobs=(JobConfig("hang", tasks=(hanging,)),)),),
        ),
    )
    await trigger(agent_services, "app")
    agent = make_agent()
    running = asyncio.create_task(agent.run(max_jobs=1))

    async def cancelling() -> bool:
        found = await agents.all()
        return bool(found) and found[0].runtime_status is AgentRuntimeStatus.CANCELLED

    await wait_until(lambda: asyncio.to_thread(started.exists), "task started")
    await agent_services.stages.cancel_stage("app", 1, "build", 1, username="admin")
    await wait_until(cancelling, "agent cancelling")
    await wait_until(lambda: asyncio.to_thread((tmp_path / "cancelling").exists), "on_cancel")
    uuid = (await agents.all())[0].uuid
    await agents.kill_running_tasks(uuid)
    await asyncio.wait_for(running, 60)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8153") as client:
        log = await console_of(client, "app/1/build/1/hang")
    assert "[go] Killing all running tasks on this agent, as requested" in log
    assert "x1|" in log  # the on_cancel task did not finish on its own


JUNIT_XML = (
    '<testsuite name="calc"><testcase classname="calc.T" name="ok" time="0.5"/>'
    '<testcase classname="calc.T" name="bad" time="0.25"><failure message="boom"/></testcase>'
    "</testsuite>"
)


async def test_test_artifacts_are_uploaded_and_merged_into_testoutput(
    agent_services: Services,
    transport: httpx.ASGITransport,
    make_agent: Callable[..., Agent],
    tmp_path: Path,
) -> None:
    material = await git_material(agent_services, tmp_path, {"hello.txt": "hello\n"})
    job = JobConfig(
        "unit",
        tasks=(script_task(f"mkdir -p reports && echo '{JUNIT_XML}' > reports/TEST-calc.xml"),),
        artifacts=(
            ArtifactConfig(ArtifactType.TEST, source="reports", destination="junit"),
            ArtifactConfig(ArtifactType.TEST, source="missing-folder"),
        ),
    )
    await run_stages(agent_services, make_agent, material, StageConfig("build", jobs=(job,)))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8153") as client:
        log = await console_of(client, "app/1/build/1/unit")
        page = await client.get("/go/files/app/1/build/1/unit/testoutput/index.html")
        raw = await client.get("/go/files/app/1/build/1/unit/junit/reports/TEST-calc.xml")
    assert "j0|" in log  # test failures in a report do not fail the job, as in GoCD
    assert "specified as a test artifact was not found" in log
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<span class="tests_total_count">2</span>' in page.text
    assert '<span class="tests_failed_count">1</span>' in page.text
    assert "calc.T.bad" in page.text
    assert raw.status_code == 200
    assert "calc.T" in raw.text


async def test_a_failing_task_fails_the_job_but_run_if_failed_still_runs(
    agent_services: Services,
    transport: httpx.ASGITransport,
    make_agent: Callable[..., Agent],
    tmp_path: Path,
) -> None:
    material = await git_material(agent_services, tmp_path, {"a.txt": "a"})
    failed_only = script_task("echo cleanup after failure")
    failed_only = type(failed_only)(
        plugin_configuration=failed_only.plugin_configuration,
        configuration=failed_only.configuration,
        run_if=RunIf.FAILED,
    )
    job = JobConfig(
        "compile",
        tasks=(ExecTask("false"), ExecTask("echo", ("never",)), failed_only),
    )
    instance = await run_alone(agent_services, make_agent, material, job)
    assert instance.stages[0].result is StageResult.FAILED
    assert instance.stages[0].jobs[0].result is JobResult.FAILED
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8153") as client:
        log = await console_of(client, "app/1/build/1/compile")
    assert "cleanup after failure" in log
    assert "never" not in log.replace("[go] Task: echo never", "")
    assert "j1|" in log


async def test_secure_variables_are_masked_in_the_console(
    agent_services: Services,
    transport: httpx.ASGITransport,
    make_agent: Callable[..., Agent],
    tmp_path: Path,
) -> None:
    material = await git_material(agent_services, tmp_path, {"a.txt": "a"})
    job = JobConfig(
        "compile",
        tasks=(script_task("echo the password is $PASSWORD; echo plain=$PLAIN"),),
        environment_variables=(
            EnvironmentVariable("PASSWORD", "hunter2-very-secret", secure=True),
            EnvironmentVariable("PLAIN", "visible"),
        ),
    )
    await save(
        agent_services,
        PipelineConfig(
            name="app", materials=(material,), stages=(StageConfig("build", jobs=(job,)),)
        ),
    )
    await trigger(agent_services, "app")
    await asyncio.wait_for(make_agent().run(max_jobs=1), 60)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8153") as client:
        log = await console_of(client, "app/1/build/1/compile")
    assert "hunter2-very-secret" not in log
    assert "the password is ********" in log
    assert "plain=visible" in log


async def test_a_short_job_records_every_state_in_order_with_its_whole_console(
    agent_services: Services,
    transport: httpx.ASGITransport,
    make_agent: Callable[..., Agent],
    tmp_path: Path,
) -> None:
    material = await git_material(agent_services, tmp_path, {"a.txt": "a"})
    job = JobConfig("compile", tasks=(ExecTask("true"),))

    instance = await run_alone(agent_services, make_agent, material, job)

    [done] = instance.stages[0].jobs
    assert [t.state.value for t in done.transitions] == [
        "Scheduled",
        "Assigned",
        "Preparing",
        "Building",
        "Completing",
        "Completed",
    ]
    assert instance.stages[0].result is StageResult.PASSED
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8153") as client:
        log = await console_of(client, "app/1/build/1/compile")
    assert log.rstrip().split("\n")[-1].startswith("ex|")  # the last line arrived before Completed


async def test_memory_is_tidied_while_idle_not_between_a_job_and_the_next(
    agent_services: Services,
    make_agent: Callable[..., Agent],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps: list[str] = []
    tidied = asyncio.Event()

    def tidy() -> None:
        steps.append("tidy")
        tidied.set()

    monkeypatch.setattr(agent_main, "release_memory", tidy)
    # The real idle time (1 s): a waiting job reaches the agent well within it, even on a
    # loaded machine, so the test does not depend on how fast the claim is.
    material = await git_material(agent_services, tmp_path, {"a.txt": "a"})
    job = JobConfig("compile", tasks=(ExecTask("true"),))
    await save(
        agent_services,
        *(
            PipelineConfig(name=n, materials=(material,), stages=(StageConfig("build", (job,)),))
            for n in ("one", "two", "three")
        ),
    )
    await trigger(agent_services, "one")
    await trigger(agent_services, "two")
    agent = make_agent()
    run_job = agent.run_job

    async def counted(work: wire.Work) -> str:
        result = await run_job(work)
        steps.append(f"ran {work.job.pipeline}")
        return result

    monkeypatch.setattr(agent, "run_job", counted)
    running = asyncio.create_task(agent.run(max_jobs=3))
    await asyncio.wait_for(tidied.wait(), 30)  # at registration
    tidied.clear()
    await asyncio.wait_for(tidied.wait(), 30)  # idle after the two waiting jobs
    await trigger(agent_services, "three")
    await asyncio.wait_for(running, 60)

    assert steps == ["tidy", "ran one", "ran two", "tidy", "ran three"]


@pytest.mark.parametrize("with_artifact", [False, True])
async def test_completing_goes_out_before_uploads_or_with_completed_when_there_are_none(
    agent_services: Services,
    make_agent: Callable[..., Agent],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    with_artifact: bool,
) -> None:
    material = await git_material(agent_services, tmp_path, {"a.txt": "a"})
    artifacts = (ArtifactConfig(ArtifactType.BUILD, source="out.txt"),) if with_artifact else ()
    job = JobConfig("compile", tasks=(script_task("echo built > out.txt"),), artifacts=artifacts)
    agent = make_agent()
    calls: list[str] = []
    report, upload = agent.client.report, agent.client.upload

    async def reporting(job_id: int, sent: wire.JobReport) -> wire.JobReportReply:
        calls.append("+".join([*(step.state for step in sent.earlier), sent.state]))
        return await report(job_id, sent)

    async def uploading(job_id: int, path: str, file: Path, md5: str) -> wire.ArtifactUploaded:
        calls.append(f"upload {path}")
        return await upload(job_id, path, file, md5)

    monkeypatch.setattr(agent.client, "report", reporting)
    monkeypatch.setattr(agent.client, "upload", uploading)
    await save(
        agent_services,
        PipelineConfig(name="app", materials=(material,), stages=(StageConfig("build", (job,)),)),
    )
    await trigger(agent_services, "app")
    await asyncio.wait_for(agent.run(max_jobs=1), 60)

    assert calls[0].startswith("Preparing")
    assert "+".join(calls).count("Completing") == 1
    if with_artifact:  # Completing goes out as uploading starts; Completed once it is done
        assert calls.index("upload out.txt") < len(calls) - 1
        assert calls[-1].endswith("Completed")
    else:
        assert calls[-1] == "Completing+Completed"
