"""`/go/files/...`: files, JSON listings, the console with offsets, `latest`, `..`."""

from __future__ import annotations

import base64
import hashlib
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
async def http(services: Services, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    wired = with_agents(services, settings.data_dir)
    assert wired.artifacts is not None
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
    artifacts = wired.artifacts
    await artifacts.upload(LOCATOR, "bin/app.txt", chunks(b"app"), None)
    await artifacts.upload(LOCATOR, "bin/lib/x.txt", chunks(b"x"), None)
    await artifacts.append_console(LOCATOR, 0, chunks(b"line one\n", b"line two\nline three\n"))
    app = create_app(wired, settings, loops=())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8153"
    ) as client:
        yield client


async def test_a_file_is_served_as_is(http: httpx.AsyncClient) -> None:
    response = await http.get(f"/go/files/{LOCATOR}/bin/app.txt")
    assert response.status_code == 200
    assert response.content == b"app"
    latest = await http.get("/go/files/app/latest/build/latest/compile/bin/app.txt")
    assert latest.content == b"app"


async def test_a_matching_sha1_answers_not_modified(http: httpx.AsyncClient) -> None:
    """GoCD's fetch sends base64 of the raw SHA-1 of its local copy (not hex)."""
    url = f"/go/files/{LOCATOR}/bin/app.txt"
    same = base64.b64encode(hashlib.sha1(b"app").digest()).decode()
    response = await http.get(url, params={"sha1": same})
    assert (response.status_code, response.content) == (304, b"")
    for other in (hashlib.sha1(b"app").hexdigest(), base64.b64encode(b"x" * 20).decode(), ""):
        changed = await http.get(url, params={"sha1": other})
        assert (changed.status_code, changed.content) == (200, b"app")


async def test_folders_list_as_gocds_json_tree(http: httpx.AsyncClient) -> None:
    response = await http.get(f"/go/files/{LOCATOR}.json")
    assert response.status_code == 200
    tree = response.json()
    names = [entry["name"] for entry in tree]
    assert names == ["bin", "cruise-output"]
    bin_folder = tree[0]
    assert bin_folder["type"] == "folder"
    assert [f["name"] for f in bin_folder["files"]] == ["app.txt", "lib"]
    assert bin_folder["files"][0]["url"].endswith(f"/go/files/{LOCATOR}/bin/app.txt")
    sub = await http.get(f"/go/files/{LOCATOR}/bin/lib.json")
    assert [f["name"] for f in sub.json()] == ["x.txt"]


async def test_a_folder_without_extension_is_not_found(http: httpx.AsyncClient) -> None:
    response = await http.get(f"/go/files/{LOCATOR}/bin")
    assert response.status_code == 404
    assert "is unavailable" in response.text


async def test_the_console_tails_by_byte_offset_or_line(http: httpx.AsyncClient) -> None:
    whole = await http.get(f"/go/files/{LOCATOR}/cruise-output/console.log")
    assert whole.text == "line one\nline two\nline three\n"
    tail = await http.get(f"/go/files/{LOCATOR}/cruise-output/console.log?offset=9")
    assert tail.text == "line two\nline three\n"
    assert tail.headers["x-console-size"] == str(len(whole.content))
    lines = await http.get(f"/go/files/{LOCATOR}/cruise-output/console.log?startLineNumber=2")
    assert lines.text == "line three\n"
    missing = await http.get("/go/files/app/1/build/1/other/cruise-output/console.log")
    assert missing.status_code == 404
    assert "Console log" in missing.text


async def test_dot_dot_and_bad_counters_are_refused(http: httpx.AsyncClient) -> None:
    dotted = await http.get(f"/go/files/{LOCATOR}/bin/%2E%2E/%2E%2E/secret")
    assert dotted.status_code == 403
    assert "forbidden characters" in dotted.text
    bad = await http.get("/go/files/app/x/build/1/compile/bin/app.txt")
    assert bad.status_code == 404
    assert "not found" in bad.text
