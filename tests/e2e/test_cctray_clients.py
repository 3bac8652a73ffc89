"""A third-party CCTray client, unchanged, against a live `pygocd server`: BuildNotify's
feed reader (PyPI `buildnotify`, its `CctraySource` over its own `requests` connection).

BuildNotify is a Qt tray app; its core and HTTP adapter need only `requests` and
`defusedxml`, so the test installs it with `pip install --no-deps buildnotify defusedxml`
(PySide6 is not needed; versions pinned in constraints.txt; `make test` installs them). It
skips when they are absent, except in CI, where their absence is a failure.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

from tests.e2e.test_api_fuzz import live_server  # noqa: F401 (the fixture)

pytestmark = pytest.mark.e2e


def _client_module(name: str) -> ModuleType:
    if os.environ.get("CI") == "true":
        return importlib.import_module(name)  # CI installs the client: absence must fail
    return pytest.importorskip(name)


cctray = _client_module("buildnotifylib.core.cctray")
http = _client_module("buildnotifylib.adapters.http")
model = _client_module("buildnotifylib.core.model")
settings_module = _client_module("buildnotifylib.core.settings")


def test_buildnotify_reads_the_feed(live_server: str) -> None:  # noqa: F811 (fixture)
    server = settings_module.ServerSettings(url=f"{live_server}/go/cctray.xml")
    projects = cctray.CctraySource(server, 10, http.HttpConnection()).fetch()
    by_name = {p.name: p for p in projects}
    assert list(by_name) == [
        "other :: build",
        "other :: build :: compile",
        "up42 :: build",
        "up42 :: build :: compile",
        "up42 :: test",
        "up42 :: test :: unit",
    ]
    assert by_name["other :: build"].status is model.Status.FAILURE
    assert by_name["up42 :: build"].status is model.Status.SUCCESS
    assert by_name["up42 :: build"].activity is model.Activity.SLEEPING
    # The second stage started when the first passed: building, first run still running.
    assert by_name["up42 :: test"].activity is model.Activity.BUILDING
    assert by_name["up42 :: build"].build_time is not None
    assert by_name["up42 :: build"].last_build_label == "1"
    assert by_name["up42 :: build :: compile"].url.endswith(
        "/go/tab/build/detail/up42/1/build/1/compile"
    )
