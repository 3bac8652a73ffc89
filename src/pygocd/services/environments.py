"""Environments as GoCD's environments API v3 sees them: merged, and edited on the stored config.

An environment may be defined in the stored config and in any number of config repos; GoCD
shows one merged environment per name (pipelines and variables of every part). Edits change
only the stored ("local") part: what a config repo defines cannot be removed here. Every edit
is validated with the whole effective config before it is saved, and nothing is saved when it
brings a new error.

Agents are not config: an agent's environments live on its own row (agents API v7), and GoCD's
v3 environments API neither shows nor changes them.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace

from pygocd.configrepo.errors import ConfigError
from pygocd.configrepo.validate import validate_config
from pygocd.domain.config import CruiseConfig
from pygocd.domain.environments import EnvironmentConfig
from pygocd.domain.errors import Invalid, NotFound
from pygocd.domain.pipelines import ConfigOrigin
from pygocd.domain.variables import EnvironmentVariable
from pygocd.services.config import ConfigService

AUTHOR = "admin"


@dataclass(frozen=True)
class MergedEnvironment:
    """One environment name with every part that defines it, local part first."""

    name: str
    parts: tuple[EnvironmentConfig, ...]

    @property
    def pipelines(self) -> tuple[str, ...]:
        seen: set[str] = set()
        out: list[str] = []
        for part in self.parts:
            for name in part.pipelines:
                if name.lower() not in seen:
                    seen.add(name.lower())
                    out.append(name)
        return tuple(out)

    @property
    def environment_variables(self) -> tuple[EnvironmentVariable, ...]:
        return tuple(v for part in self.parts for v in part.environment_variables)

    @property
    def local(self) -> EnvironmentConfig | None:
        return next((p for p in self.parts if _is_local(p)), None)

    @property
    def remote_parts(self) -> tuple[EnvironmentConfig, ...]:
        return tuple(p for p in self.parts if not _is_local(p))

    @property
    def origins(self) -> tuple[ConfigOrigin, ...]:
        return tuple(p.origin for p in self.parts)


class EnvironmentInvalid(Invalid):
    """A 422 that GoCD answers with the environment as sent and its per-field errors."""

    def __init__(
        self, message: str, environment: EnvironmentConfig, errors: dict[str, list[str]]
    ) -> None:
        super().__init__(message)
        self.environment = environment
        self.errors = errors


def _is_local(part: EnvironmentConfig) -> bool:
    return part.origin.type != "config_repo"


def merged_environments(config: CruiseConfig) -> list[MergedEnvironment]:
    """Every environment of the effective config, sorted by name as GoCD lists them."""
    parts: dict[str, list[EnvironmentConfig]] = {}
    for environment in config.environments:
        parts.setdefault(environment.name.lower(), []).append(environment)
    merged = []
    for same in parts.values():
        ordered = sorted(same, key=lambda p: 0 if _is_local(p) else 1)
        merged.append(MergedEnvironment(ordered[0].name, tuple(ordered)))
    return sorted(merged, key=lambda e: e.name.lower())


def remote_where(part: EnvironmentConfig) -> str:
    return f"config repo '{part.origin.repo_id}' at revision {part.origin.revision}"


def _field(key_path: str, environment: str) -> str:
    """`environments.qa.pipelines[0]` → `pipelines`; variables → `environment_variables`."""
    rest = key_path[len(f"environments.{environment}") :].lstrip(".")
    head = re.split(r"[.\[]", rest, maxsplit=1)[0] if rest else "name"
    return "environment_variables" if head == "secure_variables" else head or "name"


class EnvironmentService:
    def __init__(self, config: ConfigService) -> None:
        self._config = config

    def all(self) -> list[MergedEnvironment]:
        return merged_environments(self._config.current)

    def find(self, name: str) -> MergedEnvironment | None:
        wanted = name.lower()
        return next((e for e in self.all() if e.name.lower() == wanted), None)

    def get(self, name: str) -> MergedEnvironment:
        found = self.find(name)
        if found is None:
            raise NotFound(f"Environment with name '{name}' was not found!")
        return found

    async def create(self, environment: EnvironmentConfig) -> MergedEnvironment:
        if self.find(environment.name) is not None:
            raise EnvironmentInvalid(
                f"Failed to add environment '{environment.name}'. Another environment with "
                "the same name already exists.",
                environment,
                {
                    "name": [
                        "Environment name should be unique. Environment with name "
                        f"'{environment.name}' already exists."
                    ]
                },
            )
        await self._save_local(
            environment.name, environment, f"Added environment '{environment.name}'"
        )
        return self.get(environment.name)

    async def replace_local(
        self, existing: MergedEnvironment, wanted: EnvironmentConfig
    ) -> MergedEnvironment:
        """PUT: the environment becomes `wanted`; what config repos define must stay."""
        local_pipelines = []
        remote_pipelines = {
            name.lower(): part for part in existing.remote_parts for name in part.pipelines
        }
        given = {name.lower() for name in wanted.pipelines}
        for lowered, part in remote_pipelines.items():
            if lowered not in given:
                raise self._remote_removal(existing, "Pipeline", lowered, part)
        for name in wanted.pipelines:
            if name.lower() not in remote_pipelines:
                local_pipelines.append(name)
        remote_variables = {
            v.name.lower(): part
            for part in existing.remote_parts
            for v in part.environment_variables
        }
        given_variables = {v.name.lower() for v in wanted.environment_variables}
        for lowered, part in remote_variables.items():
            if lowered not in given_variables:
                raise self._remote_removal(existing, "Environment variable", lowered, part)
        local = replace(
            wanted,
            name=existing.name,
            pipelines=tuple(local_pipelines),
            environment_variables=tuple(
                v for v in wanted.environment_variables if v.name.lower() not in remote_variables
            ),
            agents=existing.local.agents if existing.local is not None else (),
            origin=ConfigOrigin(),
        )
        await self._save_local(
            existing.name, local, f"Updated environment '{existing.name}'", shown=wanted
        )
        return self.get(existing.name)

    async def patch(
        self,
        existing: MergedEnvironment,
        *,
        add_pipelines: list[str],
        remove_pipelines: list[str],
        add_variables: list[EnvironmentVariable],
        remove_variables: list[str],
    ) -> MergedEnvironment:
        local = existing.local or EnvironmentConfig(existing.name)
        pipelines = list(local.pipelines)
        for name in remove_pipelines:
            index = next((i for i, p in enumerate(pipelines) if p.lower() == name.lower()), None)
            if index is not None:
                del pipelines[index]
                continue
            remote = next((p for p in existing.remote_parts if p.has_pipeline(name)), None)
            if remote is not None:
                raise self._remote_removal(existing, "Pipeline", name, remote)
            raise EnvironmentInvalid(
                f"Failed to update environment '{existing.name}'. Pipeline '{name}' does not "
                f"exist in environment '{existing.name}'.",
                local,
                {"pipelines": [f"Pipeline '{name}' is not in environment '{existing.name}'."]},
            )
        pipelines.extend(add_pipelines)
        variables = list(local.environment_variables)
        for name in remove_variables:
            index = next(
                (i for i, v in enumerate(variables) if v.name.lower() == name.lower()), None
            )
            if index is not None:
                del variables[index]
                continue
            remote = next(
                (
                    p
                    for p in existing.remote_parts
                    if any(v.name.lower() == name.lower() for v in p.environment_variables)
                ),
                None,
            )
            if remote is not None:
                raise self._remote_removal(existing, "Environment variable", name, remote)
            raise EnvironmentInvalid(
                f"Failed to update environment '{existing.name}'. Environment variable "
                f"'{name}' does not exist in environment '{existing.name}'.",
                local,
                {
                    "environment_variables": [
                        f"Environment variable '{name}' is not in environment '{existing.name}'."
                    ]
                },
            )
        adding = {v.name.lower() for v in add_variables}
        variables = [v for v in variables if v.name.lower() not in adding] + add_variables
        updated = replace(local, pipelines=tuple(pipelines), environment_variables=tuple(variables))
        await self._save_local(existing.name, updated, f"Updated environment '{existing.name}'")
        return self.get(existing.name)

    async def delete(self, existing: MergedEnvironment) -> None:
        if existing.remote_parts:
            part = existing.remote_parts[0]
            raise Invalid(
                f"Failed to delete environment '{existing.name}'. It is defined remotely in "
                f"{remote_where(part)}; remove it from there."
            )
        await self._save_local(existing.name, None, f"Deleted environment '{existing.name}'")

    def _remote_removal(
        self, existing: MergedEnvironment, what: str, name: str, part: EnvironmentConfig
    ) -> EnvironmentInvalid:
        field = "pipelines" if what == "Pipeline" else "environment_variables"
        text = (
            f"{what} '{name}' cannot be removed from environment '{existing.name}' as the "
            f"association has been defined remotely in {remote_where(part)}."
        )
        return EnvironmentInvalid(
            f"Failed to update environment '{existing.name}'. {text}",
            existing.local or EnvironmentConfig(existing.name),
            {field: [text]},
        )

    async def _save_local(
        self,
        name: str,
        local: EnvironmentConfig | None,
        message: str,
        *,
        shown: EnvironmentConfig | None = None,
    ) -> None:
        """Replace (or add, or with None remove) the stored part of environment `name`, after
        checking the effective config it makes has no error the current one has not."""
        current = self._config.current
        stored = self._config.stored
        candidate = replace(current, environments=_with_local(current.environments, name, local))
        errors = await asyncio.to_thread(_new_errors, current, candidate)
        if errors and local is not None:
            by_field: dict[str, list[str]] = {}
            for error in errors:
                by_field.setdefault(_field(error.key_path, local.name), []).append(error.message)
            raise EnvironmentInvalid(
                f"Validations failed for environment '{local.name}'. Error(s): "
                f"[{', '.join(e.message for e in errors)}]. Please correct and resubmit.",
                shown or local,
                by_field,
            )
        if errors:
            raise Invalid(f"Could not save the config: {', '.join(str(e.message) for e in errors)}")
        await self._config.save(
            replace(stored, environments=_with_local(stored.environments, name, local)),
            expected_md5=stored.md5,
            author=AUTHOR,
            message=message,
        )


def _with_local(
    environments: tuple[EnvironmentConfig, ...], name: str, local: EnvironmentConfig | None
) -> tuple[EnvironmentConfig, ...]:
    wanted = name.lower()
    out: list[EnvironmentConfig] = []
    placed = False
    for environment in environments:
        if environment.name.lower() == wanted and _is_local(environment):
            if local is not None and not placed:
                out.append(local)
            placed = True
            continue
        out.append(environment)
    if not placed and local is not None:
        out.append(local)
    return tuple(out)


def _new_errors(baseline: CruiseConfig, candidate: CruiseConfig) -> list[ConfigError]:
    errors = validate_config(candidate)
    if not errors:
        return []
    known = {(e.key_path.lower(), e.message) for e in validate_config(baseline)}
    return [e for e in errors if (e.key_path.lower(), e.message) not in known]
