"""`run_check`: parse and validate config files and directories, never raising.

`configs/invalid/` holds deliberate errors, each marked on its line with
`# expect: <part of the message>` (several separated by `|`); every marker must be reported at
that file and line, and every reported error must sit on a marked line.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pygocd.configrepo import check
from pygocd.configrepo.check import build_config, run_check
from pygocd.domain.pipelines import PipelineConfig

CONFIGS = Path(__file__).parent / "configs"
_MARKER = re.compile(r"#\s*expect:\s*(.+)$")
_ERROR = re.compile(r"^(?P<file>.+?):(?P<line>\d+)(?::\d+)?[: ]")


# JSON has no comments: its expectations are listed here.
JSON_EXPECTED = [("templated.gopipeline.json", 5, "refers to non-existent template 'nowhere'")]


def expected_errors(root: Path) -> list[tuple[str, int, str]]:
    found = [(str(root / name), line, text) for name, line, text in JSON_EXPECTED]
    for path in sorted(root.glob("*.yaml")):
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if match := _MARKER.search(text):
                found.extend((str(path), number, part.strip()) for part in match[1].split("|"))
    return found


def test_valid_directory() -> None:
    assert run_check([CONFIGS / "valid"]) == (0, ["OK: 4 pipelines, 2 environments"])


def test_invalid_directory_reports_every_marked_error_at_its_line() -> None:
    root = CONFIGS / "invalid"
    code, lines = run_check([root])
    assert code == 1
    expected = expected_errors(root)
    assert len(expected) >= 20
    for file, line, text in expected:
        prefix = f"{file}:{line}:"
        assert any(out.startswith(prefix) and text in out for out in lines), (
            f"missing {prefix} … {text}\n" + "\n".join(lines)
        )
    marked = {(file, line) for file, line, _ in expected}
    for out in lines:
        match = _ERROR.match(out)
        assert match is not None, out
        assert (match["file"], int(match["line"])) in marked, f"unexpected: {out}"


def test_output_is_sorted_by_file_and_line() -> None:
    _, lines = run_check([CONFIGS / "invalid"])
    keys = []
    for out in lines:
        match = _ERROR.match(out)
        assert match is not None
        keys.append((match["file"], int(match["line"])))
    assert keys == sorted(keys)


def test_the_brief_example_shape() -> None:
    _, lines = run_check([CONFIGS / "invalid" / "app.gocd.yaml"])
    want = str(CONFIGS / "invalid" / "app.gocd.yaml") + ":22:19 "
    assert want + "pipelines.build.stages[0].jobs.unit.tasks[0]: exec needs a command" in lines


def test_files_and_directories_together_are_read_once() -> None:
    valid = CONFIGS / "valid"
    code, lines = run_check([valid / "build.gocd.yaml", valid, valid / "build.gocd.yaml"])
    assert (code, lines) == (0, ["OK: 4 pipelines, 2 environments"])


def test_a_single_file_is_checked_against_itself_only() -> None:
    code, lines = run_check([CONFIGS / "valid" / "deploy" / "deploy.gocd.yaml"])
    assert code == 1
    assert any("Pipeline with name 'app-test' does not exist" in out for out in lines)


def test_missing_path_is_an_error_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gocd.yaml"
    assert run_check([missing]) == (1, [f"{missing}: no such file or directory"])


def test_directory_without_config_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    code, lines = run_check([tmp_path])
    assert code == 1
    assert lines == [f"{tmp_path}: no config files matching {check.DEFAULT_FILE_PATTERN}"]


def test_no_paths() -> None:
    assert run_check([]) == (1, ["<check>: no files or directories given"])


def test_unreadable_file_is_an_error_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gocd.yaml"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    good = tmp_path / "good.gocd.yaml"
    good.write_text(
        "format_version: 10\npipelines:\n  p:\n    group: g\n    materials:\n"
        "      m:\n        git: https://h/r.git\n    stages:\n      - s:\n"
        "          tasks:\n            - exec: {command: make}\n",
        encoding="utf-8",
    )
    code, lines = run_check([tmp_path])
    assert code == 1
    assert lines == [f"{bad}: cannot read file: not UTF-8 text"]


def test_empty_and_broken_files(tmp_path: Path) -> None:
    (tmp_path / "empty.gocd.yaml").write_text("", encoding="utf-8")
    (tmp_path / "broken.gocd.yaml").write_text("pipelines: [\n", encoding="utf-8")
    code, lines = run_check([tmp_path])
    assert code == 1
    assert len(lines) == 2
    assert lines[0].startswith(str(tmp_path / "broken.gocd.yaml") + ":")
    assert lines[1].startswith(str(tmp_path / "empty.gocd.yaml"))


def test_environment_parts_across_files_point_at_their_own_lines(tmp_path: Path) -> None:
    pipeline = (
        "format_version: 10\npipelines:\n  p:\n    group: g\n    materials:\n"
        "      m:\n        git: https://h/r.git\n    stages:\n      - s:\n"
        "          tasks:\n            - exec: {command: make}\n"
    )
    (tmp_path / "a.gocd.yaml").write_text(
        pipeline + "environments:\n  prod:\n    pipelines: [p]\n", encoding="utf-8"
    )
    (tmp_path / "b.gocd.yaml").write_text(
        "format_version: 10\nenvironments:\n  PROD:\n    agents: [x]\n    pipelines:\n      - p\n",
        encoding="utf-8",
    )
    code, lines = run_check([tmp_path])
    assert code == 1
    assert lines == [
        f"{tmp_path / 'b.gocd.yaml'}:6:9 environments.PROD.pipelines[0]: "
        "Pipeline 'p' is listed more than once in environment 'PROD'."
    ]


def test_an_unexpected_failure_is_an_error_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(check, "parse_files", explode)
    assert run_check([CONFIGS / "valid"]) == (
        1,
        ["<check>: unexpected error: RuntimeError: boom"],
    )


def test_build_config_groups_pipelines_case_insensitively() -> None:
    config = build_config([PipelineConfig("a", group="App"), PipelineConfig("b", group="app")], [])
    assert [(g.name, [p.name for p in g.pipelines]) for g in config.groups] == [("App", ["a", "b"])]
