"""Processing outbox rows: the dispatcher's claim, the sweeper's release, and one task per claimed row.

Everything here runs on the sync engine in system sessions (the outbox of every tenant); each step is
its own short transaction and no transaction stays open across an HTTP call. Each transaction that
writes starts with its write, so SQLite takes the write lock first instead of upgrading a read
snapshot (which fails under concurrency rather than waiting)."""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import httpx
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from huiliu.automation.webhook_delivery import KIND_RULE_WEBHOOK, post_rule_webhook
from huiliu.channels.tencent.delivery import ChannelDelivery
from huiliu.channels.tencent.replies import CHANNEL_KINDS
from huiliu.core.clock import utcnow
from huiliu.core.outbox import KIND_EVENT, KIND_WEBHOOK, STATE_DEAD, STATE_DELIVERED, OutboxRow
from huiliu.db.session import ScopedSession, scope_sync_session
from huiliu.notifications import customer_notices, sending
from huiliu.notifications import delivery as notifications
from huiliu.notifications.domain import (
    KIND_CUSTOMER_NOTICE,
    KIND_NOTIFICATION,
    KIND_NOTIFICATION_DELIVERY,
    FloodLimits,
)
from huiliu.settings import Settings
from huiliu.webhooks import delivery
from huiliu.webhooks.delivery import AttemptResult
from huiliu.webhooks.domain import RetryPolicy
from huiliu.worker import leases
from huiliu.worker.leases import Claim

log = logging.getLogger("huiliu.worker")

# Rows processed one per task (each an HTTP call that may take up to the webhook timeout) …
SINGLE_KINDS = (KIND_EVENT, KIND_WEBHOOK, KIND_RULE_WEBHOOK, *CHANNEL_KINDS, KIND_CUSTOMER_NOTICE)
# … and rows processed in batches: a notification's fan-out and its deliveries in one task.
BATCH_KINDS = (KIND_NOTIFICATION, KIND_NOTIFICATION_DELIVERY)
HANDLED_KINDS = (*SINGLE_KINDS, *BATCH_KINDS)


class Outcome(StrEnum):
    FANNED_OUT = "fanned_out"
    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD = "dead"
    # The task's lease was no longer the row's: another worker owns it, or it is settled already.
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class Processed:
    outcome: Outcome
    # Webhook rows created by a fan-out.
    children: int = 0


