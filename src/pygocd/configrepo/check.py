"""`pygocd config check PATH...`: parse GoCD YAML/JSON config files and validate them together.

Files are taken as given; directories are searched with the config-repo default pattern
(comma-separated globs, `**` = any depth). Everything is parsed as one repository, pipelines
are grouped by their `group`, and the whole is validated. The result is an exit code and the
lines to print: `OK: N pipelines, M environments`, or every error sorted by file and line.
Nothing raises: an unreadable path or an unexpected failure is an error line too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from pygocd.configrepo.errors import ConfigError, Location, SourceMap
from pygocd.configrepo.file_pattern import find_files
from pygocd.configrepo.parse import parse_files
from pygocd.configrepo.validate import validate_config
from pygocd.configrepo.yaml_reader import MAX_FILE_BYTES
from pygocd.domain.config import CruiseConfig
from pygocd.domain.config_repos import DEFAULT_FILE_PATTERN
from pygocd.domain.environments import EnvironmentConfig
from pygocd.domain.pipelines import PipelineConfig, PipelineGroup

EXIT_OK = 0
EXIT_INVALID = 1


def run_check(paths: Sequence[Path]) -> tuple[int, list[str]]:
    """Exit code and lines to print for `pygocd config check PATH...`."""
    try:
        return _run_check(paths)
    except Exception as exc:  # the command must never end in a traceback
        return EXIT_INVALID, [f"<check>: unexpected error: {type(exc).__name__}: {exc}"]


def _run_check(paths: Sequence[Path]) -> tuple[int, list[str]]:
    errors: list[ConfigError] = []
    files: dict[str, str] = {}  # shown path → text
    if not paths:
        errors.append(ConfigError(Location("<check>"), "", "no files or directories given"))
    for path in paths:
        for shown, problem in _read_files_at(path, files):
            errors.append(ConfigError(Location(shown), "", problem))
    if not files:
        return EXIT_INVALID, [str(e) for e in sorted(errors, key=_sort_key)]

    items = list(files.items())
    result = parse_files(items)
    pipelines = list(result.pipelines)
    environments = list(result.environments)
    parse_errors = list(result.errors)
    file_maps: dict[str, SourceMap] = {}
    if environments or _has_duplicates(pipelines):
        # Each file on its own: its own source map (two files may define the same name) and
        # its own environment parts, which the validator merges and checks itself.
        parts = [parse_files([item]) for item in items]
        file_maps = {name: part.source_map for (name, _), part in zip(items, parts, strict=True)}
        environments = [env for part in parts for env in part.environments]
        parse_errors = [e for e in parse_errors if not _is_merge_error(e)]
    errors.extend(parse_errors)
    config = build_config(pipelines, environments)
    errors.extend(validate_config(config, result.source_map, file_source_maps=file_maps))

    if errors:
        return EXIT_INVALID, [str(e) for e in sorted(errors, key=_sort_key)]
    count = len({e.name.lower() for e in environments})
    return EXIT_OK, [f"OK: {len(pipelines)} pipelines, {count} environments"]


def build_config(
    pipelines: Iterable[PipelineConfig], environments: Iterable[EnvironmentConfig]
) -> CruiseConfig:
    """One configuration from parsed files: pipelines grouped by `group` (case-insensitive)."""
    groups: dict[str, list[PipelineConfig]] = defaultdict(list)
    names: dict[str, str] = {}
    for pipeline in pipelines:
        key = pipeline.group.lower()
        names.setdefault(key, pipeline.group)
        groups[key].append(pipeline)
    return CruiseConfig(
        groups=tuple(PipelineGroup(names[key], tuple(ps)) for key, ps in groups.items()),
        environments=tuple(environments),
    )


def _read_files_at(path: Path, files: dict[str, str]) -> list[tuple[str, str]]:
    """Read the config files at `path` into `files`; the problems found, as (path, message)."""
    try:
        if path.is_dir():
            relatives = find_files(path, DEFAULT_FILE_PATTERN)
            if not relatives:
                return [(str(path), f"no config files matching {DEFAULT_FILE_PATTERN}")]
            problems: list[tuple[str, str]] = []
            for relative in relatives:
                problems.extend(_read_file(path / relative, files))
            return problems
        if path.is_file():
            return _read_file(path, files)
        if path.exists():
            return [(str(path), "not a regular file or directory")]
        return [(str(path), "no such file or directory")]
    except OSError as exc:
        return [(str(path), f"cannot read: {exc.strerror or exc}")]


def _read_file(path: Path, files: dict[str, str]) -> list[tuple[str, str]]:
    shown = str(path)
    if shown in files:
        return []
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return [(shown, f"File is too large: more than {MAX_FILE_BYTES // 2**20} MB")]
        files[shown] = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [(shown, "cannot read file: not UTF-8 text")]
    except OSError as exc:
        return [(shown, f"cannot read file: {exc.strerror or exc}")]
    return []


def _has_duplicates(pipelines: Sequence[PipelineConfig]) -> bool:
    names = [p.name.lower() for p in pipelines]
    return len(set(names)) != len(names)


def _is_merge_error(error: ConfigError) -> bool:
    """The parser's report of an environment part repeating another part's entry; the
    validator reports the same from the unmerged parts, each at its own line."""
    return error.key_path.startswith("environments.") and error.message.endswith(
        "defined in more than one file"
    )


def _sort_key(error: ConfigError) -> tuple[str, int, int]:
    location = error.location
    return (location.file, location.line or 0, location.column or 0)
