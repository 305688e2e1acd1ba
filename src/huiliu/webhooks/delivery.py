"""Delivering outgoing webhooks, the worker's side (sync SQLAlchemy, httpx).

An ``event`` outbox row fans out into one ``webhook`` row per active subscription of its tenant that
wants the event type; each ``webhook`` row is one signed JSON POST of the event envelope, retried with
backoff until it is delivered or dead. Leases and the transactions around these steps belong to
``huiliu.worker``; this module knows what a delivery is."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
import orjson
from sqlalchemy import Table, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from huiliu import __version__
from huiliu.core.ids import new_id
from huiliu.core.outbox import (
    KIND_WEBHOOK,
    STATE_DEAD,
    STATE_DELIVERED,
    STATE_PENDING,
    OutboxAttempt,
    OutboxRow,
)
from huiliu.db.session import scope_sync_session
from huiliu.webhooks.domain import (
    HEADER_DELIVERY,
    HEADER_EVENT,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    RetryPolicy,
    child_row_id,
    is_success,
    signature,
    wants,
)
from huiliu.webhooks.models import WebhookSubscription

USER_AGENT = f"Huiliu-Webhooks/{__version__}"
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True, slots=True)
class AttemptResult:
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: float


def fan_out(session: Session, event_row: OutboxRow, now: datetime) -> int:
    """Create the webhook rows an event row owes (insert-if-absent, so running twice is harmless).
    Scopes ``session`` to the event's tenant. Returns the number of matching subscriptions."""
    scope_sync_session(session, event_row.tenant_id, system=True)
    subscriptions = session.scalars(
        select(WebhookSubscription).where(WebhookSubscription.is_active.is_(True))
    ).all()
    children = [
        {
            "id": child_row_id(event_row.id, subscription.id),
            "tenant_id": event_row.tenant_id,
            "kind": KIND_WEBHOOK,
            "event_id": event_row.event_id,
            "event_type": event_row.event_type,
            "payload": event_row.payload,
            "target_id": subscription.id,
            "parent_id": event_row.id,
            "state": STATE_PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for subscription in subscriptions
        if wants(subscription.events, event_row.event_type)
    ]
    if children:
        session.execute(_insert_if_absent(session), children)
    return len(children)


def _insert_if_absent(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    table = cast(Table, OutboxRow.__table__)
    if dialect == "postgresql":
        return pg_insert(table).on_conflict_do_nothing(index_elements=["id"])
    if dialect == "sqlite":
        return sqlite_insert(table).on_conflict_do_nothing(index_elements=["id"])
    raise RuntimeError(f"unsupported database dialect {dialect}")


def subscription_for(session: Session, row: OutboxRow) -> WebhookSubscription | None:
    """The subscription a webhook row is owed to, if it still exists (within the row's tenant)."""
    scope_sync_session(session, row.tenant_id, system=True)
    if row.target_id is None:
        return None
    return session.scalars(select(WebhookSubscription).where(WebhookSubscription.id == row.target_id)).first()


def encode_body(envelope: dict[str, Any]) -> bytes:
    """The request body: the event envelope as compact UTF-8 JSON, exactly the bytes signed."""
    return orjson.dumps(envelope)


def request_headers(row: OutboxRow, secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        HEADER_EVENT: row.event_type,
        HEADER_DELIVERY: str(row.id),
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: signature(secret, timestamp, body),
    }


def post(http: httpx.Client, row: OutboxRow, subscription: WebhookSubscription) -> AttemptResult:
    """One signed POST of the row's envelope. A 2xx answer is success; anything else, a transport
    error or a timeout is a failed attempt (described, never raised)."""
    body = encode_body(row.payload)
    headers = request_headers(row, subscription.secret, body, int(time.time()))
    started = time.perf_counter()
    try:
        response = http.post(subscription.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        elapsed = (time.perf_counter() - started) * 1000
        return AttemptResult(False, None, _clip(f"{type(exc).__name__}: {exc}"), elapsed)
    elapsed = (time.perf_counter() - started) * 1000
    if is_success(response.status_code):
        return AttemptResult(True, response.status_code, None, elapsed)
    return AttemptResult(False, response.status_code, _clip(_describe(response)), elapsed)


def _describe(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return f"HTTP {response.status_code}" + (f": {text}" if text else "")


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 1] + "…"


def outcome(
    attempts_before: int, result: AttemptResult, policy: RetryPolicy, now: datetime, jitter: float
) -> dict[str, Any]:
    """The row's new columns after an attempt: delivered, due again after a backoff, or dead."""
    attempts = attempts_before + 1
    if result.ok:
        return {"state": STATE_DELIVERED, "attempts": attempts, "delivered_at": now, "last_error": None}
    if policy.exhausted(attempts):
        return {"state": STATE_DEAD, "attempts": attempts, "last_error": result.error}
    delay = policy.delay(attempts, jitter)
    return {
        "state": STATE_PENDING,
        "attempts": attempts,
        "next_attempt_at": now + timedelta(seconds=delay),
        "last_error": result.error,
    }


def dead_outcome(attempts_before: int, reason: str) -> dict[str, Any]:
    """A row that can never be delivered (its subscription is gone or switched off)."""
    return {"state": STATE_DEAD, "attempts": attempts_before + 1, "last_error": reason}


def log_attempt(session: Session, row: OutboxRow, result: AttemptResult, now: datetime) -> None:
    """Append the attempt to the delivery log; attempts are numbered over the row's whole life (a
    manual retry continues the numbering)."""
    previous = session.scalar(
        select(func.count()).select_from(OutboxAttempt).where(OutboxAttempt.outbox_id == row.id)
    )
    session.execute(
        insert(OutboxAttempt).values(
            id=new_id(),
            tenant_id=row.tenant_id,
            outbox_id=row.id,
            attempt=int(previous or 0) + 1,
            ok=result.ok,
            status_code=result.status_code,
            error=result.error,
            duration_ms=result.duration_ms,
            created_at=now,
        )
    )
