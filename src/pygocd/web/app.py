"""The ASGI app: routes under `/go`, static assets, error handlers. Construction only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from pygocd import __version__
from pygocd.services.registry import Loop, Services
from pygocd.settings import Settings
from pygocd.web import agent_api
from pygocd.web.api import agents as agents_api
from pygocd.web.api import (
    cctray,
    config_repos,
    feeds,
    jobs,
    pipeline_configs,
    pipeline_groups,
    pipelines,
    server,
    server_health,
    stages,
    templates,
    webhooks,
)
from pygocd.web.api import dashboard as dashboard_api
from pygocd.web.api import environments as environments_api
from pygocd.web.api import files as files_api
from pygocd.web.api import materials as materials_api
from pygocd.web.api import users as users_api
from pygocd.web.api import value_stream_maps as vsm_api
from pygocd.web.errors import ERROR_RESPONSES, install_error_handlers
from pygocd.web.ui import STATIC_DIR, ui_router

log = logging.getLogger("pygocd.web")


def create_app(
    services: Services, settings: Settings, loops: Sequence[Loop] | None = None
) -> FastAPI:
    """The app; while it serves, it runs `loops` (default: the services' own loops)."""
    running = tuple(services.loops if loops is None else loops)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(loop(), name=f"loop-{i}") for i, loop in enumerate(running)]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for result in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(result, Exception):
                    log.error("background loop failed: %r", result)

    app = FastAPI(
        title="pygocd",
        version=__version__,
        openapi_url="/go/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.services = services
    app.state.settings = settings
    install_error_handlers(app)
    # Routes are matched in order, each costing a few microseconds: the agents' calls and the
    # runtime APIs that scripts and monitors poll come first. Their paths match nothing else.
    app.include_router(agent_api.router, prefix="/go")
    # runs_api: pipeline, stage and job runtime APIs, CCTray and feeds
    for runs_router in (pipelines.router, stages.router, jobs.router, feeds.router):
        app.include_router(runs_router, prefix="/go")
    app.include_router(cctray.router, prefix="/go")
    app.include_router(dashboard_api.router, prefix="/go")
    app.include_router(server.router, prefix="/go")
    app.include_router(server_health.router, prefix="/go")
    app.include_router(config_repos.router, prefix="/go")
    app.include_router(pipeline_configs.router, prefix="/go")
    app.include_router(pipeline_groups.router, prefix="/go")
    app.include_router(templates.router, prefix="/go")
    app.include_router(materials_api.router, prefix="/go")
    app.include_router(webhooks.router, prefix="/go")
    app.include_router(agents_api.router, prefix="/go")
    app.include_router(files_api.router, prefix="/go")
    app.include_router(environments_api.router, prefix="/go")
    app.include_router(users_api.current_user_router, prefix="/go")
    app.include_router(users_api.users_router, prefix="/go")
    app.include_router(vsm_api.router, prefix="/go")
    app.include_router(ui_router(), prefix="/go")
    app.mount("/go/assets", StaticFiles(directory=STATIC_DIR), name="assets")

    @app.get("/", include_in_schema=False)
    @app.get("/go", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/go/pipelines", status_code=302)

    return app
