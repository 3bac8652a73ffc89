"""Job console logs: read by byte offset and render lines as GoCD's console does.

Agents write `PP|HH:MM:SS.mmm text` lines (gocd-ui.md §3.4): a two-character tag says what
the line is (`!!` task start, `&1` stdout, `&2` stderr, `?0`/`?1` task passed/failed, ...).
Each line becomes a `<div>` with the tag, the timestamp and the text with its ANSI colours as
classes; `js/console.js` groups lines into foldable task sections in the browser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup, escape

CONSOLE_PATH = ("cruise-output", "console.log")
MAX_CHUNK = 256 * 1024
"""The most bytes one read sends; a long log arrives in several messages."""

_LINE = re.compile(
    r"^(?P<tag>[!&?#a-zA-Z^][!&?#0-9a-zA-Z^C])\|(?P<ts>\d\d:\d\d:\d\d\.\d\d\d) ?(?P<text>.*)$"
)
_SGR = re.compile(r"\x1b\[([0-9;]*)m")
_OTHER_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-ln-z]")

KNOWN_TAGS = {
    "##": "info",
    "pr": "prep",
    "pe": "prep-error",
    "ar": "publish",
    "ae": "publish-error",
    "!!": "task",
    "&1": "stdout",
    "&2": "stderr",
    "?0": "task-passed",
    "?1": "task-failed",
    "^C": "cancelled",
    "!x": "cancel-task",
    "x0": "cancel-task-passed",
    "x1": "cancel-task-failed",
    "j0": "job-passed",
    "j1": "job-failed",
    "ex": "job-completed",
}


def console_file(
    data_dir: Path, pipeline: str, counter: int, stage: str, stage_counter: int, job: str
) -> Path:
    """GoCD's layout: `<data>/artifacts/pipelines/<p>/<c>/<s>/<sc>/<job>/cruise-output/
    console.log`."""
    return data_dir.joinpath("artifacts", "pipelines", pipeline, str(counter), stage).joinpath(
        str(stage_counter), job, *CONSOLE_PATH
    )


@dataclass(frozen=True, slots=True)
class Chunk:
    """Complete lines read from `offset`; `next_offset` is where the next read starts (a
    trailing partial line waits for its newline)."""

    lines: tuple[str, ...]
    next_offset: int


def read_lines(path: Path, offset: int, *, final: bool = False) -> Chunk:
    """Whole lines from byte `offset`; with `final`, a last line without newline too."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            data = handle.read(MAX_CHUNK)
    except FileNotFoundError:
        return Chunk((), offset)
    if not data:
        return Chunk((), offset)
    end = data.rfind(b"\n") + 1
    if final and len(data) < MAX_CHUNK:
        cut = len(data)
    elif end:
        cut = end
    elif len(data) == MAX_CHUNK:
        cut = len(data)  # one enormous line: send it in pieces
    else:
        return Chunk((), offset)
    taken = data[:cut]
    text = taken.decode("utf-8", errors="replace")
    lines = tuple(text.removesuffix("\n").split("\n")) if text else ()
    return Chunk(lines, offset + len(taken))


class _AnsiState:
    def __init__(self) -> None:
        self.fg: str | None = None
        self.bg: str | None = None
        self.bold = False

    def apply(self, codes: str) -> None:
        for raw in (codes or "0").split(";"):
            code = int(raw) if raw.isascii() and raw.isdigit() else 0
            if code == 0:
                self.fg = self.bg = None
                self.bold = False
            elif code == 1:
                self.bold = True
            elif code == 22:
                self.bold = False
            elif 30 <= code <= 37:
                self.fg = str(code - 30)
            elif 90 <= code <= 97:
                self.fg = f"b{code - 90}"
            elif code == 39:
                self.fg = None
            elif 40 <= code <= 47:
                self.bg = str(code - 40)
            elif 100 <= code <= 107:
                self.bg = f"b{code - 100}"
            elif code == 49:
                self.bg = None

    @property
    def classes(self) -> str:
        parts = []
        if self.fg is not None:
            parts.append(f"ansi-fg-{self.fg}")
        if self.bg is not None:
            parts.append(f"ansi-bg-{self.bg}")
        if self.bold:
            parts.append("ansi-bold")
        return " ".join(parts)


def ansi_to_html(text: str) -> Markup:
    """Text with ANSI SGR colour codes as escaped HTML with `ansi-*` classes; other escape
    sequences are dropped."""
    text = _OTHER_ESCAPES.sub("", text)
    state = _AnsiState()
    out: list[Markup] = []
    position = 0
    for match in _SGR.finditer(text):
        out.append(_span(text[position : match.start()], state.classes))
        state.apply(match.group(1))
        position = match.end()
    out.append(_span(text[position:], state.classes))
    return Markup("").join(out)


def _span(text: str, classes: str) -> Markup:
    if not classes:
        return escape(text)
    return Markup('<span class="{}">{}</span>').format(classes, text)


def render_line(line: str) -> Markup:
    """One console line as `<div class="cl" data-tag=.. data-ts=..>`."""
    match = _LINE.match(line)
    if match is None:
        return Markup('<div class="cl cl--plain">{}</div>').format(ansi_to_html(line) or "\u200b")
    tag = match.group("tag")
    kind = KNOWN_TAGS.get(tag, "plain")
    return Markup('<div class="cl cl--{kind}" data-tag="{tag}" data-ts="{ts}">{text}</div>').format(
        kind=kind, tag=tag, ts=match.group("ts"), text=ansi_to_html(match.group("text")) or "\u200b"
    )


def render_lines(lines: tuple[str, ...]) -> str:
    return "".join(render_line(line) for line in lines)
