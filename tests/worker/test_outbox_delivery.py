"""The worker's outbox processing against a real receiver on 127.0.0.1: fan-out, signed delivery,
retries with backoff, dead letters and the retry route, leases and stale tasks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from huiliu.core import clock
from huiliu.core.clock import utcnow
from huiliu.core.events import TICKET_ASSIGNED, TICKET_CREATED
from huiliu.core.outbox import STATE_DEAD, STATE_DELIVERED, STATE_PENDING, OutboxRow
from huiliu.db.session import ScopedSession, scope_sync_session
from huiliu.webhooks import delivery
from huiliu.webhooks.domain import child_row_id
from huiliu.worker.processor import OutboxProcessor, Outcome
from tests.factories import Member, make_member, make_tenant, make_ticket
from tests.webhooks.receiver import Receiver
from tests.worker.helpers import attempts_of, by_id, drain, event_rows, subscribe, webhook_rows

SECRET = "receiver-shared-secret-0042"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(SECRET).start()
    yield server
    server.stop()


async def test_fan_out_reaches_only_matching_active_subscriptions_of_the_tenant(
    runtime: Any, tenant: Any, admin: Member, processor: OutboxProcessor, receiver: Receiver
) -> None:
    created_only = await subscribe(runtime, admin, receiver.url, SECRET, [TICKET_CREATED])
    everything = await subscribe(runtime, admin, receiver.url, SECRET, ["*"])
    await subscribe(runtime, admin, receiver.url, SECRET, [TICKET_ASSIGNED])
    await subscribe(runtime, admin, receiver.url, SECRET, ["*"], active=False)
    other_tenant = await make_tenant(runtime)
    other_admin = await make_member(runtime, other_tenant, "admin")
    await subscribe(runtime, other_admin, receiver.url, SECRET, ["*"])

    ticket = await make_ticket(runtime, admin)
    [event] = await event_rows(runtime, tenant.id)
    assert (event.event_type, event.state) == (TICKET_CREATED, STATE_PENDING)

    outcomes = await drain(processor, tenant.id)

    assert sorted(p.outcome for p in outcomes) == [Outcome.DELIVERED, Outcome.DELIVERED, Outcome.FANNED_OUT]
    [event] = await event_rows(runtime, tenant.id)
    assert event.state == STATE_DELIVERED
    assert event.locked_until is None
    children = await webhook_rows(runtime, tenant.id)
    assert {row.target_id for row in children} == {created_only.id, everything.id}
    for row in children:
        assert row.id == child_row_id(event.id, row.target_id)
        assert (row.parent_id, row.event_id, row.payload) == (event.id, event.id, event.payload)
        assert row.state == STATE_DELIVERED
    assert await webhook_rows(runtime, other_tenant.id) == []
    arrived = receiver.snapshot()
    assert len(arrived) == 2
    assert {item.event_id for item in arrived} == {str(event.id)}
    assert arrived[0].envelope["data"]["ticket"]["id"] == str(ticket["id"])


async def test_delivery_is_the_signed_event_envelope(
    runtime: Any, tenant: Any, admin: Member, processor: OutboxProcessor, receiver: Receiver
) -> None:
    await subscribe(runtime, admin, receiver.url, SECRET, [TICKET_CREATED])
    await make_ticket(runtime, admin, title="退货申请 #2001")
    await drain(processor, tenant.id)

    [event] = await event_rows(runtime, tenant.id)
    [row] = await webhook_rows(runtime, tenant.id)
    [item] = receiver.snapshot()
    assert item.signature_ok
    assert set(item.envelope) == {"id", "type", "occurred_at", "data"}
    assert item.envelope == event.payload
    assert item.envelope["id"] == str(event.event_id)
    assert item.envelope["data"]["ticket"]["title"] == "退货申请 #2001"
    assert item.headers["content-type"] == "application/json"
    assert item.headers["x-huiliu-event"] == TICKET_CREATED
    assert item.headers["x-huiliu-delivery"] == str(row.id)
    assert item.headers["x-huiliu-signature"].startswith("sha256=")
    assert json.loads(item.body) == event.payload


async def test_a_wrong_secret_fails_verification_and_is_retried(
    runtime: Any, tenant: Any, admin: Member, processor: OutboxProcessor, receiver: Receiver
) -> None:
    await subscribe(runtime, admin, receiver.url, "not-the-receivers-secret", [TICKET_CREATED])
    await make_ticket(runtime, admin)
    await drain(processor, tenant.id)

    [item] = receiver.snapshot()
    assert not item.signature_ok
    [row] = await webhook_rows(runtime, tenant.id)
    assert (row.state, row.attempts, row.last_error) == (STATE_PENDING, 1, "HTTP 401: receiver says no")


async def test_fan_out_run_twice_creates_each_webhook_row_once(
    sync_engine: Engine, runtime: Any, tenant: Any, admin: Member, receiver: Receiver
) -> None:
    await subscribe(runtime, admin, receiver.url, SECRET, ["*"])
    await subscribe(runtime, admin, receiver.url, SECRET, [TICKET_CREATED])
    await make_ticket(runtime, admin)
    [event] = await event_rows(runtime, tenant.id)

    def fan_out_once() -> int:
        with ScopedSession(sync_engine) as session, session.begin():
            scope_sync_session(session, None, system=True)
            return delivery.fan_out(session, session.get_one(OutboxRow, event.id), utcnow())

    assert await asyncio.to_thread(fan_out_once) == 2
    assert await asyncio.to_thread(fan_out_once) == 2
    children = await webhook_rows(runtime, tenant.id)
    assert sorted(row.id for row in children) == sorted(child_row_id(event.id, r.target_id) for r in children)
    assert len(children) == 2


async def test_failed_delivery_is_retried_with_exponential_backoff_until_delivered(
    runtime: Any, tenant: Any, admin: Member, processor: OutboxProcessor, receiver: Receiver
) -> None:
    receiver.status_for = lambda n: 500 if n <= 2 else 204
    await subscribe(runtime, admin, receiver.url, SECRET, [TICKET_CREATED])
    await make_ticket(runtime, admin)
    base = processor.settings.outbox_backoff_base_seconds

    first = utcnow()
    await drain(processor, tenant.id, at=first)
    [row] = await webhook_rows(runtime, tenant.id)
    assert (row.state, row.attempts, row.last_error) == (STATE_PENDING, 1, "HTTP 500: receiver says no")
    assert first + timedelta(seconds=base / 2) <= row.next_attempt_at <= first + timedelta(seconds=base)
    assert row.locked_until is None

    # Not due yet: nothing happens before next_attempt_at.
    assert await drain(processor, tenant.id, at=row.next_attempt_at - timedelta(milliseconds=1)) == []

    second = row.next_attempt_at
    await drain(processor, tenant.id, at=second)
    [row] = await webhook_rows(runtime, tenant.id)
    assert (row.state, row.attempts) == (STATE_PENDING, 2)
    assert second + timedelta(seconds=base) <= row.next_attempt_at <= second + timedelta(seconds=2 * base)

    await drain(processor, tenant.id, at=row.next_attempt_at)
    [row] = await webhook_rows(runtime, tenant.id)
    assert (row.state, row.attempts, row.last_error) == (STATE_DELIVERED, 3, None)
    assert row.delivered_at is not None

    log = await attempts_of(runtime, tenant.id, row.id)
    assert [(a.attempt, a.ok, a.status_code) for a in log] == [
        (1, False, 500),
        (2, False, 500),
        (3, True, 204),
    ]
    arrived = receiver.snapshot()
    assert len(arrived) == 3
    assert len({item.event_id for item in arrived}) == 1
    assert len({item.delivery_id for item in arrived}) == 1
    assert all(item.signature_ok for item in arrived)


async def test_delivery_dies_after_max_attempts_and_the_retry_route_requeues_it(
    client: Any, runtime: Any, tenant: Any, admin: Member, processor: OutboxProcessor, receiver: Receiver
) -> None:
    receiver.status_for = lambda n: 503
    subscription = await subscribe(runtime, admin, receiver.url, SECRET, [TICKET_CREATED])
    await make_ticket(runtime, admin)
    moment = utcnow()
    for _ in range(processor.settings.outbox_max_attempts):
        await drain(processor, tenant.id, at=moment)
        moment += timedelta(seconds=processor.settings.outbox_backoff_max_seconds)
    [row] = await webhook_rows(runtime, tenant.id)
    assert (row.state, row.attempts) == (STATE_DEAD, processor.settings.outbox_max_attempts)
    assert await drain(processor, tenant.id, at=moment + timedelta(days=1)) == []

    path = f"/api/v1/webhooks/{subscription.id}/deliveries"
    page = (await client.get(path, headers=admin.headers, params={"state": "dead"})).json()
    [item] = page["items"]
    assert item["id"] == str(row.id)
    assert item["event_id"] == str(row.event_id)
    assert item["state"] == "dead"
    assert item["next_attempt_at"] is None
    assert item["payload"] == row.payload
    assert [a["status_code"] for a in item["attempt_log"]] == [503, 503, 503]
    assert [a["attempt"] for a in item["attempt_log"]] == [1, 2, 3]
    assert (await client.get(path, headers=admin.headers, params={"state": "delivered"})).json()[
        "items"
    ] == []

    receiver.status_for = lambda n: 200
    retried = await client.post(f"{path}/{row.id}/retry", headers=admin.headers)
    assert retried.status_code == 200, retried.text
    assert (retried.json()["state"], retried.json()["attempts"]) == ("pending", 0)
    again = await client.post(f"{path}/{row.id}/retry", headers=admin.headers)
    assert again.status_code == 409

    await drain(processor, tenant.id)
    [row] = await webhook_rows(runtime, tenant.id)
    assert (row.state, row.attempts) == (STATE_DELIVERED, 1)
    item = (await client.get(path, headers=admin.headers)).json()["items"][0]
    assert [(a["attempt"], a["ok"]) for a in item["attempt_log"]] == [
        (1, False),
        (2, False),
        (3, False),
        (4, True),
    ]
    arrived = receiver.snapshot()
    assert len(arrived) == 4
    assert {entry.event_id for entry in arrived} == {str(row.event_id)}
    done = await client.post(f"{path}/{row.id}/retry", headers=admin.headers)
    assert done.status_code == 409


async def test_retry_route_refuses_rows_of_another_subscription(
    client: Any, runtime: Any, tenant: Any, admin: Member, processor: OutboxProcessor, receiver: Receiver
) -> None:
    first = await subscribe(runtime, admin, receiver.url, SECRET, [TICKET_CREATED])
    second = await subscribe(runtime, admin, receiver.url, SECRET, [TICKET_CREATED])
    await make_ticket(runtime, admin)
    await drain(processor, tenant.id)
    rows = by_id(await webhook_rows(runtime, tenant.id))
    [row_of_first] = [row for row in rows.values() if row.target_id == first.id]
    response = await client.post(
        f"/api/v1/webhooks/{second.id}/deliveries/{row_of_first.id}/retry", headers=admin.headers
    )
    assert response.status_code == 404


async def test_deliveries_page_with_a_cursor(
    client: Any, runtime: Any, tenant: Any, admin: Member, processor: OutboxProcessor, receiver: Receiver
) -> None:
    subscription = await subscribe(runtime, admin, receiver.url, SECRET, [TICKET_CREATED])
    for _ in range(3):
        await make_ticket(runtime, admin)
    await drain(processor, tenant.id)
    path = f"/api/v1/webhooks/{subscription.id}/deliveries"
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(path, headers=admin.headers, params=params)).json()
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    rows = await webhook_rows(runtime, tenant.id)
    assert sorted(seen) == sorted(str(row.id) for row in rows)
    assert len(seen) == 3


async def test_unreachable_receiver_is_a_failed_attempt(
    runtime: Any, tenant: Any, admin: Member, processor: OutboxProcessor
) -> None:
    closed = Receiver(SECRET).start()
    url = closed.url
    closed.stop()
    await subscribe(runtime, admin, url, SECRET, [TICKET_CREATED])
    await make_ticket(runtime, admin)
    await drain(processor, tenant.id)
    [row] = await webhook_rows(runtime, tenant.id)
    assert (row.state, row.attempts) == (STATE_PENDING, 1)
    assert row.last_error is not None and row.last_error.startswith("ConnectError")
    [attempt] = await attempts_of(runtime, tenant.id, row.id)
    assert (attempt.ok, attempt.status_code) == (False, None)


async def test_stale_task_does_nothing_after_its_lease_expired_and_was_reclaimed(
    runtime: Any, tenant: Any, admin: Member, processor: OutboxProcessor, receiver: Receiver
) -> None:
    await subscribe(runtime, admin, receiver.url, SECRET, [TICKET_CREATED])
    await make_ticket(runtime, admin)
    await drain(processor, tenant.id)  # fan-out and first delivery
    receiver.received.clear()
    await make_ticket(runtime, admin)
    now = utcnow()
    [claim] = await asyncio.to_thread(processor.claim, 10, tenant_id=tenant.id)
    assert claim.lease >= now + timedelta(seconds=processor.settings.outbox_lease_seconds)

    # The worker holding the claim dies; nothing else may claim the row while its lease holds.
    assert await asyncio.to_thread(processor.claim, 10, tenant_id=tenant.id) == []
    assert await drain(processor, tenant.id, at=claim.lease - timedelta(seconds=1)) == []

    # After the lease runs out the sweeper frees the row and the dispatcher claims it again.
    after = claim.lease + timedelta(seconds=1)

    def sweep_and_claim() -> Any:
        with clock.at(after):
            processor.sweep()
            return processor.claim(10, tenant_id=tenant.id)

    [reclaimed] = await asyncio.to_thread(sweep_and_claim)
    assert reclaimed.row_id == claim.row_id
    assert reclaimed.lease != claim.lease

    stale = await asyncio.to_thread(processor.process, claim.row_id, claim.lease)
    assert stale.outcome is Outcome.STALE
    fresh = await asyncio.to_thread(processor.process, reclaimed.row_id, reclaimed.lease)
    assert fresh.outcome is Outcome.FANNED_OUT
    await drain(processor, tenant.id)
    rows = await webhook_rows(runtime, tenant.id)
    assert [row.state for row in rows] == [STATE_DELIVERED, STATE_DELIVERED]
    assert len(receiver.snapshot()) == 1


async def test_disabled_or_deleted_subscriptions_leave_their_deliveries_dead(
    client: Any, runtime: Any, tenant: Any, admin: Member, processor: OutboxProcessor, receiver: Receiver
) -> None:
    disabled = await subscribe(runtime, admin, receiver.url, SECRET, [TICKET_CREATED])
    deleted = await subscribe(runtime, admin, receiver.url, SECRET, [TICKET_CREATED])
    await make_ticket(runtime, admin)
    # Fan out only: the event row is due, the webhook rows are created but not yet delivered.
    [claim] = await asyncio.to_thread(processor.claim, 10, tenant_id=tenant.id)
    assert (await asyncio.to_thread(processor.process, claim.row_id, claim.lease)).children == 2

    patch = await client.patch(
        f"/api/v1/webhooks/{disabled.id}", headers=admin.headers, json={"is_active": False}
    )
    assert patch.status_code == 200
    assert (await client.delete(f"/api/v1/webhooks/{deleted.id}", headers=admin.headers)).status_code == 204
    rows = {row.target_id: row for row in await webhook_rows(runtime, tenant.id)}
    assert (rows[deleted.id].state, rows[deleted.id].last_error) == (STATE_DEAD, "subscription deleted")

    outcomes = await drain(processor, tenant.id)
    assert [p.outcome for p in outcomes] == [Outcome.DEAD]
    rows = {row.target_id: row for row in await webhook_rows(runtime, tenant.id)}
    assert (rows[disabled.id].state, rows[disabled.id].last_error) == (STATE_DEAD, "subscription disabled")
    assert receiver.snapshot() == []
