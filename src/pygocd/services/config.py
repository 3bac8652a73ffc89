"""The config store: saves revisions of the stored config document and keeps the effective
config, an immutable `CruiseConfig` snapshot swapped atomically after each change.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace

from pygocd.configrepo.document import decode_config, encode_config
from pygocd.configrepo.errors import ConfigError, SourceMap
from pygocd.configrepo.validate import validate_config
from pygocd.configrepo.validate_params import runnable_pipelines
from pygocd.domain.config import ConfigRevision, CruiseConfig
from pygocd.domain.environments import EnvironmentConfig
from pygocd.domain.errors import Conflict, NotFound
from pygocd.domain.pipelines import PipelineConfig, PipelineGroup
from pygocd.services.events import CONFIG_CHANGED
from pygocd.services.ports import Clock, EventBus, UnitOfWorkFactory

STALE_CONFIG_MESSAGE = (
    "Someone has modified the configuration. Please update your copy of the config with the "
    "changes and try again."
)


def document_md5(document: dict[str, object]) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.md5(canonical.encode("utf-8"), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class RepoPart:
    """The last valid parse of one config repo, as merged into the effective config."""

    repo_id: str
    revision: str
    pipelines: tuple[PipelineConfig, ...]
    environments: tuple[EnvironmentConfig, ...]


class ConfigService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, bus: EventBus) -> None:
        self._uow = uow
        self._clock = clock
        self._bus = bus
        self._stored = CruiseConfig()
        self._current = self._stored
        self._parts: dict[str, RepoPart] = {}
        self._apply_lock = asyncio.Lock()

    @property
    def current(self) -> CruiseConfig:
        """The effective config right now; never mutated, only replaced."""
        return self._current

    @property
    def stored(self) -> CruiseConfig:
        """The stored config document alone (no config-repo definitions); save edits of this."""
        return self._stored

    def config_repo_part(self, repo_id: str) -> RepoPart | None:
        return self._parts.get(repo_id.lower())

    async def load(self) -> CruiseConfig:
        """Read the latest stored revision and build the effective snapshot from it."""
        async with self._uow() as uow:
            latest = await uow.config_revisions.latest()
        self._stored = (
            decode_config(latest.document, latest.md5) if latest is not None else CruiseConfig()
        )
        self._current = self._build_effective()
        return self._current

    async def save(
        self, config: CruiseConfig, *, expected_md5: str, author: str, message: str
    ) -> CruiseConfig:
        """Store `config` as a new revision if `expected_md5` is still the latest one.

        Raises `Conflict` when someone saved in between, also from another process: the
        revision table lets only one save land on top of each parent.
        """
        document = encode_config(_local_only(config, self._stored))
        md5 = document_md5(document)
        async with self._uow() as uow:
            latest = await uow.config_revisions.latest()
            current_md5 = latest.md5 if latest is not None else ""
            if expected_md5 != current_md5:
                raise Conflict(STALE_CONFIG_MESSAGE)
            if md5 == current_md5:
                return self._current
            await uow.config_revisions.add(
                ConfigRevision(
                    md5=md5,
                    parent_md5=current_md5,
                    document=document,
                    author=author,
                    message=message,
                    created_at=self._clock.now(),
                    parent_id=latest.id or 0 if latest is not None else 0,
                )
            )
            await uow.commit()
        self._stored = replace(decode_config(document), md5=md5)
        self._current = self._build_effective()
        await self._bus.publish(CONFIG_CHANGED, {"md5": md5})
        return self._current

    async def revisions(self, limit: int = 50, offset: int = 0) -> list[ConfigRevision]:
        async with self._uow() as uow:
            return await uow.config_revisions.list(limit=limit, offset=offset)

    async def revision(self, md5: str) -> CruiseConfig:
        async with self._uow() as uow:
            found = await uow.config_revisions.get(md5)
        if found is None:
            raise NotFound(f"Config revision '{md5}' was not found!")
        return decode_config(found.document, found.md5)

    async def apply_config_repo_parse(
        self,
        repo_id: str,
        revision: str,
        pipelines: Iterable[PipelineConfig],
        environments: Iterable[EnvironmentConfig],
        source_map: SourceMap | None = None,
    ) -> list[ConfigError]:
        """Make this parse of a config repo part of the effective config, all or nothing.

        The merged config is validated against what is in effect now (with this repo's last
        good part, if any): errors the new part would add reject it (returned), and the last
        good part stays. So a commit deleting a pipeline others depend on is refused.
        """
        part = RepoPart(
            repo_id=repo_id,
            revision=revision,
            pipelines=tuple(
                replace(p, origin=replace(p.origin, revision=revision)) for p in pipelines
            ),
            environments=tuple(
                replace(e, origin=replace(e.origin, revision=revision)) for e in environments
            ),
        )
        key = repo_id.lower()
        async with self._apply_lock:
            others = {k: v for k, v in self._parts.items() if k != key}
            baseline = _merge(self._stored, self._parts.values())
            candidate = _merge(self._stored, [*others.values(), part])
            errors = await asyncio.to_thread(_new_errors, baseline, candidate, source_map)
            if errors:
                return errors
            self._parts[key] = part
            self._current = self._build_effective()
        await self._bus.publish(CONFIG_CHANGED, {"md5": self._current.md5, "repo": repo_id})
        return []

    async def drop_config_repo_parse(self, repo_id: str) -> None:
        """Forget a config repo's definitions (the repo was deleted)."""
        async with self._apply_lock:
            if self._parts.pop(repo_id.lower(), None) is None:
                return
            self._current = self._build_effective()
        await self._bus.publish(CONFIG_CHANGED, {"md5": self._current.md5, "repo": repo_id})

    def _build_effective(self) -> CruiseConfig:
        """The stored config plus the last valid part of each config repo still registered,
        with what its pipelines run as (params substituted, templates applied)."""
        registered = {r.id.lower() for r in self._stored.config_repos}
        merged = _merge(self._stored, [p for k, p in self._parts.items() if k in registered])
        return replace(merged, resolved=runnable_pipelines(merged))


