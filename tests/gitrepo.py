"""Real git repositories in temporary folders (the machine has no git identity, so commits get
one through the environment), and GoCD YAML snippets to commit into them."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Ada Lovelace",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Lovelace",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


class GitRepo:
    def __init__(self, path: Path, branch: str = "master") -> None:
        self.path = path
        self.branch = branch
        path.mkdir(parents=True, exist_ok=True)
        if not (path / ".git").exists():
            self.git("init", "--quiet", "-b", branch)

    def git(self, *args: str, cwd: Path | None = None) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=cwd or self.path,
            env={**os.environ, **GIT_ENV},
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    def commit(
        self, message: str, files: Mapping[str, str | None] | None = None, **named: str | None
    ) -> str:
        """Write (or delete, for None) files and commit them; returns the new revision.

        Files come as a dict of paths, or as keywords where `__` stands for `/`."""
        changes = dict(files or {})
        changes.update({name.replace("__", "/"): text for name, text in named.items()})
        for name, text in changes.items():
            target = self.path / name
            if text is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")


# A material URL that fails at once and locally: servers started by tests poll the materials of
# the pipelines they are given, and tests never reach outside this machine.
LOCAL_ONLY_URL = "/nonexistent/pygocd-tests/code.git"


def pipeline_yaml(
    *names: str, group: str = "team", extra_stage: str = "", material_url: str = LOCAL_ONLY_URL
) -> str:
    """A GoCD YAML file defining `names`, each one stage with one exec job."""
    lines = ["format_version: 10", "pipelines:"]
    for name in names:
        lines += [
            f"  {name}:",
            f"    group: {group}",
            "    materials:",
            "      code:",
            f"        git: {material_url}",
            "    stages:",
            "      - build:",
            "          jobs:",
            "            compile:",
            "              tasks:",
            "                - exec: {command: make, arguments: [all]}",
        ]
        if extra_stage:
            lines.append(extra_stage)
    return "\n".join(lines) + "\n"


BROKEN_YAML = "format_version: 10\npipelines:\n  broken:\n    stages: [\n"
