"""The UI's icons: `<span class="icon icon--NAME" aria-hidden="true"></span>`, drawn by
`static/css/icons.css` as a CSS mask in the text colour.

A dashboard shows several icons on each of up to thousands of cards; one empty element per
icon (instead of an inline SVG, or an SVG `<use>` with its shadow tree) keeps the page small
and cheap for the browser to style and lay out. Icons are decorative: the control that holds
one carries the label.
"""

from __future__ import annotations

from functools import cache

from markupsafe import Markup

NAMES = frozenset(
    {
        "ban",
        "caret",
        "check",
        "close",
        "code",
        "exclamation",
        "file",
        "folder",
        "forward",
        "gear",
        "lock",
        "pause",
        "play",
        "play-plus",
        "rerun",
        "search",
        "step-forward",
        "terminal",
    }
)
"""Every icon `icons.css` draws (a test keeps the two in step)."""

_GLYPHS = {"passed": "check", "failed": "exclamation", "cancelled": "ban"}


@cache
def icon(name: str) -> Markup:
    """The icon `name`; an unknown name is a template bug and fails the render."""
    if name not in NAMES:
        raise KeyError(f"unknown icon {name!r}")
    return Markup('<span class="icon icon--{}" aria-hidden="true"></span>').format(name)


@cache
def status_glyph(css: str) -> Markup:
    """The glyph inside a status segment or square (`css` is its status class): a tick, an
    exclamation mark or a ban; nothing for building, failing or unknown."""
    name = _GLYPHS.get(css)
    return icon(name) if name is not None else Markup("")
