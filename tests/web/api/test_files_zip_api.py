"""Folder zips under `/go/files/...`: 202 (empty body) while the zip is built in the
background, then the zip from the data directory; `latest` counters; bad locators are 4xx."""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import AsyncIterator

import httpx
import pytest

from pygocd.domain.pipelines import JobConfig, PipelineConfig, StageConfig
from pygocd.domain.tasks import ExecTask
from pygocd.services.registry import Services
from pygocd.settings import Settings
from pygocd.web.app import create_app
from tests.agent_setup import REPO, commit, save, trigger, with_agents

pytestmark = pytest.mark.db

LOCATOR = "app/1/build/1/compile"


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@pytest.fixture
async def wired(services: Services, settings: Settings) -> Services:
    wired = with_agents(services, settings.data_dir)
    await save(
        wired,
        PipelineConfig(
            name="app",
            materials=(REPO,),
            stages=(StageConfig("build", jobs=(JobConfig("compile", tasks=(ExecTask("true"),)),)),),
        ),
    )
    await commit(wired)
    await trigger(wired, "app")
    assert wired.artifacts is not None
    await wired.artifacts.upload(LOCATOR, "bin/app.txt", chunks(b"app"), None)
    await wired.artifacts.upload(LOCATOR, "bin/lib/x.txt", chunks(b"x"), None)
    return wired


@pytest.fixture
async def http(wired: Services, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(wired, settings, loops=())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8153"
    ) as client:
        yield client


async def _until_built(http: httpx.AsyncClient, url: str) -> httpx.Response:
    """Poll as py-gocd does: again while the answer is 202."""
    for _ in range(1000):
        response = await http.get(url)
        if response.status_code != 202:
            return response
        assert response.content == b""
        await asyncio.sleep(0.005)
    raise AssertionError(f"{url} stayed 202")


def _names(response: httpx.Response) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return sorted(archive.namelist())


async def test_first_answer_is_202_then_the_zip(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    url = f"/go/files/{LOCATOR}/bin.zip"
    first = await http.get(url)
    assert first.status_code == 202
    assert first.content == b""
    response = await _until_built(http, url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert _names(response) == ["bin/app.txt", "bin/lib/x.txt"]
    cached = list((settings.data_dir / "cache" / "artifacts").rglob("*.zip"))
    assert len(cached) == 1
    again = await http.get(url)
    assert again.status_code == 200  # served from the cache at once


async def test_the_job_root_zips_its_contents(http: httpx.AsyncClient) -> None:
    response = await _until_built(http, f"/go/files/{LOCATOR}/.zip")
    assert response.status_code == 200
    assert "bin/app.txt" in _names(response)
    by_job_name = await _until_built(http, f"/go/files/{LOCATOR}.zip")
    assert by_job_name.status_code == 200


async def test_a_folder_that_gains_files_gets_a_new_zip(
    http: httpx.AsyncClient, wired: Services
) -> None:
    url = f"/go/files/{LOCATOR}/bin.zip"
    assert (await _until_built(http, url)).status_code == 200
    assert wired.artifacts is not None
    await wired.artifacts.upload(LOCATOR, "bin/new.txt", chunks(b"n"), None)
    response = await _until_built(http, url)
    assert "bin/new.txt" in _names(response)


async def test_latest_counters_in_zip_urls(http: httpx.AsyncClient) -> None:
    response = await _until_built(http, "/go/files/app/latest/build/latest/compile/bin/lib.zip")
    assert response.status_code == 200
    assert _names(response) == ["lib/x.txt"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("app/1/build/1/compile/nothing.zip", 404),
        ("app/1/build/1/compile/bin/app.txt.zip", 404),
        ("app/9/build/1/compile/bin.zip", 404),
        ("app/x/build/1/compile/bin.zip", 404),
        ("app/1/build/0/compile/bin.zip", 404),
        ("app/1/build/-1/compile/bin.zip", 404),
        ("app/99999999999999999999/build/1/compile/bin.zip", 404),
        ("app/1/build/99999999999999999999/compile/bin.zip", 404),
        ("ghost/latest/build/1/compile/bin.zip", 404),
    ],
)
async def test_bad_locators(http: httpx.AsyncClient, path: str, status: int) -> None:
    response = await http.get(f"/go/files/{path}")
    assert response.status_code == status, response.text
