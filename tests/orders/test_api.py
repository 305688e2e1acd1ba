"""Order, opportunity and ticket-order routes: create/list/read/change with validation, conflicts,
idempotency, permissions, tenant isolation, and linking orders to tickets by hand (with the ERP)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from huiliu.orders.lookup import OrderLookup
from huiliu.orders.models import Opportunity, Order, TicketOrder
from huiliu.runtime import Runtime
from tests.factories import Member, make_member, make_team, make_tenant, make_ticket
from tests.orders.conftest import ERP_TOKEN, ERP_URL, FakeErp, make_customer
from tests.tickets.conftest import journal

ORDERS = "/api/v1/orders"
OPPORTUNITIES = "/api/v1/opportunities"


def ticket_orders(ticket_id: Any) -> str:
    return f"/api/v1/tickets/{ticket_id}/orders"


async def counts(runtime: Runtime, tenant_id: uuid.UUID) -> tuple[int, int, int]:
    async with runtime.db.read(tenant_id) as session:
        return (
            int((await session.execute(select(func.count()).select_from(Order))).scalar_one()),
            int((await session.execute(select(func.count()).select_from(Opportunity))).scalar_one()),
            int((await session.execute(select(func.count()).select_from(TicketOrder))).scalar_one()),
        )


async def api_key(client: httpx.AsyncClient, admin: Member, *scopes: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/api-keys", headers=admin.headers, json={"name": "ERP", "scopes": list(scopes)}
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


async def test_create_read_list_and_change_an_order(
    client: httpx.AsyncClient, runtime: Runtime, admin: Member
) -> None:
    customer_id = await make_customer(runtime, admin)
    body = {
        "number": " so２０２６１１２３００１ ",
        "customer_id": str(customer_id),
        "platform": "ERP",
        "status": "paid",
        "amount": "1299.5",
        "items": [{"name": "扫地机器人 X1", "sku": "X1-W", "quantity": "2", "unit_price": "649.75"}],
        "placed_at": "2026-11-11T00:05:00+08:00",
        "attributes": {"store": "上海一店"},
    }
    created = await client.post(ORDERS, headers=admin.headers, json=body)
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["number"] == "SO20261123001"
    assert order["platform"] == "erp"
    assert order["amount"] == "1299.50"
    assert order["currency"] == "CNY"
    assert order["origin"] == "api"
    assert order["items"] == [
        {"name": "扫地机器人 X1", "sku": "X1-W", "quantity": "2", "unit_price": "649.75"}
    ]
    assert order["placed_at"].startswith("2026-11-10T16:05:00")

    got = await client.get(f"{ORDERS}/{order['id']}", headers=admin.headers)
    assert got.json() == order

    changed = await client.patch(
        f"{ORDERS}/{order['id']}",
        headers=admin.headers,
        json={"status": "refunding", "amount": None, "attributes": {"store": None, "reason": "质量问题"}},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["status"], changed.json()["amount"]) == ("refunding", None)
    assert changed.json()["attributes"] == {"reason": "质量问题"}

    for params in (
        {"customer_id": str(customer_id)},
        {"number": "so20261123001"},
        {"platform": "erp", "status": "refunding"},
    ):
        listed = await client.get(ORDERS, headers=admin.headers, params=params)
        assert [o["id"] for o in listed.json()["items"]] == [order["id"]], params
    none = await client.get(ORDERS, headers=admin.headers, params={"status": "paid"})
    assert none.json()["items"] == []


async def test_order_pages_follow_the_cursor(client: httpx.AsyncClient, admin: Member) -> None:
    ids = []
    for n in range(5):
        response = await client.post(ORDERS, headers=admin.headers, json={"number": f"PAGE{n}"})
        ids.append(response.json()["id"])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(ORDERS, headers=admin.headers, params=params)).json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    bad = await client.get(ORDERS, headers=admin.headers, params={"cursor": "nonsense"})
    assert bad.status_code == 422


async def test_duplicate_numbers_are_a_conflict(client: httpx.AsyncClient, admin: Member) -> None:
    first = await client.post(ORDERS, headers=admin.headers, json={"number": "JD289123456789"})
    again = await client.post(ORDERS, headers=admin.headers, json={"number": "jd289123456789"})
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["order_id"] == first.json()["id"]
    other = await client.post(ORDERS, headers=admin.headers, json={"number": "JD289123456790"})
    renamed = await client.patch(
        f"{ORDERS}/{other.json()['id']}", headers=admin.headers, json={"number": "JD289123456789"}
    )
    assert renamed.status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"number": "SO 1"},
        {"number": "SO1", "amount": "-1"},
        {"number": "SO1", "amount": "1.001"},
        {"number": "SO1", "amount": "lots"},
        {"number": "SO1", "status": "teleported"},
        {"number": "SO1", "placed_at": "2026-11-11T00:05:00"},  # no time zone
        {"number": "SO1", "currency": "元"},
        {"number": "SO1", "platform": "淘宝"},
        {"number": "SO1", "items": [{"sku": "X"}]},
        {"number": "SO1", "items": [{"name": "x", "quantity": 0}]},
        {"number": "SO1", "customer_id": str(uuid.uuid4())},
        {"number": "SO1", "surprise": True},
    ],
)
async def test_bad_orders_are_refused_and_write_nothing(
    client: httpx.AsyncClient, runtime: Runtime, admin: Member, body: dict[str, Any]
) -> None:
    before = await counts(runtime, admin.actor.tenant_id)
    response = await client.post(ORDERS, headers=admin.headers, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await counts(runtime, admin.actor.tenant_id) == before


@pytest.mark.parametrize(
    "body", [{"number": None}, {"items": None}, {"amount": "0.001"}, {"customer_id": str(uuid.uuid4())}]
)
async def test_bad_order_changes_are_refused(
    client: httpx.AsyncClient, admin: Member, body: dict[str, Any]
) -> None:
    order = (await client.post(ORDERS, headers=admin.headers, json={"number": "KEEP1", "amount": "5"})).json()
    response = await client.patch(f"{ORDERS}/{order['id']}", headers=admin.headers, json=body)
    assert response.status_code == 422, response.text
    assert (await client.get(f"{ORDERS}/{order['id']}", headers=admin.headers)).json() == order


async def test_create_honours_the_idempotency_key(
    client: httpx.AsyncClient, runtime: Runtime, admin: Member
) -> None:
    headers = {**admin.headers, "Idempotency-Key": "order-1"}
    first = await client.post(ORDERS, headers=headers, json={"number": "IDEM1"})
    second = await client.post(ORDERS, headers=headers, json={"number": "IDEM1"})
    assert first.status_code == 201 and second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    reused = await client.post(ORDERS, headers=headers, json={"number": "IDEM2"})
    assert reused.status_code == 422


async def test_opportunity_lifecycle(client: httpx.AsyncClient, runtime: Runtime, admin: Member) -> None:
    customer_id = await make_customer(runtime, admin, "某连锁超市")
    created = await client.post(
        OPPORTUNITIES,
        headers=admin.headers,
        json={
            "customer_id": str(customer_id),
            "title": "门店收银系统升级",
            "amount": "50000",
            "expected_close_at": "2026-12-31T10:00:00+08:00",
            "owner_id": str(admin.user.id),
        },
    )
    assert created.status_code == 201, created.text
    opportunity = created.json()
    assert (opportunity["stage"], opportunity["amount"], opportunity["closed_at"]) == (
        "qualification",
        "50000.00",
        None,
    )

    won = await client.patch(
        f"{OPPORTUNITIES}/{opportunity['id']}", headers=admin.headers, json={"stage": "won"}
    )
    assert won.json()["closed_at"] is not None
    reopened = await client.patch(
        f"{OPPORTUNITIES}/{opportunity['id']}",
        headers=admin.headers,
        json={"stage": "negotiation", "owner_id": None},
    )
    assert (reopened.json()["closed_at"], reopened.json()["owner_id"]) == (None, None)

    for params in ({"customer_id": str(customer_id)}, {"stage": "negotiation"}):
        listed = await client.get(OPPORTUNITIES, headers=admin.headers, params=params)
        assert [o["id"] for o in listed.json()["items"]] == [opportunity["id"]]
    got = await client.get(f"{OPPORTUNITIES}/{opportunity['id']}", headers=admin.headers)
    assert got.json() == reopened.json()


@pytest.mark.parametrize(
    "change",
    [
        {"customer_id": None},
        {"customer_id": "random"},
        {"title": ""},
        {"stage": "maybe"},
        {"owner_id": "random"},
        {"amount": "-3"},
    ],
)
async def test_bad_opportunities_are_refused(
    client: httpx.AsyncClient, runtime: Runtime, admin: Member, change: dict[str, Any]
) -> None:
    customer_id = await make_customer(runtime, admin)
    body = {"customer_id": str(customer_id), "title": "商机", **change}
    body = {k: (str(uuid.uuid4()) if v == "random" else v) for k, v in body.items()}
    before = await counts(runtime, admin.actor.tenant_id)
    response = await client.post(OPPORTUNITIES, headers=admin.headers, json=body)
    assert response.status_code == 422, response.text
    assert await counts(runtime, admin.actor.tenant_id) == before


async def test_tenants_never_see_each_other(
    client: httpx.AsyncClient, runtime: Runtime, admin: Member
) -> None:
    other_tenant = await make_tenant(runtime)
    other = await make_member(runtime, other_tenant, "admin")
    theirs = (await client.post(ORDERS, headers=other.headers, json={"number": "SECRET1"})).json()
    their_customer = await make_customer(runtime, other)
    their_opportunity = (
        await client.post(
            OPPORTUNITIES, headers=other.headers, json={"customer_id": str(their_customer), "title": "x"}
        )
    ).json()

    assert (await client.get(f"{ORDERS}/{theirs['id']}", headers=admin.headers)).status_code == 404
    assert (
        await client.patch(f"{ORDERS}/{theirs['id']}", headers=admin.headers, json={"status": "paid"})
    ).status_code == 404
    assert (await client.get(ORDERS, headers=admin.headers, params={"number": "SECRET1"})).json()[
        "items"
    ] == []
    assert (
        await client.get(f"{OPPORTUNITIES}/{their_opportunity['id']}", headers=admin.headers)
    ).status_code == 404
    # Their customer is unknown here; the same number is free here.
    refused = await client.post(
        ORDERS, headers=admin.headers, json={"number": "X1", "customer_id": str(their_customer)}
    )
    assert refused.status_code == 422
    assert (await client.post(ORDERS, headers=admin.headers, json={"number": "SECRET1"})).status_code == 201
    ticket = await make_ticket(runtime, admin)
    linked = await client.post(
        ticket_orders(ticket["id"]), headers=admin.headers, json={"order_id": theirs["id"]}
    )
    assert linked.status_code == 404
    their_ticket = await make_ticket(runtime, other)
    assert (await client.get(ticket_orders(their_ticket["id"]), headers=admin.headers)).status_code == 404


async def test_permissions(client: httpx.AsyncClient, runtime: Runtime, tenant: Any, admin: Member) -> None:
    order = (await client.post(ORDERS, headers=admin.headers, json={"number": "PERM1"})).json()
    tickets_only = await api_key(client, admin, "tickets:read")
    assert (await client.get(ORDERS, headers=tickets_only)).status_code == 403
    assert (await client.get(OPPORTUNITIES, headers=tickets_only)).status_code == 403
    reader = await api_key(client, admin, "orders:read")
    assert (await client.get(f"{ORDERS}/{order['id']}", headers=reader)).status_code == 200
    assert (await client.post(ORDERS, headers=reader, json={"number": "PERM2"})).status_code == 403
    assert (
        await client.patch(f"{ORDERS}/{order['id']}", headers=reader, json={"status": "paid"})
    ).status_code == 403
    writer = await api_key(client, admin, "orders:write")
    assert (await client.post(ORDERS, headers=writer, json={"number": "PERM2"})).status_code == 201
    ticket = await make_ticket(runtime, admin)
    # Linking changes the ticket: it needs ticket.update as well.
    assert (
        await client.post(ticket_orders(ticket["id"]), headers=writer, json={"order_id": order["id"]})
    ).status_code == 403
    agent = await make_member(runtime, tenant, "agent")
    assert (await client.post(ORDERS, headers=agent.headers, json={"number": "AGENT1"})).status_code == 201


async def test_link_and_unlink_an_order_by_hand(
    client: httpx.AsyncClient, runtime: Runtime, admin: Member
) -> None:
    ticket = await make_ticket(runtime, admin, customer={"name": "张三", "phone": "13800138100"})
    order = (await client.post(ORDERS, headers=admin.headers, json={"number": "MANUAL1"})).json()
    log = await journal(runtime, admin.actor.tenant_id)

    linked = await client.post(ticket_orders(ticket["id"]), headers=admin.headers, json={"number": "manual1"})
    assert linked.status_code == 201, linked.text
    assert linked.json()["order"]["id"] == order["id"]
    assert (linked.json()["source"], linked.json()["linked_by"]) == ("manual", admin.actor.name)
    again = await client.post(
        ticket_orders(ticket["id"]), headers=admin.headers, json={"order_id": order["id"]}
    )
    assert again.status_code == 200
    listed = await client.get(ticket_orders(ticket["id"]), headers=admin.headers)
    assert [item["order"]["number"] for item in listed.json()["items"]] == ["MANUAL1"]

    removed = await client.delete(f"{ticket_orders(ticket['id'])}/{order['id']}", headers=admin.headers)
    assert removed.status_code == 204
    assert (
        await client.delete(f"{ticket_orders(ticket['id'])}/{order['id']}", headers=admin.headers)
    ).status_code == 404
    assert (await client.get(ticket_orders(ticket["id"]), headers=admin.headers)).json()["items"] == []
    assert (
        await client.get(f"{ORDERS}/{order['id']}", headers=admin.headers)
    ).status_code == 200  # the order stays
    written = await log.since()
    assert written.types() == ["ticket.order_linked", "ticket.order_unlinked"]
    assert [row.payload["data"]["order"]["number"] for row in written.outbox] == ["MANUAL1", "MANUAL1"]


@pytest.mark.parametrize(
    "body",
    [{}, {"order_id": str(uuid.uuid4()), "number": "X1"}, {"number": "has space"}, {"order_id": "nope"}],
)
async def test_bad_link_requests_are_refused(
    client: httpx.AsyncClient, runtime: Runtime, admin: Member, body: dict[str, Any]
) -> None:
    ticket = await make_ticket(runtime, admin)
    response = await client.post(ticket_orders(ticket["id"]), headers=admin.headers, json=body)
    assert response.status_code == 422


async def test_linking_unknown_orders_is_a_404(
    client: httpx.AsyncClient, runtime: Runtime, admin: Member
) -> None:
    ticket = await make_ticket(runtime, admin)
    for body in ({"number": "NOBODY1"}, {"order_id": str(uuid.uuid4())}):
        response = await client.post(ticket_orders(ticket["id"]), headers=admin.headers, json=body)
        assert response.status_code == 404
    missing_ticket = await client.post(
        ticket_orders(uuid.uuid4()), headers=admin.headers, json={"number": "X"}
    )
    assert missing_ticket.status_code == 404


@pytest.fixture
def erp(app: Any) -> Iterator[FakeErp]:
    """A fake ERP plugged in as the app's order lookup for one test."""
    fake = FakeErp(orders={"SO20261123009": {"number": "SO20261123009", "status": "completed", "amount": 88}})
    previous = app.state.order_lookup
    app.state.order_lookup = OrderLookup(ERP_URL, token=ERP_TOKEN, transport=fake.transport())
    try:
        yield fake
    finally:
        app.state.order_lookup = previous


