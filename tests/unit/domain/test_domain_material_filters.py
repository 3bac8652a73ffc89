"""GoCD's material filter: ignore (blacklist) and includes (whitelist) over changed files."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pygocd.domain.material_filters import is_ignored, matches
from pygocd.domain.materials import MaterialFilter

# Cases from GoCD's IgnoredFilesTest, by pattern.
MATCHES = [
    ("a.doc", "a.doc", True),
    ("a.doc", "b.doc", False),
    ("a.doc", "A/a.doc", False),
    ("*", "a.doc", True),
    ("*", "A/a.doc", False),
    ("*.doc", "a.doc", True),
    ("*.doc", "a.docx", False),
    ("**/*.doc", "a.doc", True),
    ("**/*.doc", "A/a.doc", True),
    ("**/*.doc", "A/B/C/a.doc", True),
    ("**/*", "anything/at/all", True),
    ("helper/*.doc", "helper/a.doc", True),
    ("helper/*.doc", "helper/B/a.doc", False),
    ("helper/**/*.doc", "helper/a.doc", True),
    ("helper/**/*.doc", "helper/B/C/a.doc", True),
    ("helper/**/*.doc", "a.doc", False),
    ("/helper/*.doc", "helper/a.doc", True),
    ("helper/", "helper", True),
    ("helper\\*.doc", "helper/a.doc", True),
    ("a+b(1).txt", "a+b(1).txt", True),
    ("a.txt", "aXtxt", False),
    # GoCD's quirk: `**` at the end stands for folders, and a file name is no folder.
    ("docs/**", "docs/a.md", False),
    ("docs/**/*", "docs/a.md", True),
]


@pytest.mark.parametrize(("pattern", "name", "expected"), MATCHES)
def test_pattern_matches_whole_paths_as_gocd(pattern: str, name: str, expected: bool) -> None:
    assert matches(pattern, name) is expected


def test_without_patterns_nothing_is_ignored() -> None:
    assert not is_ignored(["a", "b"], MaterialFilter())
    assert not is_ignored([], MaterialFilter())


def test_ignore_ignores_only_when_every_file_matches() -> None:
    docs = MaterialFilter(ignore=("**/*.md", "docs/**/*"))
    assert is_ignored(["README.md", "docs/guide/x.html"], docs)
    assert not is_ignored(["README.md", "src/main.py"], docs)


def test_includes_ignores_only_when_no_file_matches() -> None:
    only_src = MaterialFilter(includes=("src/**/*",))
    assert is_ignored(["README.md", "docs/a"], only_src)
    assert not is_ignored(["README.md", "src/main.py"], only_src)


def test_a_change_without_files_is_ignored_when_there_is_a_filter() -> None:
    assert is_ignored([], MaterialFilter(ignore=("*.md",)))
    assert is_ignored([], MaterialFilter(includes=("src/**/*",)))


segment = st.text(alphabet="abcXYZ019_-.+( )", min_size=1, max_size=6).filter(
    lambda s: s not in (".", "..")
)
paths = st.lists(segment, min_size=1, max_size=4).map("/".join)


@given(paths)
def test_a_literal_pattern_matches_exactly_itself(path: str) -> None:
    assert matches(path, path)
    assert matches("/" + path, path)
    assert not matches(path, path + "x")
    assert not matches(path, "x/" + path)


@given(st.lists(paths, max_size=6), st.lists(paths, min_size=1, max_size=3))
def test_includes_is_the_opposite_question_of_ignore(files: list[str], patterns: list[str]) -> None:
    ignore = MaterialFilter(ignore=tuple(patterns))
    includes = MaterialFilter(includes=tuple(patterns))
    hits = [any(matches(p, f) for p in patterns) for f in files]
    assert is_ignored(files, ignore) == all(hits)
    assert is_ignored(files, includes) == (not any(hits))


@given(paths)
def test_double_star_slash_star_matches_every_file(path: str) -> None:
    assert matches("**/*", path)
    assert not is_ignored([path], MaterialFilter(includes=("**/*",)))
