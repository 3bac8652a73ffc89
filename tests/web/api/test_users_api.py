"""Users v3 and current user v1 with security off, as GoCD answers them: anonymous is an
admin who may list users (none: only logins fill the users table) but has no current user."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.db

V1 = {"Accept": "application/vnd.go.cd.v1+json"}
V3 = {"Accept": "application/vnd.go.cd.v3+json"}


async def test_current_user_is_forbidden_for_anonymous(client: httpx.AsyncClient) -> None:
    response = await client.get("/go/api/current_user", headers=V1)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/vnd.go.cd.v1+json;charset=utf-8"
    assert response.json() == {"message": "You are not authorized to perform this action."}


async def test_current_user_needs_its_accept_header(client: httpx.AsyncClient) -> None:
    for headers in ({}, V3, {"Accept": "application/json"}):
        response = await client.get("/go/api/current_user", headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/plain")


async def test_users_list_is_empty_with_links(client: httpx.AsyncClient) -> None:
    response = await client.get("/go/api/users", headers=V3)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.go.cd.v3+json;charset=utf-8"
    body = response.json()
    assert body["_embedded"] == {"users": []}
    assert body["_links"]["self"]["href"].endswith("/go/api/users")
    latest = await client.get("/go/api/users", headers={"Accept": "application/vnd.go.cd+json"})
    assert latest.status_code == 200


async def test_unknown_user_and_wrong_accept(client: httpx.AsyncClient) -> None:
    missing = await client.get("/go/api/users/jdoe", headers=V3)
    assert missing.status_code == 404
    assert missing.json() == {"message": "User 'jdoe' was not found!"}
    wrong = await client.get("/go/api/users", headers=V1)
    assert wrong.status_code == 404
    assert wrong.headers["content-type"].startswith("text/plain")


async def test_writes_are_not_served_yet(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/go/api/users",
        headers={**V3, "Content-Type": "application/json"},
        json={"login_name": "jdoe"},
    )
    assert 400 <= response.status_code < 500
    assert "message" in response.json()
