"""Pipelines as code: GoCD YAML and JSON config files → domain config, with every error located.

The public API for the server and for validation:

- `parse_files([(relative path, text), ...], repo_id=...)` → `ParseResult`;
- `parse_directory(root, pattern)` reads the files matching GoCD's file pattern first;
- `to_contract(files)` is what GoCD's YAML (or JSON) plugin would answer, for conformance.

The steps are GoCD's: each plugin turns its files into contract JSON (`contract.py`,
`json_reader.py`), the server migrates it to contract version 11 (`migrate.py`) and binds
it to config objects (`to_domain.py`). YAML and JSON files are two plugins, so each kind
has its own `target_version`. Environments of the same name merge (reference §15).

Key paths in `source_map` (and in errors) are `pipelines.<name>`, `….materials.<name>`,
`….stages[i]` (after flattening), `….jobs.<name>`, `….tasks[i]`, `….on_cancel`,
`….environment_variables.<name>`, `environments.<name>`; entries of maps that become lists
(materials, jobs, variables, parameters, tabs) are also recorded by index (`jobs[0]`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pygocd.configrepo.contract import ContractResult, yaml_contract
from pygocd.configrepo.domain_reader import DomainReader
from pygocd.configrepo.errors import ConfigError, Location, SourceMap
from pygocd.configrepo.file_pattern import find_files
from pygocd.configrepo.json_reader import json_contract
from pygocd.configrepo.migrate import migrate
from pygocd.configrepo.to_domain import environment_config, pipeline_config
from pygocd.configrepo.yaml_reader import MAX_FILE_BYTES
from pygocd.domain.config_repos import DEFAULT_FILE_PATTERN
from pygocd.domain.environments import EnvironmentConfig
from pygocd.domain.pipelines import PipelineConfig


@dataclass(frozen=True)
class ParseResult:
    """Everything parsed from one set of files. Use it only when `errors` is empty: GoCD
    applies a config-repo revision all or nothing. Objects with errors are still built as
    far as possible, so validation can report more."""

    pipelines: tuple[PipelineConfig, ...]
    environments: tuple[EnvironmentConfig, ...]
    errors: tuple[ConfigError, ...]
    source_map: SourceMap

    @property
    def ok(self) -> bool:
        return not self.errors


def is_json_file(path: str) -> bool:
    return path.lower().endswith(".json")


def _split(files: Sequence[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    yaml_files = [f for f in files if not is_json_file(f[0])]
    json_files = [f for f in files if is_json_file(f[0])]
    return yaml_files, json_files


def to_contract(files: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The plugin's JSON answer for these files (the JSON plugin's when all are `.json`)."""
    yaml_files, json_files = _split(files)
    if json_files and not yaml_files:
        return json_contract(json_files).contract
    return yaml_contract(yaml_files).contract


def parse_files(
    files: Sequence[tuple[str, str] | Path], *, repo_id: str | None = None
) -> ParseResult:
    """Parse config files given as (path relative to the repository root, text).

    A `Path` item is read from disk and named as given (for `pygocd config check FILE...`).
    """
    source_map = SourceMap()
    texts, read_errors = _read(files)
    yaml_files, json_files = _split(texts)
    results = [
        result
        for result in (
            yaml_contract(yaml_files, source_map=source_map) if yaml_files else None,
            json_contract(json_files, source_map=source_map) if json_files else None,
        )
        if result is not None
    ]
    errors: list[ConfigError] = list(read_errors)
    pipelines: list[PipelineConfig] = []
    environments: list[EnvironmentConfig] = []
    for result in results:
        errors.extend(result.errors)
        built = _to_domain(result, source_map, repo_id)
        pipelines.extend(built.pipelines)
        environments.extend(built.environments)
        errors.extend(built.errors)
    merged = _merge_environments(environments, errors)
    return ParseResult(tuple(pipelines), tuple(merged), tuple(errors), source_map)


