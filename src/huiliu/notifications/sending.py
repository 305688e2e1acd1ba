"""Sending many ``notification_delivery`` rows at once, the worker's side (sync SQLAlchemy, sync HTTP).

A worker task carries a batch of rows. Everything they need is read in a few statements per tenant
(recipients, mobile numbers, providers, templates) instead of a session per row; in-app items are
stored in one statement with the batch's settlement; the others are sent in parallel on a thread pool
shared by the worker's tasks, at most ``notification_provider_concurrency`` at once per provider so a
slow provider neither starves the rest nor gets more connections than it tolerates. Settling is one
statement for every delivered row (plus one per failure), the attempt log one insert.

Each row still settles only under its own lease (``huiliu.worker.leases``): a row whose lease was lost
meanwhile is left to its new owner, and an in-app item stored twice is stored once (its id is the
delivery's id)."""

from __future__ import annotations

import concurrent.futures
import logging
import random
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

import httpx
from sqlalchemy import Engine, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from huiliu.auth.models import User
from huiliu.core.ids import new_id
from huiliu.core.outbox import STATE_DELIVERED, OutboxAttempt, OutboxRow
from huiliu.db.session import scope_sync_session
from huiliu.notifications.delivery import (
    MAX_TITLE,
    Attempted,
    Publisher,
    active_templates,
    compose,
    digest_message,
    insert_if_absent,
    live_message,
    record_attempt,
    worded,
)
from huiliu.notifications.domain import IN_APP
from huiliu.notifications.models import (
    InboxItem,
    NotificationChannel,
    NotificationDelivery,
    NotificationPreference,
)
from huiliu.notifications.providers import DeliveryFailed, OutgoingMessage, build_notifier
from huiliu.settings import Settings
from huiliu.webhooks import delivery as webhooks
from huiliu.webhooks.delivery import AttemptResult
from huiliu.webhooks.domain import RetryPolicy

log = logging.getLogger("huiliu.notifications")


@dataclass(frozen=True, slots=True)
class Ready:
    """A delivery row with everything it needs to be sent: the addressed message and its provider
    (None for in-app)."""

    row: OutboxRow
    message: OutgoingMessage
    channel: str
    provider_kind: str | None = None
    provider_id: uuid.UUID | None = None
    config: dict[str, Any] | None = None
    # A digest: the deliveries it carries.
    included: tuple[uuid.UUID, ...] = ()


@dataclass
class Batch:
    """The attempts of one batch: each row's answer, and the in-app items to store with the settlement."""

    attempts: list[tuple[OutboxRow, Attempted]]
    inbox: list[dict[str, Any]]


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _failed(exc: DeliveryFailed, started: float) -> Attempted:
    return Attempted(
        AttemptResult(False, exc.status_code, exc.reason, _ms(started)), permanent=not exc.retryable
    )


