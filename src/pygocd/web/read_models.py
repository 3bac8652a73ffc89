"""The app's long-lived read models (dashboard, CCTray): one of each per app, made on first
use and shared by the API, the pages and the live streams, so a change is read from the
database once and every view renders from the same objects."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from pygocd.services.dashboard import DashboardReadModel
from pygocd.services.registry import Services
from pygocd.services.run_history import CcTrayReadModel


@dataclass(frozen=True, slots=True)
class ReadModels:
    dashboard: DashboardReadModel
    cctray: CcTrayReadModel


def read_models(request: Request) -> ReadModels:
    state = request.app.state
    found: ReadModels | None = getattr(state, "read_models", None)
    if found is None:
        services: Services = state.services
        found = ReadModels(
            DashboardReadModel(services.uow, services.config),
            CcTrayReadModel(services.uow, services.config),
        )
        state.read_models = found
    return found
