"""The run pages beyond the console, in Chromium against the real server and agent: the job
details tabs (artifacts tree, materials, a custom tab showing an artifact), comments on the
activity page, the compare page and the value stream map. Each page is checked with axe and
at 390 px, and screenshotted at both widths into build/screenshots/.

The pipelines these tests need are created through GoCD's pipeline config API, next to the
config-repo pipelines the session's server already has."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server
from tests.browser.support import axe_violations, check_page, eventually, screenshot
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.browser

V11 = {"Accept": "application/vnd.go.cd.v11+json"}
V1 = {"Accept": "application/vnd.go.cd.v1+json", "X-GoCD-Confirm": "true"}
JOB = "/go/tab/build/detail/site-app/1/build/1/make-site"
MAKE_SITE = (
    "mkdir -p site/css && echo '<h1>Coverage 93%</h1>' > site/index.html"
    " && echo 'body {}' > site/css/main.css && echo ok > notes.txt"
)
JUNIT = (
    'mkdir -p reports && printf \'%s\' \'<testsuite name="site" tests="2" failures="1">'
    '<testcase classname="site" name="renders"/>'
    '<testcase classname="site" name="links"><failure message="dead link"/></testcase>'
    "</testsuite>' > reports/TEST-site.xml"
)


def site_app(code: str) -> dict[str, Any]:
    return {
        "name": "site-app",
        "materials": [
            {"type": "git", "attributes": {"url": code, "branch": "main", "auto_update": False}}
        ],
        "stages": [
            {
                "name": "build",
                "jobs": [
                    {
                        "name": "make-site",
                        "tasks": [
                            {
                                "type": "exec",
                                "attributes": {"command": "sh", "arguments": ["-c", MAKE_SITE]},
                            },
                            {
                                "type": "exec",
                                "attributes": {"command": "sh", "arguments": ["-c", JUNIT]},
                            },
                        ],
                        "artifacts": [
                            {"type": "build", "source": "site", "destination": ""},
                            {"type": "build", "source": "notes.txt", "destination": ""},
                            {"type": "test", "source": "reports", "destination": ""},
                        ],
                        "tabs": [{"name": "Coverage", "path": "site/index.html"}],
                    }
                ],
            }
        ],
    }


def site_deploy() -> dict[str, Any]:
    """Downstream of site-app, so site-app's value stream map has a next level."""
    return {
        "name": "site-deploy",
        "materials": [
            {"type": "dependency", "attributes": {"pipeline": "site-app", "stage": "build"}}
        ],
        "stages": [
            {
                "name": "deploy",
                "jobs": [
                    {"name": "ship", "tasks": [{"type": "exec", "attributes": {"command": "true"}}]}
                ],
            }
        ],
    }


def passed(server: Server, pipeline: str, counter: int) -> bool:
    response = httpx.get(
        server.url(f"/go/api/pipelines/{pipeline}/{counter}"),
        headers={"Accept": "application/vnd.go.cd.v1+json"},
    )
    if response.status_code != 200:
        return False
    stages = response.json()["stages"]
    return all(s.get("result") == "Passed" for s in stages)


@pytest.fixture(scope="module")
def site(server: Server) -> Server:
    if server.agent is None or server.agent.poll() is not None:
        pytest.skip("needs a running `pygocd agent`")
    code = str(server.data_dir.parent / "code")
    created = httpx.post(
        server.url("/go/api/admin/pipelines"),
        headers=V11,
        json={"group": "extras", "pipeline": site_app(code)},
    )
    assert created.status_code == 200, created.text
    created = httpx.post(
        server.url("/go/api/admin/pipelines"),
        headers=V11,
        json={"group": "extras", "pipeline": site_deploy()},
    )
    assert created.status_code == 200, created.text
    for counter in (1, 2):
        if counter == 2:
            code = GitRepo(server.data_dir.parent / "code", branch="main")
            code.commit("Add a page", {"page.html": "<p>new page</p>\n"})
        scheduled = httpx.post(server.url("/go/api/pipelines/site-app/schedule"), headers=V1)
        assert scheduled.status_code == 202, scheduled.text
        eventually(lambda c=counter: passed(server, "site-app", c), timeout=60)
    return server