def prepare(
    session: Session, rows: Sequence[OutboxRow], console_url: str
) -> tuple[list[Ready], list[tuple[OutboxRow, Attempted]]]:
    """Read what ``rows`` need, a few statements per tenant. Returns the rows ready to send and the
    rows already answered (recipient gone, provider disabled, a digest with nothing left to send)."""
    ready: list[Ready] = []
    answered: list[tuple[OutboxRow, Attempted]] = []
    tenants: dict[uuid.UUID, list[OutboxRow]] = {}
    for row in rows:
        tenants.setdefault(row.tenant_id, []).append(row)
    for tenant_id, group in tenants.items():
        scope_sync_session(session, tenant_id, system=True)
        user_ids = {user_id for row in group if (user_id := _uuid(row.payload.get("recipient_id")))}
        provider_ids = {pid for row in group if (pid := _uuid(row.payload.get("provider_channel_id")))}
        users = (
            {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
        )
        phones: dict[uuid.UUID, str | None] = {}
        if user_ids:
            phones = {
                user_id: phone
                for user_id, phone in session.execute(
                    select(NotificationPreference.user_id, NotificationPreference.phone).where(
                        NotificationPreference.user_id.in_(user_ids)
                    )
                )
            }
        providers: dict[uuid.UUID, NotificationChannel] = {}
        if provider_ids:
            providers = {
                p.id: p
                for p in session.scalars(
                    select(NotificationChannel).where(NotificationChannel.id.in_(provider_ids))
                )
            }
        stored = active_templates(session) if any(not row.payload.get("digest") for row in group) else {}
        for row in group:
            started = time.perf_counter()
            try:
                item = _ready(session, row, console_url, users, phones, providers, stored)
            except DeliveryFailed as exc:
                answered.append((row, _failed(exc, started)))
                continue
            if item is None:
                # A digest whose items all went out already (an earlier round): nothing to send.
                answered.append((row, Attempted(AttemptResult(True, None, None, _ms(started)))))
                continue
            ready.append(item)
    return ready, answered


def _ready(
    session: Session,
    row: OutboxRow,
    console_url: str,
    users: dict[uuid.UUID, User],
    phones: dict[uuid.UUID, str | None],
    providers: dict[uuid.UUID, NotificationChannel],
    stored: dict[Any, Any],
) -> Ready | None:
    payload = row.payload
    channel = str(payload.get("channel") or "")
    recipient_id = _uuid(payload.get("recipient_id"))
    included: tuple[uuid.UUID, ...] = ()
    if payload.get("digest"):
        message, included = digest_message(session, row, console_url)
        if not included:
            return None
    else:
        message = compose(payload, row.id, console_url)
    user = users.get(recipient_id) if recipient_id else None
    if recipient_id and (user is None or not user.is_active):
        raise DeliveryFailed("the recipient is gone or inactive", retryable=False)
    provider = None
    if channel != IN_APP:
        provider_id = _uuid(payload.get("provider_channel_id"))
        provider = providers.get(provider_id) if provider_id else None
        if provider is None or not provider.is_active:
            raise DeliveryFailed(f"the {channel} provider is gone or disabled", retryable=False)
    if not payload.get("digest"):
        message = worded(stored, payload, message, channel, user)
    addressed = replace(
        message,
        email=user.email if user is not None else None,
        phone=phones.get(recipient_id) if recipient_id else None,
        user_id=recipient_id,
    )
    if channel == IN_APP and recipient_id is None:
        raise DeliveryFailed("an in-app notification needs a recipient", retryable=False)
    return Ready(
        row=row,
        message=addressed,
        channel=channel,
        provider_kind=provider.kind if provider else None,
        provider_id=provider.id if provider else None,
        config={**provider.config, **provider.secrets} if provider else None,
        included=included,
    )


def inbox_item(ready: Ready, now: datetime) -> dict[str, Any]:
    message = ready.message
    return {
        "id": ready.row.id,
        "tenant_id": ready.row.tenant_id,
        "user_id": message.user_id,
        "notification_id": ready.row.parent_id or ready.row.id,
        "ticket_id": _uuid(message.variables.get("ticket_id")),
        "severity": message.severity,
        "title": message.title[:MAX_TITLE],
        "body": message.text,
        "link": message.link,
        "read_at": None,
        "created_at": now,
    }


class NotificationSender:
    """Attempts batches of delivery rows. Holds the HTTP client, the send pool and the live publisher;
    safe to share between worker threads."""

    def __init__(
        self,
        settings: Settings,
        http: httpx.Client,
        *,
        publisher: Publisher | None = None,
        engine: Engine | None = None,
    ) -> None:
        self.settings = settings
        self.http = http
        self.publisher = publisher
        # For providers that send through an entry point (wecom_app: its credentials and token cache).
        self.engine = engine
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(1, settings.notification_send_threads), thread_name_prefix="notify-send"
        )
        self._limits: dict[uuid.UUID, threading.BoundedSemaphore] = {}
        self._limits_lock = threading.Lock()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def attempt_local(
        self, session: Session, rows: Sequence[OutboxRow], now: datetime
    ) -> tuple[Batch, list[Ready]]:
        """Prepare ``rows`` in ``session``: the in-app items (stored with the settlement) and the rows
        answered without a send make the first batch, settled at once so a slow provider holds no one
        else up; the rows to push through a provider are returned for ``push``."""
        ready, answered = prepare(session, rows, self.settings.public_url)
        batch = Batch(attempts=list(answered), inbox=[])
        pushes: list[Ready] = []
        for item in ready:
            if item.channel == IN_APP:
                batch.inbox.append(inbox_item(item, now))
                result = AttemptResult(True, None, None, 0.0)
                batch.attempts.append((item.row, Attempted(result, False, str(item.row.id))))
            else:
                pushes.append(item)
        return batch, pushes

    def push(self, pushes: Sequence[Ready]) -> Batch:
        """Send every push at once on the pool (a single one on the calling thread)."""
        if len(pushes) == 1:
            return Batch(attempts=[(pushes[0].row, self.send(pushes[0]))], inbox=[])
        futures = [self._pool.submit(self.send, item) for item in pushes]
        return Batch(
            attempts=[(item.row, future.result()) for item, future in zip(pushes, futures, strict=True)],
            inbox=[],
        )

    def send(self, ready: Ready) -> Attempted:
        """Send one message through its provider, at most ``notification_provider_concurrency`` at once
        per provider; never raises."""
        started = time.perf_counter()
        limit = self._limit(ready.provider_id)
        with limit:
            try:
                notifier = build_notifier(
                    cast(str, ready.provider_kind),
                    ready.config or {},
                    self.http,
                    timeout=self.settings.webhook_timeout_seconds,
                    engine=self.engine,
                )
                sent = notifier.send(ready.message)
            except DeliveryFailed as exc:
                return _failed(exc, started)
            except Exception as exc:  # a provider's bug must not sink the rest of the batch
                log.exception("notification %s: the %s provider failed", ready.row.id, ready.provider_kind)
                result = AttemptResult(False, None, f"{type(exc).__name__}: {exc}"[:500], _ms(started))
                return Attempted(result)
        result = AttemptResult(True, sent.status_code, None, _ms(started))
        return Attempted(result, False, sent.provider_message_id, ready.included)

    def _limit(self, provider_id: uuid.UUID | None) -> threading.BoundedSemaphore:
        key = provider_id or uuid.UUID(int=0)
        with self._limits_lock:
            limit = self._limits.get(key)
            if limit is None:
                limit = threading.BoundedSemaphore(max(1, self.settings.notification_provider_concurrency))
                self._limits[key] = limit
            return limit

    def publish(self, items: Sequence[dict[str, Any]]) -> None:
        """Tell live listeners about stored inbox items (the worker reaches them through Redis; without
        it the API's relay reads new inbox rows itself)."""
        if self.publisher is None:
            return
        for item in items:
            try:
                self.publisher(item["tenant_id"], live_message(item))
            except Exception:  # the inbox row is stored; the API's relay and the bell's refetch catch up
                log.warning("could not publish the live notification %s", item["id"], exc_info=True)


