"""The compare page on real runs: both instances side by side, the commits and upstream runs
in between, the pickers, the Compare links that lead to it, and 404s for unknown runs."""

from __future__ import annotations

import httpx
import pytest

from pygocd.domain.materials import DependencyMaterialConfig
from pygocd.domain.pipelines import PipelineConfig
from pygocd.services.registry import Services
from tests.builders import commit, pipeline, run_to_end, save, stage
from tests.web.ui.dom import Node, fetch

pytestmark = pytest.mark.db


@pytest.fixture
async def two_runs(services: Services) -> Services:
    """up (git) ran twice with two commits in between; down (on up) ran after each."""
    down = PipelineConfig(
        name="down",
        materials=(DependencyMaterialConfig(pipeline="up", stage="build"),),
        stages=(stage("build"),),
    )
    await save(services, pipeline("up", stage("build")), down)
    await commit(services, revision="aaa111", comment="first change")
    await run_to_end(services, "up")
    await run_to_end(services, "down")
    await commit(services, revision="bbb222", comment="second change")
    await commit(services, revision="ccc333", comment="third change\nwith details")
    await run_to_end(services, "up")
    await run_to_end(services, "down")
    return services


def rows(doc: Node) -> list[list[str]]:
    return [[td.text for td in tr.by_tag("td")] for tr in doc.by_tag("tr") if tr.by_tag("td")]


async def test_compare_lists_the_commits_between_two_runs(
    client: httpx.AsyncClient, two_runs: Services
) -> None:
    doc = await fetch(client, "/go/compare/up/1/with/2")

    assert doc.one(lambda n: n.tag == "title").text == "up - Compare - Go"
    [header] = [h.text for h in doc.find_all(lambda n: n.has_class("compare-material__header"))]
    assert header == "Git - URL: https://example.com/app.git, Branch: main"
    found = rows(doc.one(lambda n: n.has_class("compare-result")))
    assert [r[0] for r in found] == ["ccc333", "bbb222"]
    assert found[0][1] == "alice <alice@example.com>"
    assert found[0][3] == "third change with details"
    counters = doc.find_all(lambda n: n.has_class("compare-instance__counter"))
    assert [(h.children[0].text, h.texts[-1]) for h in counters] == [
        ("From instance", "1"),
        ("To instance", "2"),
    ]


async def test_compare_of_a_downstream_pipeline_lists_upstream_runs(
    client: httpx.AsyncClient, two_runs: Services
) -> None:
    doc = await fetch(client, "/go/compare/down/2/with/1")

    [header] = [h.text for h in doc.find_all(lambda n: n.has_class("compare-material__header"))]
    assert header.startswith("Pipeline - ")
    result = doc.one(lambda n: n.has_class("compare-result"))
    links = [(a.text, a.attrs["href"]) for a in result.by_tag("a")]
    assert links == [
        ("up/2/build/1", "/go/pipelines/up/2/build/1"),
        ("2", "/go/pipelines/value_stream_map/up/2"),
    ]


async def test_comparing_a_run_with_itself_shows_no_changes(
    client: httpx.AsyncClient, two_runs: Services
) -> None:
    doc = await fetch(client, "/go/compare/up/2/with/2")
    assert "No material changed between these two instances." in doc.text


async def test_the_pickers_offer_recent_runs_and_lead_to_the_page(
    client: httpx.AsyncClient, two_runs: Services
) -> None:
    doc = await fetch(client, "/go/compare/up/1/with/2")
    form = doc.one(lambda n: n.tag == "form" and n.has_class("compare-selection"))
    assert form.attrs["action"] == "/go/ui/compare/up"
    pickers = {s.attrs["name"]: s for s in form.by_tag("select")}
    assert [o.attrs["value"] for o in pickers["from_counter"].by_tag("option")] == ["2", "1"]
    assert [
        o.attrs["value"] for o in pickers["to_counter"].by_tag("option") if "selected" in o.attrs
    ] == ["2"]

    response = await client.get("/go/ui/compare/up?from_counter=2&to_counter=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/go/compare/up/2/with/1"


async def test_activity_and_stage_pages_link_to_compare_with_the_run_before(
    client: httpx.AsyncClient, two_runs: Services
) -> None:
    activity = await fetch(client, "/go/pipeline/activity/up")
    compare = [a.attrs["href"] for a in activity.by_tag("a") if a.text == "Compare"]
    assert compare == ["/go/compare/up/1/with/2"]
    stage_page = await fetch(client, "/go/pipelines/up/2/build/1")
    assert "/go/compare/up/1/with/2" in [a.attrs.get("href") for a in stage_page.by_tag("a")]


@pytest.mark.parametrize(
    "path",
    ["/go/compare/nope/1/with/2", "/go/compare/up/1/with/9", "/go/compare/up/0/with/1"],
)
async def test_compare_of_unknown_runs_is_not_found(
    client: httpx.AsyncClient, two_runs: Services, path: str
) -> None:
    assert (await client.get(path)).status_code == 404
