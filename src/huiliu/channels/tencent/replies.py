"""Agent replies owed to WeChat and WeCom customers, as outbox rows written in the same transaction as
the reply (docs/decisions/0019): a ``Reactor`` (decision 0015) that sees ``ticket.message_added`` and,
for a public agent message on a ticket that came through a wechat_mp, wecom_app, wecom_kf or
wechat_miniprogram entry point, adds one ``channel_message`` row. The worker delivers it
(``channels.tencent.delivery``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError

from huiliu.core import events as ev
from huiliu.core.clock import utcnow
from huiliu.core.events import DomainEvent
from huiliu.core.ids import new_id
from huiliu.core.outbox import STATE_PENDING, OutboxRow
from huiliu.db.session import Database, UnitOfWork
from huiliu.entry_points.domain import WECHAT_MINIPROGRAM, WECHAT_MP, WECOM_APP, WECOM_KF
from huiliu.intake.domain import IngestResult

KIND_CHANNEL_MESSAGE = "channel_message"
# A customer's image / voice / video owed to the ticket as an attachment (fetched by the worker).
KIND_CHANNEL_MEDIA = "channel_media"
CHANNEL_KINDS = (KIND_CHANNEL_MESSAGE, KIND_CHANNEL_MEDIA)
_MEDIA_ROW = uuid.UUID("5b0c2f0e-6a8e-4f53-9d0e-1c2a8f4e7a10")


def media_row(
    tenant_id: uuid.UUID,
    entry_point_id: uuid.UUID,
    ticket_id: uuid.UUID,
    message_id: uuid.UUID,
    media: dict[str, str],
) -> OutboxRow:
    """The row that has the worker fetch a message's media into an attachment. Its id derives from the
    message, so a platform retry of the same message cannot owe the media twice."""
    now = utcnow()
    row_id = uuid.uuid5(_MEDIA_ROW, str(message_id))
    return OutboxRow(
        id=row_id,
        tenant_id=tenant_id,
        kind=KIND_CHANNEL_MEDIA,
        event_id=row_id,
        event_type="message.media",
        payload={
            "entry_point_id": str(entry_point_id),
            "ticket_id": str(ticket_id),
            "message_id": str(message_id),
            **media,
        },
        target_id=entry_point_id,
        state=STATE_PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


TENCENT_CHANNELS = frozenset({WECHAT_MP, WECOM_APP, WECOM_KF, WECHAT_MINIPROGRAM})
REPLY_AUTHORS = frozenset({"agent", "system"})


def owed_reply(event: DomainEvent) -> dict[str, str] | None:
    """The delivery an event owes: a public agent (or rule) message on a Tencent channel's ticket."""
    if event.type != ev.TICKET_MESSAGE_ADDED:
        return None
    message = event.data.get("message") or {}
    ticket = event.data.get("ticket") or {}
    # Agents' replies, and automatic replies of rules (author "system"); never customers' own messages.
    if message.get("author_kind") not in REPLY_AUTHORS or not message.get("public"):
        return None
    if ticket.get("channel") not in TENCENT_CHANNELS or not ticket.get("entry_point_id"):
        return None
    return {
        "ticket_id": str(ticket["id"]),
        "message_id": str(message["id"]),
        "entry_point_id": str(ticket["entry_point_id"]),
        "customer_id": str(ticket.get("customer_id") or ""),
        "channel": str(ticket["channel"]),
        "body": str(message.get("body") or ""),
    }


class ChannelReplies:
    """The reactor. ``applies`` says no for every tenant: the single-statement paths that ask it only
    create tickets from customers and API clients, never agent replies, so they stay fast."""

    name = "tencent channel replies"

    async def applies(self, db: Database, tenant_id: uuid.UUID) -> bool:
        return False

    async def react(self, uow: UnitOfWork, events: Sequence[DomainEvent]) -> None:
        for event in events:
            payload = owed_reply(event)
            if payload is None:
                continue
            uow.session.add(
                OutboxRow(
                    id=new_id(),
                    tenant_id=event.tenant_id,
                    kind=KIND_CHANNEL_MESSAGE,
                    event_id=event.id,
                    event_type=event.type,
                    payload=payload,
                    target_id=uuid.UUID(payload["entry_point_id"]),
                    state=STATE_PENDING,
                    attempts=0,
                    next_attempt_at=event.occurred_at,
                    created_at=event.occurred_at,
                )
            )


async def owe_media(
    db: Database, tenant_id: uuid.UUID, entry_point_id: uuid.UUID, result: IngestResult, media: dict[str, str]
) -> None:
    """Have the worker fetch an ingested message's media into an attachment. Written after the
    message committed and before the platform is answered: if this fails, the platform retries (or
    the next sync_msg repeats the page), the message is a repeat, and the row (same id) is written then."""
    if result.message_id is None:
        return
    row = media_row(tenant_id, entry_point_id, result.ticket_id, result.message_id, media)
    async with db.uow(tenant_id) as uow:
        if await uow.session.get(OutboxRow, row.id) is not None:
            return
        uow.session.add(row)
        try:
            await uow.commit()
        except IntegrityError:  # the same retry, delivered twice at once, wrote it first
            await uow.session.rollback()
