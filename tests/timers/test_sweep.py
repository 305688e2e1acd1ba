"""The timer table and its sweep: set/move/remove a ticket's timer, every due row handled once per
due instant, the next instant a handler returns kept, one failing ticket not stopping the others,
handlers running in the ticket's own tenant, concurrent sweeps not handling a row twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from huiliu.db.session import UnitOfWork
from huiliu.runtime import Runtime
from huiliu.timers.models import TicketTimer
from huiliu.timers.service import (
    CLAIM_LEASE,
    get_timer,
    register_timer_handler,
    set_timer,
    sweep,
    unregister_timer_handler,
)
from tests.factories import make_member, make_tenant, make_ticket

# Far enough ahead that no other test's real timers are due then, in the same database.
BASE = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


class Recorder:
    """A timer handler that remembers what it was asked, fails for chosen tickets and answers a
    chosen next instant."""

    def __init__(self) -> None:
        self.calls: list[tuple[uuid.UUID | None, uuid.UUID, datetime]] = []
        self.failing: set[uuid.UUID] = set()
        self.next_at: dict[uuid.UUID, datetime] = {}

    async def __call__(self, uow: UnitOfWork, ticket_id: uuid.UUID, now: datetime) -> datetime | None:
        self.calls.append((uow.tenant_id, ticket_id, now))
        if ticket_id in self.failing:
            raise RuntimeError("handler failed for this ticket")
        return self.next_at.get(ticket_id)

    def tickets(self) -> list[uuid.UUID]:
        return [ticket_id for _, ticket_id, _ in self.calls]


@pytest.fixture
def kind() -> Iterator[str]:
    name = f"t{uuid.uuid4().hex[:12]}"
    yield name
    unregister_timer_handler(name)


async def _tickets(runtime: Runtime, count: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    ids = [(await make_ticket(runtime, admin, title=f"t{i}"))["id"] for i in range(count)]
    return tenant.id, ids


async def _set(runtime: Runtime, tenant_id: uuid.UUID, ticket_id: uuid.UUID, kind: str, at: datetime | None):
    async with runtime.db.uow(tenant_id) as uow:
        await set_timer(uow, ticket_id, kind, at)
        await uow.commit()


async def _get(runtime: Runtime, tenant_id: uuid.UUID, ticket_id: uuid.UUID, kind: str) -> datetime | None:
    async with runtime.db.uow(tenant_id) as uow:
        return await get_timer(uow, ticket_id, kind)


async def test_set_timer_inserts_moves_and_removes(runtime, kind):
    tenant_id, [ticket_id] = await _tickets(runtime, 1)
    await _set(runtime, tenant_id, ticket_id, kind, BASE)
    assert await _get(runtime, tenant_id, ticket_id, kind) == BASE
    await _set(runtime, tenant_id, ticket_id, kind, BASE + timedelta(hours=1))
    assert await _get(runtime, tenant_id, ticket_id, kind) == BASE + timedelta(hours=1)
    await _set(runtime, tenant_id, ticket_id, kind, None)
    assert await _get(runtime, tenant_id, ticket_id, kind) is None
    async with runtime.db.read(tenant_id) as session:
        rows = (await session.execute(select(TicketTimer).where(TicketTimer.kind == kind))).all()
    assert rows == []


async def test_set_timer_refuses_a_naive_instant(runtime, kind):
    tenant_id, [ticket_id] = await _tickets(runtime, 1)
    async with runtime.db.uow(tenant_id) as uow:
        with pytest.raises(ValueError, match="timezone-aware"):
            await set_timer(uow, ticket_id, kind, datetime(2030, 1, 1, 9, 0))


async def test_register_refuses_a_kind_longer_than_the_column(kind):
    async def handler(uow: UnitOfWork, ticket_id: uuid.UUID, now: datetime) -> datetime | None:
        return None

    with pytest.raises(ValueError, match="1 to 16"):
        register_timer_handler("x" * 17, handler)


async def test_due_rows_are_handled_once_and_future_rows_wait(runtime, kind):
    tenant_id, (first, second, later) = await _tickets(runtime, 3)
    recorder = Recorder()
    register_timer_handler(kind, recorder)
    await _set(runtime, tenant_id, first, kind, BASE - timedelta(minutes=5))
    await _set(runtime, tenant_id, second, kind, BASE)
    await _set(runtime, tenant_id, later, kind, BASE + timedelta(minutes=5))

    result = await sweep(runtime.db, BASE)
    assert sorted(recorder.tickets()) == sorted([first, second])
    assert result.handled >= 2 and result.failed == 0
    # Handled with nothing further due: the rows are gone, a second sweep does not see them.
    assert await _get(runtime, tenant_id, first, kind) is None
    await sweep(runtime.db, BASE + timedelta(seconds=30))
    assert sorted(recorder.tickets()) == sorted([first, second])
    assert await _get(runtime, tenant_id, later, kind) == BASE + timedelta(minutes=5)

    await sweep(runtime.db, BASE + timedelta(minutes=5))
    assert recorder.tickets().count(later) == 1
    assert all(now_seen >= BASE for _, _, now_seen in recorder.calls)


async def test_the_next_instant_a_handler_returns_is_kept(runtime, kind):
    tenant_id, [ticket_id] = await _tickets(runtime, 1)
    recorder = Recorder()
    recorder.next_at[ticket_id] = BASE + timedelta(hours=2)
    register_timer_handler(kind, recorder)
    await _set(runtime, tenant_id, ticket_id, kind, BASE)
    await sweep(runtime.db, BASE)
    assert await _get(runtime, tenant_id, ticket_id, kind) == BASE + timedelta(hours=2)
    await sweep(runtime.db, BASE + timedelta(hours=1))
    assert recorder.tickets() == [ticket_id]


async def test_a_handler_answering_now_is_not_run_again_in_the_same_sweep(runtime, kind):
    tenant_id, [ticket_id] = await _tickets(runtime, 1)
    recorder = Recorder()
    recorder.next_at[ticket_id] = BASE - timedelta(minutes=1)
    register_timer_handler(kind, recorder)
    await _set(runtime, tenant_id, ticket_id, kind, BASE)
    await sweep(runtime.db, BASE)
    assert recorder.tickets() == [ticket_id]
    assert await _get(runtime, tenant_id, ticket_id, kind) == BASE + timedelta(seconds=1)


async def test_one_failing_ticket_does_not_stop_the_others(runtime, kind):
    tenant_id, (bad, good1, good2) = await _tickets(runtime, 3)
    recorder = Recorder()
    recorder.failing.add(bad)
    register_timer_handler(kind, recorder)
    for ticket_id in (bad, good1, good2):
        await _set(runtime, tenant_id, ticket_id, kind, BASE)

    result = await sweep(runtime.db, BASE)
    assert set(recorder.tickets()) == {bad, good1, good2}
    assert result.failed >= 1
    assert await _get(runtime, tenant_id, good1, kind) is None
    assert await _get(runtime, tenant_id, good2, kind) is None
    # The failed ticket waits for the lease, then is tried again.
    assert await _get(runtime, tenant_id, bad, kind) == BASE + CLAIM_LEASE
    await sweep(runtime.db, BASE + timedelta(seconds=10))
    assert recorder.tickets().count(bad) == 1
    recorder.failing.clear()
    await sweep(runtime.db, BASE + CLAIM_LEASE)
    assert recorder.tickets().count(bad) == 2
    assert await _get(runtime, tenant_id, bad, kind) is None


async def test_a_failed_handler_rolls_back_its_writes(runtime, kind):
    tenant_id, [ticket_id] = await _tickets(runtime, 1)
    other_kind = kind[:-1] + "z"

    async def writes_then_fails(uow: UnitOfWork, ticket: uuid.UUID, now: datetime) -> datetime | None:
        await set_timer(uow, ticket, other_kind, now + timedelta(days=1))
        raise RuntimeError("after writing")

    register_timer_handler(kind, writes_then_fails)
    await _set(runtime, tenant_id, ticket_id, kind, BASE)
    result = await sweep(runtime.db, BASE)
    assert result.failed >= 1
    assert await _get(runtime, tenant_id, ticket_id, other_kind) is None


async def test_handlers_run_in_the_tickets_own_tenant(runtime, kind):
    tenant_a, [ticket_a] = await _tickets(runtime, 1)
    tenant_b, [ticket_b] = await _tickets(runtime, 1)
    recorder = Recorder()
    register_timer_handler(kind, recorder)
    await _set(runtime, tenant_a, ticket_a, kind, BASE)
    await _set(runtime, tenant_b, ticket_b, kind, BASE)
    await sweep(runtime.db, BASE)
    assert {(tenant, ticket) for tenant, ticket, _ in recorder.calls} == {
        (tenant_a, ticket_a),
        (tenant_b, ticket_b),
    }
    # Another tenant's unit of work does not see (or move) the row.
    await _set(runtime, tenant_b, ticket_b, kind, BASE)
    await _set(runtime, tenant_a, ticket_b, kind, None)
    assert await _get(runtime, tenant_b, ticket_b, kind) == BASE
    assert await _get(runtime, tenant_a, ticket_b, kind) is None


async def test_rows_of_a_kind_without_handler_wait_for_the_lease(runtime, kind):
    tenant_id, [ticket_id] = await _tickets(runtime, 1)
    await _set(runtime, tenant_id, ticket_id, kind, BASE)
    result = await sweep(runtime.db, BASE)
    assert result.unhandled >= 1
    assert await _get(runtime, tenant_id, ticket_id, kind) == BASE + CLAIM_LEASE


async def test_concurrent_sweeps_handle_each_row_once(runtime, kind):
    tenant_id, ids = await _tickets(runtime, 12)
    recorder = Recorder()
    register_timer_handler(kind, recorder)
    for ticket_id in ids:
        await _set(runtime, tenant_id, ticket_id, kind, BASE)
    await asyncio.gather(
        sweep(runtime.db, BASE, batch=3), sweep(runtime.db, BASE, batch=3), sweep(runtime.db, BASE, batch=5)
    )
    assert sorted(recorder.tickets()) == sorted(ids)


async def test_batches_are_claimed_until_none_is_due(runtime, kind):
    tenant_id, ids = await _tickets(runtime, 7)
    recorder = Recorder()
    register_timer_handler(kind, recorder)
    for ticket_id in ids:
        await _set(runtime, tenant_id, ticket_id, kind, BASE)
    result = await sweep(runtime.db, BASE, batch=2)
    assert sorted(recorder.tickets()) == sorted(ids)
    assert result.batches >= 4


class BatchRecorder(Recorder):
    """A timer handler with a batch form: the batch fails when it holds a failing ticket."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[uuid.UUID]] = []

    async def batch(self, uow: UnitOfWork, ticket_ids, now: datetime) -> dict[uuid.UUID, datetime | None]:
        self.batches.append(list(ticket_ids))
        if self.failing & set(ticket_ids):
            # Writes made before the failure are rolled back with the batch.
            await set_timer(uow, ticket_ids[0], "never", now)
            raise RuntimeError("one ticket of the batch failed")
        return {ticket_id: self.next_at.get(ticket_id) for ticket_id in ticket_ids}


