"""The liveness route answers without credentials (load balancers call it)."""

from __future__ import annotations


async def test_health_needs_no_auth(client):
    response = await client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
