"""Environment variables and parameters (pipeline, stage, job and environment level)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EnvironmentVariable:
    """One `<variable>`: a plain value, or a secure one kept only as its encrypted form.

    `value` is None for a secure variable given only as `encrypted_value`; a plain variable
    written as `FOO:` (blank) has value None too, which GoCD treats as the empty string.
    """

    name: str
    value: str | None = None
    secure: bool = False
    encrypted_value: str | None = None


@dataclass(frozen=True, slots=True)
class Parameter:
    """A pipeline parameter, referenced as `#{name}` in the pipeline's config."""

    name: str
    value: str | None = None


def merge_variables(
    *levels: tuple[EnvironmentVariable, ...],
) -> tuple[EnvironmentVariable, ...]:
    """Later levels override earlier ones by case-insensitive name, as GoCD's `overrideWith`."""
    merged: dict[str, EnvironmentVariable] = {}
    for level in levels:
        for variable in level:
            merged.pop(variable.name.lower(), None)
            merged[variable.name.lower()] = variable
    return tuple(merged.values())