async def test_a_batch_handler_takes_a_tenants_due_tickets_together(runtime, kind):
    tenant_id, ids = await _tickets(runtime, 5)
    recorder = BatchRecorder()
    recorder.next_at[ids[0]] = BASE + timedelta(hours=1)
    register_timer_handler(kind, recorder, batch=recorder.batch)
    for ticket_id in ids:
        await _set(runtime, tenant_id, ticket_id, kind, BASE)
    result = await sweep(runtime.db, BASE)
    assert [sorted(batch) for batch in recorder.batches] == [sorted(ids)]
    assert recorder.calls == []  # the one-by-one handler was not needed
    assert result.handled >= 5
    assert await _get(runtime, tenant_id, ids[0], kind) == BASE + timedelta(hours=1)
    assert all([await _get(runtime, tenant_id, ticket_id, kind) is None for ticket_id in ids[1:]])


async def test_a_failed_batch_is_handled_one_by_one(runtime, kind):
    tenant_id, ids = await _tickets(runtime, 4)
    recorder = BatchRecorder()
    recorder.failing.add(ids[2])
    register_timer_handler(kind, recorder, batch=recorder.batch)
    for ticket_id in ids:
        await _set(runtime, tenant_id, ticket_id, kind, BASE)
    result = await sweep(runtime.db, BASE)
    assert len(recorder.batches) == 1
    assert sorted(recorder.tickets()) == sorted(ids)
    assert result.failed >= 1
    for ticket_id in ids:
        expected = BASE + CLAIM_LEASE if ticket_id == ids[2] else None
        assert await _get(runtime, tenant_id, ticket_id, kind) == expected
    assert await _get(runtime, tenant_id, ids[0], "never") is None