def test_job_tabs_are_keyboard_operable_and_show_artifacts(page: Page, site: Server) -> None:
    page.goto(site.url(JOB))
    tablist = page.get_by_role("tablist", name="Job details")
    console = tablist.get_by_role("tab", name="Console")
    expect(console).to_have_attribute("aria-selected", "true")
    console.focus()
    page.keyboard.press("ArrowRight")
    tests = tablist.get_by_role("tab", name="Tests")
    expect(tests).to_be_focused()
    page.keyboard.press("ArrowRight")
    artifacts = tablist.get_by_role("tab", name="Artifacts")
    expect(artifacts).to_be_focused()
    expect(artifacts).to_have_attribute("aria-selected", "true")
    panel = page.get_by_role("tabpanel", name="Artifacts")
    expect(panel).to_be_visible()
    expect(page.locator("#console")).to_be_hidden()

    folder = panel.locator("details[data-path='site']")
    expect(folder).not_to_have_attribute("open", "")
    folder.locator(":scope > summary").click()
    expect(panel.get_by_role("link", name="index.html")).to_be_visible()
    expect(panel.get_by_role("link", name="index.html")).to_have_attribute(
        "href", "/go/files/site-app/1/build/1/make-site/site/index.html"
    )
    panel.get_by_role("button", name="(+) Expand All").click()
    expect(panel.get_by_role("link", name="main.css")).to_be_visible()
    panel.get_by_role("button", name="(−) Collapse All").click()
    expect(panel.get_by_role("link", name="main.css")).to_be_hidden()
    link = panel.get_by_role("link", name="notes.txt")
    expect(link).to_be_visible()
    response = httpx.get(site.url(link.get_attribute("href") or ""))
    assert response.text == "ok\n"

    artifacts.focus()
    page.keyboard.press("End")
    coverage = tablist.get_by_role("tab", name="Coverage")
    expect(coverage).to_be_focused()
    frame = page.frame_locator("iframe[title='Coverage']")
    expect(frame.get_by_role("heading", name="Coverage 93%")).to_be_visible()
    expect(page.get_by_role("link", name="Link to this tab")).to_have_attribute(
        "href", "#tab-Coverage"
    )
    page.keyboard.press("Home")
    expect(console).to_have_attribute("aria-selected", "true")


def test_tests_tab_shows_the_report_merged_from_the_jobs_junit_xml(
    page: Page, site: Server
) -> None:
    page.goto(site.url(JOB + "#tab-tests"))
    expect(page.get_by_role("tab", name="Tests")).to_have_attribute("aria-selected", "true")
    frame = page.frame_locator("iframe[title='Test report of make-site']")
    expect(frame.locator(".tests_total_count")).to_have_text("2")
    expect(frame.locator(".tests_failed_count")).to_have_text("1")


def test_job_history_lists_the_jobs_runs_and_marks_this_one(page: Page, site: Server) -> None:
    page.goto(site.url(JOB))
    history = page.get_by_role("complementary", name="Job history")
    runs = history.get_by_role("link")
    expect(runs).to_have_count(2)
    expect(runs.first).to_have_text("site-app/2/build/1/make-site")
    current = history.locator("[aria-current='page']")
    expect(current).to_have_text("site-app/1/build/1/make-site")
    runs.first.click()
    expect(page).to_have_url(re.compile("/site-app/2/build/1/make-site$"))


def test_a_tab_link_opens_that_tab(page: Page, site: Server) -> None:
    page.goto(site.url(JOB + "#tab-materials"))
    expect(page.get_by_role("tab", name="Materials")).to_have_attribute("aria-selected", "true")
    panel = page.get_by_role("tabpanel", name="Materials")
    expect(panel).to_contain_text("Make the build faster")
    expect(panel).to_contain_text("Ada Lovelace")


def test_job_details_tabs_are_accessible_and_fit_390px(
    page: Page, mobile: Page, site: Server
) -> None:
    check_page(page, mobile, site.url(JOB + "#tab-artifacts"), "job-artifacts")
    check_page(page, mobile, site.url(JOB + "#tab-tests"), "job-tests")
    check_page(page, mobile, site.url(JOB + "#tab-Coverage"), "job-custom-tab")
    page.goto(site.url(JOB))
    expect(page.get_by_role("tab", name=re.compile("Console"))).to_be_visible()


def test_a_comment_is_added_and_edited_on_the_activity_page_without_reload(
    page: Page, mobile: Page, site: Server
) -> None:
    page.goto(site.url("/go/pipeline/activity/site-app"))
    page.wait_for_function("document.documentElement.dataset.live === 'open'")
    page.evaluate("window.__notReloaded = true")
    page.get_by_role("button", name="Add Comment to instance 1").click()
    dialog = page.get_by_role("dialog", name="Comment on site-app 1")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Comment")).to_be_focused()
    assert axe_violations(page) == []
    screenshot(page, "activity-comment-desktop")
    page.keyboard.type("Deployed to QA")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#flash")).to_contain_text("Comment successfully updated.")
    expect(page.locator("#comment-1")).to_have_text("Deployed to QA")

    page.get_by_role("button", name="Comment of instance 1").click()
    expect(dialog.get_by_label("Comment")).to_have_value("Deployed to QA")
    dialog.get_by_label("Comment").fill("Deployed to QA and staging")
    page.keyboard.press("Tab")
    dialog.get_by_role("button", name="Save").press("Enter")
    expect(page.locator("#comment-1")).to_have_text("Deployed to QA and staging")
    assert page.evaluate("window.__notReloaded") is True
    check_page(page, mobile, site.url("/go/pipeline/activity/site-app"), "activity-comments")