class OutboxProcessor:
    """What the worker does with outbox rows. Holds the sync engine, the HTTP client and the policy;
    safe to share between worker threads."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        http: httpx.Client,
        *,
        on_new_work: Callable[[], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.http = http
        self.policy = RetryPolicy(
            max_attempts=settings.outbox_max_attempts,
            base_seconds=settings.outbox_backoff_base_seconds,
            cap_seconds=settings.outbox_backoff_max_seconds,
        )
        self._sessions = sessionmaker(engine, class_=ScopedSession, expire_on_commit=False, autoflush=False)
        self._on_new_work = on_new_work
        self._rng = rng or random.Random()
        # Agent replies to WeChat / WeCom customers and their media (``channel_*`` rows).
        self.channels = ChannelDelivery(engine, http, settings.files_dir)
        # Notifications to agents (``notification_delivery`` rows): in-app, e-mail, SMS, group robots.
        publisher = notifications.redis_publisher(settings.redis_url) if settings.redis_url else None
        self.notifications = sending.NotificationSender(settings, http, publisher=publisher, engine=engine)
        # Customer notices at 受理 / 处理中 / 已解决 (``customer_notice`` rows, owed by ticket events).
        self.customer_notices = customer_notices.CustomerNotices(settings, engine, http)
        self.flood_limits = FloodLimits(
            dedupe_window=timedelta(minutes=settings.notification_dedupe_minutes),
            per_hour=settings.notification_hourly_limit,
            digest_minutes=settings.notification_rate_limit_digest_minutes,
        )

    def session(self) -> Session:
        return scope_sync_session(self._sessions(), None, system=True)

    def close(self) -> None:
        """Stop the notification send pool (the engine and the HTTP client belong to the caller)."""
        self.notifications.close()

    # --- dispatcher and sweeper ---------------------------------------------------------------------

    def claim(
        self, limit: int, *, tenant_id: uuid.UUID | None = None, kinds: Sequence[str] = HANDLED_KINDS
    ) -> list[Claim]:
        """Lease up to ``limit`` due rows of ``kinds`` (by default every kind this worker handles)."""
        with self.session() as session, session.begin():
            return leases.claim_due(
                session,
                now=utcnow(),
                lease_seconds=self.settings.outbox_lease_seconds,
                limit=limit,
                kinds=kinds,
                tenant_id=tenant_id,
            )

    def sweep(self) -> int:
        """Free rows whose lease ran out, so they are claimed again."""
        with self.session() as session, session.begin():
            released = leases.release_expired(session, now=utcnow())
        if released:
            log.warning("released %d outbox row(s) whose lease expired", released)
        return released

    # --- one claimed row ----------------------------------------------------------------------------

    def process(self, row_id: uuid.UUID, token: datetime) -> Processed:
        """Process one claimed row (the Huey task's body)."""
        with self.session() as session:
            kind = session.scalar(select(OutboxRow.kind).where(OutboxRow.id == row_id))
        if kind == KIND_EVENT:
            return self.fan_out(row_id, token)
        if kind == KIND_WEBHOOK:
            return self.deliver(row_id, token)
        if kind == KIND_RULE_WEBHOOK:
            return self.deliver_rule_webhook(row_id, token)
        if kind in CHANNEL_KINDS:
            return self.deliver_channel_message(row_id, token)
        if kind == KIND_CUSTOMER_NOTICE:
            return self.deliver_customer_notice(row_id, token)
        if kind in BATCH_KINDS:
            return self.process_notifications([row_id], token)[0]
        return Processed(Outcome.STALE)

    def fan_out(self, row_id: uuid.UUID, token: datetime) -> Processed:
        """Turn an event row into its webhook rows and mark it delivered, in one transaction."""
        now = utcnow()
        with self.session() as session, session.begin():
            renewed = self._take_over(session, row_id, token, now)
            if renewed is None:
                return Processed(Outcome.STALE)
            row = session.get_one(OutboxRow, row_id)
            children = delivery.fan_out(session, row, now)
            if customer_notices.owe(session, row, now) is not None:
                children += 1
            values = {"state": STATE_DELIVERED, "attempts": row.attempts + 1, "delivered_at": now}
            if not leases.settle(session, row_id, renewed, values):
                session.rollback()
                return Processed(Outcome.STALE)
        if children and self._on_new_work is not None:
            self._on_new_work()
        return Processed(Outcome.FANNED_OUT, children)

    def deliver(self, row_id: uuid.UUID, token: datetime) -> Processed:
        """One delivery attempt of a webhook row, logged, then settled: delivered, retry later, dead."""
        with self.session() as session:
            with session.begin():
                renewed = self._take_over(session, row_id, token, utcnow())
                if renewed is None:
                    return Processed(Outcome.STALE)
            with session.begin():
                row = session.get_one(OutboxRow, row_id)
                subscription = delivery.subscription_for(session, row)
        if subscription is None or not subscription.is_active:
            reason = "subscription deleted" if subscription is None else "subscription disabled"
            result = AttemptResult(False, None, reason, 0.0)
            values = delivery.dead_outcome(row.attempts, reason)
        else:
            result = delivery.post(self.http, row, subscription)
            values = delivery.outcome(row.attempts, result, self.policy, utcnow(), self._rng.random())
        with self.session() as session, session.begin():
            settled = leases.settle(session, row_id, renewed, values)
            delivery.log_attempt(session, row, result, utcnow())
        if not settled:
            log.warning("outbox row %s: lease lost during delivery; its new owner settles it", row_id)
            return Processed(Outcome.STALE)
        outcome = _outcome_of(values["state"])
        if outcome is not Outcome.DELIVERED:
            log.info(
                "webhook delivery %s attempt %d failed (%s): %s",
                row_id,
                values["attempts"],
                outcome,
                result.error,
            )
        return Processed(outcome)

    def deliver_rule_webhook(self, row_id: uuid.UUID, token: datetime) -> Processed:
        """One attempt at a rule's "call webhook" action (the rule's own URL, no subscription),
        logged and settled like a subscription's delivery: delivered, retry later, dead."""
        processed, _ = self._attempt(row_id, token, lambda row: (post_rule_webhook(self.http, row), False))
        return processed

    def deliver_channel_message(self, row_id: uuid.UUID, token: datetime) -> Processed:
        """One attempt at an agent's reply to a WeChat / WeCom customer, logged and settled like a
        webhook delivery; an answer no retry can change (48-hour window closed …) settles it dead."""

        permanent: list[bool] = []

        def send(row: OutboxRow) -> tuple[AttemptResult, bool]:
            delivered = self.channels.deliver(row)
            permanent.append(delivered.permanent)
            return delivered.result, delivered.permanent

        processed, row = self._attempt(row_id, token, send)
        if row is not None and processed.outcome is Outcome.DEAD and permanent == [False]:
            # Retries ran out on a transient error: the message itself is marked failed.
            self.channels.mark_failed(row)
        return processed

    def deliver_customer_notice(self, row_id: uuid.UUID, token: datetime) -> Processed:
        """One attempt at a notice to a ticket's customer, logged and settled like a webhook delivery,
        recorded in ``customer_notices`` alongside the settlement."""
        attempts: list[customer_notices.NoticeAttempt] = []

        def send(row: OutboxRow) -> tuple[AttemptResult, bool]:
            attempted = self.customer_notices.deliver(row)
            attempts.append(attempted)
            return attempted.result, attempted.permanent

        def record(session: Session, row: OutboxRow, values: dict[str, Any]) -> None:
            customer_notices.record(session, row, values, attempts[0])

        processed, _ = self._attempt(row_id, token, send, record)
        if processed.outcome is Outcome.DELIVERED and self._on_new_work is not None:
            # A WeChat / WeCom notice owes a channel message now.
            self._on_new_work()
        return processed

    def process_notifications(self, row_ids: Sequence[uuid.UUID], token: datetime) -> list[Processed]:
        """A batch of notification rows claimed together (the Huey task's body): fan the
        ``notification`` rows out and lease their children due now, then attempt every delivery row
        at once (``notifications.sending``) and settle them in one transaction. Returns one outcome
        per row of ``row_ids`` still ours (fan-outs first), then one per child delivered here."""
        now = utcnow()
        fanned: list[Processed] = []
        with self.session() as session, session.begin():
            lease_seconds = self.settings.outbox_lease_seconds
            renewed, owned = leases.take_over_many(
                session, row_ids, token, now=now, lease_seconds=lease_seconds
            )
            if not owned:
                return [Processed(Outcome.STALE)]
            rows = list(session.scalars(select(OutboxRow).where(OutboxRow.id.in_(owned))))
            parents = [row for row in rows if row.kind == KIND_NOTIFICATION]
            deliveries = [row for row in rows if row.kind == KIND_NOTIFICATION_DELIVERY]
            if parents:
                context = notifications.FanOutContext(limits=self.flood_limits)
                created = notifications.fan_out_many(session, parents, now, context)
                children = [child for parent in parents for child in created[parent.id]]
                fanned = [Processed(Outcome.FANNED_OUT, len(created[parent.id])) for parent in parents]
                scope_sync_session(session, None, system=True)
                session.execute(
                    update(OutboxRow)
                    .where(OutboxRow.id.in_([row.id for row in parents]), OutboxRow.locked_until == renewed)
                    .values(
                        state=STATE_DELIVERED,
                        attempts=OutboxRow.attempts + 1,
                        delivered_at=now,
                        locked_until=None,
                    )
                    .execution_options(synchronize_session=False)
                )
                leased = leases.lease_due(session, children, renewed, now=now)
                if leased:
                    deliveries += list(session.scalars(select(OutboxRow).where(OutboxRow.id.in_(leased))))
                if len(leased) < len(children) and self._on_new_work is not None:
                    self._on_new_work()
        if not deliveries:
            return fanned
        with self.session() as session:
            local, pushes = self.notifications.attempt_local(session, deliveries, utcnow())
            session.rollback()
        # In-app items settle before the pushes are sent: a slow provider holds no inbox back.
        states = self._settle_notifications(local, renewed)
        if pushes:
            states |= self._settle_notifications(self.notifications.push(pushes), renewed)
        delivered = [
            Processed(_outcome_of(states[row.id]) if row.id in states else Outcome.STALE)
            for row in deliveries
        ]
        return fanned + delivered

    def _settle_notifications(self, batch: sending.Batch, token: datetime) -> dict[uuid.UUID, str]:
        if not batch.attempts:
            return {}
        with self.session() as session, session.begin():
            states = sending.settle(session, batch, token, self.policy, self._rng, utcnow())
        self.notifications.publish(batch.inbox)
        return states

    def _attempt(
        self,
        row_id: uuid.UUID,
        token: datetime,
        send: Callable[[OutboxRow], tuple[AttemptResult, bool]],
        record: Callable[[Session, OutboxRow, dict[str, Any]], None] | None = None,
    ) -> tuple[Processed, OutboxRow | None]:
        """Take the claimed row over, make one attempt with ``send`` (its result and whether no retry
        can help), then settle the row — dead when permanent or out of attempts, else delivered or
        retried with backoff — log the attempt, and let ``record`` write alongside the settlement.
        Returns what happened and the row (``None`` when the lease was no longer ours)."""
        with self.session() as session:
            with session.begin():
                renewed = self._take_over(session, row_id, token, utcnow())
                if renewed is None:
                    return Processed(Outcome.STALE), None
            with session.begin():
                row = session.get_one(OutboxRow, row_id)
        result, permanent = send(row)
        if permanent:
            values = delivery.dead_outcome(row.attempts, result.error or "refused")
        else:
            values = delivery.outcome(row.attempts, result, self.policy, utcnow(), self._rng.random())
        with self.session() as session, session.begin():
            settled = leases.settle(session, row_id, renewed, values)
            delivery.log_attempt(session, row, result, utcnow())
            if settled and record is not None:
                record(session, row, values)
        if not settled:
            return Processed(Outcome.STALE), row
        return Processed(_outcome_of(values["state"])), row

    def _take_over(
        self, session: Session, row_id: uuid.UUID, token: datetime, now: datetime
    ) -> datetime | None:
        return leases.take_over(
            session, row_id, token, now=now, lease_seconds=self.settings.outbox_lease_seconds
        )


def _outcome_of(state: str) -> Outcome:
    if state == STATE_DELIVERED:
        return Outcome.DELIVERED
    if state == STATE_DEAD:
        return Outcome.DEAD
    return Outcome.RETRY
