"""Schemathesis against a live `pygocd server` with data: every generated request to the
documented JSON API gets an answer that is not a 5xx and matches the OpenAPI document.

The data (config, commits, runs) is written through the services before the server starts,
so the generated requests hit existing pipelines, stages and jobs as well as unknown ones.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pygocd import bootstrap
from pygocd.domain.states import JobResult
from pygocd.settings import Settings
from tests import builders as b
from tests.cli.test_server_process import free_port, pygocd, wait_healthy
from tests.conftest import _drop_postgres_database, _fresh_postgres_database
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.e2e

SCHEMATHESIS = shutil.which("schemathesis", path=str(Path(sys.executable).parent))


async def seed(settings: Settings, repo: GitRepo) -> None:
    # The material is a real local repository: a generated schedule request updates materials
    # first, and tests never reach outside this machine.
    material = b.git(url=str(repo.path), branch=repo.branch)
    revision = repo.commit("first", {"README": "hello"})
    container = await bootstrap.start(settings)
    try:
        services = container.services
        await b.save(
            services,
            b.pipeline(
                "up42", b.stage("build", "compile"), b.stage("test", "unit"), material=material
            ),
            b.pipeline("other", material=material),
        )
        await b.commit(services, material, revision)
        await b.run_to_end(services, "up42")
        await b.run_to_end(services, "other", JobResult.FAILED)
    finally:
        await container.close()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    """`pygocd server` on seeded data: SQLite in tmp_path, or a fresh PostgreSQL database
    when `PYGOCD_TEST_DB_URL` is set (dropped afterwards)."""
    data = tmp_path / "data"
    admin_url = os.environ.get("PYGOCD_TEST_DB_URL")
    url = asyncio.run(_fresh_postgres_database(admin_url)) if admin_url else None
    settings = Settings(data_dir=data, database_url=url) if url else Settings(data_dir=data)
    asyncio.run(seed(settings, GitRepo(tmp_path / "code", branch="main")))
    port = free_port()
    args = ["server", "--port", str(port), "--data-dir", str(data)]
    if url:
        args += ["--database-url", url]
    process = pygocd(*args)
    try:
        wait_healthy(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.communicate(timeout=20)
        if admin_url and url:
            asyncio.run(_drop_postgres_database(admin_url, url))


@pytest.mark.skipif(SCHEMATHESIS is None, reason="schemathesis is not installed (dev extra)")
def test_no_generated_request_gets_a_server_error(live_server: str, tmp_path: Path) -> None:
    assert SCHEMATHESIS is not None
    result = subprocess.run(
        [
            SCHEMATHESIS,
            "run",
            f"{live_server}/go/api/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance",
            "--header",
            "Accept: application/vnd.go.cd+json",
            "--header",
            "X-GoCD-Confirm: true",
            "--max-examples",
            "10",
            "--seed",
            "1",
            "--request-timeout",
            "20",
            "--phases",
            "examples,coverage,fuzzing",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
