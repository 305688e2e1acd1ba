"""Every ticket route: the happy path and its errors, all errors as problem+json."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from huiliu.core import clock
from huiliu.core.problem import PROBLEM_MEDIA_TYPE
from huiliu.tickets.models import Ticket, TicketEvent
from tests.auth.conftest import bearer, create_key
from tests.factories import make_member, make_team, make_tenant, make_ticket

BASE = "/api/v1/tickets"


def assert_problem(response, status: int, slug: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    if slug is not None:
        assert body["type"].endswith("/" + slug)
    return body


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


@pytest.fixture
async def reader(client, admin):
    return bearer(await create_key(client, admin, "tickets:read"))


@pytest.fixture
async def ticket(runtime, admin):
    return await make_ticket(runtime, admin)


# --- create ------------------------------------------------------------------------------------------


async def test_create_returns_the_ticket(client, admin):
    response = await client.post(
        BASE,
        headers=admin.headers,
        json={
            "title": "退款申请",
            "description": "订单重复扣款<script>x()</script>",
            "priority": "high",
            "customer": {"name": "张女士", "phone": "13800138000"},
            "channel": "wechat_mp",
            "tags": ["退款"],
            "fields": {"order_no": "A1"},
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["number"] == 1 and body["status"] == "new" and body["priority"] == "high"
    assert body["description"] == "订单重复扣款" and body["tags"] == ["退款"]
    assert body["customer_id"] is not None and body["fields"] == {"order_no": "A1"}
    assert body["reopen_count"] == 0 and body["merged_into_id"] is None


async def test_create_errors(client, admin, reader):
    assert_problem(await client.post(BASE, json={"title": "x"}), 401, "not-authenticated")
    assert_problem(await client.post(BASE, headers=reader, json={"title": "x"}), 403, "permission-denied")
    for body in (
        {"title": "x", "unknown": 1},
        {"title": "x", "priority": "critical"},
        {"title": "x", "scenario": "other"},
        {"title": ""},
        {},
        {"title": "x", "customer": {"email": "not-an-email"}},
        {"title": "x", "assignee_id": str(uuid.uuid4())},
        {"title": "x", "tags": ["t" * 65]},
    ):
        assert_problem(await client.post(BASE, headers=admin.headers, json=body), 422, "validation-failed")
    assert_problem(
        await client.post(BASE, headers={**admin.headers, "Authorization": "Bearer nonsense"}, json={}), 401
    )


async def test_create_refuses_a_parent_outside_the_tenant(runtime, client, admin):
    other_tenant = await make_tenant(runtime)
    foreign = await make_ticket(runtime, await make_member(runtime, other_tenant))
    for parent_id in (foreign["id"], uuid.uuid4()):
        response = await client.post(
            BASE, headers=admin.headers, json={"title": "x", "parent_id": str(parent_id)}
        )
        assert_problem(response, 422, "validation-failed")


# --- idempotent creates ------------------------------------------------------------------------------


async def count_tickets(runtime, tenant_id) -> int:
    async with runtime.db.read(tenant_id) as session:
        return (await session.execute(select(func.count(Ticket.id)))).scalar_one()


async def created_events(runtime, tenant_id) -> int:
    async with runtime.db.read(tenant_id) as session:
        statement = select(func.count(TicketEvent.id)).where(TicketEvent.type == "ticket.created")
        return (await session.execute(statement)).scalar_one()


async def test_a_repeated_create_with_the_same_key_returns_the_same_ticket(runtime, client, tenant, admin):
    headers = {**admin.headers, "Idempotency-Key": "order-A1-refund"}
    body = {"title": "退款", "customer": {"phone": "13800000001"}}
    first = await client.post(BASE, headers=headers, json=body)
    second = await client.post(BASE, headers=headers, json=body)
    assert first.status_code == 201 and second.status_code == 201
    assert first.json()["id"] == second.json()["id"] and first.json()["number"] == second.json()["number"]
    assert await count_tickets(runtime, tenant.id) == 1
    assert await created_events(runtime, tenant.id) == 1
    other = await client.post(BASE, headers=headers, json={**body, "title": "另一个"})
    assert_problem(other, 422, "idempotency-key-reused")
    assert await count_tickets(runtime, tenant.id) == 1
    # Without a key, or with another key, the same body creates another ticket.
    assert (await client.post(BASE, headers=admin.headers, json=body)).json()["id"] != first.json()["id"]
    again = await client.post(BASE, headers={**admin.headers, "Idempotency-Key": "k2"}, json=body)
    assert again.json()["id"] != first.json()["id"]
    assert await count_tickets(runtime, tenant.id) == 3
    too_long = await client.post(BASE, headers={**admin.headers, "Idempotency-Key": "k" * 256}, json=body)
    assert_problem(too_long, 422)


async def test_concurrent_creates_with_one_key_make_one_ticket(runtime, client, tenant, admin):
    headers = {**admin.headers, "Idempotency-Key": "burst-1"}
    body = {"title": "双十一咨询", "customer": {"phone": "13800000002"}}
    responses = await asyncio.gather(*(client.post(BASE, headers=headers, json=body) for _ in range(10)))
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses if r.status_code != 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await count_tickets(runtime, tenant.id) == 1
    assert await created_events(runtime, tenant.id) == 1


# --- list --------------------------------------------------------------------------------------------


async def test_list_filters(runtime, client, tenant, admin):
    team = await make_team(runtime, tenant)
    agent = await make_member(runtime, tenant, "agent", team=team)
    moment = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    with clock.at(moment):
        old = await make_ticket(
            runtime, admin, description="", title="旧的投诉", channel="email", category="complaint"
        )
    urgent = await make_ticket(
        runtime, admin, description="", title="门店断网", priority="urgent", tags=["网络"]
    )
    mine = await make_ticket(
        runtime, admin, description="", title="发票抬头", team_id=team.id, assignee_id=admin.user.id
    )
    theirs = await make_ticket(
        runtime,
        admin,
        description="",
        title="打印机 100% 卡纸",
        team_id=team.id,
        assignee_id=agent.user.id,
        customer={"phone": "13611112222"},
    )
    await client.post(f"{BASE}/{urgent['id']}/status", headers=admin.headers, json={"status": "open"})
    await client.post(f"{BASE}/{mine['id']}/status", headers=admin.headers, json={"status": "pending"})
    h = admin.headers

    async def query(**params):
        return set(ids(await client.get(BASE, headers=h, params=params)))

    every = {str(t["id"]) for t in (old, urgent, mine, theirs)}
    assert await query() == every
    assert await query(status="open") == {str(urgent["id"])}
    assert await query(status="open,pending") == {str(urgent["id"]), str(mine["id"])}
    assert await query(status="new") == {str(old["id"]), str(theirs["id"])}
    assert await query(priority="urgent") == {str(urgent["id"])}
    assert await query(priority="urgent,normal") == every
    assert await query(assignee_id="me") == {str(mine["id"])}
    assert await query(assignee_id="none") == {str(old["id"]), str(urgent["id"])}
    assert await query(assignee_id=str(agent.user.id)) == {str(theirs["id"])}
    assert await query(team_id=str(team.id)) == {str(mine["id"]), str(theirs["id"])}
    assert await query(team_id="none") == {str(old["id"]), str(urgent["id"])}
    assert await query(channel="email") == {str(old["id"])}
    assert await query(category="complaint") == {str(old["id"])}
    assert await query(customer_id=str(theirs["customer_id"])) == {str(theirs["id"])}
    assert await query(tag="网络") == {str(urgent["id"])}
    assert await query(tag="无此标签") == set()
    assert await query(created_to="2024-03-02T00:00:00Z") == {str(old["id"])}
    assert await query(created_from="2024-03-02T00:00:00Z") == every - {str(old["id"])}
    assert await query(created_from="2024-03-01T09:00:00Z", created_to="2024-03-01T09:00:01Z") == {
        str(old["id"])
    }
    assert await query(q="断网") == {str(urgent["id"])}
    assert await query(q="100%") == {str(theirs["id"])}
    assert await query(q="%") == {str(theirs["id"])}
    assert await query(q=str(mine["number"])) == {str(mine["id"])}
    assert await query(q="门店", status="open", priority="urgent") == {str(urgent["id"])}
    summary = (await client.get(BASE, headers=h, params={"q": "断网"})).json()["items"][0]
    assert (
        summary["number"] == urgent["number"] and summary["status"] == "open" and summary["tags"] == ["网络"]
    )
    assert "description" not in summary


async def test_list_sorts(runtime, client, admin):
    made = []
    for day in range(4):
        with clock.at(datetime(2024, 5, 1 + day, tzinfo=UTC)):
            made.append(str((await make_ticket(runtime, admin))["id"]))
    with clock.at(datetime(2024, 6, 1, tzinfo=UTC)):
        await client.patch(f"{BASE}/{made[1]}", headers=admin.headers, json={"title": "最近更新"})
    h = admin.headers
    assert ids(await client.get(BASE, headers=h)) == made[::-1]
    assert ids(await client.get(BASE, headers=h, params={"sort": "created_at"})) == made
    assert ids(await client.get(BASE, headers=h, params={"sort": "-updated_at"}))[0] == made[1]
    assert ids(await client.get(BASE, headers=h, params={"sort": "updated_at"}))[-1] == made[1]


@pytest.mark.parametrize(
    ("sort", "params"),
    [
        ("-created_at", {}),
        ("created_at", {}),
        ("-updated_at", {}),
        ("-created_at", {"status": "new,open,pending"}),
        ("created_at", {"status": "open,new"}),
    ],
)
async def test_cursor_pages_walk_every_ticket_once(runtime, client, sort, params):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    made = []
    for n in range(60):
        # Groups of tickets share a timestamp, so the id must break ties in the keyset.
        with clock.at(start + timedelta(minutes=n // 4)):
            made.append(await make_ticket(runtime, admin, title=f"工单{n}"))
    for row in made[::3]:
        await client.post(f"{BASE}/{row['id']}/status", headers=admin.headers, json={"status": "open"})
    for row in made[1::5]:
        await client.post(f"{BASE}/{row['id']}/status", headers=admin.headers, json={"status": "pending"})
    status_of = {str(row["id"]): "new" for row in made}
    status_of.update({str(row["id"]): "open" for row in made[::3]})
    status_of.update({str(row["id"]): "pending" for row in made[1::5]})
    wanted = params.get("status", "new,open,pending").split(",")
    expected = {ticket_id for ticket_id, status in status_of.items() if status in wanted}
    full = ids(await client.get(BASE, headers=admin.headers, params={**params, "sort": sort, "limit": 200}))
    assert set(full) == expected and len(full) == len(expected)
    if sort.endswith("created_at"):
        in_order = sorted(
            (row for row in made if str(row["id"]) in expected),
            key=lambda row: (row["created_at"], row["id"]),
            reverse=sort.startswith("-"),
        )
        assert full == [str(row["id"]) for row in in_order]
    seen, cursor, pages = [], None, 0
    while True:
        page_params = {**params, "sort": sort, "limit": 7}
        if cursor:
            page_params["cursor"] = cursor
        response = await client.get(BASE, headers=admin.headers, params=page_params)
        body = response.json()
        assert len(body["items"]) <= 7
        seen.extend(ids(response))
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == full and len(set(seen)) == len(expected)
    assert pages == -(-len(expected) // 7)


async def test_list_errors(client, admin, reader):
    h = admin.headers
    assert_problem(await client.get(BASE), 401, "not-authenticated")
    for params in (
        {"status": "new,lost"},
        {"sort": "title"},
        {"cursor": "not-a-cursor"},
        {"assignee_id": "someone"},
        {"team_id": "x"},
        {"customer_id": "x"},
        {"created_from": "yesterday"},
        {"limit": 0},
        {"limit": 201},
        {"q": "x" * 201},
        {"priority": "urgent,asap"},
    ):
        assert_problem(await client.get(BASE, headers=h, params=params), 422, "validation-failed")
    # Digits that cannot be a ticket number are searched as text, not sent to the INTEGER column.
    for q in ("9" * 12, "9" * 30, "²", "１２", "-1"):
        assert ids(await client.get(BASE, headers=h, params={"q": q})) == []
    page = (await client.get(BASE, headers=h, params={"limit": 1})).json()
    assert page["next_cursor"] is None
    # A cursor made for one sort order is refused by another.
    await client.post(BASE, headers=h, json={"title": "a"})
    await client.post(BASE, headers=h, json={"title": "b"})
    cursor = (await client.get(BASE, headers=h, params={"limit": 1})).json()["next_cursor"]
    assert cursor is not None
    response = await client.get(BASE, headers=h, params={"limit": 1, "cursor": cursor, "sort": "created_at"})
    assert_problem(response, 422, "validation-failed")
    assert len(ids(await client.get(BASE, headers=reader, params={"limit": 200}))) == 2


# --- detail and updates ------------------------------------------------------------------------------


async def test_detail_has_messages_events_timeline_and_links(client, admin, ticket, runtime):
    h = admin.headers
    other = await make_ticket(runtime, admin, title="关联工单")
    await client.post(f"{BASE}/{ticket['id']}/messages", headers=h, json={"body": "您好"})
    await client.post(
        f"{BASE}/{ticket['id']}/links", headers=h, json={"target_id": str(other["id"]), "kind": "related"}
    )
    response = await client.get(f"{BASE}/{ticket['id']}", headers=h)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "open" and body["first_response_at"] is not None
    assert [m["body"] for m in body["messages"]] == ["您好"]
    assert [e["type"] for e in body["events"]] == [
        "ticket.created",
        "ticket.message_added",
        "ticket.status_changed",
        "ticket.linked",
    ]
    assert [entry["kind"] for entry in body["timeline"]].count("message") == 1
    assert len(body["timeline"]) == 5
    times = [entry["at"] for entry in body["timeline"]]
    assert times == sorted(times)
    assert body["links"] == [
        {
            "id": body["links"][0]["id"],
            "kind": "related",
            "ticket_id": str(other["id"]),
            "number": other["number"],
            "title": "关联工单",
            "status": "new",
        }
    ]
    assert body["children"] == []


async def test_detail_errors(client, admin, ticket):
    assert_problem(await client.get(f"{BASE}/{ticket['id']}"), 401)
    assert_problem(await client.get(f"{BASE}/{uuid.uuid4()}", headers=admin.headers), 404, "not-found")
    assert_problem(await client.get(f"{BASE}/not-a-uuid", headers=admin.headers), 422)


async def test_patch(client, admin, reader, ticket):
    url = f"{BASE}/{ticket['id']}"
    response = await client.patch(url, headers=admin.headers, json={"title": "新标题", "priority": "low"})
    assert response.status_code == 200 and response.json()["title"] == "新标题"
    assert response.json()["priority"] == "low"
    assert_problem(await client.patch(url, json={"title": "x"}), 401)
    assert_problem(await client.patch(url, headers=reader, json={"title": "x"}), 403, "permission-denied")
    assert_problem(
        await client.patch(f"{BASE}/{uuid.uuid4()}", headers=admin.headers, json={"title": "x"}), 404
    )
    for body in ({"status": "closed"}, {"priority": "asap"}, {"title": ""}, {"title": None}):
        assert_problem(await client.patch(url, headers=admin.headers, json=body), 422)
    assert (await client.get(url, headers=admin.headers)).json()["title"] == "新标题"


async def test_status_and_reopen(client, admin, reader, ticket):
    url = f"{BASE}/{ticket['id']}"
    resolved = await client.post(
        f"{url}/status", headers=admin.headers, json={"status": "resolved", "reason": "ok"}
    )
    assert resolved.status_code == 200 and resolved.json()["resolved_at"] is not None
    body = assert_problem(
        await client.post(f"{url}/status", headers=admin.headers, json={"status": "pending"}),
        409,
        "invalid-transition",
    )
    assert "resolved" in body["detail"]
    assert_problem(await client.post(f"{url}/status", headers=admin.headers, json={"status": "done"}), 422)
    assert_problem(
        await client.post(f"{url}/status", headers=admin.headers, json={"status": "open", "x": 1}), 422
    )
    assert_problem(await client.post(f"{url}/status", headers=reader, json={"status": "closed"}), 403)
    assert_problem(await client.post(f"{url}/status", json={"status": "closed"}), 401)
    assert_problem(
        await client.post(f"{BASE}/{uuid.uuid4()}/status", headers=admin.headers, json={"status": "open"}),
        404,
    )
    reopened = await client.post(f"{url}/reopen", headers=admin.headers, json={"reason": "客户反馈未解决"})
    assert reopened.status_code == 200
    assert reopened.json()["status"] == "open" and reopened.json()["reopen_count"] == 1
    assert_problem(await client.post(f"{url}/reopen", headers=admin.headers), 409, "conflict")
    await client.post(f"{url}/status", headers=admin.headers, json={"status": "closed"})
    without_body = await client.post(f"{url}/reopen", headers=admin.headers)
    assert without_body.status_code == 200 and without_body.json()["reopen_count"] == 2
    assert_problem(await client.post(f"{url}/reopen", headers=reader), 403)
    assert_problem(await client.post(f"{BASE}/{uuid.uuid4()}/reopen", headers=admin.headers), 404)
    assert_problem(await client.post(f"{url}/reopen", headers=admin.headers, json={"why": "x"}), 422)


async def test_assign(runtime, client, tenant, admin, reader, ticket):
    team = await make_team(runtime, tenant)
    agent = await make_member(runtime, tenant, "agent", team=team)
    url = f"{BASE}/{ticket['id']}/assign"
    response = await client.post(
        url, headers=admin.headers, json={"team_id": str(team.id), "assignee_id": str(agent.user.id)}
    )
    assert response.status_code == 200
    assert response.json()["assignee_id"] == str(agent.user.id) and response.json()["team_id"] == str(team.id)
    assert_problem(
        await client.post(url, headers=admin.headers, json={"assignee_id": str(uuid.uuid4())}), 422
    )
    assert_problem(await client.post(url, headers=admin.headers, json={"assignee_id": "me"}), 422)
    assert_problem(await client.post(url, headers=admin.headers, json={"agent": str(agent.user.id)}), 422)
    assert_problem(await client.post(url, headers=reader, json={}), 403)
    assert_problem(await client.post(f"{BASE}/{uuid.uuid4()}/assign", headers=admin.headers, json={}), 404)
    unassigned = await client.post(url, headers=admin.headers, json={})
    assert unassigned.json()["assignee_id"] is None and unassigned.json()["team_id"] is None


async def test_tags(client, admin, reader, ticket):
    url = f"{BASE}/{ticket['id']}/tags"
    response = await client.post(url, headers=admin.headers, json={"add": ["VIP", "加急"], "remove": []})
    assert response.status_code == 200 and response.json()["tags"] == ["VIP", "加急"]
    response = await client.post(url, headers=admin.headers, json={"remove": ["VIP"]})
    assert response.json()["tags"] == ["加急"]
    assert_problem(await client.post(url, headers=admin.headers, json={"add": ["x" * 65]}), 422)
    assert_problem(await client.post(url, headers=admin.headers, json={"add": "VIP"}), 422)
    assert_problem(await client.post(url, headers=admin.headers, json={"set": ["VIP"]}), 422)
    assert_problem(await client.post(url, headers=reader, json={"add": ["a"]}), 403)
    assert_problem(
        await client.post(f"{BASE}/{uuid.uuid4()}/tags", headers=admin.headers, json={"add": ["a"]}), 404
    )
    assert (await client.get(BASE, headers=admin.headers, params={"tag": "加急"})).json()["items"][0][
        "id"
    ] == str(ticket["id"])


async def test_messages(client, admin, reader, ticket):
    url = f"{BASE}/{ticket['id']}/messages"
    reply = await client.post(url, headers=admin.headers, json={"body": "<i>已处理</i><script>x()</script>"})
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["body"] == "<i>已处理</i>" and body["public"] is True and body["author_kind"] == "agent"
    assert body["author_user_id"] == str(admin.user.id) and body["attachments"] == []
    note = await client.post(url, headers=admin.headers, json={"body": "内部备注", "public": False})
    assert note.status_code == 201 and note.json()["channel"] == "internal"
    assert_problem(await client.post(url, headers=admin.headers, json={"body": "<script>x()</script>"}), 422)
    assert_problem(await client.post(url, headers=admin.headers, json={"body": ""}), 422)
    assert_problem(await client.post(url, headers=admin.headers, json={"body": "x", "html": True}), 422)
    assert_problem(
        await client.post(
            url, headers=admin.headers, json={"body": "x", "attachment_ids": [str(uuid.uuid4())]}
        ),
        422,
    )
    assert_problem(await client.post(url, headers=reader, json={"body": "x"}), 403)
    assert_problem(await client.post(url, json={"body": "x"}), 401)
    assert_problem(
        await client.post(f"{BASE}/{uuid.uuid4()}/messages", headers=admin.headers, json={"body": "x"}), 404
    )
    detail = (await client.get(f"{BASE}/{ticket['id']}", headers=admin.headers)).json()
    assert [m["body"] for m in detail["messages"]] == ["<i>已处理</i>", "内部备注"]


async def test_merge(runtime, client, admin, reader, ticket):
    target = await make_ticket(runtime, admin)
    third = await make_ticket(runtime, admin)
    url = f"{BASE}/{ticket['id']}/merge"
    assert_problem(await client.post(url, headers=reader, json={"target_id": str(target["id"])}), 403)
    response = await client.post(url, headers=admin.headers, json={"target_id": str(target["id"])})
    assert response.status_code == 200 and response.json()["id"] == str(target["id"])
    source = (await client.get(f"{BASE}/{ticket['id']}", headers=admin.headers)).json()
    assert source["status"] == "closed" and source["merged_into_id"] == str(target["id"])
    assert [link["kind"] for link in source["links"]] == ["merged_into"]
    target_detail = (await client.get(f"{BASE}/{target['id']}", headers=admin.headers)).json()
    assert [link["kind"] for link in target_detail["links"]] == ["merged_from"]
    assert_problem(await client.post(url, headers=admin.headers, json={"target_id": str(third["id"])}), 409)
    assert_problem(
        await client.post(
            f"{BASE}/{third['id']}/merge", headers=admin.headers, json={"target_id": str(third["id"])}
        ),
        422,
    )
    assert_problem(
        await client.post(
            f"{BASE}/{third['id']}/merge", headers=admin.headers, json={"target_id": str(uuid.uuid4())}
        ),
        404,
    )
    assert_problem(await client.post(f"{BASE}/{third['id']}/merge", headers=admin.headers, json={}), 422)


async def test_links(runtime, client, admin, reader, ticket):
    child = await make_ticket(runtime, admin, title="子任务")
    url = f"{BASE}/{ticket['id']}/links"
    response = await client.post(
        url, headers=admin.headers, json={"target_id": str(child["id"]), "kind": "child"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert [(link["kind"], link["ticket_id"]) for link in body["links"]] == [("child", str(child["id"]))]
    assert [c["ticket_id"] for c in body["children"]] == [str(child["id"])]
    child_detail = (await client.get(f"{BASE}/{child['id']}", headers=admin.headers)).json()
    assert child_detail["parent_id"] == str(ticket["id"])
    assert [link["kind"] for link in child_detail["links"]] == ["parent"]
    cycle = await client.post(
        f"{BASE}/{child['id']}/links",
        headers=admin.headers,
        json={"target_id": str(ticket["id"]), "kind": "child"},
    )
    assert_problem(cycle, 422)
    again = await client.post(
        url, headers=admin.headers, json={"target_id": str(child["id"]), "kind": "child"}
    )
    assert_problem(again, 409)
    assert_problem(
        await client.post(url, headers=admin.headers, json={"target_id": str(child["id"]), "kind": "twin"}),
        422,
    )
    assert_problem(
        await client.post(
            url, headers=admin.headers, json={"target_id": str(ticket["id"]), "kind": "related"}
        ),
        422,
    )
    assert_problem(
        await client.post(
            url, headers=admin.headers, json={"target_id": str(uuid.uuid4()), "kind": "related"}
        ),
        404,
    )
    assert_problem(
        await client.post(url, headers=reader, json={"target_id": str(child["id"]), "kind": "related"}), 403
    )


async def test_bulk(runtime, client, tenant, admin, reader):
    team = await make_team(runtime, tenant)
    agent = await make_member(runtime, tenant, "agent", team=team)
    first = await make_ticket(runtime, admin)
    second = await make_ticket(runtime, admin, team_id=team.id)
    closed = await make_ticket(runtime, admin)
    await client.post(f"{BASE}/{closed['id']}/status", headers=admin.headers, json={"status": "closed"})
    missing = uuid.uuid4()
    response = await client.post(
        f"{BASE}/bulk",
        headers=admin.headers,
        json={
            "ticket_ids": [
                str(first["id"]),
                str(second["id"]),
                str(closed["id"]),
                str(missing),
                str(first["id"]),
            ],
            "status": "pending",
            "assignee_id": str(agent.user.id),
            "add_tags": ["批量"],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["updated"] == [str(first["id"]), str(second["id"])]
    assert {failure["ticket_id"] for failure in body["failed"]} == {str(closed["id"]), str(missing)}
    for row in (first, second):
        detail = (await client.get(f"{BASE}/{row['id']}", headers=admin.headers)).json()
        assert detail["status"] == "pending" and detail["assignee_id"] == str(agent.user.id)
        assert detail["tags"] == ["批量"]
    assert (await client.get(f"{BASE}/{second['id']}", headers=admin.headers)).json()["team_id"] == str(
        team.id
    )
    assert_problem(
        await client.post(f"{BASE}/bulk", headers=admin.headers, json={"ticket_ids": [str(first["id"])]}), 422
    )
    assert_problem(
        await client.post(f"{BASE}/bulk", headers=admin.headers, json={"ticket_ids": [], "status": "open"}),
        422,
    )
    assert_problem(
        await client.post(
            f"{BASE}/bulk", headers=admin.headers, json={"ticket_ids": [str(first["id"])], "status": "x"}
        ),
        422,
    )
    for action in ({"status": "open"}, {"add_tags": ["x"]}, {"assignee_id": str(agent.user.id)}):
        denied = await client.post(
            f"{BASE}/bulk", headers=reader, json={"ticket_ids": [str(first["id"])], **action}
        )
        assert_problem(denied, 403, "permission-denied")
    assert_problem(
        await client.post(f"{BASE}/bulk", json={"ticket_ids": [str(first["id"])], "status": "open"}), 401
    )
