"""Field coercions of GoCD's YAML plugin and the bookkeeping every transform shares.

The plugin reads every scalar as text and converts per field (reference §3.1): booleans
accept exactly 22 spellings, integers follow Java's `parseInt`, string lists drop when empty.
A structural problem fails the enclosing pipeline or environment (`TransformFailure`), which
the root transform reports as "Failed to parse pipeline <name>; <reason>".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pygocd.configrepo.errors import Location, SourceMap
from pygocd.configrepo.yaml_reader import PositionedMap, position_of

TRUE_SPELLINGS = frozenset(
    ["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"]
)
FALSE_SPELLINGS = frozenset(
    ["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"]
)
_JAVA_INT = re.compile(r"[+-]?[0-9]+")
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1

Json = dict[str, Any]


class Paths(tuple[str, ...]):
    """The key paths one value is known by: its canonical path plus index-based aliases.

    Map entries that become list items in the domain (materials, jobs, variables, ...) are
    reachable both by name (`materials.repo`) and by position (`materials[0]`), so validation
    can locate them either way. The first path is the canonical one.
    """

    __slots__ = ()

    @classmethod
    def root(cls, path: str) -> Paths:
        return cls((path,))

    @property
    def canonical(self) -> str:
        return self[0]

    def key(self, name: str) -> Paths:
        return Paths(f"{p}.{name}" if p else name for p in self)

    def item(self, index: int) -> Paths:
        return Paths(f"{p}[{index}]" for p in self)

    def entry(self, section: str, name: str, index: int) -> Paths:
        """A map entry read into a list: `section.name` first, then `section[index]`."""
        named = self.key(section).key(name)
        indexed = self.key(section).item(index)
        return Paths((*named, *indexed))


class TransformFailure(Exception):
    """A structural problem that fails the enclosing pipeline or environment."""

    def __init__(self, reason: str, paths: Paths) -> None:
        super().__init__(reason)
        self.reason = reason
        self.paths = paths


@dataclass
class Context:
    """What every transform needs: the file, where to record positions, the file's version."""

    file: str
    source_map: SourceMap = field(default_factory=SourceMap)
    format_version: int = 1
    mocked: frozenset[str] = frozenset()

    def record(self, paths: Paths, container: Any, key: str | int) -> None:
        position = position_of(container, key)
        if position is None:
            position = getattr(container, "position", None)
        location = Location(self.file, *position) if position else Location(self.file)
        for path in paths:
            self.source_map.record(path, location)

    def record_map(self, paths: Paths, body: Any) -> None:
        """Record every key of a map (the fields of an object) under `paths`."""
        if isinstance(body, PositionedMap):
            for key in body:
                self.record(paths.key(key), body, key)

    def fail(self, reason: str, paths: Paths) -> TransformFailure:
        return TransformFailure(reason, paths)


def type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "a hash"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return f"the text '{value}'"


def as_map(value: Any, ctx: Context, paths: Paths, reason: str) -> PositionedMap:
    if not isinstance(value, dict):
        raise ctx.fail(reason, paths)
    if isinstance(value, PositionedMap):
        return value
    wrapped = PositionedMap((0, 0))
    wrapped.update(value)
    return wrapped


def get_string(body: dict[str, Any], key: str, ctx: Context, paths: Paths) -> str | None:
    value = body.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ctx.fail(f"expected text in field {key}, got {type_name(value)}", paths.key(key))


def required_string(body: dict[str, Any], key: str, ctx: Context, paths: Paths) -> str:
    value = get_string(body, key, ctx, paths)
    if value is None:
        raise ctx.fail(f"string field {key} is required", paths.key(key))
    return value


def parse_bool(value: Any, key: str, ctx: Context, paths: Paths) -> bool:
    if isinstance(value, str):
        if value in TRUE_SPELLINGS:
            return True
        if value in FALSE_SPELLINGS:
            return False
    shown = value if isinstance(value, str) else type_name(value)
    raise ctx.fail(f"expected boolean value in field {key}, got {shown}", paths)


def get_bool(body: dict[str, Any], key: str, ctx: Context, paths: Paths) -> bool | None:
    if key not in body or body[key] is None:
        return None
    return parse_bool(body[key], key, ctx, paths.key(key))


