"""One transaction for many messages writes what one transaction per message writes.

On PostgreSQL a group's tickets, tags, messages, events and outbox rows go in as set-based statements
of fixed text (``db.bulk``: the rows as one JSON document); on SQLite as executemany inserts. Either
way a group (a batch request, or single requests sharing a transaction under group commit) must leave
the same rows as the same messages delivered one by one: new tickets with the entry point's defaults
and extracted entities, threaded follow-ups, repeated device alarms, numbering, events and outbox."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from huiliu.core.outbox import OutboxRow
from huiliu.intake.domain import InboundMessage, IngestOutcome, SenderIdentity
from huiliu.tickets.models import Message, Ticket, TicketEvent, TicketTag
from tests.factories import make_tenant
from tests.intake.test_pipeline import inbound, ingest, ingest_many, integration, make_entry_point
from tests.tickets.conftest import assert_outbox_matches, journal

ENTRY_POINT = {"default_priority": "high", "default_tags": ["双十一", "售后"], "default_category": "物流"}


def script(entry_point: Any, run: str) -> list[InboundMessage]:
    """New customers (one with an order number and a phone in the text), a follow-up that threads,
    a device alarm and its repeat, a repeat of an external id, a sender with two identities."""
    first, second, third = "13900000001", "13900000002", "13900000003"

    def msg(text: str, phone: str | None, key: str, **fields: Any) -> InboundMessage:
        return inbound(entry_point, text, phone=phone, external_id=f"{run}-{key}", **fields)

    def alarm(key: str, text: str) -> InboundMessage:
        return inbound(
            entry_point,
            text,
            identities=(SenderIdentity("device_sn", f"SN-{run}"),),
            sender_name=None,
            metadata={"alarm_code": "E-CRASH"},
            external_id=f"{run}-{key}",
        )

    return [
        msg("订单 SO20261111001 没收到，电话 138-0013-8000", first, "a", source="store-1"),
        msg("打印机卡纸", second, "b"),
        alarm("c", "设备崩溃"),
        msg("还没发货吗？快递单号 SF1234567890123", first, "d"),
        alarm("e", "设备又崩溃了"),
        msg("打印机卡纸", second, "b"),  # the same external message again
        msg(
            "退款 ¥199 什么时候到账",
            None,
            "f",
            identities=(SenderIdentity("phone", third), SenderIdentity("email", f"{run}@example.com")),
        ),
    ]


async def snapshot(runtime: Any, tenant_id: uuid.UUID, run: str) -> dict[str, Any]:
    """The tenant's rows with ids replaced by positions, and times left out."""
    async with runtime.db.read(tenant_id) as session:
        tickets = list((await session.execute(select(Ticket).order_by(Ticket.number))).scalars())
        position = {t.id: i for i, t in enumerate(tickets)}
        messages = (await session.execute(select(Message).order_by(Message.external_id))).scalars()
        tags = (await session.execute(select(TicketTag))).scalars()
        events = (
            await session.execute(select(TicketEvent).order_by(TicketEvent.created_at, TicketEvent.id))
        ).scalars()
        outbox = (await session.execute(select(OutboxRow))).scalars()
        return {
            "tickets": [
                (
                    t.number - tickets[0].number,
                    t.title,
                    t.description,
                    t.status,
                    t.priority,
                    t.category,
                    t.channel,
                    t.tags,
                    str(t.fields).replace(run, "RUN"),
                    t.alarm_key.replace(run, "RUN") if t.alarm_key else None,
                    t.alarm_occurrences,
                    t.customer_id is not None,
                    t.last_message_at >= t.created_at,
                )
                for t in tickets
            ],
            "messages": [
                (position[m.ticket_id], m.external_id.replace(run, "RUN"), m.body, m.channel, m.author_kind)
                for m in messages
            ],
            "tags": sorted((position[t.ticket_id], t.tag) for t in tags),
            "events": sorted(
                (position[e.ticket_id], e.type, e.actor_kind, str(e.changes).replace(run, "RUN"))
                for e in events
            ),
            "outbox": sorted((o.event_type, o.kind, o.state) for o in outbox),
        }


async def test_a_group_writes_the_rows_of_one_transaction_per_message(runtime):
    alone_tenant, group_tenant = await make_tenant(runtime), await make_tenant(runtime)
    alone_actor, group_actor = integration(alone_tenant.id), integration(group_tenant.id)
    alone_entry = await make_entry_point(runtime, alone_tenant.id, **ENTRY_POINT)
    group_entry = await make_entry_point(runtime, group_tenant.id, **ENTRY_POINT)
    log = await journal(runtime, group_tenant.id)

    one_by_one = [await ingest(runtime, alone_actor, m) for m in script(alone_entry, "alone")]
    together = await ingest_many(runtime, group_actor, script(group_entry, "group"))

    outcomes = [IngestOutcome.CREATED] * 3 + [IngestOutcome.THREADED, IngestOutcome.ALARM]
    outcomes += [IngestOutcome.REPEAT, IngestOutcome.CREATED]
    assert [r.outcome for r in one_by_one] == [r.outcome for r in together] == outcomes
    assert [r.ticket_number - together[0].ticket_number for r in together] == [
        r.ticket_number - one_by_one[0].ticket_number for r in one_by_one
    ]
    assert together[3].ticket_id == together[0].ticket_id and together[4].ticket_id == together[2].ticket_id
    assert await snapshot(runtime, alone_tenant.id, "alone") == await snapshot(
        runtime, group_tenant.id, "group"
    )
    written = await log.since()
    assert written.types().count("ticket.created") == 4
    assert written.types().count("ticket.message_added") == 2
    assert_outbox_matches(written, group_actor)