async def test_link_by_number_asks_the_erp(
    client: httpx.AsyncClient, runtime: Runtime, admin: Member, erp: FakeErp
) -> None:
    ticket = await make_ticket(runtime, admin, customer={"name": "张三", "phone": "13800138101"})
    response = await client.post(
        ticket_orders(ticket["id"]), headers=admin.headers, json={"number": "SO20261123009"}
    )
    assert response.status_code == 201, response.text
    order = response.json()["order"]
    assert (order["origin"], order["status"], order["amount"], order["customer_id"]) == (
        "lookup",
        "completed",
        "88.00",
        str(ticket["customer_id"]),
    )
    assert erp.numbers_asked() == ["SO20261123009"]
    unknown = await client.post(ticket_orders(ticket["id"]), headers=admin.headers, json={"number": "SO404"})
    assert unknown.status_code == 404


async def test_agents_link_only_on_tickets_in_their_scope(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Any, admin: Member
) -> None:
    team = await make_team(runtime, tenant)
    other_team = await make_team(runtime, tenant)
    agent = await make_member(runtime, tenant, "agent", team=team)
    mine = await make_ticket(runtime, admin, team_id=team.id)
    theirs = await make_ticket(runtime, admin, team_id=other_team.id)
    order = (await client.post(ORDERS, headers=admin.headers, json={"number": "SCOPE1"})).json()
    ok = await client.post(ticket_orders(mine["id"]), headers=agent.headers, json={"order_id": order["id"]})
    assert ok.status_code == 201
    hidden = await client.post(
        ticket_orders(theirs["id"]), headers=agent.headers, json={"order_id": order["id"]}
    )
    assert hidden.status_code == 404
    assert (await client.get(ticket_orders(theirs["id"]), headers=agent.headers)).status_code == 404
