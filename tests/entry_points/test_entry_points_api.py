"""The entry points API: CRUD per kind, secrets shown once, validation, permissions, tenant
isolation, QR codes and the per-entry-point report."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from typing import Any

import httpx
import segno

from huiliu.core.clock import utcnow
from huiliu.entry_points.domain import form_url
from tests.channels.helpers import create_entry_point, public_client
from tests.factories import Member, make_member, make_team, make_tenant

BASE = "/api/v1/entry-points"
SECRET = "a-webhook-secret-of-32-characters"


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


async def test_h5_form_reply_carries_form_and_qr_urls(client: Any, admin: Member, runtime: Any) -> None:
    team = await make_team(runtime, await _tenant_of(runtime, admin))
    body = await create_entry_point(
        client,
        admin,
        "h5_form",
        name="12号店收银小票",
        default_team_id=str(team.id),
        default_priority="high",
        default_tags=["门店", "门店", " 小票 "],
        source_labels=[{"code": "store-12", "name": "12号店", "kind": "store"}],
        form_title="售后服务",
        max_photos=3,
    )
    base = runtime.settings.public_url.rstrip("/")
    assert body["kind"] == "h5_form"
    assert body["channel"] == "h5_form"
    assert len(body["public_key"]) >= 16
    assert body["form_url"] == f"{base}/h5/f/{body['public_key']}"
    assert body["qr_url"] == f"{base}/api/v1/entry-points/{body['id']}/qr.png"
    assert body["config"]["default_tags"] == ["门店", "小票"]
    assert body["config"]["source_labels"] == [{"code": "store-12", "name": "12号店", "kind": "store"}]
    assert body["secret_hint"] is None and body.get("secret") is None

    one = await client.get(f"{BASE}/{body['id']}", headers=admin.headers)
    assert one.status_code == 200
    assert one.json()["form_url"] == body["form_url"]


async def _tenant_of(runtime: Any, member: Member) -> Any:
    from huiliu.auth.models import Tenant

    async with runtime.db.read(None, system=True) as session:
        return await session.get(Tenant, member.actor.tenant_id)


async def test_webhook_secret_is_generated_and_shown_once(client: Any, admin: Member) -> None:
    body = await create_entry_point(client, admin, "webhook", name="IoT 平台", preset="iot_alarm")
    secret = body["secret"]
    assert isinstance(secret, str) and len(secret) >= 32
    assert body["secret_hint"] == "…" + secret[-4:]
    assert body["channel"] == "iot"
    assert body["hook_url"].endswith(f"/hooks/{body['id']}")
    assert "secret" not in body["config"]
    for response in (
        await client.get(f"{BASE}/{body['id']}", headers=admin.headers),
        await client.get(BASE, headers=admin.headers),
    ):
        assert response.status_code == 200
        assert secret not in response.text


async def test_webhook_with_a_given_secret_and_custom_mapping(client: Any, admin: Member) -> None:
    body = await create_entry_point(
        client,
        admin,
        "webhook",
        secret=SECRET,
        channel="erp",
        mapping={"external_id": "id", "text": "body", "identities": {"phone": "mobile"}},
    )
    assert body["secret"] == SECRET
    assert body["channel"] == "erp"
    assert body["config"]["mapping"]["identities"] == {"phone": "mobile"}


async def test_create_is_idempotent_and_a_replay_does_not_show_the_secret(client: Any, admin: Member) -> None:
    headers = {**admin.headers, "Idempotency-Key": "ep-1"}
    request = {"kind": "webhook", "name": "抖音", "config": {"preset": "douyin_im"}}
    first = await client.post(BASE, headers=headers, json=request)
    again = await client.post(BASE, headers=headers, json=request)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["secret"] and again.json()["secret"] is None
    listed = await client.get(BASE, headers=admin.headers)
    assert len(listed.json()["items"]) == 1


async def test_invalid_requests_are_422_and_write_nothing(client: Any, admin: Member) -> None:
    bad = [
        {"kind": "wechat_mp", "name": "公众号"},
        {"kind": "carrier_pigeon", "name": "x"},
        {"kind": "h5_form", "name": ""},
        {"kind": "h5_form", "name": "x", "config": {"unknown_key": 1}},
        {"kind": "h5_form", "name": "x", "config": {"default_priority": "asap"}},
        {"kind": "h5_form", "name": "x", "config": {"default_team_id": "not-a-uuid"}},
        {"kind": "h5_form", "name": "x", "config": {"default_team_id": str(uuid.uuid4())}},
        {"kind": "h5_form", "name": "x", "config": {"thread_window_hours": -1}},
        {"kind": "h5_form", "name": "x", "config": {"max_photos": 10}},
        {"kind": "h5_form", "name": "x", "config": {"source_labels": [{"code": "有 空格"}]}},
        {"kind": "h5_form", "name": "x", "config": {"source_labels": [{"code": "a"}, {"code": "a"}]}},
        {"kind": "h5_form", "name": "x", "config": {"secret": SECRET}},
        {"kind": "webhook", "name": "x", "config": {"secret": SECRET}},
        {"kind": "webhook", "name": "x", "config": {"secret": "short", "preset": "iot_alarm"}},
        {"kind": "webhook", "name": "x", "config": {"preset": "no_such_preset"}},
        {"kind": "webhook", "name": "x", "config": {"mapping": {"text": "body"}}},
        {"kind": "webhook", "name": "x", "config": {"mapping": {"external_id": "id", "text": "a[?"}}},
        {"kind": "webhook", "name": "x", "config": {"mapping": {"external_id": "id", "text": "t", "x": "y"}}},
        {
            "kind": "webhook",
            "name": "x",
            "config": {"mapping": {"external_id": "id", "text": "t", "identities": {"qq": "qq"}}},
        },
        {"kind": "api", "name": "x", "config": {"channel": "Bad Channel"}},
        {"kind": "api", "name": "x", "extra": True},
    ]
    for request in bad:
        response = await client.post(BASE, headers=admin.headers, json=request)
        assert_problem(response, 422)
    listed = await client.get(BASE, headers=admin.headers)
    assert listed.json()["items"] == []


async def test_patch_merges_config_and_keeps_the_secret(client: Any, admin: Member) -> None:
    created = await create_entry_point(client, admin, "webhook", secret=SECRET, preset="erp_after_sales")
    url = f"{BASE}/{created['id']}"
    response = await client.patch(
        url, headers=admin.headers, json={"name": "ERP 售后", "config": {"default_priority": "urgent"}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "ERP 售后"
    assert body["config"] == {"preset": "erp_after_sales", "channel": "erp", "default_priority": "urgent"}
    assert body["secret_hint"] == "…" + SECRET[-4:]

    removed = await client.patch(url, headers=admin.headers, json={"config": {"default_priority": None}})
    assert "default_priority" not in removed.json()["config"]
    off = await client.patch(url, headers=admin.headers, json={"is_active": False})
    assert off.json()["is_active"] is False

    assert_problem(await client.patch(url, headers=admin.headers, json={"config": {"secret": "short"}}), 422)
    assert_problem(await client.patch(url, headers=admin.headers, json={"config": {"preset": None}}), 422)
    assert_problem(await client.patch(url, headers=admin.headers, json={"name": None}), 422)
    assert_problem(await client.patch(url, headers=admin.headers, json={"kind": "api"}), 422)
    after = (await client.get(url, headers=admin.headers)).json()
    assert after["config"]["preset"] == "erp_after_sales"
    assert after["secret_hint"] == "…" + SECRET[-4:]


async def test_delete_removes_an_unused_entry_point(client: Any, admin: Member) -> None:
    created = await create_entry_point(client, admin, "api", name="ERP 接口")
    response = await client.delete(f"{BASE}/{created['id']}", headers=admin.headers)
    assert response.status_code == 200
    assert response.json() == {"id": created["id"], "outcome": "deleted"}
    assert_problem(await client.get(f"{BASE}/{created['id']}", headers=admin.headers), 404)


async def test_delete_deactivates_an_entry_point_with_tickets(client: Any, admin: Member, app: Any) -> None:
    created = await create_entry_point(client, admin, "h5_form")
    async with public_client(app) as public:
        submitted = await public.post(
            f"/api/v1/public/forms/{created['public_key']}/submissions", json={"description": "洗衣机漏水"}
        )
        assert submitted.status_code == 201, submitted.text
    response = await client.delete(f"{BASE}/{created['id']}", headers=admin.headers)
    assert response.json() == {"id": created["id"], "outcome": "deactivated"}
    assert (await client.get(f"{BASE}/{created['id']}", headers=admin.headers)).json()["is_active"] is False
    async with public_client(app) as public:
        assert_problem(await public.get(f"/api/v1/public/forms/{created['public_key']}"), 404)


async def test_agents_and_anonymous_callers_cannot_manage_entry_points(
    client: Any, admin: Member, runtime: Any
) -> None:
    agent = await make_member(runtime, await _tenant_of(runtime, admin), "agent")
    created = await create_entry_point(client, admin, "h5_form")
    url = f"{BASE}/{created['id']}"
    for response in (
        await client.post(BASE, headers=agent.headers, json={"kind": "api", "name": "x"}),
        await client.get(BASE, headers=agent.headers),
        await client.get(url, headers=agent.headers),
        await client.patch(url, headers=agent.headers, json={"name": "改"}),
        await client.delete(url, headers=agent.headers),
        await client.get(f"{url}/qr.png", headers=agent.headers),
        await client.get(f"{BASE}/stats", headers=agent.headers),
        await client.get("/api/v1/webhook-presets", headers=agent.headers),
    ):
        assert_problem(response, 403)
    assert_problem(await client.get(BASE), 401)
    assert (await client.get(url, headers=admin.headers)).json()["name"] == created["name"]


async def test_another_tenant_sees_none_of_a_tenants_entry_points(
    client: Any, admin: Member, runtime: Any
) -> None:
    created = await create_entry_point(client, admin, "webhook", secret=SECRET, preset="iot_alarm")
    intruder = await make_member(runtime, await make_tenant(runtime), "admin")
    url = f"{BASE}/{created['id']}"
    assert (await client.get(BASE, headers=intruder.headers)).json()["items"] == []
    for response in (
        await client.get(url, headers=intruder.headers),
        await client.patch(
            url, headers=intruder.headers, json={"name": "改", "config": {"secret": "x" * 20}}
        ),
        await client.delete(url, headers=intruder.headers),
        await client.get(f"{url}/qr.svg", headers=intruder.headers),
    ):
        assert_problem(response, 404)
    stats = await client.get(f"{BASE}/stats", headers=intruder.headers)
    assert stats.json()["items"] == []
    after = (await client.get(url, headers=admin.headers)).json()
    assert after["name"] == created["name"] and after["is_active"] is True
    assert after["secret_hint"] == "…" + SECRET[-4:]


async def test_qr_codes_encode_the_form_url_with_the_source(client: Any, admin: Member, runtime: Any) -> None:
    created = await create_entry_point(client, admin, "h5_form")
    url = f"{BASE}/{created['id']}"
    expected = form_url(runtime.settings.public_url, created["public_key"], "store-12")
    assert expected.endswith(f"/h5/f/{created['public_key']}?src=store-12")

    png = await client.get(f"{url}/qr.png", headers=admin.headers, params={"source": "store-12"})
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert png.headers["x-form-url"] == expected
    reference = io.BytesIO()
    segno.make(expected, error="m", micro=False).save(reference, kind="png", scale=10, border=4)
    assert png.content == reference.getvalue()

    svg = await client.get(f"{url}/qr.svg", headers=admin.headers)
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.lstrip().startswith("<svg") and "<path" in svg.text
    assert svg.headers["x-form-url"] == created["form_url"]

    assert_problem(await client.get(f"{url}/qr.png", headers=admin.headers, params={"source": "a b"}), 422)
    hook = await create_entry_point(client, admin, "api")
    assert_problem(await client.get(f"{BASE}/{hook['id']}/qr.png", headers=admin.headers), 404)


async def test_stats_count_tickets_per_entry_point_and_source(client: Any, admin: Member, app: Any) -> None:
    receipt = await create_entry_point(
        client,
        admin,
        "h5_form",
        name="收银小票",
        source_labels=[{"code": "store-12", "name": "12号店", "kind": "store"}],
        thread_window_hours=0,
        fold_window_minutes=0,
    )
    unused = await create_entry_point(client, admin, "api", name="没人用")
    path = f"/api/v1/public/forms/{receipt['public_key']}/submissions"
    sources = ["store-12", "store-12", "live-0611", None]
    for number, source in enumerate(sources):
        async with public_client(app) as public:
            body: dict[str, Any] = {"description": f"第 {number} 个问题：热水器不出热水", "source": source}
            response = await public.post(path, json=body)
            assert response.status_code == 201, response.text

    stats = await client.get(f"{BASE}/stats", headers=admin.headers)
    assert stats.status_code == 200, stats.text
    report = stats.json()
    assert report["total"] == 4
    first, second = report["items"]
    assert first["entry_point_id"] == receipt["id"] and first["tickets"] == 4
    assert first["sources"] == [
        {"source": "store-12", "label": "12号店", "tickets": 2},
        {"source": None, "label": None, "tickets": 1},
        {"source": "live-0611", "label": None, "tickets": 1},
    ]
    assert second == {
        "entry_point_id": unused["id"],
        "name": "没人用",
        "kind": "api",
        "channel": "api",
        "is_active": True,
        "tickets": 0,
        "sources": [],
    }
    past = utcnow() - timedelta(days=400)
    old = await client.get(
        f"{BASE}/stats",
        headers=admin.headers,
        params={"from": past.isoformat(), "to": (past + timedelta(days=1)).isoformat()},
    )
    assert old.json()["total"] == 0
    assert_problem(
        await client.get(
            f"{BASE}/stats",
            headers=admin.headers,
            params={"from": utcnow().isoformat(), "to": past.isoformat()},
        ),
        422,
    )


async def test_presets_are_listed_for_admins(client: Any, admin: Member) -> None:
    response = await client.get("/api/v1/webhook-presets", headers=admin.headers)
    assert response.status_code == 200
    names = [item["name"] for item in response.json()["items"]]
    assert names == ["douyin_im", "erp_after_sales", "iot_alarm", "mini_program"]
