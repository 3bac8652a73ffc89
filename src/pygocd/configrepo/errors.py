"""Config errors with where they are: file, line, column and the key path inside the file.

Shared contract between the readers (which know positions) and validation (which knows rules):
a reader records a `Location` for every key path it reads into a `SourceMap`; validation builds
key paths the same way and asks the map where to point. Key paths look like
`pipelines.build.stages[1].jobs.test.tasks[0]` (names for map entries, `[i]` for list items),
`pipelines.build.materials.repo`, `environments.prod`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, order=True)
class Location:
    file: str
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class ConfigError:
    """One problem: `ci.gocd.yaml:14:9 pipelines.build.stages[1]: exec needs a command`."""

    location: Location
    key_path: str
    message: str

    def __str__(self) -> str:
        where = str(self.location)
        return (
            f"{where} {self.key_path}: {self.message}"
            if self.key_path
            else f"{where}: {self.message}"
        )


@dataclass
class SourceMap:
    """Key path → where it was written. Unknown paths fall back to their nearest known parent."""

    locations: dict[str, Location] = field(default_factory=dict)

    def record(self, key_path: str, location: Location) -> None:
        self.locations.setdefault(key_path, location)

    def locate(self, key_path: str, default_file: str = "<config>") -> Location:
        path = key_path
        while path:
            found = self.locations.get(path)
            if found is not None:
                return found
            path = _parent(path)
        return Location(default_file)

    def merge(self, other: SourceMap) -> None:
        for key, location in other.locations.items():
            self.record(key, location)


def _parent(key_path: str) -> str:
    if key_path.endswith("]"):
        return key_path[: key_path.rindex("[")]
    return key_path.rpartition(".")[0]


class ConfigErrors(Exception):
    """Raised with every error found, never just the first one."""

    def __init__(self, errors: list[ConfigError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors
