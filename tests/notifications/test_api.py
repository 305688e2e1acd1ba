"""The notifications API: provider channels (admin.notifications, credentials write-only), my inbox
(unread first, cursor, read, read-all, count), my preferences, the delivery log and dead letters;
bad input is a 4xx that changes nothing, and tenants never see each other."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from huiliu.core import clock
from huiliu.core.clock import utcnow
from huiliu.worker.processor import OutboxProcessor
from tests.factories import Member, make_member, make_tenant
from tests.notifications.helpers import deliveries_of, notify, provider_request
from tests.worker.helpers import drain

BASE = "http://127.0.0.1:9"


async def test_channel_crud_keeps_credentials_write_only(client: Any, admin: Member) -> None:
    request = provider_request("dingtalk", BASE)
    created = await client.post("/api/v1/notification-channels", headers=admin.headers, json=request)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["kind"] == "dingtalk" and body["config"] == {"base_url": BASE}
    assert "secrets" not in body and request["secrets"]["secret"] not in created.text
    assert set(body["secret_hints"]) == {"access_token", "secret"}
    channel_id = body["id"]
    changed = await client.patch(
        f"/api/v1/notification-channels/{channel_id}",
        headers=admin.headers,
        json={"secrets": {"secret": "SECnew-secret-9876"}, "is_active": False},
    )
    assert changed.status_code == 200
    assert changed.json()["secret_hints"]["secret"] == "••••9876"
    assert changed.json()["secret_hints"]["access_token"] == body["secret_hints"]["access_token"]
    assert changed.json()["is_active"] is False
    listed = (await client.get("/api/v1/notification-channels", headers=admin.headers)).json()
    assert [item["id"] for item in listed["items"]] == [channel_id]
    deleted = await client.delete(f"/api/v1/notification-channels/{channel_id}", headers=admin.headers)
    assert deleted.status_code == 204
    gone = await client.get(f"/api/v1/notification-channels/{channel_id}", headers=admin.headers)
    assert gone.status_code == 404


async def test_bad_channel_input_is_refused_and_writes_nothing(client: Any, admin: Member) -> None:
    good = provider_request("aliyun_sms", BASE)
    bad_bodies = [
        {**good, "kind": "pager"},
        {**good, "config": {**good["config"], "access_key_secret": "in the wrong place"}},
        {**good, "secrets": {}},
        {**good, "config": {**good["config"], "base_url": "javascript:alert(1)"}},
        {**good, "unknown": 1},
    ]
    for body in bad_bodies:
        answer = await client.post("/api/v1/notification-channels", headers=admin.headers, json=body)
        assert answer.status_code == 422, body
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/api/v1/notification-channels", headers=admin.headers)).json()["items"] == []
    first = await client.post("/api/v1/notification-channels", headers=admin.headers, json=good)
    assert first.status_code == 201
    again = await client.post("/api/v1/notification-channels", headers=admin.headers, json=good)
    assert again.status_code == 409
    emptied = await client.patch(
        f"/api/v1/notification-channels/{first.json()['id']}",
        headers=admin.headers,
        json={"config": {"base_url": BASE}},
    )
    assert emptied.status_code == 422
    still = await client.get(f"/api/v1/notification-channels/{first.json()['id']}", headers=admin.headers)
    assert still.json()["config"] == good["config"]


async def test_administration_needs_admin_notifications(client: Any, agent: Member) -> None:
    for method, path in [
        ("GET", "/api/v1/notification-channels"),
        ("POST", "/api/v1/notification-channels"),
        ("GET", "/api/v1/notifications/dead-letters"),
        ("GET", "/api/v1/notifications/deliveries"),
        ("POST", "/api/v1/notifications/deliveries/0190f1e2-0000-7000-8000-000000000001:retry"),
    ]:
        body = provider_request("wecom", BASE) if method == "POST" else None
        answer = await client.request(method, path, headers=agent.headers, json=body)
        assert answer.status_code == 403, path


async def test_my_inbox_lists_unread_first_pages_and_marks_read(
    client: Any, runtime: Any, tenant: Any, admin: Member, agent: Member, processor: OutboxProcessor
) -> None:
    start = utcnow()
    for minute in range(5):
        with clock.at(start + timedelta(minutes=minute)):
            await notify(runtime, tenant.id, [agent], message=f"第{minute}条")
        await drain(processor, tenant.id, at=start + timedelta(minutes=minute))
    listed = (await client.get("/api/v1/notifications", headers=agent.headers)).json()
    assert listed["unread"] == 5
    assert [item["body"] for item in listed["items"]] == [f"第{n}条" for n in (4, 3, 2, 1, 0)]
    oldest = listed["items"][-1]["id"]
    read = await client.post(f"/api/v1/notifications/{oldest}:read", headers=agent.headers)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    newest = listed["items"][0]["id"]
    await client.post(f"/api/v1/notifications/{newest}:read", headers=agent.headers)
    pages: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/notifications", headers=agent.headers, params=params)).json()
        pages += [item["body"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == ["第3条", "第2条", "第1条", "第4条", "第0条"]
    count = await client.get("/api/v1/notifications/unread-count", headers=agent.headers)
    assert count.json() == {"unread": 3}
    unread = await client.get("/api/v1/notifications", headers=agent.headers, params={"unread_only": True})
    assert len(unread.json()["items"]) == 3
    # Someone else's notification is not found; mine is, and read-all marks the rest.
    assert (
        await client.post(f"/api/v1/notifications/{oldest}:read", headers=admin.headers)
    ).status_code == 404
    assert (
        await client.post("/api/v1/notifications/not-a-uuid:read", headers=agent.headers)
    ).status_code == 422
    marked = await client.post("/api/v1/notifications:read-all", headers=agent.headers)
    assert marked.json() == {"marked": 3}
    assert (await client.get("/api/v1/notifications/unread-count", headers=agent.headers)).json() == {
        "unread": 0
    }
    bad = await client.get("/api/v1/notifications", headers=agent.headers, params={"cursor": "garbage"})
    assert bad.status_code == 422


async def test_my_preferences_round_trip_and_bad_values_change_nothing(client: Any, agent: Member) -> None:
    default = (await client.get("/api/v1/notifications/preferences", headers=agent.headers)).json()
    assert default["event_channels"] == {} and default["quiet_start"] is None
    wanted = {
        "event_channels": {"sla_tier": ["sms", "in_app"], "*": ["in_app"]},
        "quiet_start": "22:00",
        "quiet_end": "08:00",
        "timezone": "Asia/Shanghai",
        "phone": "+8613800138000",
        "digest_minutes": 30,
    }
    saved = await client.put("/api/v1/notifications/preferences", headers=agent.headers, json=wanted)
    assert saved.status_code == 200 and saved.json() == wanted
    for bad in [
        {**wanted, "quiet_start": "25:00"},
        {**wanted, "quiet_end": None},
        {**wanted, "event_channels": {"*": ["pigeon"]}},
        {**wanted, "timezone": "Nowhere/City"},
        {**wanted, "phone": "call me"},
        {**wanted, "digest_minutes": 1},
    ]:
        answer = await client.put("/api/v1/notifications/preferences", headers=agent.headers, json=bad)
        assert answer.status_code == 422, bad
    assert (await client.get("/api/v1/notifications/preferences", headers=agent.headers)).json() == wanted


async def test_delivery_log_by_ticket_and_tenants_apart(
    client: Any, runtime: Any, tenant: Any, admin: Member, agent: Member, processor: OutboxProcessor
) -> None:
    await notify(runtime, tenant.id, [agent], channels=["in_app", "sms"])
    await drain(processor, tenant.id)
    deliveries = await deliveries_of(runtime, tenant.id)
    ticket_id = deliveries[0].ticket_id
    log = await client.get(
        "/api/v1/notifications/deliveries", headers=admin.headers, params={"ticket_id": str(ticket_id)}
    )
    assert sorted((item["channel"], item["state"]) for item in log.json()["items"]) == [
        ("in_app", "delivered"),
        ("sms", "dead"),
    ]
    other_tenant = await make_tenant(runtime)
    stranger = await make_member(runtime, other_tenant, "admin")
    theirs = await client.get("/api/v1/notifications/dead-letters", headers=stranger.headers)
    assert theirs.json()["items"] == []
    dead = next(d for d in deliveries if d.state == "dead")
    retry = await client.post(f"/api/v1/notifications/deliveries/{dead.id}:retry", headers=stranger.headers)
    assert retry.status_code == 404
    # No SMS provider yet: retrying cannot help, so it is refused and the delivery stays dead.
    refused = await client.post(f"/api/v1/notifications/deliveries/{dead.id}:retry", headers=admin.headers)
    assert refused.status_code == 409
    assert next(d for d in await deliveries_of(runtime, tenant.id) if d.id == dead.id).state == "dead"
