"""Fan-in resolution: one upstream run per dependency, consistent on shared roots."""

from __future__ import annotations

from pygocd.domain.fanin import Candidate, resolve


def test_the_newest_runs_are_taken_when_they_agree() -> None:
    chosen = resolve(
        {"a": [Candidate(20, {"g": 2}), Candidate(10, {"g": 1})], "b": [Candidate(21, {"g": 2})]}
    )
    assert chosen == {"a": 20, "b": 21}


def test_the_run_ahead_on_a_shared_root_is_backtracked() -> None:
    chosen = resolve(
        {"a": [Candidate(20, {"g": 2}), Candidate(10, {"g": 1})], "b": [Candidate(11, {"g": 1})]}
    )
    assert chosen == {"a": 10, "b": 11}


def test_no_consistent_combination_gives_none() -> None:
    assert resolve({"a": [Candidate(20, {"g": 2})], "b": [Candidate(11, {"g": 1})]}) is None
    assert resolve({"a": [], "b": [Candidate(11, {"g": 1})]}) is None


def test_a_direct_source_material_follows_the_upstream_revision() -> None:
    chosen = resolve({"a": [Candidate(20, {"g": 1})]}, direct_roots={"g": [2, 1], "h": [7]})
    assert chosen == {"a": 20, "g": 1, "h": 7}
    assert resolve({"a": [Candidate(20, {"g": 9})]}, direct_roots={"g": [2, 1]}) is None


def test_the_backtrack_limit_is_honoured() -> None:
    runs = [Candidate(100 - i, {"g": 100 - i}) for i in range(50)]
    assert resolve({"a": runs, "b": [Candidate(1, {"g": 1})]}, limit=10) is None
    assert resolve(
        {"a": [*runs, Candidate(5, {"g": 1})], "b": [Candidate(1, {"g": 1})]}, limit=60
    ) == {
        "a": 5,
        "b": 1,
    }
