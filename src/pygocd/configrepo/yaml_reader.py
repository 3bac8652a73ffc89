"""Read YAML the way GoCD's YAML plugin (yamlbeans) does, keeping where every value was written.

- every scalar is a string (`10`, `true`, `null`, `~` included); a plain empty value is None,
  a quoted `""` stays `""`;
- a duplicate key at any depth is an error (with its line and column);
- anchors, aliases and `<<` merge keys work; only the first document is read;
- bounded: file size, nesting depth and the number of nodes after alias expansion (a
  "billion laughs" file stops with a clear error instead of eating the machine).

Values come back as plain `str`/`None`, `PositionedMap` (a dict) and `PositionedList` (a list);
the containers remember the 1-based line and column of each key or item.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from pygocd.configrepo.errors import ConfigError, Location

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 100
MAX_NODES = 1_000_000

Position = tuple[int, int]  # 1-based line, column

_Parser: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class PositionedMap(dict[str, Any]):
    """A YAML mapping; `positions[key]` is where the key was written."""

    __slots__ = ("position", "positions")

    def __init__(self, position: Position) -> None:
        super().__init__()
        self.position = position
        self.positions: dict[str, Position] = {}


class PositionedList(list[Any]):
    """A YAML sequence; `positions[i]` is where item i was written."""

    __slots__ = ("position", "positions")

    def __init__(self, position: Position) -> None:
        super().__init__()
        self.position = position
        self.positions: list[Position] = []


class YamlLoadError(Exception):
    """A file-level error: the file could not be read as YAML."""

    def __init__(self, error: ConfigError) -> None:
        super().__init__(str(error))
        self.error = error


def position_of(container: Any, key: str | int) -> Position | None:
    """Where `key` (a map key or a list index) of a positioned container was written."""
    if isinstance(container, PositionedMap) and isinstance(key, str):
        return container.positions.get(key)
    if (
        isinstance(container, PositionedList)
        and isinstance(key, int)
        and 0 <= key < len(container.positions)
    ):
        return container.positions[key]
    return None


def _mark(mark: Any) -> Position:
    return (mark.line + 1, mark.column + 1)


@dataclass
class _Frame:
    container: PositionedMap | PositionedList
    anchor: str | None
    nodes_at_start: int
    key: str | None = None  # pending map key
    key_position: Position | None = None
    expect_key: bool = True
    merges: list[PositionedMap] | None = None
    merge_pending: bool = False


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.nodes = 0
        self.stack: list[_Frame] = []
        self.root: Any = None
        self.done = False

    def fail(self, position: Position | None, message: str) -> YamlLoadError:
        line, column = position if position else (None, None)
        return YamlLoadError(ConfigError(Location(self.file, line, column), "", message))

    def count(self, amount: int, position: Position) -> None:
        self.nodes += amount
        if self.nodes > MAX_NODES:
            raise self.fail(
                position,
                f"YAML document too large: more than {MAX_NODES} values after expanding "
                "aliases (alias bomb?)",
            )

    def add(self, value: Any, position: Position) -> None:
        """Put a finished value (scalar, alias target or closed container) into its parent."""
        if not self.stack:
            self.root = value
            self.done = True
            return
        frame = self.stack[-1]
        container = frame.container
        if isinstance(container, PositionedList):
            container.append(value)
            container.positions.append(position)
            return
        if frame.expect_key:
            if isinstance(value, str) and value == "<<" and not frame.merge_pending:
                frame.merge_pending = True
                frame.expect_key = False
                return
            if value is not None and not isinstance(value, str):
                raise self.fail(position, "a mapping key must be a plain scalar")
            key = "" if value is None else value
            if key in container:
                raise self.fail(position, f"Duplicate key found '{key}'")
            frame.key = key
            frame.key_position = position
            frame.expect_key = False
            return
        frame.expect_key = True
        if frame.merge_pending:
            frame.merge_pending = False
            self.merge(frame, value, position)
            return
        assert frame.key is not None
        assert frame.key_position is not None
        container[frame.key] = value
        container.positions[frame.key] = frame.key_position

    def merge(self, frame: _Frame, value: Any, position: Position) -> None:
        sources = value if isinstance(value, list) else [value]
        if not all(isinstance(source, PositionedMap) for source in sources):
            raise self.fail(position, "a '<<' merge key needs a mapping or a list of mappings")
        if frame.merges is None:
            frame.merges = []
        frame.merges.extend(sources)

    def close_map(self, frame: _Frame) -> PositionedMap:
        explicit = frame.container
        assert isinstance(explicit, PositionedMap)
        if not frame.merges:
            return explicit
        merged = PositionedMap(explicit.position)
        for source in frame.merges:
            for key, item in source.items():
                if key not in merged and key not in explicit:
                    merged[key] = item
                    merged.positions[key] = source.positions.get(key, source.position)
        for key, item in explicit.items():
            merged[key] = item
            merged.positions[key] = explicit.positions[key]
        return merged

    def event(self, event: Any) -> None:
        position = _mark(event.start_mark)
        if isinstance(event, yaml.ScalarEvent):
            self.count(1, position)
            plain = event.style is None or event.style == ""
            text: str | None = None if (plain and event.value == "") else event.value
            if event.anchor:
                self.anchors[event.anchor] = (text, 1)
            self.add(text, position)
        elif isinstance(event, yaml.AliasEvent):
            found = self.anchors.get(str(event.anchor))
            if found is None:
                raise self.fail(position, f"Unknown anchor: {event.anchor}")
            target, size = found
            self.count(size, position)
            self.add(target, position)
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            self.count(1, position)
            if len(self.stack) >= MAX_DEPTH:
                raise self.fail(position, f"YAML nested deeper than {MAX_DEPTH} levels")
            container: PositionedMap | PositionedList = (
                PositionedMap(position)
                if isinstance(event, yaml.MappingStartEvent)
                else PositionedList(position)
            )
            self.stack.append(_Frame(container, event.anchor, self.nodes - 1))
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            frame = self.stack.pop()
            closed = (
                self.close_map(frame)
                if isinstance(frame.container, PositionedMap)
                else frame.container
            )
            size = self.nodes - frame.nodes_at_start
            if frame.anchor:
                self.anchors[frame.anchor] = (closed, size)
            self.add(closed, closed.position)


def load_yaml(text: str, file: str) -> Any:
    """The first YAML document of `text`, built as GoCD's plugin reads it.

    Raises `YamlLoadError` (a file-level ConfigError with line and column) for anything that
    is not a readable YAML document; never lets a parser exception through.
    """
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise YamlLoadError(
            ConfigError(
                Location(file),
                "",
                f"File is too large: more than {MAX_FILE_BYTES // (1024 * 1024)} MB",
            )
        )
    if text == "":
        raise YamlLoadError(ConfigError(Location(file), "", "File is empty"))
    builder = _Builder(file)
    try:
        for event in yaml.parse(text, Loader=_Parser):
            if isinstance(event, yaml.DocumentEndEvent) or builder.done:
                break
            builder.event(event)
    except YamlLoadError:
        raise
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = " ".join(part for part in (error.context, error.problem) if part)
        raise builder.fail(
            _mark(mark) if mark else None, f"Error parsing YAML: {problem or error}"
        ) from None
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        position = None
        if isinstance(error, yaml.reader.ReaderError):
            line = text.count("\n", 0, error.position) + 1
            column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
            position = (line, column)
        raise builder.fail(position, f"Error parsing YAML: {error}") from None
    if not builder.done:
        raise YamlLoadError(
            ConfigError(Location(file), "", "File has no YAML document (only comments?)")
        )
    return builder.root
