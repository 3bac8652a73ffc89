"""GoCD's material filter rule: when a set of changed files is ignored (does not trigger).

A pattern is `/`-separated: `**` stands for any number of whole folders, `*` for any characters
but `/`; a leading `/` means nothing (`cfg/config/materials/IgnoredFiles.java`). Patterns match
the whole path. `ignore` patterns are a blacklist: the changes are ignored when *every* file
matches some pattern. `includes` (GoCD's `invertFilter`) is a whitelist: the changes are ignored
when *no* file matches any pattern (`Modifications.shouldBeIgnoredByFilterIn`). An empty filter
never ignores; with a filter, a change touching no files at all is ignored, as in GoCD.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from pygocd.domain.materials import MaterialFilter

_ANY_FOLDERS = "([^/]*/)*"
_ANY_NAME = "[^/]*"


@functools.lru_cache(maxsize=1024)
def pattern_regex(pattern: str) -> re.Pattern[str]:
    """The regular expression GoCD builds from one filter pattern (whole-path match)."""
    parts = pattern.replace("\\", "/").split("/")
    while len(parts) > 1 and parts[-1] == "":  # Java's split drops trailing empty strings
        parts.pop()
    regex = ""
    for part in parts:
        if part == "**":
            regex += _ANY_FOLDERS
        elif "*" in part:
            regex += _ANY_NAME.join(re.escape(piece) for piece in part.split("*")) + "/"
        else:
            regex += re.escape(part) + "/"
    regex = regex.removesuffix("/").removeprefix("/")
    return re.compile(regex, re.DOTALL)


def matches(pattern: str, file_name: str) -> bool:
    """Whether `file_name` (a path in the repository) matches one filter pattern."""
    return pattern_regex(pattern).fullmatch(file_name.replace("\\", "/")) is not None


def is_ignored(files: Iterable[str], material_filter: MaterialFilter) -> bool:
    """Whether changes touching `files` are filtered out (so they don't trigger a pipeline)."""
    patterns = material_filter.patterns
    if not patterns:
        return False
    hits = [any(matches(pattern, name) for pattern in patterns) for name in set(files)]
    if material_filter.invert:
        return not any(hits)
    return all(hits)
