"""The ASGI app: routes under `/go`, static assets, error handlers. Construction only."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from pygocd import __version__
from pygocd.services.registry import Services
from pygocd.settings import Settings
from pygocd.web.api import server
from pygocd.web.errors import install_error_handlers
from pygocd.web.ui import STATIC_DIR, ui_router


def create_app(services: Services, settings: Settings) -> FastAPI:
    app = FastAPI(
        title="pygocd",
        version=__version__,
        openapi_url="/go/api/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(server.router, prefix="/go")
    app.include_router(ui_router(), prefix="/go")
    app.mount("/go/assets", StaticFiles(directory=STATIC_DIR), name="assets")

    @app.get("/", include_in_schema=False)
    @app.get("/go", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/go/pipelines", status_code=302)

    return app
