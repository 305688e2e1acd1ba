"""The integrator intake API: ``POST /api/v1/intake/messages`` and ``…/messages:batch`` — statuses,
bodies, idempotency, refusals as problem+json with nothing written, tenant isolation, batch order."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from huiliu.customers.models import Customer
from huiliu.tickets.models import Message, Ticket
from tests.attachments import samples
from tests.auth.conftest import bearer, create_key
from tests.factories import make_member, make_tenant, unique
from tests.intake.test_pipeline import count, make_entry_point
from tests.tickets.conftest import journal, ticket_state
from tests.tickets.test_api import assert_problem

ONE = "/api/v1/intake/messages"
BATCH = "/api/v1/intake/messages:batch"


def _phone() -> str:
    """A mainland mobile number written with +86 and separators; eight random digits, so the
    senders of a batch are distinct customers (four digits made two of twenty collide 1 time in 20)."""
    digits = str(uuid.uuid4().int)[-8:]
    return f"+86 139-{digits[:4]}-{digits[4:]}"


def body(entry_point: Any, text: str = "收到的蛋糕压坏了，要求补发", **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "entry_point_id": str(entry_point.id),
        "external_id": unique("dy"),
        "sender": {
            "name": "李先生",
            "identities": [{"kind": "phone", "value": _phone()}],
        },
        "text": text,
    }
    payload.update(changes)
    return payload


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Any, tenant: Any) -> Any:
    return await make_member(runtime, tenant, "admin")


@pytest.fixture
async def key(client: Any, admin: Any) -> dict[str, str]:
    return bearer(await create_key(client, admin, "tickets:write"))


@pytest.fixture
async def entry_point(runtime: Any, tenant: Any) -> Any:
    return await make_entry_point(runtime, tenant.id, channel="douyin", default_priority="high")


async def test_a_new_message_answers_201_with_the_ticket(client, runtime, tenant, key, entry_point):
    log = await journal(runtime, tenant.id)
    payload = body(entry_point, source="live-1111", metadata={"room": "双十一直播间"})
    response = await client.post(ONE, headers=key, json=payload)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert set(answer) == {"ticket_id", "ticket_number", "created", "message_id", "outcome"}
    assert answer["created"] is True and answer["outcome"] == "created" and answer["ticket_number"] >= 1
    state = await ticket_state(runtime, tenant.id, uuid.UUID(answer["ticket_id"]))
    assert state["channel"] == "douyin" and state["priority"] == "high"
    assert state["fields"]["source"] == "live-1111" and state["description"] == payload["text"]
    written = await log.since()
    assert written.types() == ["ticket.created"]
    assert written.events[0].actor_kind == "api_key"
    assert written.outbox[0].payload["data"]["intake"]["metadata"] == {"room": "双十一直播间"}


async def test_the_same_message_three_times_answers_one_ticket_and_one_message(
    client, runtime, tenant, key, entry_point
):
    payload = body(entry_point)
    answers = [await client.post(ONE, headers=key, json=payload) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 200, 200]
    first = answers[0].json()
    for repeat in answers[1:]:
        assert repeat.json() == {**first, "created": False, "outcome": "repeat"}
    assert await count(runtime, tenant.id, Message) == 1
    assert await count(runtime, tenant.id, Ticket) == 1


async def test_concurrent_posts_of_one_message_store_it_once(client, runtime, tenant, key, entry_point):
    payload = body(entry_point)
    answers = await asyncio.gather(*(client.post(ONE, headers=key, json=payload) for _ in range(5)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 201]
    assert len({a.json()["message_id"] for a in answers}) == 1
    assert await count(runtime, tenant.id, Message) == 1


async def test_a_follow_up_and_a_reply_answer_200(client, runtime, tenant, key, entry_point):
    first = await client.post(ONE, headers=key, json=body(entry_point, external_id="dy-1"))
    sender = body(entry_point)["sender"]
    reply = await client.post(
        ONE,
        headers=key,
        json=body(entry_point, "图片已经发了", reply_to_external_id="dy-1", sender=sender),
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["outcome"] == "threaded" and reply.json()["ticket_id"] == first.json()["ticket_id"]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"sender": {"identities": [{"kind": "qq", "value": "10001"}]}}, "kind"),
        ({"sender": {"identities": [{"kind": "phone", "value": "12"}]}}, None),
        ({"text": None}, "text"),
        ({"external_id": ""}, "external_id"),
        ({"entry_point_id": "not-a-uuid"}, "entry_point_id"),
        ({"received_at": "2026-11-11T10:00:00"}, "received_at"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"attachments": ["x"]}, "attachments"),
        ({"metadata": {"blob": "x" * 20_000}}, None),
    ],
)
async def test_bad_input_is_a_422_and_writes_nothing(
    client, runtime, tenant, key, entry_point, change, where
):
    log = await journal(runtime, tenant.id)
    response = await client.post(ONE, headers=key, json=body(entry_point, **change))
    problem = assert_problem(response, 422, "validation-failed")
    if where:
        assert any(where in error["loc"] for error in problem["errors"]), problem
    assert await count(runtime, tenant.id, Ticket) == 0
    assert await count(runtime, tenant.id, Customer) == 0
    written = await log.since()
    assert written.events == [] and written.outbox == []


async def test_an_entry_point_of_another_tenant_or_unknown_is_a_422(client, runtime, tenant, key):
    other = await make_tenant(runtime)
    foreign = await make_entry_point(runtime, other.id)
    for entry_point_id in (foreign.id, uuid.uuid4()):
        payload = body(foreign, entry_point_id=str(entry_point_id))
        problem = assert_problem(await client.post(ONE, headers=key, json=payload), 422)
        assert "entry point" in problem["detail"]
    assert await count(runtime, tenant.id, Ticket) == 0
    assert await count(runtime, other.id, Ticket) == 0


async def test_authentication_and_permission_are_required(client, runtime, tenant, admin, entry_point):
    assert_problem(await client.post(ONE, json=body(entry_point)), 401)
    reader = bearer(await create_key(client, admin, "tickets:read"))
    assert_problem(await client.post(ONE, headers=reader, json=body(entry_point)), 403)
    assert_problem(await client.post(BATCH, headers=reader, json={"messages": [body(entry_point)]}), 403)
    assert await count(runtime, tenant.id, Ticket) == 0


async def test_an_agent_token_may_deliver_messages_too(client, runtime, tenant, entry_point):
    agent = await make_member(runtime, tenant, "agent")
    response = await client.post(ONE, headers=agent.headers, json=body(entry_point))
    assert response.status_code == 201, response.text


# --- batch -------------------------------------------------------------------------------------------


async def test_a_batch_answers_each_message_in_order(client, runtime, tenant, key, entry_point):
    other = await make_tenant(runtime)
    foreign = await make_entry_point(runtime, other.id)
    repeated = body(entry_point, "第一位客户")
    same_customer = body(entry_point, "同一位客户的第二条", sender=repeated["sender"])
    messages = [
        repeated,
        "not a message",
        same_customer,
        body(entry_point, sender={"identities": [{"kind": "phone", "value": "12"}]}),
        repeated,
        body(foreign),
        body(entry_point, "另一位客户"),
    ]
    log = await journal(runtime, tenant.id)
    response = await client.post(BATCH, headers=key, json={"messages": messages})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 422, 200, 422, 200, 422, 201]
    assert [r.get("outcome") for r in results] == [
        "created",
        None,
        "threaded",
        None,
        "repeat",
        None,
        "created",
    ]
    assert results[1]["type"].endswith("/validation-failed") and results[1]["errors"]
    assert "phone" in results[3]["detail"] and "entry point" in results[5]["detail"]
    assert results[2]["ticket_id"] == results[0]["ticket_id"] == results[4]["ticket_id"]
    assert results[4]["message_id"] == results[0]["message_id"]
    assert results[6]["ticket_number"] == results[0]["ticket_number"] + 1
    assert await count(runtime, tenant.id, Ticket) == 2
    assert await count(runtime, tenant.id, Message) == 3
    written = await log.since()
    assert written.types() == ["ticket.created", "ticket.created", "ticket.message_added"]
    [event] = [e for e in written.events if e.type == "ticket.message_added"]
    assert str(event.ticket_id) == results[0]["ticket_id"]
    assert written.outbox and len(written.outbox) == 3


async def test_a_batch_delivered_twice_writes_once(client, runtime, tenant, key, entry_point):
    messages = [body(entry_point, f"第 {n} 位客户的问题") for n in range(20)]
    first = await client.post(BATCH, headers=key, json={"messages": messages})
    again = await client.post(BATCH, headers=key, json={"messages": messages})
    assert {r["status"] for r in first.json()["results"]} == {201}
    assert [r["outcome"] for r in again.json()["results"]] == ["repeat"] * 20
    assert [r["ticket_id"] for r in again.json()["results"]] == [
        r["ticket_id"] for r in first.json()["results"]
    ]
    assert await count(runtime, tenant.id, Message) == 20


@pytest.mark.parametrize("size", [0, 1001])
async def test_a_batch_holds_1_to_1000_messages(client, runtime, tenant, key, entry_point, size):
    messages = [body(entry_point) for _ in range(size)]
    assert_problem(await client.post(BATCH, headers=key, json={"messages": messages}), 422)
    assert await count(runtime, tenant.id, Ticket) == 0


async def test_a_batch_of_only_bad_messages_writes_nothing(client, runtime, tenant, key, entry_point):
    log = await journal(runtime, tenant.id)
    response = await client.post(
        BATCH, headers=key, json={"messages": [{"text": "x"}, body(entry_point, text="")]}
    )
    assert [r["status"] for r in response.json()["results"]] == [422, 422]
    written = await log.since()
    assert written.events == [] and written.outbox == []
    assert await count(runtime, tenant.id, Customer) == 0


async def test_a_users_own_upload_rides_with_the_message(client, runtime, tenant, admin, entry_point):
    upload = await client.post(
        "/api/v1/attachments",
        headers=admin.headers,
        files={"file": ("receipt.png", samples.png(), "image/png")},
    )
    assert upload.status_code == 201, upload.text
    attachment_id = upload.json()["id"]
    response = await client.post(
        ONE, headers=admin.headers, json=body(entry_point, "见附件小票", attachments=[attachment_id])
    )
    assert response.status_code == 201, response.text
    detail = await client.get(f"/api/v1/tickets/{response.json()['ticket_id']}", headers=admin.headers)
    [message] = detail.json()["messages"]
    assert message["id"] == response.json()["message_id"]
    assert [a["id"] for a in message["attachments"]] == [attachment_id]
    # The same upload cannot ride with a second message.
    again = await client.post(ONE, headers=admin.headers, json=body(entry_point, attachments=[attachment_id]))
    assert "attachment" in assert_problem(again, 422)["detail"]


async def test_concurrent_single_messages_of_many_customers_are_each_answered(
    client, runtime, tenant, key, entry_point
):
    """Fifteen single messages at once (five customers, three each) share transactions under group
    commit; every request gets its own answer and each customer ends up with one ticket of three."""
    phones = [_phone() for _ in range(5)]
    payloads = [
        body(
            entry_point,
            f"第{n}条：快递还没到",
            sender={"name": "顾客", "identities": [{"kind": "phone", "value": p}]},
        )
        for n in range(3)
        for p in phones
    ]
    responses = await asyncio.gather(*(client.post(ONE, headers=key, json=p) for p in payloads))
    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses]
    answers = [r.json() for r in responses]
    assert len({a["message_id"] for a in answers}) == 15
    by_ticket: dict[str, int] = {}
    for answer in answers:
        by_ticket[answer["ticket_id"]] = by_ticket.get(answer["ticket_id"], 0) + 1
    assert sorted(by_ticket.values()) == [3] * 5
    assert sum(a["created"] for a in answers) == 5
    assert await count(runtime, tenant.id, Message) == 15
