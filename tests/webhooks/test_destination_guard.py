"""Webhook URLs are checked against the outbound guard (core/netguard.py) when saved: a destination
the worker would refuse to call is a 422 and nothing is stored."""

from __future__ import annotations

from sqlalchemy import func, select

from huiliu.webhooks.models import WebhookSubscription


async def test_the_webhook_api_refuses_a_private_destination(client, runtime, admin):
    body = {
        "url": "http://169.254.169.254/latest/meta-data",
        "secret": "s" * 24,
        "events": ["ticket.created"],
    }
    runtime.settings.outbound_allow_private_networks = False
    try:
        refused = await client.post("/api/v1/webhooks", headers=admin.headers, json=body)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["loc"] == ["body", "url"]
        accepted = await client.post(
            "/api/v1/webhooks", headers=admin.headers, json={**body, "url": "https://93.184.216.34/hook"}
        )
        assert accepted.status_code == 201
        moved = await client.patch(
            f"/api/v1/webhooks/{accepted.json()['id']}",
            headers=admin.headers,
            json={"url": "http://127.0.0.1:6379/"},
        )
        assert moved.status_code == 422
    finally:
        runtime.settings.outbound_allow_private_networks = True
    async with runtime.db.read(admin.user.tenant_id) as session:
        urls = (await session.execute(select(WebhookSubscription.url))).scalars().all()
        count = (await session.execute(select(func.count()).select_from(WebhookSubscription))).scalar_one()
    assert list(urls) == ["https://93.184.216.34/hook"] and count == 1
