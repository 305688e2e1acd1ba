"""Ticket creation on PostgreSQL in one statement and one round trip.

Creating a ticket is the hottest write (a Singles' Day burst is thousands a second). Through the ORM
it costs ten round trips (BEGIN, identity lookup, customer, identity, sequence, ticket, audit event,
outbox, COMMIT), and on this platform each round trip's system calls dominate. Here the same rows are
written by one statement of data-modifying CTEs, sent with BEGIN and COMMIT in one psycopg pipeline
on the unit of work's own connection: customer resolution, next ticket number, ticket, tags, audit
event and outbox row all commit together or not at all.

The rows are exactly those of the portable path in ``service.create_ticket`` (the tests compare both
on PostgreSQL); decision record: docs/decisions/0004-postgres-create-fast-path.md."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from psycopg import AsyncConnection
from psycopg.pq import TransactionStatus

from huiliu.customers.service import pg_resolve_one_identity
from huiliu.db.driver import DriverPool
from huiliu.db.session import UnitOfWork

_CUSTOMER_CTES = """
found AS (
    SELECT customer_id FROM customer_identities
    WHERE tenant_id = %(tenant_id)s AND kind = %(kind)s AND value = %(value)s
), new_customer AS (
    INSERT INTO customers (id, tenant_id, name, level, attributes, created_at, updated_at)
    SELECT %(customer_id)s, %(tenant_id)s, %(name)s, 'normal', '{}'::jsonb, %(now)s, %(now)s
    WHERE NOT EXISTS (SELECT 1 FROM found)
    RETURNING id
), new_identity AS (
    -- A concurrent request may register this identity first: then nothing is returned, the ticket
    -- is created without a customer and the caller attaches the winner's (``settle_identity_race``).
    INSERT INTO customer_identities (id, tenant_id, customer_id, kind, value, verified, created_at)
    SELECT %(identity_id)s, %(tenant_id)s, id, %(kind)s, %(value)s, false, %(now)s FROM new_customer
    ON CONFLICT (tenant_id, kind, value) DO NOTHING
    RETURNING customer_id
), customer AS (
    SELECT customer_id FROM found UNION ALL SELECT customer_id FROM new_identity
),"""


def _statement(with_customer: bool) -> str:
    # Each row travels as one JSON document expanded by jsonb_populate_record, so the statement has
    # few parameters: psycopg then caches its conversion and prepares it on the server. The record
    # functions sit in FROM: written as ``SELECT (f(...)).*`` PostgreSQL would call f once per column,
    # which made this statement cost 2.5 times as much server CPU.
    customer = "(SELECT customer_id FROM customer LIMIT 1)" if with_customer else "NULL::uuid"
    return f"""
WITH {_CUSTOMER_CTES if with_customer else ""}
num AS (SELECT nextval(%(sequence)s::regclass) AS n),
t AS (
    INSERT INTO tickets
    SELECT r.* FROM num, jsonb_populate_record(NULL::tickets, %(ticket)s::jsonb
        || jsonb_build_object('number', num.n, 'customer_id', {customer})) AS r
    RETURNING tenant_id, id, number, customer_id
), e AS (
    INSERT INTO ticket_events
    SELECT r.* FROM jsonb_populate_record(NULL::ticket_events, %(event)s::jsonb) AS r
), tags AS (
    INSERT INTO ticket_tags (tenant_id, ticket_id, tag)
    SELECT t.tenant_id, t.id, tag FROM t, jsonb_array_elements_text(%(ticket)s::jsonb -> 'tags') AS tag
), o AS (
    INSERT INTO outbox
    SELECT r.* FROM t, jsonb_populate_record(NULL::outbox, jsonb_set(%(outbox)s::jsonb, '{{payload}}',
        jsonb_set(jsonb_set(%(outbox)s::jsonb -> 'payload', '{{data,ticket,number}}', to_jsonb(t.number)),
            '{{data,ticket,customer_id}}', coalesce(to_jsonb(t.customer_id), 'null'::jsonb)))) AS r
)
SELECT number, customer_id FROM t
"""


CREATE_WITH_CUSTOMER = _statement(with_customer=True)
CREATE_WITHOUT_CUSTOMER = _statement(with_customer=False)


def _json(row: dict[str, Any]) -> str:
    return orjson.dumps(row).decode()


async def _driver_connection(uow: UnitOfWork) -> AsyncConnection[Any]:
    connection = await uow.session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, AsyncConnection)
    return driver


def _parameters(
    tenant_id: uuid.UUID,
    *,
    sequence: str,
    ticket: dict[str, Any],
    event_row: dict[str, Any],
    outbox_row: dict[str, Any],
    customer_name: str | None,
    identity: tuple[str, str] | None,
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    params: dict[str, Any] = {
        "sequence": sequence,
        "ticket": _json(ticket),
        "event": _json(event_row),
        "outbox": _json(outbox_row),
    }
    resolution: dict[str, Any] = {}
    if identity is not None:
        resolution = pg_resolve_one_identity(tenant_id, customer_name, *identity)
        params.update(resolution)
    statement = CREATE_WITH_CUSTOMER if identity is not None else CREATE_WITHOUT_CUSTOMER
    return statement, params, resolution


async def create_and_commit(
    uow: UnitOfWork,
    *,
    sequence: str,
    ticket: dict[str, Any],
    event_row: dict[str, Any],
    outbox_row: dict[str, Any],
    customer_name: str | None,
    identity: tuple[str, str] | None,
) -> tuple[int, uuid.UUID | None, dict[str, Any]]:
    """Write everything and commit; returns the ticket number and customer id the database chose, and
    the customer-resolution parameters (a None customer with an identity means a lost race)."""
    if uow.session.new or uow.session.dirty:
        await uow.session.flush()  # e.g. an Idempotency-Key row: it must share this transaction
    assert uow.tenant_id is not None
    statement, params, resolution = _parameters(
        uow.tenant_id,
        sequence=sequence,
        ticket=ticket,
        event_row=event_row,
        outbox_row=outbox_row,
        customer_name=customer_name,
        identity=identity,
    )
    connection = await _driver_connection(uow)
    cursor = connection.cursor()
    if connection.info.transaction_status == TransactionStatus.IDLE:
        # Nothing else is in this transaction yet: one statement is atomic on its own, so run it in
        # autocommit and save the BEGIN and COMMIT messages.
        await connection.set_autocommit(True)
        try:
            await cursor.execute(statement, params)
            row = await cursor.fetchone()
        finally:
            await connection.set_autocommit(False)
    else:
        async with connection.pipeline():
            await cursor.execute(statement, params)
            await connection.commit()
            row = await cursor.fetchone()
    assert row is not None
    return int(row[0]), row[1], resolution


async def create_grouped(
    pool: DriverPool,
    tenant_id: uuid.UUID,
    *,
    sequence: str,
    ticket: dict[str, Any],
    event_row: dict[str, Any],
    outbox_row: dict[str, Any],
    customer_name: str | None,
    identity: tuple[str, str] | None,
) -> tuple[int, uuid.UUID | None, dict[str, Any]]:
    """The same write through the driver pool's group commit: committed before this returns, in a
    transaction shared with the process's concurrent creates when they queue up."""
    statement, params, resolution = _parameters(
        tenant_id,
        sequence=sequence,
        ticket=ticket,
        event_row=event_row,
        outbox_row=outbox_row,
        customer_name=customer_name,
        identity=identity,
    )
    row = await pool.fetchone_grouped(statement, params)
    assert row is not None
    return int(row[0]), row[1], resolution
