"""The stored config document: `CruiseConfig` ↔ JSON-ready dicts.

The document holds what is configured on the server itself (groups, pipelines, templates,
environments, config repos); config-repo pipelines are never stored here. The format follows
the domain's field names, omits fields at their defaults, and tags union members (materials,
tasks) with their `kind`, so a document stays small and readable in a config-revision diff.
"""

from __future__ import annotations

import dataclasses
import enum
import types
from functools import cache
from typing import Any, Union, get_args, get_origin, get_type_hints

from pygocd.domain.config import CruiseConfig

DOCUMENT_FORMAT = 1
KIND_KEY = "kind"

JsonDict = dict[str, Any]


class DocumentError(ValueError):
    """The stored document does not match the config model (a bug or a hand-edited row)."""


def encode_config(config: CruiseConfig) -> JsonDict:
    body = _encode(config, CruiseConfig)
    assert isinstance(body, dict)
    return {"format": DOCUMENT_FORMAT, **body}


def decode_config(document: JsonDict, md5: str = "") -> CruiseConfig:
    body = {k: v for k, v in document.items() if k != "format"}
    if document.get("format", DOCUMENT_FORMAT) != DOCUMENT_FORMAT:
        raise DocumentError(f"unsupported config document format {document.get('format')!r}")
    config = _decode(body, CruiseConfig, "config")
    assert isinstance(config, CruiseConfig)
    return dataclasses.replace(config, md5=md5)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _fields(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    # Fields left out of equality (a snapshot's md5, its derived runnable pipelines) are not
    # part of the stored document.
    return tuple(f for f in dataclasses.fields(cls) if f.compare)


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _default_of(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def _encode(value: Any, tp: Any) -> Any:
    if value is None:
        return None
    tp = _strip_optional(tp)
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        out: JsonDict = {}
        if _is_union(tp):
            out[KIND_KEY] = getattr(cls, KIND_KEY)
        hints = _hints(cls)
        for field in _fields(cls):
            field_value = getattr(value, field.name)
            if field_value == _default_of(field):
                continue
            out[field.name] = _encode(field_value, hints[field.name])
        return out
    if isinstance(value, tuple):
        (item_type, _ellipsis) = get_args(tp)
        return [_encode(item, item_type) for item in value]
    return value


def _strip_optional(tp: Any) -> Any:
    if _is_union(tp):
        members = [a for a in get_args(tp) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return tp


def _decode(raw: Any, tp: Any, where: str) -> Any:
    if raw is None:
        return None
    tp = _strip_optional(tp)
    if _is_union(tp):
        members = [a for a in get_args(tp) if a is not type(None)]
        if not isinstance(raw, dict):
            raise DocumentError(f"{where}: expected an object with '{KIND_KEY}'")
        kind = raw.get(KIND_KEY)
        for member in members:
            if getattr(member, KIND_KEY, None) == kind:
                return _decode({k: v for k, v in raw.items() if k != KIND_KEY}, member, where)
        raise DocumentError(f"{where}: unknown {KIND_KEY} {kind!r}")
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(raw, dict):
            raise DocumentError(f"{where}: expected an object")
        hints = _hints(tp)
        names = {f.name for f in _fields(tp)}
        unknown = set(raw) - names
        if unknown:
            raise DocumentError(f"{where}: unknown keys {sorted(unknown)}")
        kwargs = {
            name: _decode(value, hints[name], f"{where}.{name}") for name, value in raw.items()
        }
        try:
            return tp(**kwargs)
        except TypeError as error:
            raise DocumentError(f"{where}: {error}") from error
    if get_origin(tp) is tuple:
        (item_type, _ellipsis) = get_args(tp)
        if not isinstance(raw, list):
            raise DocumentError(f"{where}: expected a list")
        return tuple(_decode(item, item_type, f"{where}[{i}]") for i, item in enumerate(raw))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(raw)
        except ValueError as error:
            raise DocumentError(f"{where}: {error}") from error
    if tp in (str, int, float, bool):
        if type(raw) is not tp and not (tp is float and type(raw) is int):
            raise DocumentError(f"{where}: expected {tp.__name__}, got {type(raw).__name__}")
        return raw
    raise DocumentError(f"{where}: cannot decode type {tp!r}")  # pragma: no cover
