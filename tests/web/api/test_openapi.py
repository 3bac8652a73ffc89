"""The OpenAPI document the server serves is the one committed in docs/openapi.json."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

COMMITTED = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"


async def test_served_document_matches_the_committed_one(client: httpx.AsyncClient) -> None:
    response = await client.get("/go/api/openapi.json")
    assert response.status_code == 200
    served = response.json()
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    drifted = sorted(set(served["paths"]) ^ set(committed["paths"]))
    assert not drifted, f"paths differ, run scripts/openapi: {drifted}"
    assert served == committed, "docs/openapi.json is stale: run scripts/openapi"
