"""Dashboard API v4: GoCD's shape over the dashboard read model, ETag and 304."""

from __future__ import annotations

import httpx
import pytest

from pygocd.services.registry import Services
from tests import builders as b

pytestmark = pytest.mark.db

V4 = {"Accept": "application/vnd.go.cd.v4+json"}


async def test_dashboard_v4_shape(client: httpx.AsyncClient, services: Services) -> None:
    await b.save(
        services,
        b.pipeline("up42", b.stage("build"), b.stage("ship", manual=True)),
        b.pipeline("never"),
    )
    await b.commit(services)
    await b.run_to_end(services, "up42")

    response = await client.get("/go/api/dashboard", headers=V4)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.go.cd.v4+json;charset=utf-8"
    body = response.json()
    assert set(body) == {"_links", "_personalization", "_embedded"}
    [group] = body["_embedded"]["pipeline_groups"]
    assert (group["name"], group["pipelines"]) == ("team", ["up42", "never"])
    up42, never = body["_embedded"]["pipelines"]
    assert never["_embedded"]["instances"] == []
    assert up42["name"] == "up42"
    assert isinstance(up42["last_updated_timestamp"], int)
    assert up42["pause_info"] == {
        "paused": False,
        "paused_by": None,
        "pause_reason": None,
        "paused_at": None,
    }
    assert up42["from_config_repo"] is False
    [instance] = up42["_embedded"]["instances"]
    assert instance["_links"]["self"]["href"].endswith("/go/api/pipelines/up42/1/instance")
    assert (instance["label"], instance["counter"]) == ("1", 1)
    assert instance["triggered_by"] == "Triggered by admin"
    assert instance["scheduled_at"].endswith("Z")
    build, ship = instance["_embedded"]["stages"]
    assert (build["counter"], build["status"], build["approval_type"]) == ("1", "Passed", "auto")
    assert (ship["status"], ship["approval_type"], ship["approved_by"]) == (
        "Unknown",
        "manual",
        None,
    )

    etag = response.headers["etag"]
    cached = await client.get("/go/api/dashboard", headers={**V4, "If-None-Match": etag})
    assert cached.status_code == 304
    assert (
        await client.get("/go/api/dashboard", headers={"Accept": "application/vnd.go.cd.v3+json"})
    ).status_code == 404


async def test_the_cached_dashboard_follows_pause_lock_and_runs(
    client: httpx.AsyncClient, services: Services
) -> None:
    await b.save(services, b.pipeline("up42"))
    await b.commit(services)

    async def up42() -> dict[str, object]:
        response = await client.get("/go/api/dashboard", headers=V4)
        assert response.status_code == 200
        [pipeline] = response.json()["_embedded"]["pipelines"]
        return pipeline

    assert (await up42())["_embedded"] == {"instances": []}
    started = await b.trigger(services, "up42")
    assert len((await up42())["_embedded"]["instances"]) == 1  # type: ignore[index]
    assert services.stages is not None
    await services.stages.pause("up42", username="alice", cause="freeze")
    assert (await up42())["pause_info"] == {
        "paused": True,
        "paused_by": "alice",
        "pause_reason": "freeze",
        "paused_at": "2026-01-02T03:04:05Z",
    }
    await services.stages.unpause("up42", username="alice")
    assert (await up42())["pause_info"]["paused"] is False  # type: ignore[index]
    await b.finish_job(services, started.stages[0].jobs[0].id)
    [instance] = (await up42())["_embedded"]["instances"]  # type: ignore[index]
    assert instance["_embedded"]["stages"][0]["status"] == "Passed"
