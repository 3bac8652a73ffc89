"""Job details on real data: GoCD's tabs (console, tests, artifacts, materials, custom tabs),
the artifacts tree from the job's uploaded files, the job history sidebar, and 404s for runs
that do not exist."""

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


async def upload(services: Services, path: str, data: bytes) -> None:
    """An artifact of the job, as its agent would have uploaded it."""
    assert services.artifacts is not None
    await services.artifacts.upload(LOCATOR, path, chunks(data), None)


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
    assert [t.text for t in found] == [
        "Console",
        "Tests",
        "Artifacts",
        "Materials",
        "Coverage",
        "console",
    ]
    assert [t.attrs["aria-selected"] for t in found] == ["true"] + ["false"] * 5
    assert [t.attrs["tabindex"] for t in found] == ["0"] + ["-1"] * 5
    # A custom tab named like a built-in one gets its own id.
    assert [t.attrs["id"] for t in found][4:] == ["tab-Coverage", "tab-console-2"]
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
    html = b"<h1>Coverage 93%</h1>"
    await upload(services, "coverage/index.html", html)
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
    for path, data in (
        ("dist/app.tar.gz", b"tar"),
        ("dist/docs/readme.txt", b"hi"),
        ("x.log", b"l"),
    ):
        await upload(services, path, data)
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


async def test_tests_tab_frames_the_report_merged_from_the_test_artifacts(
    with_artifacts: tuple[Services, httpx.AsyncClient],
) -> None:
    services, client = with_artifacts
    await run_app(services)
    report = b'<p>Tests run: <span class="tests_total_count">3</span></p>'
    await upload(services, "testoutput/index.html", report)
    doc = await page(client)

    panel = doc.one(lambda n: n.attrs.get("id") == "panel-tests")
    assert panel.attrs["aria-labelledby"] == "tab-tests"
    frame = panel.one(lambda n: n.tag == "iframe")
    assert frame.attrs["src"] == f"/go/files/{LOCATOR}/testoutput/index.html"
    assert frame.attrs["title"] == "Test report of compile"
    assert "allow-same-origin" not in frame.attrs["sandbox"]
    assert (await client.get(frame.attrs["src"])).content == report


async def test_tests_tab_explains_test_artifacts_when_the_job_has_no_report(
    with_artifacts: tuple[Services, httpx.AsyncClient],
) -> None:
    services, client = with_artifacts
    await run_app(services)
    # Another file under testoutput/ is not the merged report.
    await upload(services, "testoutput/TEST-a.xml", b"<x/>")
    doc = await page(client)

    panel = doc.one(lambda n: n.attrs.get("id") == "panel-tests")
    assert panel.find_all(lambda n: n.tag == "iframe") == []
    assert "No test reports found." in panel.text
    assert "testoutput/index.html" in panel.text


async def test_job_history_lists_the_jobs_runs_newest_first_marking_this_one(
    client: httpx.AsyncClient, services: Services
) -> None:
    await run_app(services)
    second = await trigger(services, "app")
    await run_stage_to(services, second, "build", JobResult.FAILED)
    await trigger(services, "app")  # the third run has not been assigned yet
    doc = await page(client)

    [aside] = doc.find_all(lambda n: n.tag == "aside")
    assert aside.attrs["aria-labelledby"] == "job-history-title"
    items = aside.find_all(lambda n: n.has_class("job-history__item"))
    links = [item.one(lambda n: n.tag == "a") for item in items]
    assert [a.text for a in links] == [
        "app/3/build/1/compile",
        "app/2/build/1/compile",
        "app/1/build/1/compile",
    ]
    assert links[1].attrs["href"] == "/go/tab/build/detail/app/2/build/1/compile"
    squares = [item.one(lambda n: n.has_class("job-square")) for item in items]
    assert [sq.attrs["class"].split()[-1] for sq in squares] == [
        "job-square--building",
        "job-square--failed",
        "job-square--passed",
    ]
    assert [item.has_class("is-current") for item in items] == [False, False, True]
    assert [a.attrs.get("aria-current") for a in links] == [None, None, "page"]


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
