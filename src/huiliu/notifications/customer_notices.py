"""Customer notices (客户通知), the worker's side: at key moments a ticket's customer hears back on
their own channel — 受理 accepted, 处理中 in progress, 已解决 resolved (with the rating link).

Every ticket event reaches the worker as an ``event`` outbox row (also on the single-statement create
paths), so the notices hang off the event fan-out: an event that is a moment for its customer, with
the tenant's switch for that moment on, owes one ``customer_notice`` row whose id derives from the
ticket and the moment (inserted if absent: one notice per moment per ticket, however often the
ticket passes through it). The row is then one attempt at a time like any delivery:

- WeChat / WeCom tickets: a ``channel_message`` row on the reply path the agents' replies take
  (``channels.tencent``: the 48-hour window, template and subscribe-message fallbacks live there);
- e-mail: the tenant's e-mail provider, to the customer's address;
- a mobile number only: the tenant's SMS provider;
- web-form tickets and customers with no address: shown on the progress page their link opens.

Each notice is recorded in ``customer_notices`` (what was said, on which channel, its state)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import httpx
from sqlalchemy import Table, select
from sqlalchemy.orm import Session, sessionmaker

from huiliu.channels.webform.domain import progress_token, progress_url
from huiliu.core.clock import utcnow
from huiliu.core.outbox import STATE_DELIVERED, STATE_PENDING, OutboxRow
from huiliu.customers.domain import EMAIL, PHONE
from huiliu.customers.models import Customer, CustomerIdentity
from huiliu.db.session import ScopedSession, scope_sync_session
from huiliu.notifications import templates
from huiliu.notifications.delivery import active_templates, insert_if_absent
from huiliu.notifications.domain import (
    CHANNEL_PROVIDERS,
    KIND_CUSTOMER_NOTICE,
    PROGRESS_PAGE,
    RESOLVED,
    customer_channel,
    customer_moment,
    customer_notice_id,
    notices_switched_on,
)
from huiliu.notifications.models import CustomerNotice, NotificationChannel, NotificationPolicy
from huiliu.notifications.providers import DeliveryFailed, OutgoingMessage, build_notifier
from huiliu.settings import Settings
from huiliu.webhooks.delivery import AttemptResult

# The reply path's row kind (``channels.tencent.replies.KIND_CHANNEL_MESSAGE``); named here so the
# notifications package does not import the channel's reactor.
KIND_CHANNEL_MESSAGE = "channel_message"
_CHANNEL_ROW = uuid.UUID("c4d2b8f1-0e7a-4d36-a1f5-6b9e2c7d3a58")


def owe(session: Session, event_row: OutboxRow, now: datetime) -> uuid.UUID | None:
    """In the event fan-out's transaction: the customer notice ``event_row`` owes, if any (inserted if
    absent). Returns its id when the event is a moment its tenant has switched on."""
    data = event_row.payload.get("data") or {}
    ticket = data.get("ticket") or {}
    moment = customer_moment(event_row.event_type, ticket)
    if moment is None or not ticket.get("id") or not ticket.get("customer_id"):
        return None
    scope_sync_session(session, event_row.tenant_id, system=True)
    policy = session.scalar(select(NotificationPolicy).limit(1))
    if not notices_switched_on(policy.customer_notices if policy is not None else {})[moment]:
        return None
    notice_id = customer_notice_id(uuid.UUID(str(ticket["id"])), moment)
    session.execute(
        insert_if_absent(session, OutboxRow),
        [
            {
                "id": notice_id,
                "tenant_id": event_row.tenant_id,
                "kind": KIND_CUSTOMER_NOTICE,
                "event_id": event_row.event_id,
                "event_type": event_row.event_type,
                "payload": {"moment": moment, "ticket": ticket},
                "target_id": None,
                "parent_id": event_row.id,
                "state": STATE_PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        ],
    )
    return notice_id


@dataclass(frozen=True, slots=True)
class NoticeAttempt:
    result: AttemptResult
    permanent: bool
    channel: str
    title: str
    body: str


@dataclass(frozen=True, slots=True)
class _Contact:
    name: str
    email: str | None
    phone: str | None


class CustomerNotices:
    """Sends ``customer_notice`` rows; safe to share between worker threads."""

    def __init__(self, settings: Settings, engine: Any, http: httpx.Client) -> None:
        self.settings = settings
        self.http = http
        self._sessions = sessionmaker(engine, class_=ScopedSession, expire_on_commit=False, autoflush=False)

    def _session(self, tenant_id: uuid.UUID) -> Session:
        return scope_sync_session(self._sessions(), tenant_id, system=True)

    def deliver(self, row: OutboxRow) -> NoticeAttempt:
        """One attempt; never raises for a provider's answer."""
        started = time.perf_counter()
        moment = str(row.payload.get("moment") or "")
        ticket = row.payload.get("ticket") or {}
        ticket_id = uuid.UUID(str(ticket["id"]))
        with self._session(row.tenant_id) as session:
            contact = _contact(session, _uuid(ticket.get("customer_id")))
            channel = customer_channel(
                str(ticket.get("channel") or ""), email=contact.email, phone=contact.phone
            )
            title, body = self._worded(session, row.tenant_id, ticket_id, ticket, moment, channel, contact)
            provider = _provider(session, channel) if channel in ("email", "sms") else None

        def answered(ok: bool, error: str | None = None, *, permanent: bool = False) -> NoticeAttempt:
            result = AttemptResult(ok, None, error, (time.perf_counter() - started) * 1000)
            return NoticeAttempt(result, permanent, channel, title, body)

        if channel == PROGRESS_PAGE:
            return answered(True)
        if channel == "wechat":
            if _uuid(ticket.get("entry_point_id")) is None:
                return answered(
                    False, "the ticket has no WeChat / WeCom entry point to answer on", permanent=True
                )
            self._hand_to_channel(row, ticket, body)
            return answered(True)
        if provider is None:
            return answered(
                False, f"no active provider is configured for the {channel} channel", permanent=True
            )
        message = OutgoingMessage(
            delivery_id=row.id,
            title=title,
            text=body,
            email=contact.email,
            phone=contact.phone,
            variables={
                "ticket_id": str(ticket_id),
                "ticket_number": str(ticket.get("number") or ""),
                "ticket_title": str(ticket.get("title") or ""),
                "message": body,
                "severity": "info",
                "link": "",
            },
        )
        try:
            build_notifier(
                provider.kind,
                {**provider.config, **provider.secrets},
                self.http,
                timeout=self.settings.webhook_timeout_seconds,
            ).send(message)
        except DeliveryFailed as exc:
            return answered(False, exc.reason, permanent=not exc.retryable)
        return answered(True)

    def _worded(
        self,
        session: Session,
        tenant_id: uuid.UUID,
        ticket_id: uuid.UUID,
        ticket: dict[str, Any],
        moment: str,
        channel: str,
        contact: _Contact,
    ) -> tuple[str, str]:
        """The tenant's template for the moment and channel (zh-CN; customers have no locale of their
        own yet), else the shipped one; a template that fails to render falls back to the shipped one."""
        event = f"customer.{moment}"
        link = progress_url(
            self.settings.public_url, progress_token(self.settings.secret_key, tenant_id, ticket_id)
        )
        context = {
            "ticket": ticket,
            "customer": {"name": contact.name},
            "progress_link": link,
            "csat_link": link if moment == RESOLVED else "",
        }
        stored = active_templates(session)
        chosen = next(
            (
                stored[key]
                for key in templates.lookup_order(event, channel, templates.DEFAULT_LOCALE)
                if key in stored
            ),
            None,
        )
        sources = [(chosen.title, chosen.body)] if chosen is not None else []
        sources.append(templates.default_for(templates.DEFAULT_LOCALE, event))
        for title, body in sources:
            try:
                rendered = templates.render(title, body, context)
            except templates.TemplateProblem:
                continue
            return rendered.title[:300], rendered.body
        return event, ""

    def _hand_to_channel(self, row: OutboxRow, ticket: dict[str, Any], body: str) -> None:
        """Owe the notice to the WeChat / WeCom reply path (its row id derives from the notice's)."""
        now = utcnow()
        row_id = uuid.uuid5(_CHANNEL_ROW, str(row.id))
        with self._session(row.tenant_id) as session, session.begin():
            session.execute(
                insert_if_absent(session, OutboxRow),
                [
                    {
                        "id": row_id,
                        "tenant_id": row.tenant_id,
                        "kind": KIND_CHANNEL_MESSAGE,
                        "event_id": row.event_id,
                        "event_type": row.event_type,
                        "payload": {
                            "ticket_id": str(ticket["id"]),
                            # No message row: the reply path marks none (the notice is its own record).
                            "message_id": str(row.id),
                            "entry_point_id": str(ticket.get("entry_point_id") or ""),
                            "customer_id": str(ticket.get("customer_id") or ""),
                            "channel": str(ticket.get("channel") or ""),
                            "body": body,
                        },
                        "target_id": _uuid(ticket.get("entry_point_id")),
                        "parent_id": row.id,
                        "state": STATE_PENDING,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                ],
            )


def record(session: Session, row: OutboxRow, values: dict[str, Any], attempt: NoticeAttempt) -> None:
    """Write the notice's record alongside the row's settlement."""
    ticket = row.payload.get("ticket") or {}
    state = values["state"]
    session.execute(
        insert_if_absent(session, CustomerNotice),
        [
            {
                "id": row.id,
                "tenant_id": row.tenant_id,
                "ticket_id": uuid.UUID(str(ticket["id"])),
                "moment": str(row.payload.get("moment") or ""),
                "channel": attempt.channel,
                "title": attempt.title,
                "body": attempt.body,
                "state": state,
                "last_error": values.get("last_error"),
                "delivered_at": values.get("delivered_at"),
                "created_at": row.created_at,
            }
        ],
    )
    table = cast(Table, CustomerNotice.__table__)
    session.execute(
        table.update()
        .where(table.c.id == row.id)
        .values(
            state=state,
            channel=attempt.channel,
            title=attempt.title,
            body=attempt.body,
            last_error=values.get("last_error") if state != STATE_DELIVERED else None,
            delivered_at=values.get("delivered_at"),
        )
    )


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _contact(session: Session, customer_id: uuid.UUID | None) -> _Contact:
    if customer_id is None:
        return _Contact("", None, None)
    customer = session.get(Customer, customer_id)
    identities = session.execute(
        select(CustomerIdentity.kind, CustomerIdentity.value)
        .where(CustomerIdentity.customer_id == customer_id, CustomerIdentity.kind.in_([EMAIL, PHONE]))
        .order_by(CustomerIdentity.created_at)
    ).all()
    email = next((value for kind, value in identities if kind == EMAIL), None)
    phone = next((value for kind, value in identities if kind == PHONE), None)
    return _Contact(customer.name if customer is not None else "", email, phone)


def _provider(session: Session, channel: str) -> NotificationChannel | None:
    return session.scalar(
        select(NotificationChannel)
        .where(
            NotificationChannel.is_active.is_(True), NotificationChannel.kind.in_(CHANNEL_PROVIDERS[channel])
        )
        .order_by(NotificationChannel.created_at, NotificationChannel.id)
        .limit(1)
    )
