"""The config store: saves revisions of the stored config document and keeps the effective
config, an immutable `CruiseConfig` snapshot swapped atomically after each change.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

from pygocd.configrepo.document import decode_config, encode_config
from pygocd.domain.config import ConfigRevision, CruiseConfig
from pygocd.domain.errors import Conflict, NotFound
from pygocd.services.events import CONFIG_CHANGED
from pygocd.services.ports import Clock, EventBus, UnitOfWorkFactory

STALE_CONFIG_MESSAGE = (
    "Someone has modified the configuration. Please update your copy of the config with the "
    "changes and try again."
)


def document_md5(document: dict[str, object]) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.md5(canonical.encode("utf-8"), usedforsecurity=False).hexdigest()


class ConfigService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, bus: EventBus) -> None:
        self._uow = uow
        self._clock = clock
        self._bus = bus
        self._stored = CruiseConfig()
        self._current = self._stored

    @property
    def current(self) -> CruiseConfig:
        """The effective config right now; never mutated, only replaced."""
        return self._current

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
        document = encode_config(config)
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

    def _build_effective(self) -> CruiseConfig:
        return self._stored