def test_compare_link_shows_the_commits_between_runs_and_the_pickers_work(
    page: Page, mobile: Page, site: Server
) -> None:
    page.goto(site.url("/go/pipeline/activity/site-app"))
    page.get_by_role("link", name="Compare 2 with the run before").click()
    expect(page).to_have_url(site.url("/go/compare/site-app/1/with/2"))
    expect(page).to_have_title("site-app - Compare - Go")
    result = page.get_by_role("region", name="Changes")
    expect(result.get_by_role("row")).to_have_count(2)
    expect(result).to_contain_text("Add a page")
    expect(result).to_contain_text("Ada Lovelace")

    page.get_by_label("Compare instance").select_option("2")
    page.get_by_role("button", name="Compare", exact=True).click()
    expect(page).to_have_url(site.url("/go/compare/site-app/2/with/2"))
    expect(result).to_contain_text("No material changed between these two instances.")
    check_page(page, mobile, site.url("/go/compare/site-app/1/with/2"), "compare")


def test_vsm_link_on_the_card_leads_to_the_map_whose_nodes_lead_on(
    page: Page, mobile: Page, site: Server
) -> None:
    page.goto(site.url("/go/pipelines"))
    page.locator("#pipeline-site-app").get_by_role("link", name="VSM", exact=True).click()
    expect(page).to_have_url(site.url("/go/pipelines/value_stream_map/site-app/2"))
    expect(page).to_have_title("site-app - Value Stream Map - Go")
    canvas = page.get_by_role("region", name="Value stream map of site-app 2")
    expect(canvas).to_be_visible()
    current = canvas.locator(".vsm-node[aria-current=page]")
    expect(current).to_contain_text("site-app")
    expect(current).to_contain_text("Instance: 2")
    expect(canvas.locator(".vsm-node--material")).to_contain_text("Add a page")
    expect(canvas.locator(".vsm-node[data-node=site-deploy]")).to_be_visible()
    expect(canvas.locator(".vsm-edge[data-target=site-deploy]")).to_have_count(1)
    current.hover()
    expect(canvas.locator(".vsm-edge[data-target=site-deploy]")).to_have_class(
        re.compile("is-highlighted")
    )
    check_page(page, mobile, site.url("/go/pipelines/value_stream_map/site-app/2"), "vsm")

    page.goto(site.url("/go/pipelines/value_stream_map/site-app/2"))
    page.get_by_role("link", name="build (Passed)").first.click()
    expect(page).to_have_url(site.url("/go/pipelines/site-app/2/build/1"))


def test_a_material_revision_on_the_map_opens_that_revision_s_map(
    page: Page, mobile: Page, site: Server
) -> None:
    page.goto(site.url("/go/pipelines/value_stream_map/site-app/2"))
    material = page.locator(".vsm-node--material")
    material.get_by_role("link", name=re.compile("^VSM of revision")).click()
    expect(page).to_have_url(re.compile("/go/materials/value_stream_map/[0-9a-f]+/[0-9a-f]{40}$"))
    current = page.locator(".vsm-node[aria-current=page]")
    expect(current).to_have_class(re.compile("vsm-node--material"))
    expect(current).to_contain_text("Add a page")
    expect(page.locator(".vsm-node[data-node=site-app]")).to_contain_text("Instance: 2")
    expect(page.locator(".vsm-node[data-node=site-deploy]")).to_be_visible()
    check_page(page, mobile, page.url, "vsm-material")


def test_artifacts_appear_on_an_open_job_page_when_the_job_completes(
    page: Page, site: Server
) -> None:
    gate = site.data_dir.parent / "gate-open"
    gated = site_app(str(site.data_dir.parent / "code"))
    gated["name"] = "gated-app"
    job = gated["stages"][0]["jobs"][0]
    job["tasks"][0]["attributes"]["arguments"] = [
        "-c",
        f"while [ ! -f {gate} ]; do sleep 0.1; done; {MAKE_SITE}",
    ]
    created = httpx.post(
        site.url("/go/api/admin/pipelines"),
        headers=V11,
        json={"group": "extras", "pipeline": gated},
    )
    assert created.status_code == 200, created.text
    scheduled = httpx.post(site.url("/go/api/pipelines/gated-app/schedule"), headers=V1)
    assert scheduled.status_code == 202, scheduled.text
    url = "/go/tab/build/detail/gated-app/1/build/1/make-site"
    eventually(lambda: httpx.get(site.url(url)).status_code == 200)

    page.goto(site.url(url + "#tab-artifacts"))
    page.wait_for_function("document.documentElement.dataset.live === 'open'")
    page.evaluate("window.__notReloaded = true")
    panel = page.get_by_role("tabpanel", name="Artifacts")
    # The console may already be stored (cruise-output/); the job's own files are not.
    expect(panel.get_by_role("link", name="notes.txt")).to_have_count(0)
    gate.write_text("go\n")
    expect(panel.get_by_role("link", name="notes.txt")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("tab", name="Artifacts")).to_have_attribute("aria-selected", "true")
    assert page.evaluate("window.__notReloaded") is True
