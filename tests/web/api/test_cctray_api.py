"""`/go/cctray.xml` exactly as GoCD writes it: stage and job projects, activity, last build
status/label/time, web URLs, rerun labels and breakers; feeds' scheduled jobs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest

from pygocd.domain.states import JobResult
from pygocd.services.registry import Services
from pygocd.services.run_history import PLACEHOLDER_BUILD_TIME
from tests import builders as b

pytestmark = pytest.mark.db

BASE = "http://127.0.0.1:8153"
NOW = "2026-01-02T03:04:05Z"  # the fake clock's time


@pytest.fixture
async def config(services: Services) -> Services:
    await b.save(
        services,
        b.pipeline("up42", b.stage("build", "compile"), b.stage("test", "unit")),
        b.pipeline("fresh", b.stage("only", "job")),
        b.pipeline("never"),
    )
    await b.commit(services, user="alice <alice@example.com>")
    return services


async def cctray(client: httpx.AsyncClient) -> str:
    response = await client.get("/go/cctray.xml")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml;charset=utf-8"
    assert response.headers["etag"].startswith('"')
    return response.text


async def test_empty_feed(client: httpx.AsyncClient, config: Services) -> None:
    assert await cctray(client) == '<?xml version="1.0" encoding="utf-8"?>\n<Projects>\n</Projects>'


async def test_failed_stage_with_breakers_then_rerun_labels(
    client: httpx.AsyncClient, config: Services
) -> None:
    started = await b.run_to_end(config, "up42")  # build passes, test starts
    test_stage = started.latest_stage("test")
    assert test_stage is not None
    await b.finish_job(config, test_stage.jobs[0].id, JobResult.FAILED)

    p = f"{BASE}/go"
    assert await cctray(client) == (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        "<Projects>\n"
        f'  <Project name="up42 :: build" activity="Sleeping" lastBuildStatus="Success" '
        f'lastBuildLabel="1" lastBuildTime="{NOW}" webUrl="{p}/pipelines/up42/1/build/1" />\n'
        f'  <Project name="up42 :: build :: compile" activity="Sleeping" '
        f'lastBuildStatus="Success" lastBuildLabel="1" lastBuildTime="{NOW}" '
        f'webUrl="{p}/tab/build/detail/up42/1/build/1/compile" />\n'
        f'  <Project name="up42 :: test" activity="Sleeping" lastBuildStatus="Failure" '
        f'lastBuildLabel="1" lastBuildTime="{NOW}" webUrl="{p}/pipelines/up42/1/test/1">'
        '<messages><message text="alice &lt;alice@example.com&gt;" kind="Breakers" />'
        "</messages></Project>\n"
        f'  <Project name="up42 :: test :: unit" activity="Sleeping" lastBuildStatus="Failure" '
        f'lastBuildLabel="1" lastBuildTime="{NOW}" '
        f'webUrl="{p}/tab/build/detail/up42/1/test/1/unit">'
        '<messages><message text="alice &lt;alice@example.com&gt;" kind="Breakers" />'
        "</messages></Project>\n"
        "</Projects>"
    )

    # A rerun is building: the failure stays the last status, the breakers go.
    assert config.stages is not None
    rerun = await config.stages.run_stage("up42", 1, "test", username="bob")
    projects = {p.get("name"): p for p in ET.fromstring(await cctray(client))}
    assert projects["up42 :: test"].get("activity") == "Building"
    assert projects["up42 :: test"].get("lastBuildStatus") == "Failure"
    assert projects["up42 :: test"].get("webUrl") == f"{p}/pipelines/up42/1/test/2"
    assert len(projects["up42 :: test"]) == 0
    assert projects["up42 :: test :: unit"].get("activity") == "Building"

    await b.finish_job(config, rerun.jobs[0].id, JobResult.PASSED)
    projects = {p.get("name"): p for p in ET.fromstring(await cctray(client))}
    assert projects["up42 :: test"].get("lastBuildStatus") == "Success"
    assert projects["up42 :: test"].get("lastBuildLabel") == "1 :: 2"
    assert projects["up42 :: test :: unit"].get("lastBuildLabel") == "1 :: 2"
    assert projects["up42 :: test"].get("activity") == "Sleeping"


async def test_first_run_in_progress_uses_gocd_placeholder(
    client: httpx.AsyncClient, config: Services
) -> None:
    started = await b.trigger(config, "fresh")
    await b.start_job(config, started.stages[0].jobs[0].id)
    root = ET.fromstring(await cctray(client))
    names = [p.get("name") for p in root]
    assert names == ["fresh :: only", "fresh :: only :: job"]
    placeholder = PLACEHOLDER_BUILD_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    for project in root:
        assert project.get("activity") == "Building"
        assert project.get("lastBuildStatus") == "Success"
        assert project.get("lastBuildLabel") == "1"
        assert project.get("lastBuildTime") == placeholder


async def test_sorting_by_pipeline_name_then_stage_order(
    client: httpx.AsyncClient, config: Services
) -> None:
    await b.trigger(config, "up42")
    await b.trigger(config, "fresh")
    names = [p.get("name") for p in ET.fromstring(await cctray(client))]
    assert names == [
        "fresh :: only",
        "fresh :: only :: job",
        "up42 :: build",
        "up42 :: build :: compile",
    ]


async def test_scheduled_jobs_feed(client: httpx.AsyncClient, config: Services) -> None:
    await b.trigger(config, "up42")
    response = await client.get("/go/api/feed/jobs/scheduled.xml")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml;charset=utf-8"
    root = ET.fromstring(response.text)
    assert root.tag == "scheduledJobs"
    [job] = root
    assert job.get("name") == "compile"
    assert job.findtext("buildLocator") == "up42/1/build/1/compile"
    links = {link.get("rel"): link.get("href") for link in job.findall("link")}
    assert links["alternate"] == f"{BASE}/go/tab/build/detail/up42/1/build/1/compile"


async def test_the_cached_document_follows_every_change(
    client: httpx.AsyncClient, config: Services
) -> None:
    started = await b.trigger(config, "fresh")
    first = await client.get("/go/cctray.xml")
    assert (await client.get("/go/cctray.xml")).headers["etag"] == first.headers["etag"]
    await b.finish_job(config, started.stages[0].jobs[0].id)
    finished = await client.get("/go/cctray.xml")
    assert finished.headers["etag"] != first.headers["etag"]
    assert 'activity="Sleeping"' in finished.text
    await b.save(config, b.pipeline("other"))
    assert (await client.get("/go/cctray.xml")).text.count("<Project ") == 0
