"""The ports services depend on; `pygocd.db` and `pygocd.bus` implement them.

Ports give the direction of dependencies, not a seam for mocking: service tests use the real
database adapter on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from pygocd.domain.config import ConfigRevision
from pygocd.domain.materials import MaterialConfig
from pygocd.domain.modifications import Modification
from pygocd.domain.runs import PipelineInstance, PipelineState


class Clock(Protocol):
    def now(self) -> datetime: ...


class ConfigRevisionRepository(Protocol):
    async def latest(self) -> ConfigRevision | None: ...

    async def get(self, md5: str) -> ConfigRevision | None: ...

    async def list(self, limit: int = 50, offset: int = 0) -> list[ConfigRevision]: ...

    async def add(self, revision: ConfigRevision) -> int:
        """Store a revision, return its id; `Conflict` if another was saved on the same parent."""
        ...


class PipelineInstanceRepository(Protocol):
    async def next_counter(self, pipeline: str) -> int:
        """Increment and return the pipeline's counter (GoCD's `pipelinelabelcounts`)."""
        ...

    async def add(self, instance: PipelineInstance) -> PipelineInstance:
        """Insert an instance with its stages and jobs; returns it with ids filled in."""
        ...

    async def find(self, pipeline: str, counter: int) -> PipelineInstance | None: ...

    async def list_counters(self, pipeline: str) -> list[int]: ...

    async def state(self, pipeline: str) -> PipelineState: ...


class MaterialRepository(Protocol):
    async def ensure(self, material: MaterialConfig) -> int:
        """The id of the material's row (one per fingerprint), created on first sight."""
        ...

    async def add_modifications(
        self, material_id: int, found: list[Modification]
    ) -> list[Modification]:
        """Store modifications given oldest first; returns them with ids."""
        ...

    async def latest_modifications(
        self, fingerprint: str, limit: int = 1
    ) -> list[Modification]: ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without `commit()` rolls back."""

    @property
    def config_revisions(self) -> ConfigRevisionRepository: ...

    @property
    def pipeline_instances(self) -> PipelineInstanceRepository: ...

    @property
    def materials(self) -> MaterialRepository: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> AbstractAsyncContextManager[UnitOfWork]: ...


class EventBus(Protocol):
    async def publish(self, topic: str, payload: dict[str, object]) -> None: ...

    def subscribe(self, *topics: str) -> AbstractAsyncContextManager[AsyncIterator[Event]]: ...


class Event(Protocol):
    @property
    def topic(self) -> str: ...

    @property
    def payload(self) -> dict[str, object]: ...
