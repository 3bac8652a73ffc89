"""In-process event bus: each subscriber gets its own queue of the topics it asked for."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

# A slow page subscriber (a stalled browser tab) must not hold memory without bound; it loses
# the oldest events instead, and live pages re-render from current state on the next event.
# Internal consumers that act on every event (the reaction loop) subscribe without a limit.
QUEUE_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class BusEvent:
    topic: str
    payload: dict[str, object] = field(default_factory=dict)


class Subscription:
    def __init__(self, topics: frozenset[str], limit: int | None = QUEUE_LIMIT) -> None:
        self.topics = topics
        self.queue: asyncio.Queue[BusEvent] = asyncio.Queue(limit or 0)

    def offer(self, event: BusEvent) -> None:
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(event)

    def __aiter__(self) -> AsyncIterator[BusEvent]:
        return self

    async def __anext__(self) -> BusEvent:
        return await self.queue.get()


class MemoryBus:
    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()

    async def publish(self, topic: str, payload: dict[str, object]) -> None:
        event = BusEvent(topic, payload)
        for subscription in list(self._subscriptions):
            if topic in subscription.topics:
                subscription.offer(event)

    @asynccontextmanager
    async def subscribe(
        self, *topics: str, limit: int | None = QUEUE_LIMIT
    ) -> AsyncIterator[Subscription]:
        subscription = Subscription(frozenset(topics), limit)
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)
