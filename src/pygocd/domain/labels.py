"""Pipeline label templates (`PipelineLabel`): `${COUNT}`, `${material}`, `${material[:N]}`,
`${env:VAR}`; `#{param}` is resolved earlier by parameter substitution.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

MAX_LABEL_LENGTH = 255

# `PipelineLabel.PATTERN`: what rendering replaces.
_TOKEN = re.compile(r"\$\{(?P<name>[^}\[]+)(?:\[:(?P<truncation>[0-9]+)])?}")
# `StringUtils.substringsBetween(template, "${", "}")`: what validation looks at.
_ANY_TOKEN = re.compile(r"\$\{([^}]*)}")
# `PipelineConfig.LABEL_TEMPLATE_TOKEN_PATTERN`: a material token, optionally truncated.
_MATERIAL_TOKEN = re.compile(r"(?P<name>[^\[]*)(?:\[:(?P<truncation>[0-9]+)])?")
_ENV_PREFIX = "env:"
_COUNT = "count"
_FORMAT_MESSAGE = (
    "Label should be composed of alphanumeric text, it can contain the build number as "
    "${COUNT}, can contain a material revision as ${<material-name>} of "
    "${<material-name>[:<number>]}, or use params as #{<param-name>}."
)


@dataclass(frozen=True, slots=True)
class LabelContext:
    """What a label may refer to when an instance is created."""

    counter: int
    material_revisions: Mapping[str, str]  # material name → revision (dependency: upstream label)
    environment: Mapping[str, str]  # non-secure pipeline + trigger-time variables


def render_label(template: str, context: LabelContext) -> str:
    """Interpolate a label template; unresolvable tokens stay literal; at most 255 chars."""
    revisions = {name.lower(): value for name, value in context.material_revisions.items()}
    environment = {name.lower(): value for name, value in context.environment.items()}

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        lowered = name.lower()
        if lowered == _COUNT:
            return str(context.counter)
        if lowered.startswith(_ENV_PREFIX):
            return environment.get(lowered[len(_ENV_PREFIX) :], "")
        revision = revisions.get(lowered)
        if revision is None:
            return match.group(0)
        truncation = match.group("truncation")
        # N starting with 0 is ignored; an N with more digits than the revision's length
        # is longer than the revision (and kept out of int(), which refuses huge numbers).
        if (
            truncation is not None
            and not truncation.startswith("0")
            and len(truncation) <= len(str(len(revision)))
        ):
            return revision[: int(truncation)]
        return revision

    return _TOKEN.sub(replace, template)[:MAX_LABEL_LENGTH]


def label_template_errors(template: str, material_names: set[str]) -> list[str]:
    """GoCD's validation of a label template (`PipelineConfig.validateLabelTemplate`) against
    the pipeline's material names (compared case-insensitively).

    GoCD stops at the first bad token; this reports every bad token, with GoCD's messages.
    """
    if not template.strip():
        return [f"Label cannot be blank. {_FORMAT_MESSAGE}"]
    tokens = _ANY_TOKEN.findall(template)
    if not tokens:
        return [f"Invalid label '{template}'. {_FORMAT_MESSAGE}"]
    known = {name.lower() for name in material_names}
    errors: list[str] = []
    for token in tokens:
        error = _token_error(token, template, known)
        if error is not None:
            errors.append(error)
    return errors


def _token_error(token: str, template: str, material_names: set[str]) -> str | None:
    """`PipelineConfig.isValidToken`."""
    if not token.strip():
        return "Label template variable cannot be blank."
    lowered = token.lower()
    if lowered == _COUNT:
        return None
    if lowered == _ENV_PREFIX:
        return "Missing environment variable name."
    if lowered.startswith(_ENV_PREFIX):
        return None
    match = _MATERIAL_TOKEN.fullmatch(token)
    if match is None:
        return f"Invalid label '{template}'. {_FORMAT_MESSAGE}"
    name, truncation = match.group("name"), match.group("truncation")
    if truncation is not None and truncation.startswith("0"):
        return f"Length of zero not allowed on label {template}."
    if name.lower() not in material_names:
        return (
            "You have defined a label template in pipeline that refers to a material "
            f"called '{name}', but no material with this name is defined."
        )
    return None
