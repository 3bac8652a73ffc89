"""GoCD JSON config files: contract-shaped already, read with positions and GoCD's defaults."""

from __future__ import annotations

import json

from pygocd.configrepo.json_reader import load_json
from pygocd.configrepo.parse import parse_files, to_contract
from pygocd.domain.materials import GitMaterialConfig

PIPELINE = {
    "format_version": 1,
    "name": "app",
    "group": "web",
    "enable_pipeline_locking": True,
    "materials": [{"url": "https://example.invalid/app.git", "type": "git"}],
    "stages": [
        {
            "name": "build",
            "jobs": [
                {
                    "name": "compile",
                    "timeout": 0,
                    "run_instance_count": None,
                    "tasks": [{"type": "exec", "command": "make", "arguments": ["-j", 2]}],
                }
            ],
        }
    ],
}


def test_pipeline_file_reads_with_server_defaults_and_migrations() -> None:
    text = json.dumps(PIPELINE, indent="\t")
    result = parse_files([("app.gopipeline.json", text)])
    assert result.errors == ()
    [pipeline] = result.pipelines
    [material] = pipeline.materials
    assert isinstance(material, GitMaterialConfig)
    assert material.name is None
    assert material.branch == "master"
    assert pipeline.lock_behavior == "lockOnFailure"
    job = pipeline.stages[0].jobs[0]
    assert job.timeout is None
    assert job.tasks[0].arguments == ("-j", "2")  # type: ignore[union-attr]
    assert result.source_map.locate("pipelines.app.stages[0].jobs.compile").line == 16


def test_contract_of_json_files_is_the_json_plugins() -> None:
    environment = json.dumps({"name": "prod", "pipelines": ["app"]})
    contract = to_contract(
        [("app.gopipeline.json", json.dumps(PIPELINE)), ("prod.goenvironment.json", environment)]
    )
    assert contract["target_version"] == 1
    assert [p["location"] for p in contract["pipelines"]] == ["app.gopipeline.json"]
    assert contract["environments"] == [
        {"name": "prod", "pipelines": ["app"], "location": "prod.goenvironment.json"}
    ]


def test_malformed_json_is_a_located_error() -> None:
    result = parse_files([("bad.gopipeline.json", '{\n  "name": "x",\n  "group": }\n')])
    [error] = result.errors
    assert (error.location.file, error.location.line, error.location.column) == (
        "bad.gopipeline.json",
        3,
        12,
    )
    assert error.message.startswith("Error parsing JSON")


def test_deep_and_wrongly_typed_json_gives_errors_not_exceptions() -> None:
    deep = "[" * 5000 + "]" * 5000
    assert parse_files([("deep.gopipeline.json", deep)]).errors
    wrong = json.dumps({"name": "p", "group": ["x"], "materials": {}, "stages": "no"})
    errors = parse_files([("p.gopipeline.json", wrong)]).errors
    assert {e.key_path for e in errors} >= {"pipelines.p.group", "pipelines.p.materials"}
    assert all(e.location.line == 1 for e in errors)


def test_json_versions_without_declaration_count_as_1() -> None:
    other = dict(PIPELINE, name="other")
    del other["format_version"]
    files = [
        ("a.gopipeline.json", json.dumps(dict(PIPELINE, format_version=2))),
        ("b.gopipeline.json", json.dumps(other)),
    ]
    contract = to_contract(files)
    assert contract["pipelines"] == []
    assert "Found versions: [1, 2]" in contract["errors"][0]["message"]


def test_load_json_keeps_numbers_and_positions() -> None:
    value = load_json('{"a": [1, 2.5, true, null, "x"],\n "b": {"c": -3e2}}', "f.json")
    assert value == {"a": [1, 2.5, True, None, "x"], "b": {"c": -300.0}}
    assert value.positions["b"] == (2, 2)
    assert value["a"].positions[4] == (1, 28)
