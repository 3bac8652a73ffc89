"""Value stream map JSON: upstream from the instance's build cause (materials and upstream
instances), downstream from config with the instances that consumed it, levels, dummies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pygocd.domain.materials import DependencyMaterialConfig
from pygocd.domain.pipelines import PipelineConfig
from pygocd.services.registry import Services
from tests.builders import commit, finish_job, git, instance, pipeline, save, stage, trigger

pytestmark = pytest.mark.db

URL = "/go/pipelines/value_stream_map"


def _on(upstream: str, name: str) -> PipelineConfig:
    return PipelineConfig(
        name=name,
        materials=(DependencyMaterialConfig(pipeline=upstream, stage="build"),),
        stages=(stage("build"), stage("deploy")),
    )


async def _run(services: Services, name: str) -> None:
    started = await trigger(services, name)
    for job in started.stages[0].jobs:
        await finish_job(services, job.id)


@pytest.fixture
async def chain(services: Services) -> Services:
    """up (git) → down → last; up → never (never run); `wide` depends on up and on down,
    so on up's map its edge from up skips a level."""
    wide = PipelineConfig(
        name="wide",
        materials=(
            DependencyMaterialConfig(pipeline="up", stage="build"),
            DependencyMaterialConfig(pipeline="down", stage="build"),
        ),
        stages=(stage("build"),),
    )
    await save(
        services,
        pipeline("up", stage("build")),
        _on("up", "down"),
        _on("down", "last"),
        _on("up", "never"),
        wide,
    )
    await commit(services, git(), revision="abc123", comment="first change")
    await _run(services, "up")
    await _run(services, "down")
    return services


def _nodes(body: dict[str, Any]) -> dict[str, tuple[int, dict[str, Any]]]:
    return {
        node["id"]: (index, node)
        for index, level in enumerate(body["levels"])
        for node in level["nodes"]
    }


async def test_upstream_and_downstream_of_an_instance(
    client: httpx.AsyncClient, chain: Services
) -> None:
    response = await client.get(f"{URL}/down/1.json")
    assert response.status_code == 200
    body = response.json()
    assert body["current_pipeline"] == "down"
    nodes = _nodes(body)
    material = git().fingerprint
    level_of = {key: level for key, (level, _) in nodes.items()}
    assert level_of[material] == 0
    assert level_of["up"] == 1
    assert level_of["down"] == 2
    assert level_of["last"] == 3
    assert level_of["wide"] == 3
    assert "never" not in nodes  # downstream of up, not of down

    _, git_node = nodes[material]
    assert git_node["node_type"] == "GIT"
    assert git_node["name"] == "https://example.com/app.git"
    assert git_node["dependents"] == ["up"]
    assert git_node["parents"] == []
    [revision] = git_node["material_revisions"]
    [modification] = revision["modifications"]
    assert modification["revision"] == "abc123"
    assert modification["comment"] == "first change"
    assert modification["modified_time"] == "5 minutes ago"
    assert modification["locator"] == f"/go/materials/value_stream_map/{material}/abc123"

    _, up = nodes["up"]
    assert up["node_type"] == "PIPELINE"
    assert up["parents"] == [material]
    assert up["dependents"] == ["down"]  # downstream edges come from the current pipeline only
    assert up["locator"] == "/go/pipeline/activity/up"
    assert up["edit_path"] == "/go/admin/pipelines/up/edit"
    assert up["can_edit"] is True
    assert up["template_name"] is None
    [up_instance] = up["instances"]
    assert up_instance["counter"] == 1
    assert up_instance["locator"] == "/go/pipelines/value_stream_map/up/1"
    [build] = up_instance["stages"]
    assert build["status"] == "Passed"
    assert build["locator"] == "/go/pipelines/up/1/build/1"
    assert isinstance(build["duration"], int)

    _, down = nodes["down"]
    [down_instance] = down["instances"]
    stages = {s["name"]: s for s in down_instance["stages"]}
    assert stages["build"]["status"] == "Passed"
    assert stages["deploy"]["status"] in ("Building", "Unknown")

    _, last = nodes["last"]
    [unrun] = last["instances"]
    assert unrun["counter"] == 0
    assert unrun["locator"] == ""
    assert [s["status"] for s in unrun["stages"]] == ["Unknown", "Unknown"]
    assert all(s["locator"] == "" for s in unrun["stages"])


