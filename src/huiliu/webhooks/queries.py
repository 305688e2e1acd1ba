"""The read side of webhooks: subscriptions and their delivery log (outbox rows of kind webhook with
their attempts). Sessions are tenant-scoped, so another tenant's ids are simply not found."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.core.clock import ensure_utc
from huiliu.core.errors import NotFound, ValidationFailed
from huiliu.core.outbox import KIND_WEBHOOK, STATE_PENDING, OutboxAttempt, OutboxRow
from huiliu.webhooks.domain import secret_hint
from huiliu.webhooks.models import WebhookSubscription

MAX_DELIVERY_PAGE = 200


def subscription_out(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "url": subscription.url,
        "events": list(subscription.events),
        "description": subscription.description,
        "is_active": subscription.is_active,
        "secret_hint": secret_hint(subscription.secret),
        "created_at": subscription.created_at,
    }


async def get_subscription(session: AsyncSession, subscription_id: uuid.UUID) -> WebhookSubscription:
    subscription = (
        await session.execute(select(WebhookSubscription).where(WebhookSubscription.id == subscription_id))
    ).scalar_one_or_none()
    if subscription is None:
        raise NotFound("no such webhook")
    return subscription


async def list_subscriptions(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            select(WebhookSubscription).order_by(WebhookSubscription.created_at, WebhookSubscription.id)
        )
    ).scalars()
    return [subscription_out(row) for row in rows]


async def get_delivery(session: AsyncSession, subscription_id: uuid.UUID, row_id: uuid.UUID) -> OutboxRow:
    row = (
        await session.execute(
            select(OutboxRow).where(
                OutboxRow.id == row_id,
                OutboxRow.kind == KIND_WEBHOOK,
                OutboxRow.target_id == subscription_id,
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("no such delivery for this webhook")
    return row


def encode_cursor(row: OutboxRow) -> str:
    raw = orjson.dumps([row.created_at.isoformat(), str(row.id)])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, row_id = orjson.loads(base64.urlsafe_b64decode(padded))
        return ensure_utc(datetime.fromisoformat(created_at)), uuid.UUID(row_id)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed("cursor is not valid for this list") from exc


async def list_deliveries(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    *,
    state: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest deliveries first, each with its attempts in order; keyset pages."""
    statement = select(OutboxRow).where(
        OutboxRow.kind == KIND_WEBHOOK, OutboxRow.target_id == subscription_id
    )
    if state is not None:
        statement = statement.where(OutboxRow.state == state)
    if cursor:
        created_at, row_id = decode_cursor(cursor)
        statement = statement.where(
            or_(
                OutboxRow.created_at < created_at,
                and_(OutboxRow.created_at == created_at, OutboxRow.id < row_id),
            )
        )
    statement = statement.order_by(OutboxRow.created_at.desc(), OutboxRow.id.desc()).limit(limit + 1)
    rows = list((await session.execute(statement)).scalars())
    page = rows[:limit]
    attempts = await _attempts_of(session, [row.id for row in page])
    items = [_delivery_out(row, attempts[row.id]) for row in page]
    next_cursor = encode_cursor(page[-1]) if len(rows) > limit else None
    return items, next_cursor


async def delivery_detail(
    session: AsyncSession, subscription_id: uuid.UUID, row_id: uuid.UUID
) -> dict[str, Any]:
    row = await get_delivery(session, subscription_id, row_id)
    attempts = await _attempts_of(session, [row.id])
    return _delivery_out(row, attempts[row.id])


async def _attempts_of(
    session: AsyncSession, row_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[OutboxAttempt]]:
    attempts: dict[uuid.UUID, list[OutboxAttempt]] = {row_id: [] for row_id in row_ids}
    if not row_ids:
        return attempts
    logged = await session.execute(
        select(OutboxAttempt)
        .where(OutboxAttempt.outbox_id.in_(row_ids))
        .order_by(OutboxAttempt.outbox_id, OutboxAttempt.attempt)
    )
    for attempt in logged.scalars():
        attempts[attempt.outbox_id].append(attempt)
    return attempts


def _delivery_out(row: OutboxRow, attempts: list[OutboxAttempt]) -> dict[str, Any]:
    return {
        "id": row.id,
        "event_id": row.event_id,
        "event_type": row.event_type,
        "state": row.state,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at if row.state == STATE_PENDING else None,
        "delivered_at": row.delivered_at,
        "last_error": row.last_error,
        "created_at": row.created_at,
        "payload": row.payload,
        "attempt_log": [
            {
                "attempt": attempt.attempt,
                "ok": attempt.ok,
                "status_code": attempt.status_code,
                "error": attempt.error,
                "duration_ms": attempt.duration_ms,
                "created_at": attempt.created_at,
            }
            for attempt in attempts
        ],
    }
