"""The YAML reader reads like GoCD's (yamlbeans) and fails safely, always with a position."""

from __future__ import annotations

import time

import pytest

from pygocd.configrepo.yaml_reader import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    YamlLoadError,
    load_yaml,
)


def _error(text: str) -> YamlLoadError:
    with pytest.raises(YamlLoadError) as caught:
        load_yaml(text, "ci.gocd.yaml")
    assert caught.value.error.location.file == "ci.gocd.yaml"
    return caught.value


def test_every_scalar_is_text_and_only_plain_blank_is_none() -> None:
    value = load_yaml('a: 10\nb: true\nc: null\nd: ~\ne:\nf: ""\ng: 1.5\n', "f.yaml")
    assert value == {"a": "10", "b": "true", "c": "null", "d": "~", "e": None, "f": "", "g": "1.5"}


def test_positions_are_one_based_line_and_column() -> None:
    value = load_yaml("pipelines:\n  build:\n    group: g\n    items: [a, b]\n", "f.yaml")
    assert value.positions["pipelines"] == (1, 1)
    assert value["pipelines"].positions["build"] == (2, 3)
    assert value["pipelines"]["build"]["items"].positions == [(4, 13), (4, 16)]


def test_duplicate_key_is_an_error_with_its_line() -> None:
    failure = _error("pipelines:\n  a:\n    group: x\n    group: y\n")
    assert failure.error.message == "Duplicate key found 'group'"
    assert (failure.error.location.line, failure.error.location.column) == (4, 5)


def test_anchors_aliases_and_merge_keys_work() -> None:
    value = load_yaml(
        "common:\n  base: &base {x: '1', y: '2'}\n  list: &list [a, b]\n"
        "use:\n  <<: *base\n  y: '3'\n  l: *list\n",
        "f.yaml",
    )
    assert value["use"] == {"x": "1", "y": "3", "l": ["a", "b"]}


def test_unknown_alias_is_an_error() -> None:
    assert "Unknown anchor" in _error("a: *nowhere\n").error.message


def test_only_the_first_document_is_read() -> None:
    assert load_yaml("a: '1'\n---\nb: [unclosed\n", "f.yaml") == {"a": "1"}


def test_empty_and_comment_only_files_are_errors() -> None:
    assert _error("").error.message == "File is empty"
    assert "no YAML document" in _error("# nothing here\n").error.message


@pytest.mark.parametrize(
    "text",
    ["a: [1, 2\n", "a: b: c\n", "a:\n  - x\n b: y\n", "\tkey: value\n", "a: `x`\n", "a: '\x07'\n"],
)
def test_malformed_yaml_is_a_located_error_never_a_traceback(text: str) -> None:
    failure = _error(text)
    assert failure.error.message.startswith("Error parsing YAML")
    assert failure.error.location.line is not None
    assert failure.error.location.column is not None


def test_alias_bomb_stops_quickly_with_a_clear_error() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for index in range(1, 12):
        previous, current = chr(ord("a") + index - 1), chr(ord("a") + index)
        lines.append(f"{current}: &{current} [" + ", ".join([f"*{previous}"] * 10) + "]")
    started = time.perf_counter()
    failure = _error("\n".join(lines) + "\n")
    assert time.perf_counter() - started < 2
    assert "alias bomb" in failure.error.message


def test_deep_nesting_is_refused() -> None:
    depth = MAX_DEPTH + 5
    text = "a: " + "[" * depth + "]" * depth + "\n"
    failure = _error(text)
    assert "nested deeper" in failure.error.message or "depth" in failure.error.message


def test_block_nesting_is_refused_too() -> None:
    text = "".join("  " * level + f"k{level}:\n" for level in range(MAX_DEPTH + 5))
    assert "nested deeper" in _error(text).error.message


def test_file_over_the_size_limit_is_refused_before_parsing() -> None:
    text = "a: '" + "x" * MAX_FILE_BYTES + "'\n"
    started = time.perf_counter()
    failure = _error(text)
    assert time.perf_counter() - started < 2
    assert "too large" in failure.error.message


def test_non_scalar_keys_are_errors() -> None:
    assert "plain scalar" in _error("? [a, b]\n: c\n").error.message
