"""GoCD YAML quirks end to end: files in, contract JSON and domain objects or located errors out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pygocd.configrepo.parse import parse_directory, parse_files, to_contract
from pygocd.domain.materials import DependencyMaterialConfig, GitMaterialConfig
from pygocd.domain.pipelines import ApprovalType, LockBehavior
from pygocd.domain.tasks import ExecTask, PluginTask

PIPELINE = """\
format_version: {version}
pipelines:
  build:
    group: web
{extra}    materials:
      repo:
        git: https://example.invalid/app.git
    stages:
      - test:
          tasks:
            - exec: {{command: make}}
"""


def _pipeline(version: int = 10, extra: str = "") -> str:
    return PIPELINE.format(version=version, extra=extra)


def _contract(text: str) -> dict[str, Any]:
    return to_contract([("ci.gocd.yaml", text)])


def test_shorthand_key_overrides_type_and_unknown_text_keys_pass_through() -> None:
    text = _pipeline().replace(
        "git: https://example.invalid/app.git",
        "type: svn\n        git: https://example.invalid/app.git\n        url: ignored\n"
        "        brnach: typo\n        scm_id: lost\n        extra: [dropped]",
    )
    [material] = _contract(text)["pipelines"][0]["materials"]
    assert material == {
        "name": "repo",
        "type": "git",
        "url": "https://example.invalid/app.git",
        "brnach": "typo",
    }


def test_single_job_stage_shorthand_and_script_and_approval_shorthand() -> None:
    text = _pipeline().replace(
        "      - test:\n          tasks:\n            - exec: {command: make}\n",
        "      - test:\n          approval: manual\n          resources: [linux]\n"
        "          environment_variables: {A: x}\n          tasks:\n            - script: ./run\n",
    )
    result = parse_files([("ci.gocd.yaml", text)])
    assert result.errors == ()
    [stage] = result.pipelines[0].stages
    assert stage.approval.type is ApprovalType.MANUAL
    [job] = stage.jobs
    assert job.name == "test"
    assert job.resources == ("linux",)
    assert [v.name for v in job.environment_variables] == ["A"]
    [task] = job.tasks
    assert isinstance(task, PluginTask)
    assert task.script == "./run"


def test_task_lists_flatten_to_any_depth_and_stage_lists_one_level() -> None:
    text = """\
common:
  lint: &lint [[{exec: {command: a}}, [{exec: {command: b}}]]]
  more: &more [{deploy: {tasks: [{exec: {command: d}}]}}]
pipelines:
  p:
    group: g
    materials: {m: {git: u}}
    stages:
      - build: {tasks: [*lint, {exec: {command: c}}]}
      - *more
