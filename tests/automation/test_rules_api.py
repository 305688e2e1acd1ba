"""The rules API: CRUD with engine validation, reorder, presets, change history, permissions and
tenant isolation, and the dry run on real tickets (which writes nothing)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from huiliu.automation.models import Rule, RuleChange
from huiliu.tickets.models import Ticket, TicketEvent
from tests.factories import Member, make_member, make_team, make_tenant

BASE = "/api/v1/rules"


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Any, tenant: Any) -> Member:
    return await make_member(runtime, tenant, "admin", name="管理员")


def refund_rule(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "退款 → 售后",
        "kind": "trigger",
        "on": ["ticket.created"],
        "conditions": {"any": [{"field": "title", "op": "contains", "value": ["退款", "退货"]}]},
        "actions": [{"type": "assign", "team": "after_sales"}, {"type": "add_tag", "tag": "退款"}],
    }
    body.update(overrides)
    return body


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


async def create(client: httpx.AsyncClient, member: Member, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(BASE, json=body, headers=member.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def new_ticket(client: httpx.AsyncClient, member: Member, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/tickets", json=fields, headers=member.headers)
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


async def changes_count(runtime: Any, tenant_id: uuid.UUID) -> int:
    async with runtime.db.read(tenant_id) as session:
        return int((await session.execute(select(func.count()).select_from(RuleChange))).scalar_one())


async def test_create_read_update_delete_a_rule(client: httpx.AsyncClient, admin: Member) -> None:
    created = await create(client, admin, refund_rule(description="  售后分流  "))
    assert created["name"] == "退款 → 售后"
    assert created["description"] == "售后分流"
    assert created["kind"] == "trigger" and created["on"] == ["ticket.created"]
    assert created["active"] is True and created["stop_processing"] is False
    assert created["position"] == 10  # after the (absent) last rule
    assert created["fired_count"] == 0 and created["last_fired_at"] is None
    assert created["created_by"] == str(admin.user.id)
    rule_id = created["id"]

    one = await client.get(f"{BASE}/{rule_id}", headers=admin.headers)
    assert one.status_code == 200 and one.json() == created

    second = await create(client, admin, refund_rule(name="第二条"))
    assert second["position"] == 20
    listed = await client.get(BASE, headers=admin.headers)
    assert [item["id"] for item in listed.json()["items"]] == [rule_id, second["id"]]

    patched = await client.patch(
        f"{BASE}/{rule_id}", json={"active": False, "description": None}, headers=admin.headers
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["active"] is False and body["description"] == ""
    assert body["conditions"] == created["conditions"] and body["updated_at"] >= created["updated_at"]

    deleted = await client.delete(f"{BASE}/{rule_id}", headers=admin.headers)
    assert deleted.status_code == 204
    assert_problem(await client.get(f"{BASE}/{rule_id}", headers=admin.headers), 404)

    history = await client.get(f"{BASE}/{rule_id}/changes", headers=admin.headers)
    assert history.status_code == 200
    items = history.json()["items"]
    assert [item["action"] for item in items] == ["deleted", "updated", "created"]
    assert items[1]["before"]["active"] is True and items[1]["after"]["active"] is False
    assert items[0]["after"] is None and items[0]["actor_name"] == "管理员"


async def test_a_bad_definition_reports_every_problem_with_its_path_and_stores_nothing(
    client: httpx.AsyncClient, admin: Member, runtime: Any
) -> None:
    body = refund_rule(
        id="mine",
        on=["ticket.deleted"],
        conditions={"all": [{"field": "title", "op": "gt", "value": 3}, {"field": "nope", "op": "eq"}]},
        actions=[{"type": "assign"}],
    )
    problem = assert_problem(await client.post(BASE, json=body, headers=admin.headers), 422)
    locs = [error["loc"] for error in problem["errors"]]
    assert ["body", "id"] in locs
    assert ["body", "on", 0] in locs
    assert ["body", "conditions", "all", 0, "op"] in locs
    assert any(loc[:4] == ["body", "conditions", "all", 1] for loc in locs)
    assert any(loc[:3] == ["body", "actions", 0] for loc in locs)
    assert_problem(await client.post(BASE, json={"kind": "trigger"}, headers=admin.headers), 422)
    assert_problem(await client.post(BASE, json=[1, 2], headers=admin.headers), 422)
    listed = await client.get(BASE, headers=admin.headers)
    assert listed.json()["items"] == []
    assert await changes_count(runtime, admin.actor.tenant_id) == 0


async def test_a_bad_patch_is_refused_and_changes_nothing(client: httpx.AsyncClient, admin: Member) -> None:
    created = await create(client, admin, refund_rule())
    # An automation takes no events: switching the kind alone is refused with the path.
    problem = assert_problem(
        await client.patch(f"{BASE}/{created['id']}", json={"kind": "automation"}, headers=admin.headers), 422
    )
    assert [error["loc"] for error in problem["errors"]] == [["body", "on"]]
    problem = assert_problem(
        await client.patch(
            f"{BASE}/{created['id']}",
            json={"actions": [{"type": "notify", "severity": "loud"}]},
            headers=admin.headers,
        ),
        422,
    )
    assert all(error["loc"][:3] == ["body", "actions", 0] for error in problem["errors"])
    assert_problem(
        await client.patch(f"{BASE}/{created['id']}", json={"id": "x"}, headers=admin.headers), 422
    )
    after = await client.get(f"{BASE}/{created['id']}", headers=admin.headers)
    assert after.json() == created
    # Switching the kind together with its consequences works.
    switched = await client.patch(
        f"{BASE}/{created['id']}",
        json={
            "kind": "automation",
            "on": None,
            "conditions": {"all": [{"field": "hours_since_created", "op": "gte", "value": 2}]},
        },
        headers=admin.headers,
    )
    assert switched.status_code == 200, switched.text
    assert switched.json()["kind"] == "automation" and switched.json()["on"] is None


async def test_unknown_ids_answer_404(client: httpx.AsyncClient, admin: Member) -> None:
    missing = uuid.uuid4()
    assert_problem(await client.get(f"{BASE}/{missing}", headers=admin.headers), 404)
    assert_problem(
        await client.patch(f"{BASE}/{missing}", json={"active": False}, headers=admin.headers), 404
    )
    assert_problem(await client.delete(f"{BASE}/{missing}", headers=admin.headers), 404)
    assert_problem(await client.get(f"{BASE}/{missing}/changes", headers=admin.headers), 404)
    assert_problem(await client.get(f"{BASE}/not-a-uuid", headers=admin.headers), 422)


async def test_another_tenants_rule_is_not_found(
    client: httpx.AsyncClient, admin: Member, runtime: Any
) -> None:
    theirs = await create(client, admin, refund_rule())
    other = await make_member(runtime, await make_tenant(runtime, "别家"), "admin")
    rule_id = theirs["id"]
    assert_problem(await client.get(f"{BASE}/{rule_id}", headers=other.headers), 404)
    assert_problem(
        await client.patch(f"{BASE}/{rule_id}", json={"active": False}, headers=other.headers), 404
    )
    assert_problem(await client.delete(f"{BASE}/{rule_id}", headers=other.headers), 404)
    assert_problem(await client.get(f"{BASE}/{rule_id}/changes", headers=other.headers), 404)
    assert (await client.get(BASE, headers=other.headers)).json()["items"] == []
    reorder = await client.post(f"{BASE}:reorder", json={"ids": [rule_id]}, headers=other.headers)
    assert_problem(reorder, 422)
    still = await client.get(f"{BASE}/{rule_id}", headers=admin.headers)
    assert still.json() == theirs
    # Positions are per tenant: the other tenant's first rule comes first in its own list.
    own = await create(client, other, refund_rule())
    assert own["position"] == 10
    assert [item["id"] for item in (await client.get(BASE, headers=other.headers)).json()["items"]] == [
        own["id"]
    ]


async def test_agents_cannot_manage_rules(
    client: httpx.AsyncClient, admin: Member, runtime: Any, tenant: Any
) -> None:
    rule = await create(client, admin, refund_rule())
    agent = await make_member(runtime, tenant, "agent", team=await make_team(runtime, tenant))
    ticket = await new_ticket(client, admin, title="我要退款")
    rule = (await client.get(f"{BASE}/{rule['id']}", headers=admin.headers)).json()  # it fired: counted
    attempts = [
        client.get(BASE, headers=agent.headers),
        client.post(BASE, json=refund_rule(), headers=agent.headers),
        client.get(f"{BASE}/{rule['id']}", headers=agent.headers),
        client.patch(f"{BASE}/{rule['id']}", json={"active": False}, headers=agent.headers),
        client.delete(f"{BASE}/{rule['id']}", headers=agent.headers),
        client.post(f"{BASE}:reorder", json={"ids": [rule["id"]]}, headers=agent.headers),
        client.post(f"{BASE}/presets", headers=agent.headers),
        client.post(f"{BASE}/dry-run", json={"ticket_id": ticket["id"]}, headers=agent.headers),
        client.get(f"{BASE}/{rule['id']}/changes", headers=agent.headers),
    ]
    for attempt in attempts:
        assert_problem(await attempt, 403)
    assert_problem(await client.get(BASE), 401)
    assert (await client.get(f"{BASE}/{rule['id']}", headers=admin.headers)).json() == rule


async def test_reorder_puts_every_rule_in_the_given_order(client: httpx.AsyncClient, admin: Member) -> None:
    first = await create(client, admin, refund_rule(name="一"))
    second = await create(client, admin, refund_rule(name="二"))
    third = await create(client, admin, refund_rule(name="三", position=5))
    listed = await client.get(BASE, headers=admin.headers)
    assert [item["name"] for item in listed.json()["items"]] == ["三", "一", "二"]

    order = [second["id"], third["id"], first["id"]]
    response = await client.post(f"{BASE}:reorder", json={"ids": order}, headers=admin.headers)
    assert response.status_code == 200, response.text
    assert [(item["id"], item["position"]) for item in response.json()["items"]] == [
        (second["id"], 10),
        (third["id"], 20),
        (first["id"], 30),
    ]
    listed = await client.get(BASE, headers=admin.headers)
    assert [item["id"] for item in listed.json()["items"]] == order
    history = await client.get(f"{BASE}/{third['id']}/changes", headers=admin.headers)
    assert history.json()["items"][0]["action"] == "reordered"
    assert history.json()["items"][0]["after"] == {"position": 20}

    # Every rule exactly once, known ids only: otherwise nothing moves.
    for ids in ([second["id"], third["id"]], [*order, order[0]], [*order, str(uuid.uuid4())]):
        problem = assert_problem(
            await client.post(f"{BASE}:reorder", json={"ids": ids}, headers=admin.headers), 422
        )
        assert problem["errors"]
    listed = await client.get(BASE, headers=admin.headers)
    assert [item["id"] for item in listed.json()["items"]] == order


async def test_presets_install_once(client: httpx.AsyncClient, admin: Member, runtime: Any) -> None:
    first = await client.post(f"{BASE}/presets", headers=admin.headers)
    assert first.status_code == 200, first.text
    installed = first.json()["installed"]
    assert sorted(rule["preset_key"] for rule in installed) == [
        "preset-low-rating-qa-review",
        "preset-refund-to-after-sales",
        "preset-unhandled-24h",
    ]
    assert first.json()["already_installed"] == []
    refund = next(rule for rule in installed if rule["preset_key"] == "preset-refund-to-after-sales")
    assert refund["name"] == "含“退款”关键词 → 分配售后"

    again = await client.post(f"{BASE}/presets", json={"language": "en"}, headers=admin.headers)
    assert again.status_code == 200
    assert again.json()["installed"] == []
    assert len(again.json()["already_installed"]) == 3
    assert len((await client.get(BASE, headers=admin.headers)).json()["items"]) == 3

    # A deleted preset comes back on the next install, and only that one.
    await client.delete(f"{BASE}/{refund['id']}", headers=admin.headers)
    third = await client.post(f"{BASE}/presets", headers=admin.headers)
    assert [rule["preset_key"] for rule in third.json()["installed"]] == ["preset-refund-to-after-sales"]
    assert_problem(await client.post(f"{BASE}/presets", json={"language": "fr"}, headers=admin.headers), 422)


async def test_create_honours_the_idempotency_key(client: httpx.AsyncClient, admin: Member) -> None:
    headers = {**admin.headers, "Idempotency-Key": "rule-1"}
    one = await client.post(BASE, json=refund_rule(), headers=headers)
    two = await client.post(BASE, json=refund_rule(), headers=headers)
    assert one.status_code == two.status_code == 201
    assert one.json()["id"] == two.json()["id"]
    assert len((await client.get(BASE, headers=admin.headers)).json()["items"]) == 1


async def _snapshot(runtime: Any, tenant_id: uuid.UUID) -> tuple[Any, ...]:
    async with runtime.db.read(tenant_id) as session:
        rules = (
            await session.execute(select(Rule.id, Rule.fired_count, Rule.last_fired_at, Rule.updated_at))
        ).all()
        tickets = (
            await session.execute(select(Ticket.id, Ticket.team_id, Ticket.tags, Ticket.updated_at))
        ).all()
        events = int((await session.execute(select(func.count()).select_from(TicketEvent))).scalar_one())
        changes = int((await session.execute(select(func.count()).select_from(RuleChange))).scalar_one())
    return sorted(map(tuple, rules)), sorted(map(tuple, tickets)), events, changes


async def test_dry_run_on_a_refund_ticket_fires_the_refund_preset_and_writes_nothing(
    client: httpx.AsyncClient, admin: Member, runtime: Any
) -> None:
    presets = (await client.post(f"{BASE}/presets", headers=admin.headers)).json()["installed"]
    by_key = {rule["preset_key"]: rule["id"] for rule in presets}
    ticket = await new_ticket(
        client, admin, title="订单 8812 申请退款", description="收到的杯子碎了", customer={"name": "张女士"}
    )
    before = await _snapshot(runtime, admin.actor.tenant_id)

    response = await client.post(f"{BASE}/dry-run", json={"ticket_id": ticket["id"]}, headers=admin.headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["event"] == "ticket.created" and report["ticket_id"] == ticket["id"]
    outcomes = {outcome["rule_id"]: outcome for outcome in report["outcomes"]}
    refund = outcomes[by_key["preset-refund-to-after-sales"]]
    assert refund["outcome"] == "fired"
    assert refund["actions"] == [
        {
            "type": "assign",
            "agent": None,
            "team": "after_sales",
            "routing_policy": None,
            "reason": refund["actions"][0]["reason"],
        }
    ]
    assert "退款" in refund["reason"]
    assert refund["explanation"]["passed"] is True
    assert outcomes[by_key["preset-unhandled-24h"]]["outcome"] == "other_event"
    assert outcomes[by_key["preset-low-rating-qa-review"]]["outcome"] == "other_event"
    assert report["fired"] == [by_key["preset-refund-to-after-sales"]]
    assert report["changes"] == {"team": "after_sales"}
    assert report["facts"]["title"] == "订单 8812 申请退款"
    assert report["facts"]["customer.name"] == "张女士"
    assert report["facts"]["within_business_hours"] is False
    assert report["facts"]["agent_replied"] is False

    assert await _snapshot(runtime, admin.actor.tenant_id) == before


async def test_dry_run_explains_why_a_rule_does_not_match(
    client: httpx.AsyncClient, admin: Member, runtime: Any
) -> None:
    presets = (await client.post(f"{BASE}/presets", headers=admin.headers)).json()["installed"]
    refund_id = next(rule["id"] for rule in presets if rule["preset_key"] == "preset-refund-to-after-sales")
    vip = await create(
        client,
        admin,
        {
            "name": "VIP 加急",
            "kind": "trigger",
            "on": ["ticket.created", "ticket.updated"],
            "conditions": {"all": [{"field": "customer.level", "op": "eq", "value": "vip"}]},
            "actions": [{"type": "set_field", "field": "priority", "value": "urgent"}],
        },
    )
    ticket = await new_ticket(
        client, admin, title="打印机卡纸", description="门店3号打印机", customer={"name": "李先生"}
    )
    response = await client.post(
        f"{BASE}/dry-run",
        json={"ticket_id": ticket["id"], "event": "ticket.updated"},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    outcomes = {outcome["rule_id"]: outcome for outcome in response.json()["outcomes"]}
    assert outcomes[refund_id]["outcome"] == "other_event"
    assert outcomes[vip["id"]]["outcome"] == "not_matched"
    assert "customer.level" in outcomes[vip["id"]]["note"] and "normal" in outcomes[vip["id"]]["note"]
    assert outcomes[vip["id"]]["explanation"]["passed"] is False
    assert response.json()["actions"] == []

    created = await client.post(
        f"{BASE}/dry-run", json={"ticket_id": ticket["id"], "rule_ids": [refund_id]}, headers=admin.headers
    )
    only = created.json()["outcomes"]
    assert [(o["rule_id"], o["outcome"]) for o in only] == [(refund_id, "not_matched")]
    assert "title" in only[0]["note"] and "description" in only[0]["note"]

    # Switched off rules say so; the ticket's customer level reaches the facts.
    await client.patch(f"{BASE}/{vip['id']}", json={"active": False}, headers=admin.headers)
    customer_id = ticket["customer_id"]
    level = await client.patch(
        f"/api/v1/customers/{customer_id}", json={"level": "vip"}, headers=admin.headers
    )
    assert level.status_code == 200, level.text
    again = await client.post(
        f"{BASE}/dry-run", json={"ticket_id": ticket["id"], "event": "ticket.updated"}, headers=admin.headers
    )
    outcomes = {outcome["rule_id"]: outcome for outcome in again.json()["outcomes"]}
    assert outcomes[vip["id"]]["outcome"] == "inactive"
    assert again.json()["facts"]["customer.level"] == "vip"
    await client.patch(f"{BASE}/{vip['id']}", json={"active": True}, headers=admin.headers)
    fired = await client.post(
        f"{BASE}/dry-run", json={"ticket_id": ticket["id"], "event": "ticket.updated"}, headers=admin.headers
    )
    assert fired.json()["fired"] == [vip["id"]]
    assert fired.json()["changes"] == {"priority": "urgent"}


async def test_dry_run_needs_a_visible_ticket_and_known_rules(
    client: httpx.AsyncClient, admin: Member, runtime: Any
) -> None:
    assert_problem(
        await client.post(f"{BASE}/dry-run", json={"ticket_id": str(uuid.uuid4())}, headers=admin.headers),
        404,
    )
    other = await make_member(runtime, await make_tenant(runtime, "别家"), "admin")
    theirs = await new_ticket(client, other, title="退款")
    assert_problem(
        await client.post(f"{BASE}/dry-run", json={"ticket_id": theirs["id"]}, headers=admin.headers), 404
    )
    mine = await new_ticket(client, admin, title="退款")
    problem = assert_problem(
        await client.post(
            f"{BASE}/dry-run",
            json={"ticket_id": mine["id"], "rule_ids": [str(uuid.uuid4())]},
            headers=admin.headers,
        ),
        422,
    )
    assert problem["errors"][0]["loc"] == ["body", "rule_ids", 0]
    assert_problem(
        await client.post(
            f"{BASE}/dry-run",
            json={"ticket_id": mine["id"], "event": "ticket.deleted"},
            headers=admin.headers,
        ),
        422,
    )
    # Without rules the dry run answers with no outcomes.
    empty = await client.post(f"{BASE}/dry-run", json={"ticket_id": mine["id"]}, headers=admin.headers)
    assert empty.status_code == 200 and empty.json()["outcomes"] == []
