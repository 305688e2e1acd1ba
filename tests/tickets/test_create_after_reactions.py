"""``POST /api/v1/tickets`` answers with the ticket as its transaction committed it: what the tenant's
reactions (trigger rules, routing) changed in that transaction is in the 201 answer, read back once
by primary key; without reactions the row as inserted is the answer and nothing is read back
(decision 0063)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from huiliu.runtime import Runtime
from tests.factories import Member, make_member, make_team, unique
from tests.routing.helpers import make_desk
from tests.tickets.conftest import ticket_state

BASE = "/api/v1/tickets"
RULES = "/api/v1/rules"
# The read back: the ORM's load of one ticket by primary key (tenant criteria added).
READ_BACK = re.compile(r"\bFROM tickets\s+WHERE tickets\.id = ", re.IGNORECASE)


async def add_rule(client: httpx.AsyncClient, admin: Member, actions: list[dict[str, Any]]) -> None:
    body = {"kind": "trigger", "on": ["ticket.created"], "name": unique("rule"), "actions": actions}
    response = await client.post(RULES, json=body, headers=admin.headers)
    assert response.status_code == 201, response.text


@contextmanager
def ticket_reads(runtime: Runtime) -> Iterator[list[str]]:
    """The SQL statements that read one ticket by id through the engine while the block runs."""
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if READ_BACK.search(statement):
            seen.append(statement)

    engine = runtime.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


@contextmanager
def direct_routes(app: Any, on: bool) -> Iterator[None]:
    before = app.state.direct_routes
    app.state.direct_routes = on
    try:
        yield
    finally:
        app.state.direct_routes = before


def assert_answer_is_the_stored_ticket(answer: dict[str, Any], stored: dict[str, Any]) -> None:
    for name in ("status", "priority", "category", "tags", "team_id", "assignee_id"):
        value = stored[name]
        assert answer[name] == (str(value) if isinstance(value, uuid.UUID) else value), name
    assert datetime.fromisoformat(answer["updated_at"]) == stored["updated_at"]


@pytest.mark.parametrize("direct", [True, False], ids=["direct-routes-on", "direct-routes-off"])
async def test_the_create_answer_carries_what_a_rule_changed(
    app: Any, runtime: Runtime, client: httpx.AsyncClient, tenant: Any, admin: Member, direct: bool
) -> None:
    team = await make_team(runtime, tenant, "售后组")
    await add_rule(
        client,
        admin,
        [
            {"type": "set_field", "field": "priority", "value": "urgent"},
            {"type": "add_tag", "tag": "自动"},
            {"type": "assign", "team": str(team.id)},
        ],
    )
    with direct_routes(app, direct):
        body = {"title": "收银机无法开机", "customer": {"phone": "13800138123"}}
        response = await client.post(BASE, headers=admin.headers, json=body)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["priority"] == "urgent" and answer["tags"] == ["自动"]
    assert answer["team_id"] == str(team.id)
    stored = await ticket_state(runtime, tenant.id, uuid.UUID(answer["id"]))
    assert_answer_is_the_stored_ticket(answer, stored)


async def test_the_create_answer_carries_the_routed_agent(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    desk = await make_desk(runtime)
    agent = await desk.agent("甲")
    await desk.policy({"strategy": "least_loaded"}, is_default=True)

    response = await client.post(
        BASE, headers=desk.admin.headers, json={"title": "退款", "team_id": str(desk.team.id)}
    )

    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["assignee_id"] == str(agent.user.id)
    assert (await desk.load(uuid.UUID(answer["id"]))).assignee_id == agent.user.id


async def test_a_repeat_with_the_key_answers_as_the_first_create_did(
    runtime: Runtime, client: httpx.AsyncClient, tenant: Any, admin: Member
) -> None:
    await add_rule(client, admin, [{"type": "add_tag", "tag": "已分拣"}])
    headers = {**admin.headers, "Idempotency-Key": unique("idem")}
    body = {"title": "发票抬头错了", "customer": {"phone": "13800138124"}}

    first = await client.post(BASE, headers=headers, json=body)
    assert first.status_code == 201, first.text
    second = await client.post(BASE, headers=headers, json=body)

    assert second.status_code == 201, second.text
    assert first.json()["tags"] == ["已分拣"]
    assert second.json() == first.json()


async def test_the_creator_gets_the_ticket_a_rule_moved_out_of_their_sight(
    runtime: Runtime, client: httpx.AsyncClient, tenant: Any, admin: Member
) -> None:
    own_team = await make_team(runtime, tenant, "一线")
    other_team = await make_team(runtime, tenant, "二线")
    agent = await make_member(runtime, tenant, "agent", team=own_team, name="客服小李")
    await add_rule(client, admin, [{"type": "assign", "team": str(other_team.id)}])

    response = await client.post(
        BASE, headers=agent.headers, json={"title": "退货地址", "team_id": str(own_team.id)}
    )

    # The creator is answered with what they created, as it now stands; reading it later is a read
    # like any other, in the reader's scope.
    assert response.status_code == 201, response.text
    assert response.json()["team_id"] == str(other_team.id)
    later = await client.get(f"{BASE}/{response.json()['id']}", headers=agent.headers)
    assert later.status_code == 404


@pytest.mark.parametrize("key", [None, "with-key"], ids=["no-key", "idempotency-key"])
async def test_without_reactions_the_answer_is_the_row_as_inserted_and_nothing_is_read_back(
    runtime: Runtime, client: httpx.AsyncClient, tenant: Any, admin: Member, key: str | None
) -> None:
    team = await make_team(runtime, tenant, "门店")
    headers = {**admin.headers, **({"Idempotency-Key": unique(key)} if key else {})}
    body = {
        "title": "打印机卡纸",
        "priority": "high",
        "tags": ["门店"],
        "team_id": str(team.id),
        "customer": {"phone": "13800138125"},
    }

    with ticket_reads(runtime) as reads:
        response = await client.post(BASE, headers=headers, json=body)

    assert response.status_code == 201, response.text
    assert reads == []
    answer = response.json()
    assert answer["priority"] == "high" and answer["tags"] == ["门店"] and answer["team_id"] == str(team.id)
    assert answer["assignee_id"] is None and answer["status"] == "new"
    stored = await ticket_state(runtime, tenant.id, uuid.UUID(answer["id"]))
    assert_answer_is_the_stored_ticket(answer, stored)
