"""GoCD's name rules (`NameTypeValidator`, `JobConfig.validate`)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pygocd.domain.names import MAX_NAME_LENGTH, is_valid_job_name, is_valid_name, name_error

# The reference's regexes (§1.2), anchored as Java's `matches` does.
NAME_REGEX = re.compile(r"[a-zA-Z0-9_\-]{1}[a-zA-Z0-9_\-.]*")
JOB_REGEX = re.compile(r"[a-zA-Z0-9_\-.]+")
MARKER_REGEX = re.compile(r"-(runOnAll|runInstance)-[0-9]+\Z")

name_text = st.one_of(
    st.text(alphabet="abzAZ09_-.", max_size=12),
    st.text(max_size=12),
    st.text(alphabet="aZ9_-.", min_size=250, max_size=260),
    st.tuples(
        st.text(alphabet="ab-.", max_size=5),
        st.sampled_from(["-runOnAll-", "-runInstance-", "-RUNONALL-", "-runonall-"]),
        st.text(alphabet="0123456789", max_size=3),
        st.text(alphabet="ab1-", max_size=3),
    ).map("".join),
)


@settings(max_examples=200, deadline=None)
@given(name_text)
def test_names_follow_the_reference_regex(name: str) -> None:
    expected = len(name) <= 255 and NAME_REGEX.fullmatch(name) is not None
    assert is_valid_name(name) is expected
    assert (name_error("pipeline", name) is None) is expected


@settings(max_examples=200, deadline=None)
@given(name_text)
def test_job_names_follow_the_reference_regex(name: str) -> None:
    expected = (
        len(name) <= 255
        and JOB_REGEX.fullmatch(name) is not None
        and MARKER_REGEX.search(name) is None
    )
    assert is_valid_job_name(name) is expected
    assert (name_error("job", name) is None) is expected


@pytest.mark.parametrize(
    "name", ["a", "build", "Build_1", "my-pipeline", "v1.2", "_x", "-x", "0", "a..b", "x."]
)
def test_valid_names(name: str) -> None:
    assert is_valid_name(name)
    assert is_valid_job_name(name)


@pytest.mark.parametrize("name", ["", ".hidden", "a b", "a/b", "é", "a:b", "a\n", "${x}"])
def test_invalid_names(name: str) -> None:
    assert not is_valid_name(name)


def test_max_length_is_255() -> None:
    assert is_valid_name("a" * MAX_NAME_LENGTH)
    assert not is_valid_name("a" * (MAX_NAME_LENGTH + 1))
    assert is_valid_job_name("a" * MAX_NAME_LENGTH)
    assert not is_valid_job_name("a" * (MAX_NAME_LENGTH + 1))


def test_a_job_may_start_with_a_period() -> None:
    assert is_valid_job_name(".hidden")
    assert not is_valid_name(".hidden")


@pytest.mark.parametrize("name", ["build-runOnAll-1", "build-runInstance-12", "x-runOnAll-007"])
def test_job_names_may_not_end_with_a_reserved_marker(name: str) -> None:
    assert is_valid_name(name)
    assert not is_valid_job_name(name)


@pytest.mark.parametrize(
    "name",
    ["build-runOnAll-1b", "build-runOnAll-", "build-RUNONALL-1", "runOnAll-1", "build-runInstance"],
)
def test_reserved_markers_count_only_as_an_exact_suffix(name: str) -> None:
    assert is_valid_job_name(name)


def test_name_error_message() -> None:
    assert name_error("pipeline", "ok") is None
    assert name_error("stage", ".bad") == (
        "Invalid stage name '.bad'. This must be alphanumeric and can contain underscores, "
        "hyphens and periods (however, it cannot start with a period). "
        "The maximum allowed length is 255 characters."
    )


def test_job_name_error_messages() -> None:
    assert name_error("job", ".ok") is None
    assert name_error("job", "") == "Name is a required field"
    assert name_error("job", "a b") == (
        "Invalid job name 'a b'. This must be alphanumeric and may contain underscores "
        "and periods. The maximum allowed length is 255 characters."
    )
    assert name_error("job", "x-runOnAll-2") == (
        "A job cannot have 'runOnAll' in it's name: x-runOnAll-2 because it is a reserved keyword"
    )
    assert name_error("job", "x-runInstance-2") == (
        "A job cannot have 'runInstance' in it's name: x-runInstance-2 "
        "because it is a reserved keyword"
    )