def _merge(stored: CruiseConfig, parts: Iterable[RepoPart]) -> CruiseConfig:
    """Pipeline groups merge by name (case-insensitive); environment parts are kept side by
    side, as GoCD's merged environments, so validation can tell which part says what."""
    parts = list(parts)
    if not parts:
        return stored
    groups: dict[str, tuple[PipelineGroup, list[PipelineConfig]]] = {
        g.name.lower(): (g, list(g.pipelines)) for g in stored.groups
    }
    environments = list(stored.environments)
    for part in parts:
        for pipeline in part.pipelines:
            entry = groups.get(pipeline.group.lower())
            if entry is None:
                entry = groups[pipeline.group.lower()] = (PipelineGroup(pipeline.group), [])
            entry[1].append(pipeline)
        environments.extend(part.environments)
    return replace(
        stored,
        groups=tuple(replace(group, pipelines=tuple(ps)) for group, ps in groups.values()),
        environments=tuple(environments),
    )


def _error_key(error: ConfigError) -> tuple[str, str]:
    return error.key_path.lower(), error.message


def _new_errors(
    baseline: CruiseConfig, candidate: CruiseConfig, source_map: SourceMap | None
) -> list[ConfigError]:
    errors = validate_config(candidate, source_map)
    if not errors:
        return []
    known = {_error_key(e) for e in validate_config(baseline)}
    return [e for e in errors if _error_key(e) not in known]


def _local_only(config: CruiseConfig, stored: CruiseConfig) -> CruiseConfig:
    """`config` without what config repos define, so that saving an edited effective config
    never stores remote pipelines; groups that only remote pipelines made disappear too."""
    if not any(p.is_from_config_repo for p in config.all_pipelines()) and not any(
        e.origin.type == "config_repo" for e in config.environments
    ):
        return config
    stored_groups = {g.name.lower() for g in stored.groups}
    groups = []
    for group in config.groups:
        local = tuple(p for p in group.pipelines if not p.is_from_config_repo)
        if local or len(local) == len(group.pipelines) or group.name.lower() in stored_groups:
            groups.append(replace(group, pipelines=local))
    return replace(
        config,
        groups=tuple(groups),
        environments=tuple(e for e in config.environments if e.origin.type != "config_repo"),
    )