"""
    result = parse_files([("ci.gocd.yaml", text)])
    assert result.errors == ()
    build, deploy = result.pipelines[0].stages
    commands = [t.command for t in build.jobs[0].tasks if isinstance(t, ExecTask)]
    assert commands == ["a", "b", "c"]
    assert deploy.name == "deploy"
    assert result.source_map.locate("pipelines.p.stages[1]").line == 3


@pytest.mark.parametrize(
    ("extra", "key_path", "message"),
    [
        ("    locking: maybe\n", "pipelines.build.locking", "expected boolean value"),
        ("    display_order: ten\n", "pipelines.build.display_order", "expected an integer"),
        ("    timer: {only_on_changes: yes}\n", "pipelines.build.timer.spec", "spec is required"),
        ("    parameters: [a, b]\n", "pipelines.build.parameters", "should be a hash"),
        (
            "    environment_variables: {A: [1]}\n",
            "pipelines.build.environment_variables.A",
            "text value",
        ),
    ],
)
def test_wrong_types_fail_the_pipeline_with_file_line_column_and_key_path(
    extra: str, key_path: str, message: str
) -> None:
    result = parse_files([("ci.gocd.yaml", _pipeline(extra=extra))])
    assert result.pipelines == ()
    [error] = result.errors
    assert error.key_path == key_path
    assert error.message.startswith("Failed to parse pipeline build; ")
    assert message in error.message
    assert error.location.file == "ci.gocd.yaml"
    assert error.location.line == 5
    assert error.location.column == 5


def test_one_bad_pipeline_does_not_hide_the_others_or_their_errors() -> None:
    text = _pipeline() + "  other:\n    group: g\n    materials: [x]\n  third: nonsense\n"
    contract = _contract(text)
    assert [p["name"] for p in contract["pipelines"]] == ["build"]
    assert [e["message"].split(";")[0] for e in contract["errors"]] == [
        "Failed to parse pipeline other",
        "Failed to parse pipeline third",
    ]


def test_unknown_top_level_key_fails_the_whole_repository() -> None:
    files = [("a.gocd.yaml", _pipeline()), ("b.gocd.yaml", "templates:\n  t: {}\n")]
    contract = to_contract(files)
    assert contract["pipelines"] == []
    assert contract["errors"][0]["location"] == "YAML config plugin"
    result = parse_files(files)
    assert result.pipelines == ()
    assert [(e.location.file, e.location.line, e.key_path) for e in result.errors] == [
        ("b.gocd.yaml", 1, "templates")
    ]


def test_top_level_keys_are_case_insensitive_and_common_is_ignored() -> None:
    text = (
        _pipeline().replace("pipelines:", "Pipelines:").replace("format_version", "FORMAT_VERSION")
    )
    contract = _contract("common:\n  anything: [1]\n" + text)
    assert contract["target_version"] == 10
    assert [p["name"] for p in contract["pipelines"]] == ["build"]


def test_non_integer_format_version_fails_the_repository() -> None:
    result = parse_files([("ci.gocd.yaml", _pipeline().replace("10", "ten", 1))])
    assert result.pipelines == ()
    assert result.errors[0].key_path == "format_version"


def test_locking_only_counts_at_version_1_and_lock_behavior_always() -> None:
    locked = parse_files([("a.gocd.yaml", _pipeline(1, "    locking: on\n"))]).pipelines[0]
    assert locked.lock_behavior is LockBehavior.LOCK_ON_FAILURE
    ignored = parse_files([("a.gocd.yaml", _pipeline(2, "    locking: on\n"))]).pipelines[0]
    assert ignored.lock_behavior is LockBehavior.NONE
    text = _pipeline(2, "    lock_behavior: unlockWhenFinished\n")
    explicit = parse_files([("a.gocd.yaml", text)]).pipelines[0]
    assert explicit.lock_behavior is LockBehavior.UNLOCK_WHEN_FINISHED


def test_invalid_lock_behavior_lists_the_valid_values() -> None:
    result = parse_files([("a.gocd.yaml", _pipeline(extra="    lock_behavior: always\n"))])
    [error] = result.errors
    assert error.key_path == "pipelines.build.lock_behavior"
    assert "lockOnFailure, unlockWhenFinished, none" in error.message
    assert error.location.line == 5


def test_empty_task_list_gets_the_servers_echo_placeholder() -> None:
    text = _pipeline().replace("            - exec: {command: make}\n", "            []\n")
    text = text.replace("          tasks:\n            []\n", "          tasks: []\n")
    [task] = parse_files([("a.gocd.yaml", text)]).pipelines[0].stages[0].jobs[0].tasks
    assert task == ExecTask(command="echo")


def test_missing_required_fields_are_reported_where_the_object_is() -> None:
    text = (
        _pipeline()
        .replace("    group: web\n", "")
        .replace("git: https://example.invalid/app.git", "type: git")
    )
    result = parse_files([("a.gocd.yaml", text)])
    assert sorted((e.key_path, e.message, e.location.line) for e in result.errors) == [
        ("pipelines.build.group", "missing field 'group'.", 3),
        ("pipelines.build.materials.repo.url", "missing field 'url'.", 5),
    ]


def test_unknown_task_and_material_types_are_errors() -> None:
    text = _pipeline().replace("exec: {command: make}", "shell: {command: make}")
    text = text.replace("git: https://example.invalid/app.git", "type: cvs")
    messages = sorted(e.message for e in parse_files([("a.gocd.yaml", text)]).errors)
    assert messages == ["unknown material type 'cvs'", "unknown task type 'shell'"]


def test_dependency_and_filters_and_secure_variables_reach_the_domain() -> None:
    text = """\
