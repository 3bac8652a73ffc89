"""The web UI: GoCD's pages, rendered on the server (Jinja2), made live with HTMX and SSE."""

from pygocd.web.ui.pages import STATIC_DIR, ui_router

__all__ = ["STATIC_DIR", "ui_router"]
