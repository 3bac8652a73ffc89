"""One YAML material → the plugin's JSON material (reference §8).

The map key is the name; shorthand keys (`git:`, `pipeline:`, `scm:`, ...) set the type and
override `type:`; every other key with a text value passes through under its own name, which
is how `url`, `branch`, `destination`, credentials and `view` reach the server (and why a
misspelled key silently vanishes, as upstream).
"""

from __future__ import annotations

from typing import Any

from pygocd.configrepo.contract_values import (
    Context,
    Json,
    Paths,
    as_map,
    get_bool,
    get_string,
    key_value_list,
    type_name,
)

# (shorthand key, resulting type, JSON field its value goes to), in the plugin's order.
_SHORTHANDS: tuple[tuple[str, str, str], ...] = (
    ("git", "git", "url"),
    ("svn", "svn", "url"),
    ("hg", "hg", "url"),
    ("pipeline", "dependency", "pipeline"),
    ("scm", "plugin", "scm_id"),
    ("package", "package", "package_id"),
    ("p4", "p4", "port"),
)
_BOOLEANS = ("auto_update", "shallow_clone", "check_externals", "use_tickets")
_CONSUMED = frozenset(
    [
        "git",
        "svn",
        "hg",
        "p4",
        "scm",
        "package",
        "name",
        "type",
        "auto_update",
        "shallow_clone",
        "check_externals",
        "use_tickets",
        "ignore_for_scheduling",
        "blacklist",
        "whitelist",
        "includes",
        "excludes",
        "scm_id",
        "package_id",
    ]
)


def transform_material(name: str, value: Any, ctx: Context, paths: Paths) -> Json | None:
    if "materials" in ctx.mocked:
        return None
    body = as_map(value, ctx, paths, f"material {name} should be a hash, got {type_name(value)}")
    ctx.record_map(paths, body)
    material: Json = {"name": name}
    material_type = get_string(body, "type", ctx, paths)
    if material_type is not None:
        material["type"] = material_type
    for shorthand, kind, target in _SHORTHANDS:
        text = body.get(shorthand)
        if text is None:
            continue
        if not isinstance(text, str):
            raise ctx.fail(
                f"expected text in field {shorthand}, got {type_name(text)}",
                paths.key(shorthand),
            )
        material["type"] = kind
        material[target] = text
    if "plugin_configuration" in body:
        material["type"] = "plugin"
        config = body["plugin_configuration"]
        if config is not None:
            material["plugin_configuration"] = dict(
                as_map(
                    config,
                    ctx,
                    paths.key("plugin_configuration"),
                    "plugin_configuration should be a hash",
                )
            )
    options = key_value_list(body, "options", "secure_options", ctx, paths)
    if options:
        material["configuration"] = options
    for flag in _BOOLEANS:
        parsed = get_bool(body, flag, ctx, paths)
        if parsed is not None:
            material[flag] = parsed
    ignore_for_scheduling = get_bool(body, "ignore_for_scheduling", ctx, paths)
    if ignore_for_scheduling is not None:
        material["ignore_for_scheduling"] = ignore_for_scheduling
    material_filter = _filter(body, ctx, paths)
    if material_filter:
        material["filter"] = material_filter
    for key, text in body.items():
        if key in _CONSUMED or key in material or not isinstance(text, str):
            continue
        material[key] = text
    return material


def _filter(body: dict[str, Any], ctx: Context, paths: Paths) -> Json:
    """`ignore`/`blacklist` → `ignore`; `includes`/`whitelist` → `whitelist` (< 10) or `includes`.

    When both spellings of one kind are given, the later-processed wins: `ignore` over
    `blacklist`, `whitelist` over `includes` (upstream's order).
    """
    include_key = "includes" if ctx.format_version >= 10 else "whitelist"
    result: Json = {}
    for yaml_key, json_key in (
        ("blacklist", "ignore"),
        ("ignore", "ignore"),
        ("includes", include_key),
        ("whitelist", include_key),
    ):
        if yaml_key not in body:
            continue
        patterns = body[yaml_key]
        if not isinstance(patterns, list):
            raise ctx.fail(
                f"filter {yaml_key} should be a list of paths, got {type_name(patterns)}",
                paths.key(yaml_key),
            )
        for index, pattern in enumerate(patterns):
            if not isinstance(pattern, str):
                raise ctx.fail(
                    f"filter {yaml_key} may only hold text, item {index} is {type_name(pattern)}",
                    paths.key(yaml_key).item(index),
                )
            ctx.record(paths.key(yaml_key).item(index), patterns, index)
        result[json_key] = list(patterns)
    return result
