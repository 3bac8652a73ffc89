"""The set of services the web layer and the scheduler are given by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from pygocd.services.config import ConfigService
from pygocd.services.ports import Clock, EventBus, UnitOfWorkFactory


@dataclass(frozen=True)
class Services:
    uow: UnitOfWorkFactory
    bus: EventBus
    clock: Clock
    config: ConfigService
