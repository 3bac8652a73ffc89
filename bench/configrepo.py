"""A config repo of 1,000 pipelines in 100 files: fetch, parse, validate and apply; then the
re-apply after one file changes.

Run: .venv/bin/python bench/configrepo.py [--pipelines 1000] [--files 100] [--runs 3]
Goal: first fetch + parse + validate + apply < 2 s (GoCD: tens of seconds at this size).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from pygocd.bus.memory import MemoryBus
from pygocd.configrepo.file_pattern import is_excluded, matches
from pygocd.configrepo.parse import parse_files
from pygocd.configrepo.validate import validate_config
from pygocd.db import migrate
from pygocd.db.engine import create_engine
from pygocd.db.unit_of_work import SqlUnitOfWorkFactory
from pygocd.domain.config_repos import DEFAULT_FILE_PATTERN
from pygocd.services import git
from pygocd.services.clock import SystemClock
from pygocd.services.config import ConfigService
from pygocd.services.config_repos import ConfigRepoService
from pygocd.services.health import ServerHealth

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def sh(cwd: Path, *args: str) -> None:
    subprocess.run(args, cwd=cwd, env=GIT_ENV, check=True, capture_output=True)


def file_text(index: int, per_file: int, version: int = 0) -> str:
    lines = ["format_version: 10", "pipelines:"]
    for n in range(index * per_file, (index + 1) * per_file):
        lines += [
            f"  p{n:05d}:",
            f"    group: group{n % 20}",
            f"    label_template: '${{COUNT}}-{version}'",
            "    environment_variables:",
            f"      N: '{n}'",
            "    materials:",
            "      code:",
            f"        git: https://example.com/repo{n % 50}.git",
        ]
        if n % 10:  # most pipelines hang off the previous one: a real dependency graph
            lines += ["      up:", f"        pipeline: p{n - 1:05d}", "        stage: build"]
        lines += [
            "    stages:",
            "      - build:",
            "          jobs:",
            "            compile:",
            "              resources: [linux]",
            "              artifacts:",
            "                - build: {source: out/*.jar, destination: pkg}",
            "              tasks:",
            "                - exec: {command: make, arguments: [all]}",
            "      - test:",
            "          jobs:",
            "            unit:",
            "              tasks:",
            "                - script: ./run-tests",
        ]
    return "\n".join(lines) + "\n"


def make_repo(root: Path, pipelines: int, files: int) -> Path:
    repo = root / "remote"
    repo.mkdir()
    sh(repo, "git", "init", "-q", "-b", "master")
    per_file = pipelines // files
    for index in range(files):
        (repo / f"pipelines/f{index:03d}.gocd.yaml").parent.mkdir(exist_ok=True)
        (repo / f"pipelines/f{index:03d}.gocd.yaml").write_text(file_text(index, per_file))
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "initial")
    return repo


async def run(pipelines: int, files: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="pygocd-bench-") as tmp:
        root = Path(tmp)
        repo = make_repo(root, pipelines, files)
        engine = create_engine(f"sqlite+aiosqlite:///{root / 'bench.db'}")
        await migrate.upgrade(engine)
        clock = SystemClock()
        config = ConfigService(SqlUnitOfWorkFactory(engine), clock, MemoryBus())
        await config.load()
        service = ConfigRepoService(config, ServerHealth(clock), root / "cache")
        figures: dict[str, float] = {}

        # the pieces, once, on a separate cache
        cache = root / "pieces.git"
        t = time.perf_counter()
        revision = await git.fetch_branch(str(repo), "master", cache)
        figures["fetch (clone)"] = time.perf_counter() - t
        t = time.perf_counter()
        names = [
            p
            for p in await git.list_files(cache, revision)
            if not is_excluded(p) and matches(DEFAULT_FILE_PATTERN, p)
        ]
        texts = [(p, b.decode()) for p, b in await git.read_files(cache, revision, names)]
        figures["list + read files"] = time.perf_counter() - t
        t = time.perf_counter()
        result = parse_files(texts, repo_id="bench")
        figures["parse"] = time.perf_counter() - t
        assert not result.errors, result.errors[:3]
        assert len(result.pipelines) == pipelines

        # the whole thing through the service
        registered = await service.register(str(repo))
        t = time.perf_counter()
        info = await service.check(registered.id)
        figures["TOTAL first check (fetch+parse+validate+apply)"] = time.perf_counter() - t
        assert info.error is None, info.error
        assert config.current.pipeline_count == pipelines
        t = time.perf_counter()
        validate_config(config.current)
        figures["validate merged config alone"] = time.perf_counter() - t

        (repo / "pipelines/f000.gocd.yaml").write_text(file_text(0, pipelines // files, 1))
        sh(repo, "git", "commit", "-qam", "one file changed")
        t = time.perf_counter()
        info = await service.check(registered.id)
        figures["TOTAL re-check after one file changed"] = time.perf_counter() - t
        assert info.error is None, info.error

        t = time.perf_counter()
        await service.check(registered.id)
        figures["re-check, nothing new (fetch only)"] = time.perf_counter() - t
        await service.close()
        await engine.dispose()
        return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pipelines", type=int, default=1000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    runs = [asyncio.run(run(arguments.pipelines, arguments.files)) for _ in range(arguments.runs)]
    print(
        f"config repo: {arguments.pipelines} pipelines in {arguments.files} files, "
        f"{arguments.runs} runs (median, min)"
    )
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(
            f"  {key:<50} {statistics.median(values) * 1000:8.0f} ms  "
            f"(min {min(values) * 1000:.0f} ms)"
        )
    total = statistics.median(r["TOTAL first check (fetch+parse+validate+apply)"] for r in runs)
    print(
        f"  goal < 2000 ms: {'met' if total < 2 else 'MISSED'} ({total / 2 * 100:.0f} % of budget)"
    )


if __name__ == "__main__":
    main()
