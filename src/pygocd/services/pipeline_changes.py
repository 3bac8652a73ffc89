"""Per-pipeline read models kept between requests and rebuilt only where something changed.

The database keeps a change counter per pipeline (`pipeline_changes`, raised by triggers on
every write to a pipeline's instances, stage runs, jobs and pause/lock state). A
`PerPipelineCache` remembers the counters its values were built from. Each read asks the
database whether any counter moved (one aggregate query); when one did, it reads all the
counters and reloads only the pipelines whose counter differs. Because the counters live in
the shared database, several server processes each see the others' changes.

A new config snapshot recomputes each pipeline's config-derived part (its `token`) and
reloads the pipelines whose token changed; a pipeline whose config stayed equal keeps its
value. New pipelines are loaded, deleted ones dropped.

Counters are read before the rows they guard, so a kept value is never older than the
counter it is kept under (at worst newer, which only costs one needless reload).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from pygocd.domain.config import CruiseConfig
from pygocd.services.ports import UnitOfWork, UnitOfWorkFactory

T = TypeVar("T")

Tokens = Callable[[CruiseConfig], Mapping[str, object]]
"""The config-derived part of each pipeline's value, by lower-cased name, in display order.
Compared with `==` across config snapshots."""

Loader = Callable[[UnitOfWork, CruiseConfig, list[str] | None], Awaitable[Mapping[str, T]]]
"""Loads the values of the named pipelines (every pipeline of the config when None); it
must answer every name it is given."""


@dataclass(frozen=True, slots=True)
class PerPipelineState(Generic[T]):
    """What a cache holds: immutable, replaced whole, so readers may keep one."""

    config: CruiseConfig
    marker: tuple[int, int]
    versions: Mapping[str, int]
    tokens: Mapping[str, object]
    values: Mapping[str, T]
    reloaded: frozenset[str] | None
    """The pipelines loaded to make this state (None: all of them)."""


class PerPipelineCache(Generic[T]):
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        config: Callable[[], CruiseConfig],
        tokens: Tokens,
        load: Loader[T],
    ) -> None:
        self._uow = uow
        self._config = config
        self._tokens = tokens
        self._load = load
        self._state: PerPipelineState[T] | None = None
        self._refreshing = asyncio.Lock()

    async def current(self) -> PerPipelineState[T]:
        # One refresh at a time: requests that arrive meanwhile wait and then find the
        # refreshed state current, instead of loading the same pipelines again.
        async with self._refreshing:
            config = self._config()
            kept = self._state
            async with self._uow(read_only=True) as uow:
                marker = await uow.dashboard.change_marker()
                if kept is not None and kept.config is config and kept.marker == marker:
                    return kept
                versions = await uow.dashboard.change_versions()
                tokens = kept.tokens if kept is not None and kept.config is config else None
                if tokens is None:
                    tokens = self._tokens(config)
                stale = _stale(kept, versions, tokens)
                everything = kept is None or len(stale) == len(tokens)
                loaded = (
                    await self._load(uow, config, None if everything else stale) if stale else {}
                )
            previous = kept.values if kept is not None else {}
            values = {key: loaded[key] if key in loaded else previous[key] for key in tokens}
            self._state = PerPipelineState(
                config=config,
                marker=(len(versions), sum(versions.values())),
                versions=versions,
                tokens=tokens,
                values=values,
                reloaded=None if everything else frozenset(stale),
            )
            return self._state


def _stale(
    kept: PerPipelineState[T] | None, versions: Mapping[str, int], tokens: Mapping[str, object]
) -> list[str]:
    if kept is None:
        return list(tokens)
    same_config = kept.tokens is tokens
    return [
        key
        for key, token in tokens.items()
        if key not in kept.values
        or versions.get(key, 0) != kept.versions.get(key, 0)
        or (not same_config and kept.tokens.get(key) != token)
    ]
