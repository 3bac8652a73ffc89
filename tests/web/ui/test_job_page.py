"""Job details on real data: GoCD's tabs (console, artifacts, materials, custom tabs), the
artifacts tree from the job's uploaded files, and 404s for runs that do not exist."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from pygocd.domain.pipelines import JobConfig, Tab
from pygocd.domain.states import JobResult
from pygocd.domain.tasks import ExecTask
from pygocd.services.artifact_disk import DiskArtifactStore
from pygocd.services.artifacts import ArtifactService
from pygocd.services.registry import Services
from pygocd.settings import Settings
from pygocd.web.app import create_app
from tests.web.ui.dom import Node, fetch
from tests.web.ui.runs import commit, configure, pipeline, run_stage_to, stage, trigger

pytestmark = pytest.mark.db

JOB = "/go/tab/build/detail/app/1/build/1/compile"
LOCATOR = "app/1/build/1/compile"


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.fixture
async def with_artifacts(
    services: Services, settings: Settings
) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    store = DiskArtifactStore(settings.data_dir / "artifacts")
    full = replace(services, artifacts=ArtifactService(store))
    app = create_app(full, settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8153") as c:
        yield full, c


async def run_app(services: Services, *tabs: Tab) -> None:
    compile_job = JobConfig("compile", tasks=(ExecTask("true"),), tabs=tabs)
    build = replace(stage("build"), jobs=(compile_job,))
    await configure(services, pipeline("app", build))
    await commit(services, "abc123", "Make it faster")
    instance = await trigger(services, "app")
    await run_stage_to(services, instance, "build", JobResult.PASSED)


async def page(client: httpx.AsyncClient) -> Node:
    return await fetch(client, JOB)


def tabs(doc: Node) -> list[Node]:
    return doc.find_all(lambda n: n.attrs.get("role") == "tab")


async def test_job_page_has_console_artifacts_materials_and_custom_tabs(
    with_artifacts: tuple[Services, httpx.AsyncClient],
) -> None:
    services, client = with_artifacts
    await run_app(
        services,
        Tab("Coverage", "coverage/index.html"),
        Tab("console", "../../../other/1/s/1/j/c.html"),
    )
    doc = await page(client)

    found = tabs(doc)
    assert [t.text for t in found] == ["Console", "Artifacts", "Materials", "Coverage", "console"]
    assert [t.attrs["aria-selected"] for t in found] == ["true", "false", "false", "false", "false"]
    assert [t.attrs["tabindex"] for t in found] == ["0", "-1", "-1", "-1", "-1"]
    # A custom tab named like a built-in one gets its own id.
    assert [t.attrs["id"] for t in found][3:] == ["tab-Coverage", "tab-console-2"]
    # A tab shows a file of this job, never one reached by going up.
    frames = [f.attrs["src"] for f in doc.by_tag("iframe")]
    assert frames == [
        f"/go/files/{LOCATOR}/coverage/index.html",
        f"/go/files/{LOCATOR}/other/1/s/1/j/c.html",
    ]
    [tablist] = doc.find_all(lambda n: n.attrs.get("role") == "tablist")
    assert tablist.attrs["aria-label"] == "Job details"
    for tab in found:
        panel = doc.one(lambda n, t=tab: n.attrs.get("id") == t.attrs["aria-controls"])
        assert panel.attrs["role"] == "tabpanel"
        assert panel.attrs["aria-labelledby"] == tab.attrs["id"]
        assert ("hidden" in panel.attrs) is (tab.attrs["aria-selected"] == "false")


async def test_a_custom_tab_shows_its_artifact_in_a_sandboxed_frame(
    with_artifacts: tuple[Services, httpx.AsyncClient],
) -> None:
    services, client = with_artifacts
    await run_app(services, Tab("Coverage", "coverage/index.html"))
    assert services.artifacts is not None
    html = b"<h1>Coverage 93%</h1>"
    await services.artifacts.upload(LOCATOR, "coverage/index.html", chunks(html), None)
    doc = await page(client)

    frame = doc.one(lambda n: n.tag == "iframe")
    assert frame.attrs["src"] == f"/go/files/{LOCATOR}/coverage/index.html"
    assert frame.attrs["title"] == "Coverage"
    assert "allow-same-origin" not in frame.attrs["sandbox"]
    served = await client.get(frame.attrs["src"])
    assert served.status_code == 200
    assert served.content == html


async def test_artifacts_tab_lists_uploaded_files_as_a_tree_linking_to_files(
    with_artifacts: tuple[Services, httpx.AsyncClient],
) -> None:
    services, client = with_artifacts
    await run_app(services)
    assert services.artifacts is not None
    for path, data in (
        ("dist/app.tar.gz", b"tar"),
        ("dist/docs/readme.txt", b"hi"),
        ("x.log", b"l"),
    ):
        await services.artifacts.upload(LOCATOR, path, chunks(data), None)
    doc = await page(client)

    panel = doc.one(lambda n: n.attrs.get("id") == "panel-artifacts")
    folders = panel.find_all(lambda n: n.has_class("artifact-tree__folder"))
    assert [f.attrs["data-path"] for f in folders] == ["cruise-output", "dist", "dist/docs"]
    files = {
        a.text: a.attrs["href"]
        for a in panel.find_all(lambda n: n.has_class("artifact-tree__file"))
    }
    assert files["readme.txt"] == f"/go/files/{LOCATOR}/dist/docs/readme.txt"
    assert files["x.log"] == f"/go/files/{LOCATOR}/x.log"
    assert "md5.checksum" in files
    dist = next(f for f in folders if f.attrs["data-path"] == "dist")
    zip_link = dist.find_all(lambda n: n.has_class("artifact-tree__zip"))[0]
    assert zip_link.attrs["href"] == f"/go/files/{LOCATOR}/dist.zip"
    assert (await client.get(files["readme.txt"])).content == b"hi"
    assert [b.text for b in panel.find_all(lambda n: "data-tree-action" in n.attrs)] == [
        "(+) Expand All",
        "(−) Collapse All",
    ]


async def test_artifacts_tab_says_when_a_job_has_none(
    client: httpx.AsyncClient, services: Services
) -> None:
    await run_app(services)
    doc = await page(client)

    panel = doc.one(lambda n: n.attrs.get("id") == "panel-artifacts")
    assert "No artifacts were uploaded by this job." in panel.text


async def test_materials_tab_shows_each_revision_with_its_comment(
    client: httpx.AsyncClient, services: Services
) -> None:
    await run_app(services)
    doc = await page(client)

    panel = doc.one(lambda n: n.attrs.get("id") == "panel-materials")
    assert "app (Git: https://example.com/app.git)" in panel.text
    assert "abc123" in panel.text
    assert "Make it faster" in panel.text
    assert "Ann <ann@example.com>" in panel.text


@pytest.mark.parametrize(
    "path",
    [
        "/go/tab/build/detail/nope/1/build/1/compile",
        "/go/tab/build/detail/app/9/build/1/compile",
        "/go/tab/build/detail/app/1/deploy/1/compile",
        "/go/tab/build/detail/app/1/build/2/compile",
        "/go/tab/build/detail/app/1/build/1/nope",
    ],
)
async def test_job_page_of_an_unknown_run_is_not_found(
    client: httpx.AsyncClient, services: Services, path: str
) -> None:
    await run_app(services)
    assert (await client.get(path)).status_code == 404
