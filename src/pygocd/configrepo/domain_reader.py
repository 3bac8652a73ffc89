"""Typed reads from the contract JSON, collecting every problem as a located ConfigError.

The server binds the (migrated) plugin JSON to typed contract objects; a missing required
field reads "missing field '<field>'." Text fields accept JSON numbers and booleans as text,
as Gson does. Nothing here raises: a bad value is reported and replaced by the default, so
conversion goes on and finds every error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pygocd.configrepo.errors import ConfigError, SourceMap
from pygocd.domain.materials import ConfigurationProperty
from pygocd.domain.variables import EnvironmentVariable

Json = dict[str, Any]


def child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def item_path(path: str, section: str, item: Any, index: int) -> str:
    """`section.name` for a named item, else `section[index]` (the reader records both)."""
    name = item.get("name") if isinstance(item, dict) else None
    if isinstance(name, str) and name:
        return f"{child(path, section)}.{name}"
    return f"{child(path, section)}[{index}]"


@dataclass
class DomainReader:
    file: str
    source_map: SourceMap
    errors: list[ConfigError] = field(default_factory=list)

    def error(self, path: str, message: str) -> None:
        self.errors.append(ConfigError(self.source_map.locate(path, self.file), path, message))

    def missing(self, path: str, key: str) -> None:
        self.error(child(path, key), f"missing field '{key}'.")

    def text(self, obj: Json, key: str, path: str, *, required: bool = False) -> str | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.missing(path, key)
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        self.error(child(path, key), f"field '{key}' should be text, got {_kind(value)}")
        return None

    def required(self, obj: Json, key: str, path: str) -> str:
        return self.text(obj, key, path, required=True) or ""

    def flag(self, obj: Json, key: str, path: str, default: bool) -> bool:
        value = obj.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        self.error(child(path, key), f"field '{key}' should be true or false, got {value!r}")
        return default

    def number(self, obj: Json, key: str, path: str) -> int | None:
        value = obj.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isascii() and value.strip().lstrip("+-").isdigit():
            return int(value.strip())
        if isinstance(value, float) and value.is_integer():
            return int(value)
        self.error(child(path, key), f"field '{key}' should be a whole number, got {value!r}")
        return None

    def objects(self, obj: Json, key: str, path: str) -> list[Json]:
        value = obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(child(path, key), f"field '{key}' should be a list, got {_kind(value)}")
            return []
        result: list[Json] = []
        for index, item in enumerate(value):
            if isinstance(item, dict):
                result.append(item)
            else:
                self.error(
                    f"{child(path, key)}[{index}]",
                    f"items of '{key}' should be objects, got {_kind(item)}",
                )
        return result

    def mapping(self, obj: Json, key: str, path: str) -> Json | None:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.error(child(path, key), f"field '{key}' should be an object, got {_kind(value)}")
            return None
        return value

    def strings(self, obj: Json, key: str, path: str) -> tuple[str, ...]:
        value = obj.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            self.error(child(path, key), f"field '{key}' should be a list, got {_kind(value)}")
            return ()
        result: list[str] = []
        for index, item in enumerate(value):
            if isinstance(item, str | int | float) and not isinstance(item, bool):
                result.append(str(item))
            else:
                self.error(f"{child(path, key)}[{index}]", f"'{key}' may only hold text")
        return tuple(result)

    def variables(self, obj: Json, path: str) -> tuple[EnvironmentVariable, ...]:
        result: list[EnvironmentVariable] = []
        for index, entry in enumerate(self.objects(obj, "environment_variables", path)):
            entry_path = item_path(path, "environment_variables", entry, index)
            name = self.required(entry, "name", entry_path)
            encrypted = self.text(entry, "encrypted_value", entry_path)
            if encrypted is not None:
                result.append(EnvironmentVariable(name, secure=True, encrypted_value=encrypted))
            else:
                value = self.text(entry, "value", entry_path)
                secure = self.flag(entry, "secure", entry_path, default=False)
                result.append(EnvironmentVariable(name, value=value, secure=secure))
        return tuple(result)

    def properties(self, obj: Json, key: str, path: str) -> tuple[ConfigurationProperty, ...]:
        result: list[ConfigurationProperty] = []
        for index, entry in enumerate(self.objects(obj, key, path)):
            entry_path = f"{child(path, key)}[{index}]"
            result.append(
                ConfigurationProperty(
                    key=self.required(entry, "key", entry_path),
                    value=self.text(entry, "value", entry_path),
                    encrypted_value=self.text(entry, "encrypted_value", entry_path),
                )
            )
        return tuple(result)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return repr(value)