async def test_an_edge_that_skips_a_level_goes_through_a_dummy(
    client: httpx.AsyncClient, chain: Services
) -> None:
    body = (await client.get(f"{URL}/up/1.json")).json()
    nodes = _nodes(body)
    level_of = {key: level for key, (level, _) in nodes.items()}
    assert level_of["up"] == 1
    assert level_of["down"] == 2
    assert level_of["never"] == 2
    assert level_of["wide"] == 3
    dummies = [node for _, node in nodes.values() if node["node_type"] == "DUMMY"]
    [dummy] = dummies
    assert dummy["name"] == f"dummy-{dummy['id']}"
    assert dummy["parents"] == ["up"]
    assert dummy["dependents"] == ["wide"]
    assert level_of[dummy["id"]] == 2
    assert dummy["id"] in nodes["up"][1]["dependents"]
    assert sorted(nodes["wide"][1]["parents"]) == sorted(["down", dummy["id"]])
    _, down = nodes["down"]
    assert [i["counter"] for i in down["instances"]] == [1]
    _, never = nodes["never"]
    assert [i["counter"] for i in never["instances"]] == [0]
    for level in body["levels"]:
        assert [n["depth"] for n in level["nodes"]] == list(range(1, len(level["nodes"]) + 1))


async def test_unknown_instance_is_gocds_error_body(
    client: httpx.AsyncClient, chain: Services
) -> None:
    for path, counter in (("down/9", 9), ("ghost/1", 1), ("down/abc", 0), ("down/-3", -3)):
        response = await client.get(f"{URL}/{path}.json")
        assert response.status_code == 200
        name = path.split("/")[0]
        assert response.json() == {
            "error": f"Pipeline '{name}' with counter '{counter}' not found."
        }
    huge = await client.get(f"{URL}/down/99999999999999999999.json")
    assert huge.status_code == 200
    assert "error" in huge.json()


async def test_a_deleted_upstream_pipeline_is_marked(
    client: httpx.AsyncClient, chain: Services
) -> None:
    down = await instance(chain, "down", 1)
    await save(chain, _on("up", "down"))
    body = (await client.get(f"{URL}/down/{down.counter}.json")).json()
    _, up = _nodes(body)["up"]
    assert up["view_type"] == "DELETED"
    assert up["locator"] == ""
    assert up["can_edit"] is False


@pytest.mark.parametrize("counter", ["%C2%B9", "%C2%B9C2", "%D9%A3", "1%C2%B2"])
async def test_non_ascii_digits_in_a_counter_are_not_a_server_error(
    client: httpx.AsyncClient, counter: str
) -> None:
    # "¹".isdigit() is True in Python but int("¹") fails: found by schemathesis.
    response = await client.get(f"/go/pipelines/value_stream_map/up42/{counter}.json")
    assert response.status_code < 500


async def test_material_revision_map_shows_the_runs_that_took_it_in_and_what_followed(
    client: httpx.AsyncClient, chain: Services
) -> None:
    material = git().fingerprint
    response = await client.get(f"/go/materials/value_stream_map/{material}/abc123.json")
    assert response.status_code == 200
    body = response.json()
    assert body["current_material"] == material
    assert "current_pipeline" not in body
    nodes = _nodes(body)
    level_of = {key: level for key, (level, _) in nodes.items()}
    assert level_of[material] == 0
    assert level_of["up"] == 1
    assert level_of["down"] == 2
    _, git_node = nodes[material]
    [revision] = git_node["material_revisions"]
    assert [m["revision"] for m in revision["modifications"]] == ["abc123"]
    _, up = nodes["up"]
    assert [i["counter"] for i in up["instances"]] == [1]


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("nope/abc123", "Material with fingerprint 'nope' not found."),
        ("{fp}/fff999", "Modification 'fff999' for material with fingerprint '{fp}' not found."),
    ],
)
async def test_material_revision_map_of_an_unknown_material_or_revision_is_an_error(
    client: httpx.AsyncClient, chain: Services, path: str, error: str
) -> None:
    fingerprint = git().fingerprint
    response = await client.get(
        f"/go/materials/value_stream_map/{path.format(fp=fingerprint)}.json"
    )
    assert response.status_code == 200  # GoCD's Rails controller answers errors with 200
    assert response.json() == {"error": error.format(fp=fingerprint)}
