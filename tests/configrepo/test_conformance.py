"""Conformance with GoCD's YAML plugin, over its own test fixtures (`../shared/fixtures`).

Every YAML→JSON expectation of the upstream plugin is reproduced the way upstream asserts
it (subset or exact match, children stubbed to null where the manifest says so); negative
fixtures must be rejected naming the file and the problem; every GoCD JSON example parses.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from pygocd.configrepo.contract import (
    transform_environment,
    transform_pipeline,
    yaml_contract,
)
from pygocd.configrepo.contract_materials import transform_material
from pygocd.configrepo.contract_stages import transform_job, transform_stage, transform_task
from pygocd.configrepo.contract_values import Context, Paths, parameters, variables
from pygocd.configrepo.parse import parse_files
from pygocd.configrepo.yaml_reader import load_yaml


def fixtures_root() -> Path:
    override = os.environ.get("PYGOCD_FIXTURES")
    if override:
        return Path(override)
    return (Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures").resolve()


def require_fixtures() -> Path:
    """The fixtures folder; skip when absent, except in CI where absence is a failure."""
    root = fixtures_root()
    if not (root / "gocd-yaml" / "MANIFEST.json").is_file():
        reason = f"GoCD conformance fixtures not found at {root} (set PYGOCD_FIXTURES)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return root


def _manifest() -> list[dict[str, Any]]:
    path = fixtures_root() / "gocd-yaml" / "MANIFEST.json"
    if not path.is_file():
        return [{"input": None, "kind": "missing", "expected": None}]
    entries: list[dict[str, Any]] = json.loads(path.read_text())["gocd-yaml"]
    return entries


MANIFEST = _manifest()


def _ids(kinds: tuple[str, ...]) -> list[Any]:
    chosen = [e for e in MANIFEST if e["kind"] in kinds or e["kind"] == "missing"]
    return [pytest.param(e, id=e["input"] or e["expected"] or "fixtures-missing") for e in chosen]


def subset_match(expected: Any, actual: Any) -> bool:
    """Upstream's JsonObjectMatcher: expected keys present and equal; arrays same length,
    every expected element matching some actual element, in any order."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and subset_match(value, actual[key]) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(any(subset_match(e, a) for a in actual) for e in expected)
        )
    return bool(expected == actual)


def _upstream_name(entry: dict[str, Any]) -> str:
    return str(entry["source"]).rsplit("/", 1)[-1]


def _transform_part(entry: dict[str, Any], root: Path) -> Any:
    name = entry["input"]
    document = load_yaml((root / "gocd-yaml" / name).read_text(), name)
    ctx = Context(
        name,
        format_version=entry.get("format_version") or 1,
        mocked=frozenset(entry.get("mocked_children_are_null") or ()),
    )
    level = entry["level"]
    if level == "env_vars":
        return variables(document, ctx, Paths.root(""))
    if level == "parameters":
        return parameters(document, ctx, Paths.root(""))
    if level in ("stages", "tasks"):
        transform = transform_stage if level == "stages" else transform_task
        return transform(document, ctx, Paths.root("item"))
    key, body = next(iter(document.items()))
    transforms = {
        "pipeline": transform_pipeline,
        "materials": transform_material,
        "jobs": transform_job,
        "environments": transform_environment,
    }
    return transforms[level](key, body, ctx, Paths.root(key))


@pytest.mark.parametrize("entry", _ids(("parse-part",)))
def test_part_gives_upstream_json(entry: dict[str, Any]) -> None:
    root = require_fixtures()
    expected = json.loads((root / "gocd-yaml" / entry["expected"]).read_text())
    actual = _transform_part(entry, root)
    if entry["compare"] == "exact":
        assert actual == expected
    else:
        assert subset_match(expected, actual), json.dumps(actual, indent=1)


@pytest.mark.parametrize("entry", _ids(("parse-example",)))
def test_example_gives_upstream_json(entry: dict[str, Any]) -> None:
    root = require_fixtures()
    expected = json.loads((root / "gocd-yaml" / entry["expected"]).read_text())
    text = (root / "gocd-yaml" / entry["input"]).read_text()
    actual = yaml_contract([(_upstream_name(entry), text)]).contract
    assert subset_match(expected, actual), json.dumps(actual, indent=1)
    parsed = parse_files([(entry["input"], text)])
    assert parsed.errors == ()
    assert len(parsed.pipelines) == len(expected["pipelines"])


_NEGATIVE_PROBLEMS = {
    "examples__simple-invalid.gocd.yaml": "Failed to parse pipeline pipe1; expected a hash of "
    "pipeline materials",
    "examples__duplicate-materials.gocd.yaml": "Duplicate key found 'upstream'",
    "examples__invalid-materials.gocd.yaml": "Error parsing YAML",
    "parts__roots__duplicate.materials.pipe.yaml": "Duplicate key found 'upstream'",
}


