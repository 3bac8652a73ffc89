"""Health and version, with GoCD's Accept rules (gocd-api.md §1.2, §2.1)."""

from __future__ import annotations

import httpx
import pytest

V1 = {"Accept": "application/vnd.go.cd.v1+json"}
WRONG_URL = "The url you are trying to reach appears to be incorrect.\r\n"

pytestmark = pytest.mark.db


async def test_health_needs_no_accept_header(client: httpx.AsyncClient) -> None:
    response = await client.get("/go/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"health": "OK"}


async def test_version_answers_gocds_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/go/api/version", headers=V1)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.go.cd.v1+json;charset=utf-8"
    assert response.headers["cache-control"] == "max-age=0, private, must-revalidate"
    body = response.json()
    assert set(body) == {
        "_links",
        "version",
        "build_number",
        "git_sha",
        "full_version",
        "commit_url",
    }
    assert body["_links"]["self"]["href"] == "http://127.0.0.1:8153/go/api/version"
    major, minor, patch = body["version"].split(".")
    assert (major.isdigit(), minor.isdigit(), patch.isdigit()) == (True, True, True)
    assert "pygocd" in body["full_version"]


async def test_version_accepts_the_latest_alias(client: httpx.AsyncClient) -> None:
    response = await client.get("/go/api/version", headers={"Accept": "application/vnd.go.cd+json"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "application/json",
        "*/*",
        "application/vnd.go.cd.v2+json",
        "application/vnd.go.cd.v1+json, */*",
        "APPLICATION/VND.GO.CD.V1+JSON",
    ],
)
async def test_version_without_the_exact_accept_is_gocds_404(
    client: httpx.AsyncClient, accept: str | None
) -> None:
    headers = {"Accept": accept} if accept else {}
    if accept is None:
        client.headers.pop("accept", None)
    response = await client.get("/go/api/version", headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == WRONG_URL


async def test_an_unknown_api_path_is_gocds_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/go/api/no-such-thing", headers=V1)
    assert response.status_code == 404
    assert response.text == WRONG_URL


async def test_the_root_redirects_to_the_dashboard(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 302
    assert response.headers["location"] == "/go/pipelines"


async def test_the_dashboard_page_is_served_in_the_app(client: httpx.AsyncClient) -> None:
    response = await client.get("/go/pipelines")
    assert response.status_code == 200
    assert "Dashboard" in response.text or "DASHBOARD" in response.text.upper()