def _read(
    files: Sequence[tuple[str, str] | Path],
) -> tuple[list[tuple[str, str]], list[ConfigError]]:
    texts: list[tuple[str, str]] = []
    errors: list[ConfigError] = []
    for item in files:
        if not isinstance(item, Path):
            texts.append(item)
            continue
        name = item.as_posix()
        try:
            if item.stat().st_size > MAX_FILE_BYTES:
                message = f"File is too large: more than {MAX_FILE_BYTES // 2**20} MB"
                errors.append(ConfigError(Location(name), "", message))
                continue
            texts.append((name, item.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as problem:
            errors.append(ConfigError(Location(name), "", f"cannot read file: {problem}"))
    return texts, errors


def _to_domain(result: ContractResult, source_map: SourceMap, repo_id: str | None) -> ParseResult:
    """Migrate one plugin's answer and bind it to domain objects (errors not repeated)."""
    pipelines: list[PipelineConfig] = []
    environments: list[EnvironmentConfig] = []
    errors: list[ConfigError] = []
    if not result.fatal:
        try:
            contract = migrate(result.contract)
        except ValueError as problem:
            errors.append(ConfigError(Location("<config repo>"), "target_version", str(problem)))
            contract = {"pipelines": [], "environments": []}
        for data in contract["pipelines"]:
            reader = DomainReader(str(data.get("location", "")), source_map)
            pipelines.append(pipeline_config(data, reader, repo_id))
            errors.extend(reader.errors)
        for data in contract["environments"]:
            reader = DomainReader(str(data.get("location", "")), source_map)
            environments.append(environment_config(data, reader, repo_id))
            errors.extend(reader.errors)
    return ParseResult(tuple(pipelines), tuple(environments), tuple(errors), source_map)


def _merge_environments(
    environments: list[EnvironmentConfig], errors: list[ConfigError]
) -> list[EnvironmentConfig]:
    """Same-named environments (case-insensitive) become one; a pipeline, agent or variable
    named in two parts is an error, as when GoCD merges environments."""
    merged: dict[str, EnvironmentConfig] = {}
    for environment in environments:
        key = environment.name.lower()
        first = merged.get(key)
        if first is None:
            merged[key] = environment
            continue
        path = f"environments.{environment.name}"
        where = Location(environment.origin.file or "<config>")
        for kind, old, new in (
            ("pipeline", first.pipelines, environment.pipelines),
            ("agent", first.agents, environment.agents),
            (
                "environment variable",
                tuple(v.name for v in first.environment_variables),
                tuple(v.name for v in environment.environment_variables),
            ),
        ):
            known = {name.lower() for name in old}
            for name in new:
                if name.lower() in known:
                    errors.append(
                        ConfigError(
                            where,
                            path,
                            f"Environment '{environment.name}' has {kind} '{name}' "
                            "defined in more than one file",
                        )
                    )
        merged[key] = EnvironmentConfig(
            name=first.name,
            pipelines=first.pipelines + environment.pipelines,
            agents=first.agents + environment.agents,
            environment_variables=first.environment_variables + environment.environment_variables,
            origin=first.origin,
        )
    return list(merged.values())


def parse_directory(
    root: Path, pattern: str = DEFAULT_FILE_PATTERN, *, repo_id: str | None = None
) -> ParseResult:
    """Parse the files under `root` matching the comma-separated Ant-style `pattern`."""
    relative = find_files(root, pattern)
    texts, errors = _read([root / name for name in relative])
    prefix = len(root.as_posix().rstrip("/")) + 1
    named = [(name[prefix:], text) for name, text in texts]
    errors = [
        ConfigError(Location(e.location.file[prefix:]), e.key_path, e.message) for e in errors
    ]
    result = parse_files(named, repo_id=repo_id)
    return ParseResult(
        result.pipelines, result.environments, (*errors, *result.errors), result.source_map
    )
