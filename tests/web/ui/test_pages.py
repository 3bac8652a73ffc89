"""The GoCD page shell: chrome, navigation, empty states and vendored assets."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest

from pygocd.web.ui import STATIC_DIR
from pygocd.web.ui.pages import ADMIN_MENU
from tests.web.ui.dom import Node, parse

pytestmark = pytest.mark.db

EMPTY_DASHBOARD = "Either no pipelines have been set up or you are not authorized to view the same."
MAIN_PAGES = {"/go/pipelines": "Dashboard", "/go/agents": "Agents", "/go/materials": "Materials"}
ADMIN_LINKS = [link for column in ADMIN_MENU for link in column.links]


async def get_page(client: httpx.AsyncClient, path: str) -> tuple[str, Node]:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    return response.text, parse(response.text)


def main_menu(doc: Node) -> list[Node]:
    nav = doc.one(lambda n: n.tag == "nav" and n.attrs.get("aria-label") == "Main menu")
    return nav.find_all(lambda n: n.has_class("site-nav__item"))


ALL_PAGES = [*MAIN_PAGES, *(link.href for link in ADMIN_LINKS)]


# ---- the shell ---------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_PAGES)
async def test_every_page_has_the_gocd_shell(client: httpx.AsyncClient, path: str) -> None:
    _, doc = await get_page(client, path)

    assert doc.one(lambda n: n.tag == "html").attrs["lang"] == "en"
    for tag in ("header", "main", "footer"):
        assert len(doc.by_tag(tag)) == 1, tag
    assert len(doc.find_all(lambda n: n.tag == "nav" and bool(n.attrs.get("aria-label")))) == 1
    assert doc.one(lambda n: n.tag == "meta" and n.attrs.get("name") == "viewport")
    assert doc.one(lambda n: n.tag == "link" and n.attrs.get("rel") == "icon").attrs["href"] == (
        "data:,"
    )
    logo = doc.one(lambda n: n.has_class("site-header__logo"))
    assert logo.attrs["href"] == "/go/pipelines"
    assert logo.by_tag("img")[0].attrs["src"].startswith("/go/assets/img/go-logo.svg")
    assert len(doc.by_tag("h1")) == 1


@pytest.mark.parametrize("path", ALL_PAGES)
async def test_header_menu_lists_dashboard_agents_materials_admin(
    client: httpx.AsyncClient, path: str
) -> None:
    _, doc = await get_page(client, path)

    items = main_menu(doc)
    labels = [item.children[0].text for item in items]
    assert labels == ["Dashboard", "Agents", "Materials", "Admin"]
    hrefs = [item.children[0].attrs.get("href") for item in items[:3]]
    assert hrefs == ["/go/pipelines", "/go/agents", "/go/materials"]


@pytest.mark.parametrize(("path", "label"), MAIN_PAGES.items())
async def test_the_current_page_gets_the_active_bar(
    client: httpx.AsyncClient, path: str, label: str
) -> None:
    _, doc = await get_page(client, path)

    active = [item for item in main_menu(doc) if item.has_class("is-active")]
    assert [item.children[0].text for item in active] == [label]
    current = doc.find_all(lambda n: n.attrs.get("aria-current") == "page")
    assert [(n.text, n.attrs["href"]) for n in current] == [(label, path)]


async def test_admin_pages_mark_admin_and_their_own_entry(client: httpx.AsyncClient) -> None:
    _, doc = await get_page(client, "/go/admin/config_repos")

    active = [item for item in main_menu(doc) if item.has_class("is-active")]
    assert [item.children[0].text for item in active] == ["Admin"]
    current = doc.one(lambda n: n.attrs.get("aria-current") == "page")
    assert (current.text, current.attrs["href"]) == (
        "Config Repositories",
        "/go/admin/config_repos",
    )
    assert doc.one(lambda n: n.tag == "h1").text == "Config Repositories"
    assert "Config Repositories is not available in pygocd yet." in doc.text


async def test_admin_dropdown_is_a_keyboard_operable_disclosure(client: httpx.AsyncClient) -> None:
    _, doc = await get_page(client, "/go/pipelines")

    button = doc.one(lambda n: n.tag == "button" and n.text == "Admin")
    assert button.attrs["type"] == "button"
    assert button.attrs["aria-expanded"] == "false"
    panel = doc.one(lambda n: n.attrs.get("id") == button.attrs["aria-controls"])
    links = [(a.text, a.attrs["href"]) for a in panel.by_tag("a")]
    assert links == [(link.label, link.href) for link in ADMIN_LINKS]
    for label in ("Pipelines", "Environments", "Templates", "Config Repositories"):
        assert label in dict(links)
    headings = [n.text for n in panel.find_all(lambda n: n.has_class("admin-menu__heading"))]
    assert headings == ["Server Configuration", "Security"]


async def test_page_titles_follow_gocd(client: httpx.AsyncClient) -> None:
    for path, label in MAIN_PAGES.items():
        _, doc = await get_page(client, path)
        assert doc.one(lambda n: n.tag == "title").text == f"{label} - Go"


# ---- page bodies -------------------------------------------------------------


async def test_empty_dashboard_shows_gocds_message(client: httpx.AsyncClient) -> None:
    _, doc = await get_page(client, "/go/pipelines")

    callout = doc.one(lambda n: n.has_class("callout"))
    assert callout.has_class("callout--info")
    assert callout.text == EMPTY_DASHBOARD
    dashboard = doc.one(lambda n: n.attrs.get("id") == "dashboard")
    assert not dashboard.find_all(lambda n: n.has_class("dashboard-group"))
    assert doc.one(lambda n: n.has_class("view-tabs__tab")).text == "Default"


async def test_agents_and_materials_say_there_are_none_yet(client: httpx.AsyncClient) -> None:
    _, agents = await get_page(client, "/go/agents")
    assert "There are no agents yet." in agents.one(lambda n: n.tag == "main").text

    _, materials = await get_page(client, "/go/materials")
    main = materials.one(lambda n: n.tag == "main")
    assert EMPTY_DASHBOARD in main.text
    assert "There are no materials yet." in main.text


# ---- assets ------------------------------------------------------------------


def asset_urls(doc: Node) -> list[str]:
    urls = [n.attrs.get("href") or n.attrs.get("src") or "" for n in doc.iter()]
    return [url for url in urls if url.startswith("/go/assets/")]


async def test_page_assets_are_served_with_the_right_types(client: httpx.AsyncClient) -> None:
    _, doc = await get_page(client, "/go/pipelines")
    urls = asset_urls(doc)
    expected = {
        "css/gocd.css": "text/css",
        "css/icons.css": "text/css",
        "vendor/htmx.min.js": "javascript",
        "vendor/sse.min.js": "javascript",
        "js/menu.js": "javascript",
        "js/local-time.js": "javascript",
        "js/dialogs.js": "javascript",
        "js/live.js": "javascript",
        "js/dashboard.js": "javascript",
        "img/go-logo.svg": "image/svg+xml",
        "THIRD-PARTY-NOTICES.txt": "text/plain",
    }
    paths = {urlsplit(url).path.removeprefix("/go/assets/"): url for url in urls}
    assert set(paths) == set(expected)

    for path, kind in expected.items():
        response = await client.get(paths[path])
        assert response.status_code == 200, path
        assert kind in response.headers["content-type"], path


async def test_htmx_loads_before_its_sse_extension(client: httpx.AsyncClient) -> None:
    _, doc = await get_page(client, "/go/pipelines")
    scripts = [urlsplit(n.attrs["src"]).path for n in doc.by_tag("script") if "src" in n.attrs]
    assert scripts.index("/go/assets/vendor/htmx.min.js") < scripts.index(
        "/go/assets/vendor/sse.min.js"
    )
    htmx = await client.get("/go/assets/vendor/htmx.min.js")
    assert 'version:"2.0.11"' in htmx.text.replace(" ", "")


async def test_open_sans_fonts_are_vendored(client: httpx.AsyncClient) -> None:
    css = (await client.get("/go/assets/css/gocd.css")).text
    fonts = re.findall(r"url\(\"?\.\./(fonts/[^\")]+)\"?\)", css)
    assert sorted(fonts) == [f"fonts/open-sans-latin-{w}-normal.woff2" for w in (400, 600, 700)]
    for font in fonts:
        response = await client.get(f"/go/assets/{font}")
        assert response.status_code == 200
        assert response.headers["content-type"] == "font/woff2"
        assert response.content[:4] == b"wOF2"
    assert '"Open Sans"' in css


def test_vendored_files_carry_their_licences() -> None:
    for licence in (
        "fonts/LICENSE-OpenSans.txt",
        "vendor/LICENSE-htmx.txt",
        "vendor/LICENSE-htmx-ext-sse.txt",
        "THIRD-PARTY-NOTICES.txt",
    ):
        assert (STATIC_DIR / licence).stat().st_size > 0, licence


@pytest.mark.parametrize("path", ALL_PAGES)
async def test_pages_load_nothing_from_another_host(client: httpx.AsyncClient, path: str) -> None:
    html, _ = await get_page(client, path)
    hosts = {urlsplit(url).netloc for url in re.findall(r"https?://[^\s\"'<>)]+", html)}
    assert hosts <= {"127.0.0.1:8153"}


async def test_stylesheet_loads_nothing_from_another_host(client: httpx.AsyncClient) -> None:
    css = (await client.get("/go/assets/css/gocd.css")).text
    assert not re.search(r"https?://|@import", css)


async def test_unknown_pages_are_not_found(client: httpx.AsyncClient) -> None:
    assert (await client.get("/go/nowhere")).status_code == 404
