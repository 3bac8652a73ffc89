"""GoCD's config-repo file pattern: comma-separated Ant-style globs, relative to the root.

`*` matches within one path segment, `?` one character, `**` any number of directories
(so `**/*.gocd.yaml` matches at the root too), and a pattern ending in `/` means everything
below that directory. Ant's default excludes apply: VCS metadata and editor debris are never
matched. Results are sorted, so parsing is deterministic.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

# Ant's DirectoryScanner default excludes (directories and file names).
EXCLUDED_DIRECTORIES = frozenset(
    {".git", ".svn", ".hg", "CVS", ".bzr", "_darcs", "SCCS", "vssver.scc", ".arch-ids", "{arch}"}
)
_EXCLUDED_FILES = re.compile(
    r"(.*~|#.*#|\.#.*|%.*%|\._.*|\.cvsignore|\.gitignore|\.gitattributes|\.gitmodules|"
    r"\.hgignore|\.hgsub|\.hgsubstate|\.hgtags|\.bzrignore|\.DS_Store|vssver\.scc)"
)


def split_patterns(pattern: str) -> list[str]:
    return [part.strip() for part in pattern.split(",") if part.strip()]


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    pattern = pattern.replace("\\", "/").lstrip("/")
    if pattern.endswith("/"):
        pattern += "**"
    regex = ""
    segments = pattern.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            regex += ".*" if last else "(?:[^/]*/)*"
            continue
        for char in segment:
            if char == "*":
                regex += "[^/]*"
            elif char == "?":
                regex += "[^/]"
            else:
                regex += re.escape(char)
        if not last:
            regex += "/"
    return re.compile(regex)


def matches(pattern: str, path: str) -> bool:
    """Whether the relative `path` (with `/`) matches any of the comma-separated patterns."""
    return any(_compile(part).fullmatch(path) for part in split_patterns(pattern))


def is_excluded(path: str) -> bool:
    parts = path.split("/")
    return any(part in EXCLUDED_DIRECTORIES for part in parts[:-1]) or bool(
        _EXCLUDED_FILES.fullmatch(parts[-1])
    )


def find_files(root: Path, pattern: str) -> list[str]:
    """Relative paths (with `/`) of the files under `root` matching `pattern`, sorted."""
    found: list[str] = []
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if d not in EXCLUDED_DIRECTORIES)
        base = Path(directory).relative_to(root).as_posix()
        for name in names:
            relative = name if base == "." else f"{base}/{name}"
            if not is_excluded(relative) and matches(pattern, relative):
                found.append(relative)
    return sorted(found)
