"""GoCD JSON config files (`*.gopipeline.json`, `*.goenvironment.json`) → the contract JSON.

Each file of GoCD's JSON plugin holds one pipeline or one environment, already in the
contract's shape, plus `format_version` (absent counts as 1 here, unlike YAML). The standard
library checks the syntax (its messages carry line and column); a small second pass finds
where each key and item was written, for the SourceMap.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Sequence
from typing import Any

from pygocd.configrepo.contract import ContractResult, fatal_result
from pygocd.configrepo.contract_values import Paths
from pygocd.configrepo.errors import ConfigError, Location, SourceMap
from pygocd.configrepo.yaml_reader import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    PositionedList,
    PositionedMap,
)

JSON_PLUGIN_LOCATION = "JSON config plugin"
ENVIRONMENT_SUFFIX = ".goenvironment.json"
_NAMED_LISTS = frozenset({"materials", "jobs", "environment_variables", "parameters", "tabs"})
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")
_LITERALS = {"true": True, "false": False, "null": None}


def _scanstring(text: str, end: int) -> tuple[str, int]:
    """The JSON string starting after the quote at `end - 1`, and where it ends."""
    found: tuple[str, int] = json.decoder.scanstring(text, end)  # type: ignore[attr-defined]
    return found


class JsonLoadError(Exception):
    def __init__(self, error: ConfigError) -> None:
        super().__init__(str(error))
        self.error = error


class _Positions:
    """Builds the value tree of already-valid JSON with each key's and item's position."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def at(self, index: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, index)
        return (line, index - self.line_starts[line - 1] + 1)

    def skip(self, index: int) -> int:
        match = _WHITESPACE.match(self.text, index)
        return match.end() if match else index

    def value(self, index: int, depth: int) -> tuple[Any, int]:
        if depth > MAX_DEPTH:
            raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
        index = self.skip(index)
        char = self.text[index]
        if char == "{":
            return self.object(index, depth)
        if char == "[":
            return self.array(index, depth)
        if char == '"':
            return _scanstring(self.text, index + 1)
        for literal, literal_value in _LITERALS.items():
            if self.text.startswith(literal, index):
                return literal_value, index + len(literal)
        match = _NUMBER.match(self.text, index)
        if match is None:  # NaN, Infinity: accepted by the standard library
            word = re.match(r"-?[A-Za-z]+", self.text[index:])
            end = index + (word.end() if word else 1)
            return float(self.text[index:end]), end
        number: Any = (
            float(match.group()) if match.group(1) or match.group(2) else int(match.group())
        )
        return number, match.end()

    def object(self, index: int, depth: int) -> tuple[PositionedMap, int]:
        result = PositionedMap(self.at(index))
        index = self.skip(index + 1)
        if self.text[index] == "}":
            return result, index + 1
        while True:
            index = self.skip(index)
            key_position = self.at(index)
            key, index = _scanstring(self.text, index + 1)
            index = self.skip(index) + 1  # the colon
            value, index = self.value(index, depth + 1)
            result[key] = value
            result.positions[key] = key_position
            index = self.skip(index)
            if self.text[index] == "}":
                return result, index + 1
            index += 1  # the comma

    def array(self, index: int, depth: int) -> tuple[PositionedList, int]:
        result = PositionedList(self.at(index))
        index = self.skip(index + 1)
        if self.text[index] == "]":
            return result, index + 1
        while True:
            index = self.skip(index)
            result.positions.append(self.at(index))
            value, index = self.value(index, depth + 1)
            result.append(value)
            index = self.skip(index)
            if self.text[index] == "]":
                return result, index + 1
            index += 1


def load_json(text: str, file: str) -> Any:
    """The JSON value of `text` with positions; JsonLoadError (file:line:col) when unreadable."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise JsonLoadError(
            ConfigError(
                Location(file), "", f"File is too large: more than {MAX_FILE_BYTES // 2**20} MB"
            )
        )
    if not text.strip():
        raise JsonLoadError(ConfigError(Location(file), "", "File is empty"))
    try:
        json.loads(text)
        value, _ = _Positions(text).value(0, 0)
    except json.JSONDecodeError as error:
        raise JsonLoadError(
            ConfigError(
                Location(file, error.lineno, error.colno), "", f"Error parsing JSON: {error.msg}"
            )
        ) from None
    except (RecursionError, ValueError) as error:
        message = str(error) if isinstance(error, ValueError) else "JSON nested too deeply"
        raise JsonLoadError(ConfigError(Location(file), "", message)) from None
    return value


def _record(value: Any, paths: Paths, file: str, source_map: SourceMap) -> None:
    if isinstance(value, PositionedMap):
        for key, item in value.items():
            location = Location(file, *value.positions[key])
            child = paths.key(key)
            for path in child:
                source_map.record(path, location)
            if isinstance(item, PositionedList):
                _record_list(key, item, child, file, source_map)
            else:
                _record(item, child, file, source_map)


def _record_list(
    key: str, items: PositionedList, paths: Paths, file: str, source_map: SourceMap
) -> None:
    for index, item in enumerate(items):
        indexed = paths.item(index)
        name = item.get("name") if isinstance(item, dict) else None
        if key in _NAMED_LISTS and isinstance(name, str) and name:
            item_paths = Paths((*paths.key(name), *indexed))
        else:
            item_paths = indexed
        location = Location(file, *items.positions[index])
        for path in item_paths:
            source_map.record(path, location)
        _record(item, item_paths, file, source_map)


def json_contract(
    files: Sequence[tuple[str, str]], *, source_map: SourceMap | None = None
) -> ContractResult:
    """What GoCD's JSON plugin answers for these files: the same envelope as the YAML one."""
    result = ContractResult(
        {"target_version": 1, "pipelines": [], "environments": [], "errors": []},
        source_map=source_map if source_map is not None else SourceMap(),
    )
    versions: dict[int, str] = {}
    for file, text in files:
        try:
            document = load_json(text, file)
        except JsonLoadError as failure:
            _file_error(result, failure.error)
            continue
        if not isinstance(document, PositionedMap):
            _file_error(result, ConfigError(Location(file, 1, 1), "", "expected a JSON object"))
            continue
        version = document.get("format_version", 1)
        if not isinstance(version, int) or isinstance(version, bool):
            line, column = document.positions.get("format_version", (1, 1))
            error = ConfigError(
                Location(file, line, column),
                "format_version",
                f"format_version should be a whole number, got {version!r}",
            )
            return fatal_result(result, error, JSON_PLUGIN_LOCATION)
        versions.setdefault(version, file)
        kind = "environments" if file.endswith(ENVIRONMENT_SUFFIX) else "pipelines"
        name = document.get("name")
        paths = Paths.root(f"{kind}.{name}" if isinstance(name, str) and name else kind)
        for path in paths:
            result.source_map.record(path, Location(file, *document.position))
        _record(document, paths, file, result.source_map)
        element = {key: value for key, value in document.items() if key != "format_version"}
        element["location"] = file
        result.contract[kind].append(element)
    if len(versions) > 1:
        found = ", ".join(str(v) for v in sorted(versions))
        error = ConfigError(
            Location(", ".join(versions[v] for v in sorted(versions))),
            "format_version",
            f"Versions across files are not unique. Found versions: [{found}]. "
            "There can only be one version across the whole repository.",
        )
        return fatal_result(result, error, JSON_PLUGIN_LOCATION)
    if versions:
        result.contract["target_version"] = next(iter(versions))
    return result


def _file_error(result: ContractResult, error: ConfigError) -> None:
    result.errors.append(error)
    result.contract["errors"].append({"location": error.location.file, "message": error.message})
