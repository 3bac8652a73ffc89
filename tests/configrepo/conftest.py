"""Shared fixtures for the config-repo tests (YAML/JSON readers, validation, export)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def fixtures_root() -> Path:
    """The third-party GoCD fixtures: `<repo>/../shared/fixtures`, or `$PYGOCD_FIXTURES`."""
    override = os.environ.get("PYGOCD_FIXTURES")
    if override:
        return Path(override)
    return (REPO_ROOT / ".." / "shared" / "fixtures").resolve()


def require_fixtures() -> Path:
    """The fixtures folder; skip when absent, except in CI where absence is a failure."""
    root = fixtures_root()
    if not (root / "gocd-yaml" / "MANIFEST.json").is_file():
        reason = f"GoCD conformance fixtures not found at {root} (set PYGOCD_FIXTURES)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return root


@pytest.fixture
def gocd_fixtures() -> Path:
    return require_fixtures()