@pytest.mark.parametrize("entry", _ids(("negative",)))
def test_negative_fixture_is_rejected(entry: dict[str, Any]) -> None:
    root = require_fixtures()
    name = entry["input"]
    text = (root / "gocd-yaml" / name).read_text()
    contract = yaml_contract([(name, text)]).contract
    assert contract["pipelines"] == []
    [error] = contract["errors"]
    assert error["location"] == name
    assert _NEGATIVE_PROBLEMS[name] in error["message"]
    parsed = parse_files([(name, text)])
    assert parsed.pipelines == ()
    assert len(parsed.errors) == 1
    assert parsed.errors[0].location.file == name
    assert parsed.errors[0].location.line is not None
    assert _NEGATIVE_PROBLEMS[name] in parsed.errors[0].message


def _root_file(root: Path, name: str) -> tuple[str, str]:
    return (name, (root / "gocd-yaml" / name).read_text())


@pytest.mark.parametrize("entry", _ids(("root",)))
def test_root_fixture_behaves_as_upstream(entry: dict[str, Any]) -> None:
    root = require_fixtures()
    name = entry["input"]
    file = _root_file(root, name)
    if name in ("parts__roots__2.yaml", "parts__roots__common_section.yaml"):
        contract = yaml_contract([file], mocked=frozenset({"pipelines", "environments"})).contract
        count = 2 if name.endswith("2.yaml") else 1
        assert len(contract["pipelines"]) == count
        assert len(contract["environments"]) == count
        assert contract["errors"] == []
    elif name == "parts__roots__empty.yaml":
        contract = yaml_contract([file]).contract
        assert contract == {
            "target_version": 1,
            "pipelines": [],
            "environments": [],
            "errors": [],
        }
    elif name == "parts__roots__pipeline_order.yaml":
        contract = yaml_contract([file], mocked=frozenset({"materials", "stages"})).contract
        assert [p["name"] for p in contract["pipelines"]] == ["pipe1", "pipe2", "pipe3"]
        assert contract["errors"] == []
    else:
        version = {"1": 1, "2": 2, "present": 1}[name.rsplit("_", 1)[-1].removesuffix(".yaml")]
        contract = yaml_contract([file]).contract
        assert contract["target_version"] == version
        assert contract["errors"] == []
        assert [p["name"] for p in contract["pipelines"]] == ["pipe1"]
        assert [e["name"] for e in contract["environments"]] == ["first"]
        parsed = parse_files([file])
        assert parsed.errors == ()
        assert [p.name for p in parsed.pipelines] == ["pipe1"]


def test_conflicting_format_versions_fail_the_repository() -> None:
    root = require_fixtures()
    files = [
        _root_file(root, "parts__roots__version_1.yaml"),
        _root_file(root, "parts__roots__version_2.yaml"),
    ]
    contract = yaml_contract(files).contract
    assert contract["pipelines"] == []
    [error] = contract["errors"]
    assert error["location"] == "YAML config plugin"
    assert "Versions across files are not unique. Found versions: [1, 2]" in error["message"]
    assert parse_files(files).pipelines == ()


@pytest.mark.parametrize(
    ("names", "target"),
    [
        (("parts__roots__version_1.yaml", "parts__roots__version_not_present.yaml"), 1),
        (("parts__roots__version_2.yaml", "parts__roots__version_2.yaml"), 2),
        (("parts__roots__version_not_present.yaml", "parts__roots__version_2.yaml"), 2),
    ],
)
def test_compatible_format_versions_are_accepted(names: tuple[str, str], target: int) -> None:
    root = require_fixtures()
    contract = yaml_contract([_root_file(root, n) for n in names]).contract
    assert contract["errors"] == []
    assert contract["target_version"] == target
    assert len(contract["pipelines"]) == 2


@pytest.mark.parametrize("entry", _ids(("example",)))
def test_example_repo_parses(entry: dict[str, Any]) -> None:
    root = require_fixtures()
    parsed = parse_files([_root_file(root, entry["input"])])
    assert parsed.errors == ()
    assert parsed.pipelines


def _json_files() -> list[Any]:
    folder = fixtures_root() / "gocd-json"
    if not folder.is_dir():
        return [pytest.param(None, id="fixtures-missing")]
    return [pytest.param(p.name, id=p.name) for p in sorted(folder.glob("*.json"))]


@pytest.mark.parametrize("name", _json_files())
def test_gocd_json_example_parses(name: str | None) -> None:
    root = require_fixtures()
    assert name is not None
    parsed = parse_files([(name, (root / "gocd-json" / name).read_text())])
    assert parsed.errors == ()
    if name.endswith(".goenvironment.json"):
        assert [e.name for e in parsed.environments] == [name.split(".")[0]]
    else:
        assert len(parsed.pipelines) == 1
        assert parsed.pipelines[0].stages


def test_gocd_json_examples_parse_together_as_one_repo() -> None:
    root = require_fixtures()
    folder = root / "gocd-json"
    files = [(p.name, p.read_text()) for p in sorted(folder.glob("*.json"))]
    parsed = parse_files(files, repo_id="json-example")
    assert parsed.errors == ()
    assert len(parsed.pipelines) == 7
    assert all(p.origin.repo_id == "json-example" for p in parsed.pipelines)
