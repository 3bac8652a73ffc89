"""GoCD's pipeline label templates: rendering (`PipelineLabel`) and validation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pygocd.domain.labels import MAX_LABEL_LENGTH, LabelContext, label_template_errors, render_label

SHA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


def ctx(
    counter: int = 7,
    revisions: dict[str, str] | None = None,
    environment: dict[str, str] | None = None,
) -> LabelContext:
    return LabelContext(
        counter=counter,
        material_revisions=revisions if revisions is not None else {"repo": SHA},
        environment=environment if environment is not None else {},
    )


# ---- rendering ------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["${COUNT}", "${count}", "${Count}", "${COUNT[:1]}"])
def test_count_is_case_insensitive_and_never_truncated(token: str) -> None:
    assert render_label(f"1.{token}", ctx(counter=1234)) == "1.1234"


def test_default_label_is_the_counter() -> None:
    assert render_label("${COUNT}", ctx(counter=42)) == "42"


def test_material_revision() -> None:
    assert render_label("${COUNT}-${repo}", ctx()) == f"7-{SHA}"


def test_material_name_is_case_insensitive() -> None:
    assert render_label("${REPO}", ctx(revisions={"Repo": SHA})) == SHA


def test_material_revision_truncated() -> None:
    assert render_label("${repo[:7]}", ctx()) == SHA[:7]


def test_shorter_revision_is_used_whole() -> None:
    assert render_label("${up[:10]}", ctx(revisions={"up": "42"})) == "42"


@pytest.mark.parametrize("truncation", ["0", "05", "007"])
def test_truncation_starting_with_zero_is_ignored(truncation: str) -> None:
    assert render_label(f"${{repo[:{truncation}]}}", ctx()) == SHA


def test_huge_truncation_keeps_the_whole_revision() -> None:
    assert render_label("${repo[:" + "9" * 5000 + "]}", ctx()) == SHA


def test_dependency_material_gives_the_upstream_label() -> None:
    assert render_label("${upstream}-${COUNT}", ctx(revisions={"upstream": "1.2.3"})) == "1.2.3-7"


def test_environment_variable() -> None:
    assert render_label("${env:VERSION}.${COUNT}", ctx(environment={"VERSION": "2.1"})) == "2.1.7"


def test_environment_prefix_and_name_are_case_insensitive() -> None:
    assert render_label("${ENV:version}", ctx(environment={"Version": "2.1"})) == "2.1"


def test_missing_environment_variable_is_empty() -> None:
    assert render_label("v${env:NOPE}-${COUNT}", ctx()) == "v-7"


def test_environment_variable_is_never_truncated() -> None:
    assert render_label("${env:V[:2]}", ctx(environment={"V": "abcdef"})) == "abcdef"


@pytest.mark.parametrize(
    "template", ["${unknown}", "${unknown[:3]}", "${}", "${ }", "${a[b}", "$COUNT", "{COUNT}"]
)
def test_unknown_tokens_stay_literal(template: str) -> None:
    assert render_label(template, ctx()) == template


def test_text_outside_tokens_is_kept() -> None:
    assert render_label("release-${COUNT}-final #x", ctx(counter=3)) == "release-3-final #x"


def test_label_is_truncated_to_255_characters() -> None:
    label = render_label("x" * 250 + "${repo}", ctx())
    assert len(label) == MAX_LABEL_LENGTH
    assert label == ("x" * 250 + SHA)[:255]


def test_values_are_inserted_verbatim() -> None:
    env = {"V": r"$1\g<0>${COUNT}"}
    assert render_label("${env:V}", ctx(environment=env)) == r"$1\g<0>${COUNT}"


names = st.text(alphabet="abcAB_-.:", min_size=1, max_size=8)
templates = st.lists(
    st.one_of(
        st.text(max_size=20),
        st.sampled_from(["${COUNT}", "${count[:3]}", "${env:X}", "${env:}", "${}", "${"]),
        names.map(lambda n: "${" + n + "}"),
        st.tuples(names, st.text(alphabet="0123456789", min_size=1, max_size=6)).map(
            lambda t: "${" + t[0] + "[:" + t[1] + "]}"
        ),
    ),
    max_size=12,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(
    template=templates,
    counter=st.integers(min_value=0, max_value=10**12),
    revisions=st.dictionaries(names, st.text(max_size=300), max_size=4),
    environment=st.dictionaries(st.text(max_size=5), st.text(max_size=300), max_size=4),
)
def test_rendering_never_raises_and_stays_within_255(
    template: str, counter: int, revisions: dict[str, str], environment: dict[str, str]
) -> None:
    label = render_label(template, LabelContext(counter, revisions, environment))
    assert len(label) <= MAX_LABEL_LENGTH


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300).filter(lambda t: "${" not in t))
def test_text_without_tokens_is_only_truncated(text: str) -> None:
    assert render_label(text, ctx()) == text[:MAX_LABEL_LENGTH]


# ---- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "${COUNT}",
        "${count}",
        "1.0.${COUNT}",
        "${repo}",
        "${REPO}",
        "${repo[:7]}",
        "${repo}-${COUNT}",
        "${env:VERSION}",
        "${ENV:x}",
        "${env:X[:3]}",
        "${env:a[b}",
        "${COUNT}-${env:X}-${repo[:12]}",
    ],
)
def test_valid_templates(template: str) -> None:
    assert label_template_errors(template, {"repo"}) == []


def test_material_names_are_compared_case_insensitively() -> None:
    assert label_template_errors("${repo}", {"Repo"}) == []


@pytest.mark.parametrize("template", ["", "   ", "\t\n"])
def test_blank_template(template: str) -> None:
    [error] = label_template_errors(template, {"repo"})
    assert error.startswith("Label cannot be blank.")


@pytest.mark.parametrize("template", ["1.0", "COUNT", "$COUNT", "{COUNT}", "${COUNT", "#{param}"])
def test_template_without_token(template: str) -> None:
    [error] = label_template_errors(template, {"repo"})
    assert error.startswith(f"Invalid label '{template}'.")


@pytest.mark.parametrize("template", ["${}", "x-${ }", "${COUNT}-${}"])
def test_empty_token(template: str) -> None:
    assert label_template_errors(template, set()) == ["Label template variable cannot be blank."]


@pytest.mark.parametrize("template", ["${env:}", "${ENV:}"])
def test_empty_environment_variable_name(template: str) -> None:
    assert label_template_errors(template, set()) == ["Missing environment variable name."]


def test_unknown_material() -> None:
    [error] = label_template_errors("${COUNT}-${other}", {"repo"})
    assert "refers to a material called 'other'" in error


def test_truncated_count_is_treated_as_a_material() -> None:
    [error] = label_template_errors("${COUNT[:3]}", {"repo"})
    assert "refers to a material called 'COUNT'" in error
    assert label_template_errors("${COUNT[:3]}", {"count"}) == []


@pytest.mark.parametrize("truncation", ["0", "05"])
def test_zero_truncation_is_an_error(truncation: str) -> None:
    template = f"${{repo[:{truncation}]}}"
    assert label_template_errors(template, {"repo"}) == [
        f"Length of zero not allowed on label {template}."
    ]


@pytest.mark.parametrize("template", ["${a[b}", "${repo[:x]}", "${repo[:3]x}"])
def test_malformed_token(template: str) -> None:
    [error] = label_template_errors(template, {"repo", "a"})
    assert error.startswith(f"Invalid label '{template}'.")


def test_every_bad_token_is_reported() -> None:
    errors = label_template_errors("${}-${env:}-${nope}", set())
    assert len(errors) == 3


@settings(max_examples=200, deadline=None)
@given(template=templates, materials=st.sets(names, max_size=4))
def test_validation_never_raises(template: str, materials: set[str]) -> None:
    errors = label_template_errors(template, materials)
    assert all(isinstance(error, str) and error for error in errors)