format_version: 9
pipelines:
  deploy:
    group: ops
    secure_variables: {TOKEN: "AES:xyz"}
    materials:
      up: {pipeline: build, stage: test, ignore_for_scheduling: yes}
      src: {git: u, whitelist: [src/**], blacklist: [docs]}
    stages:
      - go: {tasks: [{exec: {command: deploy}}]}
"""
    result = parse_files([("d.gocd.yaml", text)], repo_id="ops-repo")
    assert result.errors == ()
    [pipeline] = result.pipelines
    up, src = pipeline.materials
    assert up == DependencyMaterialConfig(
        pipeline="build", stage="test", name="up", ignore_for_scheduling=True
    )
    assert isinstance(src, GitMaterialConfig)
    assert src.filter.includes == ("src/**",)
    assert src.filter.ignore == ("docs",)
    [token] = pipeline.environment_variables
    assert token.secure
    assert token.encrypted_value == "AES:xyz"
    assert pipeline.origin.repo_id == "ops-repo"
    assert pipeline.origin.file == "d.gocd.yaml"


def test_source_map_records_key_paths_by_name_and_index() -> None:
    result = parse_files([("a.gocd.yaml", _pipeline())])
    located = result.source_map.locate
    assert (located("pipelines.build").line, located("pipelines.build").column) == (3, 3)
    assert located("pipelines.build.materials.repo").line == 6
    assert located("pipelines.build.materials[0]").line == 6
    assert located("pipelines.build.stages[0]").line == 9
    assert located("pipelines.build.stages[0].jobs.test").line == 9
    assert located("pipelines.build.stages[0].jobs[0].tasks[0]").line == 11
    assert located("pipelines.build.stages[0].jobs.test.tasks[0].command").line == 11


def test_environments_merge_across_files_and_report_repeats() -> None:
    files = [
        ("a.gocd.yaml", "environments:\n  prod:\n    pipelines: [a]\n    agents: ['1']\n"),
        ("b.gocd.yaml", "environments:\n  PROD:\n    pipelines: [b, a]\n"),
    ]
    result = parse_files(files)
    [environment] = result.environments
    assert environment.name == "prod"
    assert environment.pipelines == ("a", "b", "a")
    [error] = result.errors
    assert "pipeline 'a'" in error.message
    assert error.location.file == "b.gocd.yaml"


def test_parse_directory_uses_ant_patterns_sorted_and_skips_vcs_folders(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    (tmp_path / "sub" / "deeper" / "b.gocd.yaml").write_text(_pipeline().replace("build", "b"))
    (tmp_path / "a.gocd.yml").write_text(_pipeline().replace("build", "a"))
    (tmp_path / ".git" / "x.gocd.yaml").write_text("broken: [")
    (tmp_path / "notes.yaml").write_text("broken: [")
    result = parse_directory(tmp_path)
    assert result.errors == ()
    assert [p.name for p in result.pipelines] == ["a", "b"]
    assert result.pipelines[1].origin.file == "sub/deeper/b.gocd.yaml"
    only_sub = parse_directory(tmp_path, " sub/ , nothing/*.yaml ")
    assert [p.name for p in only_sub.pipelines] == ["b"]


def test_parse_directory_reports_unreadable_and_huge_files(tmp_path: Path) -> None:
    (tmp_path / "bad.gocd.yaml").write_bytes(b"\xff\xfe\x00broken")
    result = parse_directory(tmp_path)
    [error] = result.errors
    assert error.location.file == "bad.gocd.yaml"


yaml_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.sampled_from(["x", "yes", "10", "all", "manual", "git", ""]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "group",
                    "materials",
                    "stages",
                    "jobs",
                    "tasks",
                    "exec",
                    "git",
                    "approval",
                    "timer",
                    "artifacts",
                    "build",
                    "run_instances",
                    "tabs",
                    "on_cancel",
                    "script",
                    "environment_variables",
                    "template",
                    "fetch",
                    "plugin",
                    "configuration",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=60, deadline=None)
@given(body=yaml_values)
def test_any_structure_gives_pipelines_or_located_errors_never_an_exception(body: Any) -> None:
    import json

    text = "pipelines:\n  p: " + json.dumps(body) + "\n"
    result = parse_files([("f.gocd.yaml", text)])
    assert result.pipelines or result.errors
    assert all(e.location.file == "f.gocd.yaml" for e in result.errors)
