"""The value stream map page on real runs: levels left to right, materials as circles,
pipelines with their instances' stage bars linking to their pages, the current pipeline
marked, edges through dummies, the VSM links that lead to it, and 404s."""

from __future__ import annotations

import httpx
import pytest

from pygocd.domain.materials import DependencyMaterialConfig
from pygocd.domain.pipelines import PipelineConfig
from pygocd.services.registry import Services
from pygocd.web.ui.value_stream_maps import COLUMN
from tests.builders import commit, git, pipeline, run_to_end, save, stage
from tests.web.ui.dom import Node, fetch

pytestmark = pytest.mark.db


def _on(*upstream: str, name: str) -> PipelineConfig:
    return PipelineConfig(
        name=name,
        materials=tuple(DependencyMaterialConfig(pipeline=u, stage="build") for u in upstream),
        stages=(stage("build"), stage("deploy")),
    )


@pytest.fixture
async def chain(services: Services) -> Services:
    """up (git) → down → last (never run); wide depends on up and down (a long edge)."""
    await save(
        services,
        pipeline("up", stage("build")),
        _on("up", name="down"),
        _on("down", name="last"),
        _on("up", "down", name="wide"),
    )
    await commit(services, revision="abc123", comment="first change")
    await run_to_end(services, "up")
    await run_to_end(services, "down")
    return services


def nodes(doc: Node) -> dict[str, Node]:
    return {n.attrs["data-node"]: n for n in doc.find_all(lambda n: n.has_class("vsm-node"))}


def left(node: Node) -> int:
    style = dict(
        part.split(":", 1) for part in node.attrs["style"].replace(" ", "").split(";") if part
    )
    return int(style["left"].removesuffix("px"))


async def test_the_map_shows_levels_left_to_right_with_the_current_pipeline_marked(
    client: httpx.AsyncClient, chain: Services
) -> None:
    doc = await fetch(client, "/go/pipelines/value_stream_map/down/1")

    assert doc.by_tag("title")[0].text == "down - Value Stream Map - Go"
    found = nodes(doc)
    material = git().fingerprint
    assert set(found) == {material, "up", "down", "last", "wide"}
    columns = sorted({left(n) for n in found.values()})
    assert len(columns) == 4
    column_of = {key: columns.index(left(n)) for key, n in found.items()}
    assert column_of == {material: 0, "up": 1, "down": 2, "last": 3, "wide": 3}
    assert columns[1] - columns[0] < COLUMN + 60

    current = found["down"]
    assert current.has_class("is-current")
    assert current.attrs["aria-current"] == "page"
    assert [n for n in found.values() if n.has_class("is-current")] == [current]
    assert "Upstream: up. Downstream: last, wide." in current.text

    circle = found[material]
    assert circle.has_class("vsm-node--material")
    assert "GIT" in circle.text
    assert "first change" in circle.text
    assert "abc123" in circle.text


async def test_pipeline_nodes_link_to_their_pages(
    client: httpx.AsyncClient, chain: Services
) -> None:
    found = nodes(await fetch(client, "/go/pipelines/value_stream_map/down/1"))

    up_links = {a.text: a.attrs["href"] for a in found["up"].by_tag("a")}
    assert up_links["up"] == "/go/pipeline/activity/up"
    assert up_links["VSM"] == "/go/pipelines/value_stream_map/up/1"
    [build] = found["up"].find_all(lambda n: n.has_class("vsm-stage"))
    assert build.attrs["href"] == "/go/pipelines/up/1/build/1"
    assert build.attrs["aria-label"] == "build (Passed)"
    assert build.has_class("stage--passed")

    unrun = found["last"]
    assert "No instance of this pipeline has run" in unrun.text
    stages = unrun.find_all(lambda n: n.has_class("vsm-stage"))
    assert [s.tag for s in stages] == ["span", "span"]
    assert [s.attrs["aria-label"] for s in stages] == ["build (Unknown)", "deploy (Unknown)"]


async def test_edges_run_between_nodes_and_long_ones_pass_a_dummy(
    client: httpx.AsyncClient, chain: Services
) -> None:
    doc = await fetch(client, "/go/pipelines/value_stream_map/up/1")
    edges = doc.find_all(lambda n: n.has_class("vsm-edge"))
    pairs = {(e.attrs["data-source"], e.attrs["data-target"]) for e in edges}
    assert (git().fingerprint, "up") in pairs
    assert ("up", "down") in pairs
    dummies = {t for s, t in pairs if s == "up" and t not in ("down", "wide")}
    [dummy] = dummies
    assert (dummy, "wide") in pairs
    into_dummy = next(e for e in edges if e.attrs["data-target"] == dummy)
    assert "marker-end" not in into_dummy.attrs
    into_down = next(e for e in edges if e.attrs["data-target"] == "down")
    assert into_down.attrs["marker-end"] == "url(#vsm-arrow)"
    assert into_down.one(lambda n: n.tag == "title").text == "up -> down"
    assert "Downstream: down, wide." in nodes(doc)["up"].text


