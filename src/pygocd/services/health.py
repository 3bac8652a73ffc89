"""Server health messages (GoCD's `ServerHealthService`): problems the server wants an admin
to see, each under a scope so that fixing the cause clears the message."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from pygocd.services.ports import Clock


class HealthLevel(enum.StrEnum):
    ERROR = "ERROR"
    WARNING = "WARNING"


@dataclass(frozen=True, slots=True)
class HealthMessage:
    message: str
    detail: str
    level: HealthLevel
    time: datetime


class ServerHealth:
    """In-memory, per process, as in GoCD: messages are rebuilt by whoever checks again."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._messages: dict[str, HealthMessage] = {}

    def error(self, scope: str, message: str, detail: str) -> None:
        self._set(scope, message, detail, HealthLevel.ERROR)

    def warning(self, scope: str, message: str, detail: str) -> None:
        self._set(scope, message, detail, HealthLevel.WARNING)

    def _set(self, scope: str, message: str, detail: str, level: HealthLevel) -> None:
        old = self._messages.get(scope)
        if old is not None and (old.message, old.detail, old.level) == (message, detail, level):
            return  # keep the time the problem was first seen
        self._messages[scope] = HealthMessage(message, detail, level, self._clock.now())

    def clear(self, scope: str) -> None:
        self._messages.pop(scope, None)

    def messages(self) -> list[HealthMessage]:
        """Errors first, then warnings; oldest first within a level."""
        return sorted(
            self._messages.values(),
            key=lambda m: (m.level is not HealthLevel.ERROR, m.time),
        )
