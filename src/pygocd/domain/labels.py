"""Pipeline label templates (`PipelineLabel`): `${COUNT}`, `${material}`, `${material[:N]}`,
`${env:VAR}`; `#{param}` is resolved earlier by parameter substitution.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

MAX_LABEL_LENGTH = 255

_TOKEN = re.compile(r"\$\{(?P<name>[^}\[]+)(?:\[:(?P<truncation>\d+)])?}")
_ANY_TOKEN = re.compile(r"\$\{([^}]*)}")
_ENV_PREFIX = "env:"


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
        if lowered == "count":
            return str(context.counter)
        if lowered.startswith(_ENV_PREFIX):
            return environment.get(lowered[len(_ENV_PREFIX) :], "")
        revision = revisions.get(lowered)
        if revision is None:
            return match.group(0)
        truncation = match.group("truncation")
        if truncation is not None and not truncation.startswith("0"):
            return revision[: int(truncation)]
        return revision

    return _TOKEN.sub(replace, template)[:MAX_LABEL_LENGTH]


def label_template_errors(template: str, material_names: set[str]) -> list[str]:
    """GoCD's validation of a label template against the pipeline's (lower-cased) material names."""
    if not template.strip():
        return ["Label cannot be blank."]
    tokens = _ANY_TOKEN.findall(template)
    if not tokens:
        return [
            f"Invalid label '{template}'. Label should be composed of alphanumeric text, "
            "it may contain the build number as ${COUNT}, it may contain a material "
            "revision as ${<material-name>} or ${<material-name>[:<length>]}, "
            "or use params as #{<param-name>}."
        ]
    errors: list[str] = []
    for token in tokens:
        match = _TOKEN.fullmatch("${" + token + "}")
        if match is None or not token.strip():
            errors.append(f"Label '{template}' has an empty or malformed token '${{{token}}}'.")
            continue
        name = match.group("name").lower()
        truncated = match.group("truncation") is not None
        if name == "count" and not truncated:
            continue
        if name.startswith(_ENV_PREFIX):
            if not name[len(_ENV_PREFIX) :]:
                errors.append(f"Label '{template}' refers to an empty environment variable name.")
            continue
        if name not in material_names:
            errors.append(
                f"You have defined a label template in pipeline that refers to a material "
                f"called '{match.group('name')}', but no material with this name is defined."
            )
    return errors
