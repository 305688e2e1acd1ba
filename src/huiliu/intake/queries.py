"""The read side of intake: what the pipeline looks up in the ticket pool before it decides.

Every function takes many keys at once, so a batch of a thousand messages costs a few statements,
not a few thousand. The session is tenant-scoped (``db.session``)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.core.clock import ensure_utc
from huiliu.customers.queries import PG_IDENTITY_OWNERS
from huiliu.db.driver import session_driver_connection
from huiliu.entry_points.models import EntryPoint
from huiliu.intake.domain import OPEN_STATUSES, EntryPointRules, IntakeDefaults, RecentMessage, fold_key
from huiliu.orders.queries import PG_KNOWN_NUMBERS
from huiliu.tickets.models import Message, Ticket


@dataclass(frozen=True)
class Delivered:
    """A message already in the pool, found by (channel, external id), and its ticket."""

    message_id: uuid.UUID
    ticket_id: uuid.UUID
    ticket_number: int
    ticket_status: str
    merged_into_id: uuid.UUID | None


@dataclass(frozen=True)
class PoolTicket:
    """A ticket a message may join."""

    id: uuid.UUID
    number: int
    status: str
    customer_id: uuid.UUID | None
    entry_point_id: uuid.UUID | None
    alarm_key: str | None
    merged_into_id: uuid.UUID | None
    last_activity_at: datetime


_POOL_COLUMNS = (
    Ticket.id,
    Ticket.number,
    Ticket.status,
    Ticket.customer_id,
    Ticket.entry_point_id,
    Ticket.alarm_key,
    Ticket.merged_into_id,
    func.coalesce(Ticket.last_message_at, Ticket.created_at).label("last_activity_at"),
)


def _pool_ticket(row: Any) -> PoolTicket:
    return PoolTicket(
        id=row.id,
        number=row.number,
        status=row.status,
        customer_id=row.customer_id,
        entry_point_id=row.entry_point_id,
        alarm_key=row.alarm_key,
        merged_into_id=row.merged_into_id,
        last_activity_at=row.last_activity_at,
    )


async def entry_point_rules(
    session: AsyncSession, entry_point_ids: Iterable[uuid.UUID], defaults: IntakeDefaults
) -> dict[uuid.UUID, EntryPointRules]:
    """The entry points (of the session's tenant) among ``entry_point_ids``; unknown ids are absent.
    One query for all of them, reading columns (no ORM objects)."""
    wanted = list(dict.fromkeys(entry_point_ids))
    if not wanted:
        return {}
    rows = await session.execute(_ENTRY_POINTS, {"ids": wanted})
    return {
        row.id: EntryPointRules.from_config(
            entry_point_id=row.id,
            name=row.name,
            channel=row.channel,
            is_active=row.is_active,
            config=row.config or {},
            defaults=defaults,
        )
        for row in rows
    }


# Built once (expanding parameters): building a statement per call costs more than running it.
_ENTRY_POINTS = select(
    EntryPoint.id, EntryPoint.name, EntryPoint.channel, EntryPoint.is_active, EntryPoint.config
).where(EntryPoint.id.in_(bindparam("ids", expanding=True)))
# Channels × external ids: the caller keeps the exact pairs asked for.
_DELIVERED = (
    select(
        Message.channel,
        Message.external_id,
        Message.id,
        Ticket.id.label("ticket_id"),
        Ticket.number,
        Ticket.status,
        Ticket.merged_into_id,
    )
    .join(Ticket, Ticket.id == Message.ticket_id)
    .where(
        Message.channel.in_(bindparam("channels", expanding=True)),
        Message.external_id.in_(bindparam("external_ids", expanding=True)),
    )
)


async def delivered(
    session: AsyncSession, keys: Collection[tuple[str, str]]
) -> dict[tuple[str, str], Delivered]:
    """Messages already stored under these (channel, external id) keys, with their tickets."""
    if not keys:
        return {}
    rows = await session.execute(
        _DELIVERED,
        {"channels": list({c for c, _ in keys}), "external_ids": list({e for _, e in keys})},
    )
    return {
        (row.channel, row.external_id): Delivered(
            message_id=row.id,
            ticket_id=row.ticket_id,
            ticket_number=row.number,
            ticket_status=row.status,
            merged_into_id=row.merged_into_id,
        )
        for row in rows
        if (row.channel, row.external_id) in keys
    }


async def tickets_by_id(
    session: AsyncSession, ticket_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, PoolTicket]:
    if not ticket_ids:
        return {}
    rows = await session.execute(select(*_POOL_COLUMNS).where(Ticket.id.in_(list(ticket_ids))))
    return {row.id: _pool_ticket(row) for row in rows}


async def open_tickets_of_customers(
    session: AsyncSession, customer_ids: Collection[uuid.UUID]
) -> list[PoolTicket]:
    """The customers' open tickets (new, open, pending, on hold; not merged away), locked for update
    in id order: a message may join one of them in this transaction."""
    if not customer_ids:
        return []
    rows = await session.execute(
        select(*_POOL_COLUMNS)
        .where(
            Ticket.customer_id.in_(list(customer_ids)),
            Ticket.status.in_(sorted(OPEN_STATUSES)),
            Ticket.merged_into_id.is_(None),
        )
        .order_by(Ticket.id)
        .with_for_update()
    )
    return [_pool_ticket(row) for row in rows]


async def open_alarm_tickets(session: AsyncSession, alarm_keys: Collection[str]) -> dict[str, PoolTicket]:
    """The open ticket of each device alarm key (the most recently active one if there are several),
    locked for update."""
    if not alarm_keys:
        return {}
    rows = await session.execute(
        select(*_POOL_COLUMNS)
        .where(
            Ticket.alarm_key.in_(list(alarm_keys)),
            Ticket.status.in_(sorted(OPEN_STATUSES)),
            Ticket.merged_into_id.is_(None),
        )
        .order_by(Ticket.id)
        .with_for_update()
    )
    found: dict[str, PoolTicket] = {}
    for ticket in map(_pool_ticket, rows):
        assert ticket.alarm_key is not None
        current = found.get(ticket.alarm_key)
        if current is None or ticket.last_activity_at > current.last_activity_at:
            found[ticket.alarm_key] = ticket
    return found


async def recent_customer_messages(
    session: AsyncSession, ticket_ids: Collection[uuid.UUID], since: datetime
) -> list[RecentMessage]:
    """Customer messages written since ``since`` on these tickets, as fold keys."""
    if not ticket_ids:
        return []
    rows = await session.execute(
        select(Message.ticket_id, Message.body, Message.created_at).where(
            Message.ticket_id.in_(list(ticket_ids)),
            Message.author_kind == "customer",
            Message.created_at >= since,
        )
    )
    return [RecentMessage(row.ticket_id, fold_key(row.body), row.created_at) for row in rows]


# PostgreSQL: the look-ups of one intake transaction in two psycopg pipelines on the unit of work's
# own connection (decision 0056). Through the ORM each is a round trip (one send, one wait, a wake-up)
# plus SQLAlchemy's compile of its expanding IN lists; here the text is fixed (arrays, not IN lists),
# so psycopg prepares each statement on the server, and a pipeline sends them together. The rows are
# those of the functions above, whose tenant scope the ORM adds and these statements spell out.
_PG_ENTRY_POINTS = """
SELECT id, name, channel, is_active, config FROM entry_points
WHERE tenant_id = %(tenant_id)s AND id = ANY(%(entry_point_ids)s::uuid[])
"""
# The channels are the messages' own and those of their entry points (which a message takes): the
# caller keeps the exact (channel, external id) pairs once it knows each message's channel.
_PG_DELIVERED = """
SELECT m.channel, m.external_id, m.id, t.id, t.number, t.status, t.merged_into_id
FROM messages AS m JOIN tickets AS t ON t.id = m.ticket_id
WHERE m.tenant_id = %(tenant_id)s AND t.tenant_id = %(tenant_id)s
  AND m.channel = ANY(%(channels)s::text[] || ARRAY(
      SELECT channel FROM entry_points
      WHERE tenant_id = %(tenant_id)s AND id = ANY(%(entry_point_ids)s::uuid[])))
  AND m.external_id = ANY(%(external_ids)s::text[])
"""
_PG_POOL_COLUMNS = (
    "id, number, status, customer_id, entry_point_id, alarm_key, merged_into_id, "
    "coalesce(last_message_at, created_at)"
)
_PG_OPEN_OF_CUSTOMERS = """
FROM tickets
WHERE tenant_id = %(tenant_id)s AND customer_id = ANY(%(customer_ids)s::uuid[])
  AND status = ANY(%(statuses)s::text[]) AND merged_into_id IS NULL
"""
_PG_LOCK = "SELECT pg_advisory_xact_lock(k) FROM unnest(%(lock_keys)s::bigint[]) AS k"
# Every key it can take now; answers the keys another transaction holds.
_PG_TRY_LOCK = "SELECT k FROM unnest(%(lock_keys)s::bigint[]) AS k WHERE NOT pg_try_advisory_xact_lock(k)"
_PG_OPEN_TICKETS = f"SELECT {_PG_POOL_COLUMNS} {_PG_OPEN_OF_CUSTOMERS} ORDER BY id FOR UPDATE"
_PG_ALARM_TICKETS = f"""
SELECT {_PG_POOL_COLUMNS} FROM tickets
WHERE tenant_id = %(tenant_id)s AND alarm_key = ANY(%(alarm_keys)s::text[])
  AND status = ANY(%(statuses)s::text[]) AND merged_into_id IS NULL
ORDER BY id FOR UPDATE
"""
# Runs after the open tickets were locked in the same pipeline: the same tickets' customer messages.
# ``= ANY(ARRAY(…))`` makes the tickets an init plan, so messages are found through their ticket index
# (a semi-join may be planned as a scan of all messages once the statement is prepared).
_PG_RECENT = f"""
SELECT ticket_id, body, created_at FROM messages
WHERE tenant_id = %(tenant_id)s AND ticket_id = ANY(ARRAY(SELECT id {_PG_OPEN_OF_CUSTOMERS}))
  AND author_kind = 'customer' AND created_at >= %(since)s
"""


@dataclass(frozen=True)
class FirstLook:
    """What a PostgreSQL intake transaction reads before it decides anything (``pg_first_look``)."""

    entry_points: dict[uuid.UUID, EntryPointRules]
    # Every stored message under the asked external ids in the candidate channels.
    delivered: dict[tuple[str, str], Delivered]
    # Rows of customers.queries.PG_IDENTITY_OWNERS.
    owner_rows: list[tuple[Any, ...]]
    # Which of the asked (normalized) order numbers the tenant has; None when none were asked.
    known_orders: set[str] | None = None
    # Lock keys another transaction holds (``try_locks``).
    contended: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class DecisionReads:
    """The pool a PostgreSQL intake transaction decides on, read under its locks (``pg_decision_reads``)."""

    rows_written: int
    open_tickets: list[PoolTicket]
    alarm_tickets: dict[str, PoolTicket]
    recent: list[RecentMessage]


async def pg_first_look(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    entry_point_ids: Collection[uuid.UUID],
    channels: Collection[str],
    external_ids: Collection[str],
    identity_keys: Collection[tuple[str, str]],
    defaults: IntakeDefaults,
    order_numbers: Collection[str] | None = None,
    lock_keys: list[int] | None = None,
    try_locks: bool = False,
) -> FirstLook:
    """Entry points, stored messages, identity owners and (when ``order_numbers`` is given) which of
    those orders the tenant has, in one round trip (BEGIN included). ``lock_keys`` (sorted): advisory
    locks taken first, so the reads after them see what a transaction that held one committed; with
    ``try_locks`` none is waited for and ``contended`` names those another transaction holds."""
    params = {
        "tenant_id": tenant_id,
        "entry_point_ids": list(entry_point_ids),
        "channels": list(channels),
        "external_ids": list(external_ids),
        "kinds": list({kind for kind, _ in identity_keys}),
        "values": list({value for _, value in identity_keys}),
        "order_numbers": sorted(order_numbers or ()),
        "lock_keys": lock_keys or [],
    }
    connection = await session_driver_connection(session)
    async with connection.pipeline():
        entry_points = connection.cursor()
        delivered_rows = connection.cursor()
        owners = connection.cursor()
        orders = connection.cursor()
        locks = connection.cursor()
        if lock_keys:
            await locks.execute(_PG_TRY_LOCK if try_locks else _PG_LOCK, params)
        if entry_point_ids:
            await entry_points.execute(_PG_ENTRY_POINTS, params)
        if external_ids:
            await delivered_rows.execute(_PG_DELIVERED, params)
        if identity_keys:
            await owners.execute(PG_IDENTITY_OWNERS, params)
        if order_numbers:
            await orders.execute(PG_KNOWN_NUMBERS, params)
    rules = {
        row[0]: EntryPointRules.from_config(
            entry_point_id=row[0],
            name=row[1],
            channel=row[2],
            is_active=row[3],
            config=row[4] or {},
            defaults=defaults,
        )
        for row in (await entry_points.fetchall() if entry_point_ids else [])
    }
    found = {
        (row[0], row[1]): Delivered(
            message_id=row[2],
            ticket_id=row[3],
            ticket_number=row[4],
            ticket_status=row[5],
            merged_into_id=row[6],
        )
        for row in (await delivered_rows.fetchall() if external_ids else [])
    }
    owner_rows = list(await owners.fetchall()) if identity_keys else []
    known_orders = None
    if order_numbers is not None:
        known_orders = {row[0] for row in await orders.fetchall()} if order_numbers else set()
    contended = {row[0] for row in await locks.fetchall()} if lock_keys and try_locks else set()
    return FirstLook(rules, found, owner_rows, known_orders, contended)


async def pg_decision_reads(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    write_first: tuple[str, dict[str, Any]] | None,
    lock_keys: list[int],
    customer_ids: Collection[uuid.UUID],
    alarm_keys: Collection[str],
    since: datetime,
) -> DecisionReads:
    """Run ``write_first`` (statement and parameters: the new customers, ``customers.service.
    PG_INSERT_NEW``; ``rows_written`` counts its rows), take the advisory locks (sorted keys), then read
    the customers' and alarms' open tickets (locked for update) and those tickets' recent customer
    messages, in one round trip."""
    params = {
        "tenant_id": tenant_id,
        "lock_keys": lock_keys,
        "customer_ids": list(customer_ids),
        "alarm_keys": list(alarm_keys),
        "statuses": sorted(OPEN_STATUSES),
        "since": since,
    }
    connection = await session_driver_connection(session)
    async with connection.pipeline():
        written, lock, open_rows, alarm_rows, recent_rows = (connection.cursor() for _ in range(5))
        if write_first is not None:
            await written.execute(*write_first)
        if lock_keys:
            await lock.execute(_PG_LOCK, params)
        if customer_ids:
            await open_rows.execute(_PG_OPEN_TICKETS, params)
            await recent_rows.execute(_PG_RECENT, params)
        if alarm_keys:
            await alarm_rows.execute(_PG_ALARM_TICKETS, params)
    open_tickets = [_pg_pool_ticket(row) for row in (await open_rows.fetchall() if customer_ids else [])]
    alarm_tickets: dict[str, PoolTicket] = {}
    for ticket in (_pg_pool_ticket(row) for row in (await alarm_rows.fetchall() if alarm_keys else [])):
        assert ticket.alarm_key is not None
        current = alarm_tickets.get(ticket.alarm_key)
        if current is None or ticket.last_activity_at > current.last_activity_at:
            alarm_tickets[ticket.alarm_key] = ticket
    # A ticket of these customers opened by another path between the two statements is not in the
    # locked list; its messages are not either (the ORM path reads messages of the locked list only).
    locked = {ticket.id for ticket in open_tickets}
    recent = [
        RecentMessage(row[0], fold_key(row[1]), ensure_utc(row[2]))
        for row in (await recent_rows.fetchall() if customer_ids else [])
        if row[0] in locked
    ]
    rows_written = len(await written.fetchall()) if write_first is not None else 0
    return DecisionReads(rows_written, open_tickets, alarm_tickets, recent)


def _pg_pool_ticket(row: tuple[Any, ...]) -> PoolTicket:
    return PoolTicket(
        id=row[0],
        number=row[1],
        status=row[2],
        customer_id=row[3],
        entry_point_id=row[4],
        alarm_key=row[5],
        merged_into_id=row[6],
        last_activity_at=ensure_utc(row[7]),
    )
