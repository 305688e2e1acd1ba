"""Ticket creation on PostgreSQL in one statement and one round trip.

Creating a ticket is the hottest write (a Singles' Day burst is thousands a second). Through the ORM
it costs ten round trips (BEGIN, identity lookup, customer, identity, sequence, ticket, audit event,
outbox, COMMIT), and on this platform each round trip's system calls dominate. Here the same rows are
written by one statement of data-modifying CTEs: customer resolution, next ticket number, ticket,
tags, audit event and outbox row all commit together or not at all.

The statement is set-based: it takes a JSON array of creates and writes them all (decision 0059).
Alone, a create is an array of one; under load the driver pool's group commit
(``DriverPool.fetchone_batched``) gives it the creates of every request queued meanwhile, so
PostgreSQL parses, plans and starts the statement once per group instead of once per ticket.

The rows are exactly those of the portable path in ``service.create_ticket`` (the tests compare both
on PostgreSQL); decision records: docs/decisions/0004-postgres-create-fast-path.md, 0059."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from psycopg.pq import TransactionStatus

from huiliu.customers.service import pg_resolve_one_identity
from huiliu.db.driver import DriverPool, RowBatch, session_driver_connection
from huiliu.db.session import UnitOfWork

# Each create is one element of the %(creates)s array: its ticket, audit event and outbox rows as JSON
# documents expanded by jsonb_populate_record (so the statement has one parameter: psycopg prepares it
# on the server), the tenant's ticket-number sequence, and — when the customer is known by one
# identity — the customer-resolution values (``pg_resolve_one_identity``; NULL kind: no customer).
# The record functions sit in FROM: written as ``SELECT (f(...)).*`` PostgreSQL would call f once per
# column. The identity lookup is a correlated subquery so it is an index probe per create whatever the
# plan's row estimate; two creates of one statement never carry the same new identity (the group
# commit puts them in successive statements: ``conflict_key``).
CREATE_MANY = """
WITH input AS (
    SELECT x.*, (
        SELECT ci.customer_id FROM customer_identities ci
        WHERE ci.tenant_id = x.tenant_id AND ci.kind = x.kind AND ci.value = x.value
    ) AS known
    FROM jsonb_to_recordset(%(creates)s::jsonb) AS x(
        sequence text, ticket jsonb, event jsonb, outbox jsonb, tenant_id uuid,
        kind text, value text, customer_id uuid, identity_id uuid, name text, now timestamptz)
), new_customer AS (
    INSERT INTO customers (id, tenant_id, name, level, attributes, created_at, updated_at)
    SELECT i.customer_id, i.tenant_id, i.name, 'normal', '{}'::jsonb, i.now, i.now FROM input i
    WHERE i.kind IS NOT NULL AND i.known IS NULL
    RETURNING id
), new_identity AS (
    -- A concurrent transaction may register this identity first: then nothing is returned, the
    -- ticket is created without a customer and the caller attaches the winner's
    -- (``settle_identity_race``).
    INSERT INTO customer_identities (id, tenant_id, customer_id, kind, value, verified, created_at)
    SELECT i.identity_id, i.tenant_id, i.customer_id, i.kind, i.value, false, i.now
    FROM input i JOIN new_customer c ON c.id = i.customer_id
    ON CONFLICT (tenant_id, kind, value) DO NOTHING
    RETURNING customer_id
), numbered AS (
    SELECT i.ticket, i.outbox, nextval(i.sequence::regclass) AS n,
        coalesce(i.known, ni.customer_id) AS customer_id
    FROM input i LEFT JOIN new_identity ni ON ni.customer_id = i.customer_id
), t AS (
    INSERT INTO tickets
    SELECT r.* FROM numbered m, jsonb_populate_record(NULL::tickets,
        m.ticket || jsonb_build_object('number', m.n, 'customer_id', m.customer_id)) AS r
    RETURNING tenant_id, id, number, customer_id
), e AS (
    INSERT INTO ticket_events
    SELECT r.* FROM input i, jsonb_populate_record(NULL::ticket_events, i.event) AS r
), tags AS (
    INSERT INTO ticket_tags (tenant_id, ticket_id, tag)
    SELECT t.tenant_id, t.id, tag FROM t, input i, jsonb_array_elements_text(i.ticket -> 'tags') AS tag
    WHERE t.id = (i.ticket ->> 'id')::uuid
), o AS (
    INSERT INTO outbox
    SELECT r.* FROM t, input i, jsonb_populate_record(NULL::outbox, jsonb_set(i.outbox, '{payload}',
        jsonb_set(jsonb_set(i.outbox -> 'payload', '{data,ticket,number}', to_jsonb(t.number)),
            '{data,ticket,customer_id}', coalesce(to_jsonb(t.customer_id), 'null'::jsonb)))) AS r
    WHERE t.id = (i.ticket ->> 'id')::uuid
)
SELECT id, number, customer_id FROM t
"""


def _params(creates: Sequence[dict[str, Any]]) -> dict[str, Any]:
    # Sorted by identity: concurrent groups that register the same new identities then take their
    # locks in the same order (no deadlock between two API processes' groups).
    ordered = sorted(creates, key=lambda c: (c["kind"] or "", c["value"] or ""))
    return {"creates": orjson.dumps(ordered).decode()}


def _conflict_key(create: dict[str, Any]) -> tuple[Any, ...] | None:
    return None if create["kind"] is None else (create["tenant_id"], create["kind"], create["value"])


CREATES = RowBatch(
    statement=CREATE_MANY,
    params=_params,
    item_key=lambda create: create["ticket"]["id"],
    row_key=lambda row: row[0],
    conflict_key=_conflict_key,
)

_NO_CUSTOMER = dict.fromkeys(("kind", "value", "customer_id", "identity_id", "name", "now"))


def _create(
    tenant_id: uuid.UUID,
    *,
    sequence: str,
    ticket: dict[str, Any],
    event_row: dict[str, Any],
    outbox_row: dict[str, Any],
    customer_name: str | None,
    identity: tuple[str, str] | None,
) -> dict[str, Any]:
    """One element of ``CREATE_MANY``'s array (its customer-resolution values are the caller's too:
    a None customer with an identity after the write means a lost race)."""
    create: dict[str, Any] = {
        "sequence": sequence,
        "ticket": ticket,
        "event": event_row,
        "outbox": outbox_row,
        "tenant_id": tenant_id,
    }
    if identity is not None:
        create.update(pg_resolve_one_identity(tenant_id, customer_name, *identity))
    else:
        create.update(_NO_CUSTOMER)
    return create


def _resolution(create: dict[str, Any]) -> dict[str, Any]:
    """The customer-resolution values of a create ({} without an identity)."""
    return {} if create["kind"] is None else {key: create[key] for key in (*_NO_CUSTOMER, "tenant_id")}


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
    create = _create(
        uow.tenant_id,
        sequence=sequence,
        ticket=ticket,
        event_row=event_row,
        outbox_row=outbox_row,
        customer_name=customer_name,
        identity=identity,
    )
    statement, params = CREATE_MANY, _params([create])
    connection = await session_driver_connection(uow.session)
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
    return int(row[1]), row[2], _resolution(create)


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
    transaction and statement shared with the process's concurrent creates when they queue up."""
    create = _create(
        tenant_id,
        sequence=sequence,
        ticket=ticket,
        event_row=event_row,
        outbox_row=outbox_row,
        customer_name=customer_name,
        identity=identity,
    )
    row = await pool.fetchone_batched(CREATES, create)
    assert row is not None
    return int(row[1]), row[2], _resolution(create)
