"""GoCD's page shell: the server-rendered pages under ``/go``.

Every page handler builds a small typed *page context* (a frozen dataclass, as
Datasette does) and renders one template with it; templates extend ``base.html``,
which draws GoCD's chrome: the navy site header with its main menu and Admin
drop-down, the white page header, the content area and the footer.

The app mounts this module exactly so::

    app.include_router(ui_router(), prefix="/go")
    app.mount("/go/assets", StaticFiles(directory=STATIC_DIR), name="assets")
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

import pygocd
from pygocd.web.ui import formatting, icons

UI_DIR = Path(__file__).resolve().parent
STATIC_DIR = UI_DIR / "static"
TEMPLATES_DIR = UI_DIR / "templates"
ASSETS_URL = "/go/assets"
"""Where the app mounts :data:`STATIC_DIR`."""


# ---- navigation -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NavItem:
    """An item of the site header's main menu."""

    key: str
    label: str
    href: str


@dataclass(frozen=True, slots=True)
class AdminLink:
    """An entry of the Admin drop-down.

    ``placeholder`` entries get a stand-in page from :func:`ui_router`; set it to
    False when the real page is served elsewhere.
    """

    label: str
    href: str
    placeholder: bool = True


@dataclass(frozen=True, slots=True)
class AdminColumn:
    heading: str | None
    links: tuple[AdminLink, ...]


MAIN_MENU: tuple[NavItem, ...] = (
    NavItem("dashboard", "Dashboard", "/go/pipelines"),
    NavItem("agents", "Agents", "/go/agents"),
    NavItem("materials", "Materials", "/go/materials"),
)

# GoCD's system-administrator layout: four columns, the last two with headings.
ADMIN_MENU: tuple[AdminColumn, ...] = (
    AdminColumn(
        None,
        (
            AdminLink("Pipelines", "/go/admin/pipelines"),
            AdminLink("Environments", "/go/admin/environments"),
            AdminLink("Templates", "/go/admin/templates"),
            AdminLink("Config XML", "/go/admin/config_xml"),
            AdminLink("Package Repositories", "/go/admin/package_repositories"),
        ),
    ),
    AdminColumn(
        None,
        (
            AdminLink("Elastic Agent Configurations", "/go/admin/elastic_agent_configurations"),
            AdminLink("Config Repositories", "/go/admin/config_repos"),
            AdminLink("Artifact Stores", "/go/admin/artifact_stores"),
            AdminLink("Secret Management", "/go/admin/secret_configs"),
            AdminLink("Pluggable SCMs", "/go/admin/scms"),
        ),
    ),
    AdminColumn(
        "Server Configuration",
        (
            AdminLink("Server Configuration", "/go/admin/config/server"),
            AdminLink("Server Maintenance Mode", "/go/admin/maintenance_mode"),
            AdminLink("Backup", "/go/admin/backup"),
            AdminLink("Plugins", "/go/admin/plugins"),
        ),
    ),
    AdminColumn(
        "Security",
        (
            AdminLink("Authorization Configuration", "/go/admin/security/auth_configs"),
            AdminLink("Role configuration", "/go/admin/security/roles"),
            AdminLink("Users Management", "/go/admin/users"),
            AdminLink("Access Tokens Management", "/go/admin/admin_access_tokens"),
        ),
    ),
)

ADMIN_KEY = "admin"
"""``PageContext.active`` of pages under the Admin menu."""


# ---- page contexts ----------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PageContext:
    """What every page template receives as ``page``.

    ``active`` is the key of the main-menu item that gets the purple bar
    (a :data:`MAIN_MENU` key or :data:`ADMIN_KEY`); ``path`` is the request
    path, used to mark the current Admin entry.
    """

    title: str
    active: str
    path: str
    flashes: tuple[Flash, ...] = ()


@dataclass(frozen=True, slots=True)
class Flash:
    """An operation message: `kind` is a callout kind (success, info, warning, alert)."""

    kind: str
    message: str


# ---- rendering --------------------------------------------------------------

Render = Callable[[Request, str, PageContext], HTMLResponse]


@cache
def asset(path: str) -> str:
    """URL of a file under ``static/``, with a content hash so browsers re-fetch on change."""
    digest = hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:12]
    return f"{ASSETS_URL}/{path}?v={digest}"


@cache
def page_environment() -> jinja2.Environment:
    """The Jinja environment of the UI templates: autoescaped, strict about undefined names.

    One per process, so templates are compiled once; treat it as read-only.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        time_tag=formatting.time_tag,
        duration=formatting.duration,
        clock_duration=formatting.clock_duration,
        stage_css=formatting.stage_css,
        short_revision=formatting.short_revision,
    )
    env.globals.update(
        asset=asset,
        icon=icons.icon,
        status_glyph=icons.status_glyph,
        main_menu=MAIN_MENU,
        admin_menu=ADMIN_MENU,
        admin_key=ADMIN_KEY,
        version=pygocd.__version__,
    )
    return env


@cache
def _templates() -> Jinja2Templates:
    return Jinja2Templates(env=page_environment())


def render_page(request: Request, name: str, page: PageContext) -> HTMLResponse:
    """A whole page: `name` extends base.html and sees `page`."""
    return _templates().TemplateResponse(request, name, {"page": page})


def render_fragment(name: str, **context: object) -> str:
    """A template piece (a card, a popup) as a string."""
    return page_environment().get_template(name).render(**context)


def render_markup(name: str, **context: object) -> Markup:
    """A template piece as Markup, to embed in another template without escaping."""
    # The environment autoescapes, so what a template writes is safe HTML.
    return Markup(render_fragment(name, **context))  # noqa: S704


def ui_router() -> APIRouter:
    """The UI pages, with paths relative to ``/go``."""
    router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)

    def render(request: Request, name: str, page: PageContext) -> HTMLResponse:
        return render_page(request, name, page)

    from pygocd.web.ui.actions import router as actions_router
    from pygocd.web.ui.agents import router as agents_router
    from pygocd.web.ui.compare import router as compare_router
    from pygocd.web.ui.dashboard import router as dashboard_router
    from pygocd.web.ui.jobs import router as jobs_router
    from pygocd.web.ui.live import router as live_router
    from pygocd.web.ui.materials import router as materials_router
    from pygocd.web.ui.runs import router as runs_router
    from pygocd.web.ui.value_stream_maps import router as vsm_router

    for part in (
        dashboard_router,
        actions_router,
        live_router,
        runs_router,
        jobs_router,
        compare_router,
        vsm_router,
        agents_router,
        materials_router,
    ):
        router.include_router(part)

    for column in ADMIN_MENU:
        for link in column.links:
            if link.placeholder:
                router.add_api_route(
                    link.href.removeprefix("/go"),
                    _placeholder_page(link, render),
                    methods=["GET"],
                    name=f"ui.admin{link.href.removeprefix('/go/admin').replace('/', '.')}",
                )
    return router


def _placeholder_page(
    link: AdminLink, render: Render
) -> Callable[[Request], Awaitable[HTMLResponse]]:
    async def placeholder(request: Request) -> HTMLResponse:
        page = PageContext(title=link.label, active=ADMIN_KEY, path=request.url.path)
        return render(request, "placeholder.html", page)

    return placeholder
