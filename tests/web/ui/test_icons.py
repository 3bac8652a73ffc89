"""Icons: one empty element each, drawn by icons.css; every name the UI uses is drawn."""

from __future__ import annotations

import re

import pytest

from pygocd.web.ui import STATIC_DIR
from pygocd.web.ui.icons import NAMES, icon, status_glyph
from pygocd.web.ui.pages import TEMPLATES_DIR


def test_every_icon_has_a_css_mask_and_nothing_more() -> None:
    css = (STATIC_DIR / "css" / "icons.css").read_text()
    drawn = set(re.findall(r"^\.icon--([a-z-]+) \{ --icon: url\(\"data:image/svg\+xml,", css, re.M))
    assert drawn == NAMES


def test_templates_use_only_known_icons() -> None:
    used = {
        name
        for path in TEMPLATES_DIR.rglob("*.html")
        for name in re.findall(r"icon\('([a-z-]+)'\)", path.read_text())
    }
    assert used
    assert used <= NAMES


def test_an_icon_is_one_decorative_element() -> None:
    assert icon("gear") == '<span class="icon icon--gear" aria-hidden="true"></span>'
    assert status_glyph("failed") == icon("exclamation")
    assert status_glyph("building") == ""
    with pytest.raises(KeyError):
        icon("nope")