def settle(
    session: Session,
    batch: Batch,
    token: datetime,
    policy: RetryPolicy,
    rng: random.Random,
    now: datetime,
) -> dict[uuid.UUID, str]:
    """Store the batch's in-app items, settle every row still under ``token`` (one statement for all
    delivered ones), log every attempt, and mirror the outcome onto ``notification_deliveries``.
    Returns the settled rows' new states."""
    scope_sync_session(session, None, system=True)
    if batch.inbox:
        session.execute(insert_if_absent(session, InboxItem), batch.inbox)
    plain = {
        row.id for row, attempted in batch.attempts if attempted.result.ok and not row.payload.get("digest")
    }
    states: dict[uuid.UUID, str] = {}
    if plain:
        delivered = session.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_(plain), OutboxRow.locked_until == token)
            .values(
                state=STATE_DELIVERED,
                attempts=OutboxRow.attempts + 1,
                delivered_at=now,
                last_error=None,
                locked_until=None,
            )
            .returning(OutboxRow.id)
            .execution_options(synchronize_session=False)
        )
        states.update(dict.fromkeys(delivered.scalars(), STATE_DELIVERED))
    rest: list[tuple[OutboxRow, Attempted, dict[str, Any]]] = []
    for row, attempted in batch.attempts:
        if row.id in plain:
            continue
        if attempted.permanent:
            values = webhooks.dead_outcome(row.attempts, attempted.result.error or "refused")
        else:
            values = webhooks.outcome(row.attempts, attempted.result, policy, now, rng.random())
        if _settle_one(session, row.id, token, values):
            states[row.id] = values["state"]
            rest.append((row, attempted, values))
    _log_attempts(session, batch.attempts, now)
    mirrored = [
        {
            "b_id": row.id,
            "b_attempts": row.attempts + 1,
            "b_message_id": attempted.provider_message_id,
        }
        for row, attempted in batch.attempts
        if row.id in plain and states.get(row.id) == STATE_DELIVERED
    ]
    if mirrored:
        table = cast(Table, NotificationDelivery.__table__)
        session.execute(
            table.update()
            .where(table.c.id == bindparam("b_id"))
            .values(
                state=STATE_DELIVERED,
                attempts=bindparam("b_attempts"),
                last_error=None,
                delivered_at=now,
                updated_at=now,
                provider_message_id=bindparam("b_message_id"),
            ),
            mirrored,
        )
    for row, attempted, values in rest:
        record_attempt(session, row, values, attempted)
    return states


def _settle_one(session: Session, row_id: uuid.UUID, token: datetime, values: dict[str, Any]) -> bool:
    result = session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == row_id, OutboxRow.locked_until == token)
        .values(locked_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _log_attempts(session: Session, attempts: Sequence[tuple[OutboxRow, Attempted]], now: datetime) -> None:
    """Append every attempt to the delivery log, numbered over each row's whole life."""
    if not attempts:
        return
    ids = [row.id for row, _ in attempts]
    previous = dict(
        session.execute(
            select(OutboxAttempt.outbox_id, func.count())
            .where(OutboxAttempt.outbox_id.in_(ids))
            .group_by(OutboxAttempt.outbox_id)
        ).all()
    )
    session.execute(
        insert(OutboxAttempt),
        [
            {
                "id": new_id(),
                "tenant_id": row.tenant_id,
                "outbox_id": row.id,
                "attempt": int(previous.get(row.id, 0)) + 1,
                "ok": attempted.result.ok,
                "status_code": attempted.result.status_code,
                "error": attempted.result.error,
                "duration_ms": attempted.result.duration_ms,
                "created_at": now,
            }
            for row, attempted in attempts
        ],
    )


__all__ = ["Batch", "NotificationSender", "Ready", "prepare", "settle"]
