"""From a commit in a real git repository to a pipeline instance: by polling and by webhook.

Everything here is real: the git repository, the material update, the event bus, the reaction
loop the server runs, the app handling the webhook.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pygocd.domain.config import CruiseConfig
from pygocd.domain.materials import GitMaterialConfig
from pygocd.domain.pipelines import JobConfig, PipelineConfig, PipelineGroup, StageConfig
from pygocd.domain.states import JobResult, JobState
from pygocd.domain.tasks import ExecTask
from pygocd.services.events import PIPELINE_CHANGED
from pygocd.services.materials import MaterialUpdateService
from pygocd.services.reactions import react
from pygocd.services.registry import Services
from pygocd.settings import Settings
from pygocd.web.app import create_app
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.db

SECRET = "webhook-secret"


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    path = tmp_path / "app"
    path.mkdir()
    return GitRepo(path, branch="main")


@pytest.fixture
async def wired(
    services: Services, repo: GitRepo, tmp_path: Path
) -> AsyncIterator[tuple[Services, GitMaterialConfig]]:
    material = GitMaterialConfig(url=str(repo.path), branch="main", name="app")
    pipeline = PipelineConfig(
        name="app",
        label_template="${COUNT}-${app[:7]}",
        materials=(material,),
        stages=(StageConfig("build", jobs=(JobConfig("make", tasks=(ExecTask("make"),)),)),),
    )
    await services.config.save(
        CruiseConfig(groups=(PipelineGroup("main", (pipeline,)),)),
        expected_md5="",
        author="t",
        message="m",
    )
    materials = MaterialUpdateService(
        services.uow,
        services.bus,
        services.clock,
        lambda: services.config.current,
        tmp_path / "materials",
    )
    assert services.scheduling is not None
    reactions = asyncio.create_task(react(services.bus, services.scheduling))
    await asyncio.sleep(0)  # let the reaction loop subscribe
    yield dataclasses.replace(services, materials=materials), material
    reactions.cancel()
    await asyncio.gather(reactions, return_exceptions=True)
    await materials.close()


async def next_instance(services: Services, within: float = 10) -> dict[str, object]:
    async with services.bus.subscribe(PIPELINE_CHANGED) as events:
        while True:
            event = await asyncio.wait_for(events.__anext__(), within)
            if "counter" in event.payload:
                return event.payload


async def counters(services: Services) -> list[int]:
    async with services.uow(read_only=True) as uow:
        return await uow.pipeline_instances.list_counters("app")


async def test_a_polled_commit_creates_an_instance_with_its_revision(
    wired: tuple[Services, GitMaterialConfig], repo: GitRepo
) -> None:
    services, material = wired
    assert services.materials is not None
    first = repo.commit("first", README="one")
    waiter = asyncio.create_task(next_instance(services))
    await services.materials.update(material)
    assert (await waiter)["counter"] == 1
    async with services.uow(read_only=True) as uow:
        instance = await uow.pipeline_instances.find("app", 1)
    assert instance is not None
    assert instance.label == f"1-{first[:7]}"
    assert instance.build_cause.material_revisions[0].revision == first
    assert instance.build_cause.message == "modified by Ada Lovelace <ada@example.com>"


async def test_a_webhook_triggers_without_waiting_for_a_poll(
    wired: tuple[Services, GitMaterialConfig], repo: GitRepo, tmp_path: Path
) -> None:
    services, material = wired
    assert services.materials is not None
    repo.commit("first", README="one")
    await services.materials.update(material)  # the first poll records the latest revision
    await next_instance_done(services)
    await finish_first_instance(services)  # a running first stage would hold the next one back
    second = repo.commit("second", README="two")
    app = create_app(
        services, Settings(data_dir=tmp_path / "data", webhook_secret=SECRET), loops=()
    )
    body = json.dumps(
        {
            "ref": "refs/heads/main",
            "repository": {"full_name": "ann/app", "clone_url": str(repo.path), "html_url": ""},
        }
    ).encode()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        bad = await client.post(
            "/go/api/webhooks/github/notify",
            content=body,
            headers=github_headers(body, "wrong-secret"),
        )
        assert bad.status_code == 401
        assert await counters(services) == [1]
        waiter = asyncio.create_task(next_instance(services))
        good = await client.post(
            "/go/api/webhooks/github/notify", content=body, headers=github_headers(body, SECRET)
        )
        assert good.status_code == 202, good.text
        assert (await waiter)["counter"] == 2
    async with services.uow(read_only=True) as uow:
        instance = await uow.pipeline_instances.find("app", 2)
    assert instance is not None
    assert instance.build_cause.material_revisions[0].revision == second


async def next_instance_done(services: Services) -> None:
    for _ in range(200):
        if await counters(services):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("no instance was created")


async def finish_first_instance(services: Services) -> None:
    assert services.jobs is not None
    async with services.uow(read_only=True) as uow:
        instance = await uow.pipeline_instances.find("app", 1)
    assert instance is not None
    job_id = instance.stages[0].jobs[0].id
    assert job_id is not None
    await services.jobs.assign(job_id, "agent")
    await services.jobs.report(job_id, "agent", JobState.COMPLETED, JobResult.PASSED)


def github_headers(body: bytes, secret: str) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": f"sha256={digest}",
    }