async def test_vsm_links_of_the_activity_stage_and_job_pages_lead_to_the_map(
    client: httpx.AsyncClient, chain: Services
) -> None:
    activity = await fetch(client, "/go/pipeline/activity/down")
    [vsm] = [a.attrs["href"] for a in activity.by_tag("a") if a.text == "VSM"]
    assert vsm == "/go/pipelines/value_stream_map/down/1"
    assert (await client.get(vsm)).status_code == 200
    for path in ("/go/pipelines/down/1/build/1", "/go/tab/build/detail/down/1/build/1/compile"):
        crumb = (await fetch(client, path)).one(lambda n: n.has_class("crumb__vsm"))
        assert crumb.attrs["href"] == "/go/pipelines/value_stream_map/down/1"


@pytest.mark.parametrize(
    "path",
    [
        "/go/pipelines/value_stream_map/nope/1",
        "/go/pipelines/value_stream_map/down/7",
        "/go/pipelines/value_stream_map/last/1",
        "/go/pipelines/value_stream_map/down/0",
    ],
)
async def test_the_map_of_an_unknown_run_is_not_found(
    client: httpx.AsyncClient, chain: Services, path: str
) -> None:
    assert (await client.get(path)).status_code == 404


async def test_the_json_map_is_still_served_next_to_the_page(
    client: httpx.AsyncClient, chain: Services
) -> None:
    response = await client.get("/go/pipelines/value_stream_map/down/1.json")
    assert response.status_code == 200
    assert response.json()["current_pipeline"] == "down"


async def test_a_material_revision_has_its_own_map_downstream_of_it(
    client: httpx.AsyncClient, chain: Services
) -> None:
    material = git().fingerprint
    pipeline_map = nodes(await fetch(client, "/go/pipelines/value_stream_map/down/1"))
    [link] = pipeline_map[material].by_tag("a")
    assert link.attrs["href"] == f"/go/materials/value_stream_map/{material}/abc123"

    doc = await fetch(client, link.attrs["href"])
    assert doc.by_tag("title")[0].text == "https://example.com/app.git - Value Stream Map - Go"
    found = nodes(doc)
    assert set(found) == {material, "up", "down", "last", "wide"}
    assert found[material].attrs["aria-current"] == "page"
    assert not any(n.has_class("is-current") for key, n in found.items() if key != material)
    column_of = {key: left(n) for key, n in found.items()}
    assert column_of[material] < column_of["up"] < column_of["down"] < column_of["last"]
    assert "Instance: 1" in found["up"].text
    assert "Instance: 1" in found["down"].text
    assert "No instance of this pipeline has run" in found["last"].text


async def test_a_revision_no_pipeline_has_built_yet_shows_unrun_pipelines(
    client: httpx.AsyncClient, chain: Services
) -> None:
    await commit(chain, revision="def456", comment="not built yet")
    found = nodes(await fetch(client, f"/go/materials/value_stream_map/{git().fingerprint}/def456"))
    assert "No instance of this pipeline has run" in found["up"].text
    assert "not built yet" in found[git().fingerprint].text


@pytest.mark.parametrize(
    "path",
    [
        "/go/materials/value_stream_map/0000/abc123",
        f"/go/materials/value_stream_map/{git().fingerprint}/nope",
    ],
)
async def test_the_map_of_an_unknown_material_revision_is_not_found(
    client: httpx.AsyncClient, chain: Services, path: str
) -> None:
    assert (await client.get(path)).status_code == 404


async def test_further_instances_of_a_node_fold_under_n_more(
    client: httpx.AsyncClient, chain: Services
) -> None:
    await run_to_end(chain, "down")  # a second run of down from the same run of up
    down = nodes(await fetch(client, "/go/pipelines/value_stream_map/up/1"))["down"]

    shown = [p.text for p in down.find_all(lambda n: n.has_class("vsm-instance__label"))]
    assert shown == ["Instance: 1 VSM", "Instance: 2 VSM"]
    [more] = down.find_all(lambda n: n.has_class("vsm-node__more"))
    assert more.tag == "details"
    assert more.one(lambda n: n.tag == "summary").text == "1 more…"
    assert "Instance: 2" in more.text