def parse_int(value: Any, key: str, ctx: Context, paths: Paths) -> int:
    if isinstance(value, str) and _JAVA_INT.fullmatch(value):
        number = int(value)
        if _INT_MIN <= number <= _INT_MAX:
            return number
    raise ctx.fail(
        f"expected an integer in field {key}, got "
        f"{value if isinstance(value, str) else type_name(value)}",
        paths,
    )


def get_int(body: dict[str, Any], key: str, ctx: Context, paths: Paths) -> int | None:
    if body.get(key) is None:
        return None
    return parse_int(body[key], key, ctx, paths.key(key))


def get_string_list(body: dict[str, Any], key: str, ctx: Context, paths: Paths) -> list[str]:
    """A YAML sequence of scalars; absent, null and empty all give [] (the key is dropped)."""
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ctx.fail(f"field {key} should be a list, got {type_name(value)}", paths.key(key))
    items: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ctx.fail(
                f"list {key} may only hold text, item {index} is {type_name(item)}",
                paths.key(key).item(index),
            )
        ctx.record(paths.key(key).item(index), value, index)
        items.append(item)
    return items


def key_value_list(
    body: dict[str, Any], plain_key: str, secure_key: str, ctx: Context, paths: Paths
) -> list[Json]:
    """`options`/`secure_options` maps → `[{key, value}, ..., {key, encrypted_value}, ...]`."""
    result: list[Json] = []
    for section, value_field in ((plain_key, "value"), (secure_key, "encrypted_value")):
        entries = body.get(section)
        if entries is None:
            continue
        mapping = as_map(entries, ctx, paths.key(section), f"{section} should be a hash")
        for name, value in mapping.items():
            if isinstance(value, dict | list):
                raise ctx.fail(
                    f"option {name} should be text, got {type_name(value)}",
                    paths.key(section).key(name),
                )
            ctx.record(paths.key(section).key(name), mapping, name)
            result.append({"key": name, value_field: value})
    return result


def variables(body: dict[str, Any], ctx: Context, paths: Paths) -> list[Json] | None:
    """`environment_variables` then `secure_variables` → `[{name, value|encrypted_value}]`."""
    if "environment_variables" in ctx.mocked:
        return None
    result: list[Json] = []
    for section, value_field in (
        ("environment_variables", "value"),
        ("secure_variables", "encrypted_value"),
    ):
        entries = body.get(section)
        if entries is None:
            continue
        mapping = as_map(entries, ctx, paths.key(section), f"{section} should be a hash")
        for name, value in mapping.items():
            if isinstance(value, dict | list):
                raise ctx.fail(
                    f"variable {name} should have a text value, got {type_name(value)}",
                    paths.key(section).key(name),
                )
            index = len(result)
            ctx.record(paths.key(section).key(name), mapping, name)
            ctx.record(paths.entry("environment_variables", name, index), mapping, name)
            result.append({"name": name, value_field: value})
    return result


def parameters(body: dict[str, Any], ctx: Context, paths: Paths) -> list[Json] | None:
    if "parameters" in ctx.mocked:
        return None
    entries = body.get("parameters")
    if entries is None:
        return []
    mapping = as_map(entries, ctx, paths.key("parameters"), "parameters should be a hash")
    result: list[Json] = []
    for index, (name, value) in enumerate(mapping.items()):
        if isinstance(value, dict | list):
            raise ctx.fail(
                f"parameter {name} should have a text value, got {type_name(value)}",
                paths.key("parameters").key(name),
            )
        ctx.record(paths.entry("parameters", name, index), mapping, name)
        result.append({"name": name, "value": value})
    return result


def flatten(items: Iterable[Any], depth: int | None) -> Iterable[tuple[Any, Any, int]]:
    """List items with nested lists spliced in (to any depth when `depth` is None).

    Yields (item, the list that holds it, its index there) so positions stay exact.
    """
    source = items if isinstance(items, list) else list(items)
    for index, item in enumerate(source):
        if isinstance(item, list) and (depth is None or depth > 0):
            yield from flatten(item, None if depth is None else depth - 1)
        else:
            yield item, source, index
