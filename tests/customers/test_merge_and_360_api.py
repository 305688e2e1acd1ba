"""Merge, undo and history routes, and the customer 360 view (contents, data scope, masking)."""

from __future__ import annotations

import uuid

from tests.customers.conftest import bearer, create_key
from tests.factories import make_member, make_team, make_tenant, make_ticket


def phone() -> str:
    return "136" + str(uuid.uuid4().int)[:8]


async def create(client, member, name: str, *identities: tuple[str, str]) -> dict:
    body = {"name": name, "identities": [{"kind": k, "value": v} for k, v in identities]}
    response = await client.post("/api/v1/customers", headers=member.headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_manual_merge_history_and_undo(client, runtime, admin):
    keep = await create(client, admin, "张三", ("phone", phone()))
    dup = await create(client, admin, "张三（重复）", ("email", f"z{uuid.uuid4().hex[:8]}@example.com"))
    ticket = await make_ticket(runtime, admin, customer={"email": dup["identities"][0]["value"]})
    assert ticket["customer_id"] == uuid.UUID(dup["id"])

    merged = await client.post(
        f"/api/v1/customers/{keep['id']}/merge",
        headers=admin.headers,
        json={"other_id": dup["id"], "reason": "同一人"},
    )
    assert merged.status_code == 201, merged.text
    merge = merged.json()
    assert (merge["survivor_id"], merge["merged_id"], merge["mode"], merge["reason"]) == (
        keep["id"],
        dup["id"],
        "manual",
        "同一人",
    )
    assert merge["moved"]["tickets"] == [str(ticket["id"])] and len(merge["moved"]["identities"]) == 1
    assert merge["actor_name"] == "管理员" and merge["undone_at"] is None

    survivor = (await client.get(f"/api/v1/customers/{keep['id']}", headers=admin.headers)).json()
    assert {i["kind"] for i in survivor["identities"]} == {"phone", "email"}
    assert [t["id"] for t in survivor["tickets"]] == [str(ticket["id"])]
    gone = (await client.get(f"/api/v1/customers/{dup['id']}", headers=admin.headers)).json()
    assert gone["merged_into_id"] == keep["id"] and gone["identities"] == []
    listed = await client.get("/api/v1/customers", headers=admin.headers, params={"q": "张三"})
    assert dup["id"] not in [c["id"] for c in listed.json()["items"]]
    for customer_id in (keep["id"], dup["id"]):
        history = await client.get(f"/api/v1/customers/{customer_id}/merges", headers=admin.headers)
        assert [m["id"] for m in history.json()["items"]] == [merge["id"]]

    again = await client.post(
        f"/api/v1/customers/{keep['id']}/merge", headers=admin.headers, json={"other_id": dup["id"]}
    )
    assert again.status_code == 409
    undone = await client.post(f"/api/v1/customers/merges/{merge['id']}/undo", headers=admin.headers)
    assert undone.status_code == 200 and undone.json()["undone_at"] is not None
    assert undone.json()["undone_by_name"] == "管理员"
    restored = (await client.get(f"/api/v1/customers/{dup['id']}", headers=admin.headers)).json()
    assert restored["merged_into_id"] is None and restored["identities"] == dup["identities"]
    assert [t["id"] for t in restored["tickets"]] == [str(ticket["id"])]
    twice = await client.post(f"/api/v1/customers/merges/{merge['id']}/undo", headers=admin.headers)
    assert twice.status_code == 409 and twice.headers["content-type"] == "application/problem+json"


async def test_merge_requests_are_validated_and_authorized(client, runtime, admin):
    a = await create(client, admin, "甲", ("phone", phone()))
    b = await create(client, admin, "乙", ("phone", phone()))
    for body, status in (
        ({"other_id": a["id"]}, 422),
        ({"other_id": str(uuid.uuid4())}, 404),
        ({"other_id": "not-a-uuid"}, 422),
        ({"other_id": b["id"], "force": True}, 422),
        ({}, 422),
    ):
        response = await client.post(f"/api/v1/customers/{a['id']}/merge", headers=admin.headers, json=body)
        assert response.status_code == status, (body, response.text)
    reader = bearer(await create_key(client, admin, "tickets:read"))
    assert (
        await client.post(f"/api/v1/customers/{a['id']}/merge", headers=reader, json={"other_id": b["id"]})
    ).status_code == 403
    assert (
        await client.post(f"/api/v1/customers/merges/{uuid.uuid4()}/undo", headers=admin.headers)
    ).status_code == 404
    assert (
        await client.get(f"/api/v1/customers/{uuid.uuid4()}/merges", headers=admin.headers)
    ).status_code == 404

    other_tenant = await make_tenant(runtime)
    outsider = await make_member(runtime, other_tenant, "admin")
    theirs = await create(client, outsider, "丙", ("phone", phone()))
    cross = await client.post(
        f"/api/v1/customers/{a['id']}/merge", headers=admin.headers, json={"other_id": theirs["id"]}
    )
    assert cross.status_code == 404
    merge = (
        await client.post(
            f"/api/v1/customers/{a['id']}/merge", headers=admin.headers, json={"other_id": b["id"]}
        )
    ).json()
    assert (
        await client.post(f"/api/v1/customers/merges/{merge['id']}/undo", headers=outsider.headers)
    ).status_code == 404
    assert (
        await client.get(f"/api/v1/customers/{a['id']}/merges", headers=outsider.headers)
    ).status_code == 404
    assert (await client.get(f"/api/v1/customers/{a['id']}/360", headers=outsider.headers)).status_code == 404


async def test_customer_360_respects_the_callers_ticket_scope(client, runtime, tenant, admin):
    number = phone()
    team_a, team_b = await make_team(runtime, tenant), await make_team(runtime, tenant)
    agent = await make_member(runtime, tenant, "agent", team=team_a)
    mine = await make_ticket(
        runtime, admin, title="A组工单", customer={"name": "周杰", "phone": number}, team_id=team_a.id
    )
    theirs = await make_ticket(runtime, admin, title="B组工单", customer={"phone": number}, team_id=team_b.id)
    customer_id = mine["customer_id"]
    assert theirs["customer_id"] == customer_id
    note = await client.post(
        f"/api/v1/tickets/{mine['id']}/messages",
        headers=admin.headers,
        json={"body": "已联系客户", "public": True},
    )
    assert note.status_code == 201, note.text
    resolved = await client.post(
        f"/api/v1/tickets/{theirs['id']}/status", headers=admin.headers, json={"status": "resolved"}
    )
    assert resolved.status_code == 200, resolved.text

    full = (await client.get(f"/api/v1/customers/{customer_id}/360", headers=admin.headers)).json()
    assert full["customer"]["name"] == "周杰" and full["customer"]["identities"][0]["value"] == number
    assert full["tickets"]["counts"] == {"total": 2, "by_status": {"open": 1, "resolved": 1}}
    assert {t["title"] for t in full["tickets"]["recent"]} == {"A组工单", "B组工单"}
    kinds = [(e["type"], e.get("ticket_number")) for e in full["timeline"]]
    assert ("ticket.resolved", theirs["number"]) in kinds and ("ticket.created", mine["number"]) in kinds
    created_mine = next(
        e for e in full["timeline"] if e["type"] == "ticket.created" and e["ticket_id"] == str(mine["id"])
    )
    assert created_mine["message_count"] == 1
    assert [e["at"] for e in full["timeline"]] == sorted((e["at"] for e in full["timeline"]), reverse=True)

    scoped = (await client.get(f"/api/v1/customers/{customer_id}/360", headers=agent.headers)).json()
    assert scoped["tickets"]["counts"] == {"total": 1, "by_status": {"open": 1}}
    assert [t["title"] for t in scoped["tickets"]["recent"]] == ["A组工单"]
    assert all(e.get("ticket_id") in (None, str(mine["id"])) for e in scoped["timeline"])


async def test_360_shows_merges_on_the_timeline_and_masks_phones_for_readers(client, runtime, admin):
    number = phone()
    union = f"oU{uuid.uuid4().hex[:20]}"
    first = await create(client, admin, "吴磊", ("phone", number))
    second = await create(client, admin, "小吴", ("wechat_unionid", union))
    # A channel that verified the phone reports both identities: the two customers merge (auto).
    await make_ticket(runtime, admin, customer={"phone": number})
    from huiliu.customers.service import resolve_customer

    async with runtime.db.uow(admin.actor.tenant_id) as uow:
        survivor = await resolve_customer(uow, None, [("phone", number, True), ("wechat_unionid", union)])
        await uow.commit()
    assert str(survivor) == first["id"]
    view = (await client.get(f"/api/v1/customers/{first['id']}/360", headers=admin.headers)).json()
    [merge] = view["merges"]
    assert (merge["mode"], merge["merged_id"]) == ("auto", second["id"])
    assert {"kind": "phone", "value": number} in merge["moved"]["keys"]
    assert "customer.merged" in [e["type"] for e in view["timeline"]]

    reader = bearer(await create_key(client, admin, "tickets:read"))
    masked = (await client.get(f"/api/v1/customers/{first['id']}/360", headers=reader)).json()
    assert masked["customer"]["identities"][0]["value"] == number[:3] + "****" + number[-4:]
    assert {"kind": "phone", "value": number[:3] + "****" + number[-4:]} in masked["merges"][0]["moved"][
        "keys"
    ]
    assert number not in str(masked)


async def test_360_lists_orders_and_opportunities_that_follow_merges(client, runtime, admin):
    keep = await create(client, admin, "郑爽", ("phone", phone()))
    dup = await create(client, admin, "郑爽2", ("phone", phone()))
    number = f"T{uuid.uuid4().int % 10**18:018d}"
    order = await client.post(
        "/api/v1/orders",
        headers=admin.headers,
        json={"number": number, "customer_id": dup["id"], "platform": "taobao", "amount": "1299.00"},
    )
    assert order.status_code == 201, order.text
    deal = await client.post(
        "/api/v1/opportunities", headers=admin.headers, json={"customer_id": dup["id"], "title": "门店升级"}
    )
    assert deal.status_code == 201, deal.text
    merge = (
        await client.post(
            f"/api/v1/customers/{keep['id']}/merge", headers=admin.headers, json={"other_id": dup["id"]}
        )
    ).json()
    assert merge["moved"]["orders"] == [order.json()["id"]]
    assert merge["moved"]["opportunities"] == [deal.json()["id"]]
    view = (await client.get(f"/api/v1/customers/{keep['id']}/360", headers=admin.headers)).json()
    assert [o["number"] for o in view["orders"]] == [order.json()["number"]]
    assert [o["title"] for o in view["opportunities"]] == ["门店升级"]
    assert ("order.placed", order.json()["number"]) in [(e["type"], e.get("title")) for e in view["timeline"]]

    await client.post(f"/api/v1/customers/merges/{merge['id']}/undo", headers=admin.headers)
    back = (await client.get(f"/api/v1/customers/{dup['id']}/360", headers=admin.headers)).json()
    assert len(back["orders"]) == 1 and len(back["opportunities"]) == 1
    reader = bearer(await create_key(client, admin, "tickets:read"))
    hidden = (await client.get(f"/api/v1/customers/{dup['id']}/360", headers=reader)).json()
    assert hidden["orders"] == [] and hidden["opportunities"] == []
