"""``POST /hooks/{entry_point_id}`` through the ASGI app, signed with real HMAC-SHA256: presets and
custom mappings open tickets, repeats change nothing, and every refusal (404, 401 bad signature,
401 stale timestamp, 400 malformed JSON, 413, 422) writes nothing."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx
import pytest

from huiliu.channels.webhook.presets import presets
from tests.channels.helpers import counts, create_entry_point, public_client
from tests.factories import Member, make_member, make_tenant

SECRET = "webhook-secret-for-the-intake-tests"


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Any, tenant: Any) -> Member:
    return await make_member(runtime, tenant, "admin", name="管理员")


def signed(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Headers as a sender computes them: HMAC-SHA256(secret, timestamp + "." + raw body)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {
        "X-Huiliu-Timestamp": stamp,
        "X-Huiliu-Signature": f"sha256={digest}",
        "Content-Type": "application/json",
    }


def encode(event: Any) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()


async def post(app: Any, entry_point_id: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with public_client(app) as http:
        return await http.post(f"/hooks/{entry_point_id}", content=body, headers=headers)


def assert_problem(response: httpx.Response, status: int, slug: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    if slug is not None:
        assert body["type"].endswith("/" + slug), body
    return body


async def hook(client: Any, admin: Member, **config: Any) -> dict[str, Any]:
    return await create_entry_point(client, admin, "webhook", name="对接", secret=SECRET, **config)


async def test_douyin_event_opens_a_ticket_and_repeats_change_nothing(
    app: Any, client: Any, admin: Member, runtime: Any, tenant: Any
) -> None:
    entry_point = await hook(client, admin, preset="douyin_im")
    body = encode(presets()["douyin_im"].example)
    first = await post(app, entry_point["id"], body, signed(body))
    assert first.status_code == 201, first.text
    result = first.json()
    assert result["created"] is True and result["outcome"] == "created"
    assert result["ticket_number"] > 0 and result["message_id"]
    after_first = await counts(runtime, tenant.id)

    for _ in range(2):
        again = await post(app, entry_point["id"], body, signed(body))
        assert again.status_code == 200, again.text
        assert again.json()["outcome"] == "repeat"
        assert again.json()["ticket_id"] == result["ticket_id"]
        assert again.json()["message_id"] == result["message_id"]
    assert await counts(runtime, tenant.id) == after_first

    detail = (await client.get(f"/api/v1/tickets/{result['ticket_id']}", headers=admin.headers)).json()
    assert detail["channel"] == "douyin"
    assert detail["entry_point_id"] == entry_point["id"]
    assert "空气炸锅" in detail["description"] or "空气炸锅" in detail["messages"][0]["body"]
    customer = (await client.get(f"/api/v1/customers/{detail['customer_id']}", headers=admin.headers)).json()
    assert customer["name"] == "爱吃薯条的小林"
    assert ("douyin_openid", presets()["douyin_im"].example["from_user_id"]) in {
        (i["kind"], i["value"]) for i in customer["identities"]
    }


async def test_an_event_the_mapping_does_not_accept_is_acknowledged_and_ignored(
    app: Any, client: Any, admin: Member, runtime: Any, tenant: Any
) -> None:
    entry_point = await hook(client, admin, preset="douyin_im")
    event = copy.deepcopy(presets()["douyin_im"].example)
    event["event"] = "im_send_msg"
    body = encode(event)
    before = await counts(runtime, tenant.id)
    response = await post(app, entry_point["id"], body, signed(body))
    assert response.status_code == 200, response.text
    assert response.json()["ignored"] is True and response.json()["ticket_id"] is None
    assert await counts(runtime, tenant.id) == before


async def test_iot_alarms_of_one_device_fold_onto_one_ticket(app: Any, client: Any, admin: Member) -> None:
    entry_point = await hook(client, admin, preset="iot_alarm")
    answers = []
    for number in range(3):
        event = copy.deepcopy(presets()["iot_alarm"].example)
        event["event_id"] = f"evt-{number}"
        body = encode(event)
        answers.append(await post(app, entry_point["id"], body, signed(body)))
    assert [a.status_code for a in answers] == [201, 200, 200]
    assert [a.json()["outcome"] for a in answers] == ["created", "alarm", "alarm"]
    assert len({a.json()["ticket_id"] for a in answers}) == 1


@pytest.mark.parametrize("preset", ["erp_after_sales", "mini_program"])
async def test_erp_and_mini_program_presets(app: Any, client: Any, admin: Member, preset: str) -> None:
    entry_point = await hook(client, admin, preset=preset)
    body = encode(presets()[preset].example)
    response = await post(app, entry_point["id"], body, signed(body))
    assert response.status_code == 201, response.text
    detail = (
        await client.get(f"/api/v1/tickets/{response.json()['ticket_id']}", headers=admin.headers)
    ).json()
    assert detail["channel"] == presets()[preset].channel
    if preset == "erp_after_sales":
        assert detail["title"] == "售后申请 SO2026113012345 (return)"
        assert detail["fields"]["order_no"] == "SO2026113012345"
    else:
        assert detail["title"] == "一键报修"
        assert detail["fields"]["source"] == "store-12"


async def test_custom_mapping(app: Any, client: Any, admin: Member) -> None:
    entry_point = await hook(
        client,
        admin,
        channel="crm",
        mapping={
            "external_id": "ticket.ref",
            "text": "ticket.content",
            "sender_name": "ticket.contact.name",
            "identities": {"email": "ticket.contact.email"},
        },
    )
    event = {
        "ticket": {"ref": "CRM-1", "content": "发票抬头开错了", "contact": {"name": "赵", "email": "Z@Ex.cn"}}
    }
    body = encode(event)
    response = await post(app, entry_point["id"], body, signed(body))
    assert response.status_code == 201, response.text
    detail = (
        await client.get(f"/api/v1/tickets/{response.json()['ticket_id']}", headers=admin.headers)
    ).json()
    assert detail["channel"] == "crm" and detail["title"] == "发票抬头开错了"


async def test_refused_deliveries_write_nothing(
    app: Any, client: Any, admin: Member, runtime: Any, tenant: Any
) -> None:
    entry_point = await hook(client, admin, preset="mini_program")
    other = await hook(client, admin, preset="mini_program")
    form = await create_entry_point(client, admin, "h5_form")
    good = encode(presets()["mini_program"].example)
    now = int(time.time())
    missing_text = encode({**presets()["mini_program"].example, "content": None})
    missing_id = encode({k: v for k, v in presets()["mini_program"].example.items() if k != "msg_id"})
    bad_phone = encode({**presets()["mini_program"].example, "phone": "12"})
    before = await counts(runtime, tenant.id)
    ep = entry_point["id"]
    cases: list[tuple[int, str | None, str, bytes, dict[str, str]]] = [
        (404, "not-found", str(uuid.uuid4()), good, signed(good)),
        (404, "not-found", form["id"], good, signed(good)),
        (401, "bad-signature", ep, good, {"Content-Type": "application/json"}),
        (401, "bad-signature", ep, good, signed(good, secret="someone-elses-secret-value")),
        (401, "bad-signature", ep, good + b" ", signed(good)),
        (401, "bad-signature", ep, good, {**signed(good), "X-Huiliu-Timestamp": str(now + 1)}),
        (401, "bad-signature", ep, good, {**signed(good), "X-Huiliu-Timestamp": "yesterday"}),
        (401, "stale-timestamp", ep, good, signed(good, timestamp=now - 301)),
        (401, "stale-timestamp", ep, good, signed(good, timestamp=now + 600)),
        (400, "malformed-json", ep, b'{"msg_id": ', signed(b'{"msg_id": ')),
        (400, "malformed-json", ep, b"\xff\xfe", signed(b"\xff\xfe")),
        (422, None, ep, b"[1, 2]", signed(b"[1, 2]")),
        (422, None, ep, missing_text, signed(missing_text)),
        (422, None, ep, missing_id, signed(missing_id)),
        (422, None, ep, bad_phone, signed(bad_phone)),
    ]
    for status, slug, target, body, headers in cases:
        assert_problem(await post(app, target, body, headers), status, slug)
    # The other entry point's secret does not open this one.
    await client.patch(
        f"/api/v1/entry-points/{other['id']}", headers=admin.headers, json={"is_active": False}
    )
    assert_problem(await post(app, other["id"], good, signed(good)), 404)
    assert await counts(runtime, tenant.id) == before


async def test_an_oversized_body_is_413(
    app: Any, client: Any, admin: Member, runtime: Any, tenant: Any
) -> None:
    entry_point = await hook(client, admin, preset="mini_program")
    event = {**presets()["mini_program"].example, "padding": "x" * runtime.settings.webhook_intake_max_bytes}
    body = encode(event)
    before = await counts(runtime, tenant.id)
    assert_problem(await post(app, entry_point["id"], body, signed(body)), 413)
    assert await counts(runtime, tenant.id) == before


async def test_a_rotated_secret_takes_effect_at_once(app: Any, client: Any, admin: Member) -> None:
    entry_point = await hook(client, admin, preset="mini_program")
    rotated = "the-new-secret-after-rotation-01"
    response = await client.patch(
        f"/api/v1/entry-points/{entry_point['id']}",
        headers=admin.headers,
        json={"config": {"secret": rotated}},
    )
    assert response.status_code == 200
    body = encode(presets()["mini_program"].example)
    assert_problem(await post(app, entry_point["id"], body, signed(body)), 401, "bad-signature")
    assert (await post(app, entry_point["id"], body, signed(body, secret=rotated))).status_code == 201


async def test_the_hook_belongs_to_its_tenant(app: Any, client: Any, admin: Member, runtime: Any) -> None:
    entry_point = await hook(client, admin, preset="mini_program")
    body = encode(presets()["mini_program"].example)
    response = await post(app, entry_point["id"], body, signed(body))
    ticket_id = response.json()["ticket_id"]
    intruder = await make_member(runtime, await make_tenant(runtime), "admin")
    assert (await client.get(f"/api/v1/tickets/{ticket_id}", headers=intruder.headers)).status_code == 404
    assert (await client.get("/api/v1/tickets", headers=intruder.headers)).json()["items"] == []
