"""Delivering ``notification`` outbox rows, the worker's side (sync SQLAlchemy, sync HTTP).

A ``notification`` row (written by automation when a rule or an SLA tier notifies) fans out, in one
transaction, into one ``notification_delivery`` outbox row per recipient and channel (one per group
chat for group robots), each with a ``notification_deliveries`` row of the same id. The recipient's
channels are the row's own, else the recipient's preference for the event, else in-app; quiet hours
hold a non-critical delivery until they end (its row is due then). A channel with no active provider
configured is dead at once, with the reason, so an admin sees it in the dead letters.

Each delivery row is then one attempt at a time through its provider, retried with backoff by the
worker's lease machinery (``huiliu.worker``); the provider's classification (retryable or permanent)
decides between a retry and a dead letter. In-app deliveries store an inbox row whose id is the
delivery's id (stored once however often it runs) and publish a live event."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from huiliu.auth.models import User
from huiliu.core.clock import utcnow
from huiliu.core.outbox import STATE_DEAD, STATE_DELIVERED, STATE_PENDING, OutboxRow
from huiliu.db.session import scope_sync_session
from huiliu.notifications import templates
from huiliu.notifications.domain import (
    CHANNEL_PROVIDERS,
    CRITICAL,
    DIGEST_SEVERITY,
    DIGESTED,
    DUPLICATE,
    GROUP_CHANNELS,
    IN_APP,
    KIND_NOTIFICATION_DELIVERY,
    FloodLimits,
    QuietHours,
    channels_for,
    delivery_id,
    digest_id,
    digest_window_end,
    fingerprint,
    is_digested,
    parse_clock,
    release_after,
)
from huiliu.notifications.models import (
    NotificationChannel,
    NotificationDelivery,
    NotificationPolicy,
    NotificationPreference,
    NotificationTemplate,
)
from huiliu.notifications.providers import OutgoingMessage
from huiliu.webhooks.delivery import AttemptResult

log = logging.getLogger("huiliu.notifications")

LIVE_EVENT = "notification.created"
MAX_TITLE = 300

# Publishes a live message for a tenant (the hub's message shape); None where no hub is reachable.
Publisher = Callable[[uuid.UUID, dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Attempted:
    result: AttemptResult
    # True when no retry can help: the delivery goes dead at once.
    permanent: bool = False
    provider_message_id: str | None = None
    # A digest: the deliveries it carried (marked delivered with it).
    included: tuple[uuid.UUID, ...] = ()


def insert_if_absent(session: Session, model: type[Any]) -> Any:
    dialect = session.get_bind().dialect.name
    table = cast(Table, model.__table__)
    if dialect == "postgresql":
        return pg_insert(table).on_conflict_do_nothing(index_elements=["id"])
    return sqlite_insert(table).on_conflict_do_nothing(index_elements=["id"])


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


@dataclass
class FanOutContext:
    """What fanning out a batch of notification rows shares: the flood limits, and per tenant its
    active providers and its quiet hours (read once per batch, not once per row)."""

    limits: FloodLimits = field(default_factory=FloodLimits)
    _providers: dict[uuid.UUID, list[NotificationChannel]] = field(default_factory=dict)
    _quiet: dict[uuid.UUID, QuietHours | None] = field(default_factory=dict)

    def providers(self, session: Session, tenant_id: uuid.UUID) -> list[NotificationChannel]:
        if tenant_id not in self._providers:
            self._providers[tenant_id] = _active_providers(session)
        return self._providers[tenant_id]

    def tenant_quiet(self, session: Session, tenant_id: uuid.UUID) -> QuietHours | None:
        if tenant_id not in self._quiet:
            self._quiet[tenant_id] = tenant_quiet_hours(session)
        return self._quiet[tenant_id]


def tenant_quiet_hours(session: Session) -> QuietHours | None:
    """The quiet hours of the session's tenant, if it set any."""
    policy = session.scalar(select(NotificationPolicy).limit(1))
    if policy is None or not policy.quiet_start or not policy.quiet_end:
        return None
    return QuietHours(parse_clock(policy.quiet_start), parse_clock(policy.quiet_end), policy.timezone)


def fan_out(
    session: Session, row: OutboxRow, now: datetime, context: FanOutContext | None = None
) -> list[uuid.UUID]:
    """Create the deliveries a notification row owes (insert-if-absent: running twice is harmless).
    Scopes ``session`` to the row's tenant. Returns the ids of the deliveries that are pending (due
    now, or when quiet hours end)."""
    return fan_out_many(session, [row], now, context)[row.id]


@dataclass
class _Known:
    """What the flood guards know while a batch is planned: what the database held before it, plus
    what the batch planned so far (its rows are inserted together at the end)."""

    prints: set[tuple[uuid.UUID, str, str]]
    hourly: dict[tuple[uuid.UUID, str], int]


def fan_out_many(
    session: Session, rows: Sequence[OutboxRow], now: datetime, context: FanOutContext | None = None
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """``fan_out`` for a batch of notification rows: per tenant, the recipients' preferences and what
    the flood guards need are read in one statement each, and every delivery of the batch is inserted
    with one statement per table. Returns each row's pending deliveries."""
    context = context or FanOutContext()
    created: dict[uuid.UUID, list[uuid.UUID]] = {}
    tenants: dict[uuid.UUID, list[OutboxRow]] = {}
    for row in rows:
        tenants.setdefault(row.tenant_id, []).append(row)
    outbox_rows: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    for tenant_id, group in tenants.items():
        scope_sync_session(session, tenant_id, system=True)
        recipients = {user_id for row in group for user_id in _recipients(row)}
        preferences = (
            {
                preference.user_id: preference
                for preference in session.scalars(
                    select(NotificationPreference).where(NotificationPreference.user_id.in_(recipients))
                )
            }
            if recipients
            else {}
        )
        known = _known(session, group, recipients, now, context.limits)
        for row in group:
            made = _plan(session, row, now, context, preferences, known, outbox_rows, deliveries)
            created[row.id] = made
    scope_sync_session(session, None, system=True)
    if outbox_rows:
        session.execute(insert_if_absent(session, OutboxRow), outbox_rows)
    if deliveries:
        session.execute(insert_if_absent(session, NotificationDelivery), deliveries)
    return created


def _recipients(row: OutboxRow) -> list[uuid.UUID]:
    return [user_id for user_id in map(_uuid, row.payload.get("recipients") or []) if user_id]


def _row_fingerprint(payload: dict[str, Any]) -> str:
    ticket = payload.get("ticket") or {}
    severity = str(payload.get("severity") or "info")
    return fingerprint(str(ticket.get("id") or ""), str(payload.get("message") or ""), severity)


def _known(
    session: Session,
    group: Sequence[OutboxRow],
    recipients: set[uuid.UUID],
    now: datetime,
    limits: FloodLimits,
) -> _Known:
    """The recent deliveries the flood guards compare against, for a batch's recipients: identical
    messages within the dedupe window (counted from the last one not dropped, so a message repeated
    all day still goes out every window) and the messages per push channel in the last hour."""
    known = _Known(prints=set(), hourly={})
    if not recipients:
        return known
    if limits.dedupe_window:
        prints = {_row_fingerprint(row.payload) for row in group}
        found = session.execute(
            select(
                NotificationDelivery.recipient_id,
                NotificationDelivery.channel,
                NotificationDelivery.fingerprint,
            ).where(
                NotificationDelivery.recipient_id.in_(recipients),
                NotificationDelivery.fingerprint.in_(prints),
                NotificationDelivery.created_at >= now - limits.dedupe_window,
                NotificationDelivery.state != DUPLICATE,
            )
        )
        known.prints = {
            (recipient, channel, print_) for recipient, channel, print_ in found if recipient and print_
        }
    if any(str(row.payload.get("severity") or "info") != CRITICAL for row in group):
        counted = session.execute(
            select(NotificationDelivery.recipient_id, NotificationDelivery.channel, func.count())
            .where(
                NotificationDelivery.recipient_id.in_(recipients),
                NotificationDelivery.channel != IN_APP,
                NotificationDelivery.created_at >= now - timedelta(hours=1),
                NotificationDelivery.state.not_in([DUPLICATE, DIGESTED]),
            )
            .group_by(NotificationDelivery.recipient_id, NotificationDelivery.channel)
        )
        known.hourly = {
            (recipient, channel): int(count) for recipient, channel, count in counted if recipient
        }
    return known


def _plan(
    session: Session,
    row: OutboxRow,
    now: datetime,
    context: FanOutContext,
    preferences: dict[uuid.UUID, NotificationPreference],
    known: _Known,
    outbox_rows: list[dict[str, Any]],
    deliveries: list[dict[str, Any]],
) -> list[uuid.UUID]:
    """Plan one notification row's deliveries into ``outbox_rows`` and ``deliveries``; returns the ids
    of the pending ones."""
    tenant_quiet = context.tenant_quiet(session, row.tenant_id)
    payload = row.payload
    requested = [str(channel) for channel in payload.get("channels") or []]
    severity = str(payload.get("severity") or "info")
    event = str((payload.get("origin") or {}).get("kind") or "*")
    providers = context.providers(session, row.tenant_id)
    planned: list[tuple[uuid.UUID | None, str, datetime | None, list[str]]] = []
    group_mentions: dict[str, list[str]] = {}
    for user_id in _recipients(row):
        preference = preferences.get(user_id)
        chosen = channels_for(requested, preference.event_channels if preference else None, event)
        for channel in chosen:
            if channel in GROUP_CHANNELS:
                mentions = group_mentions.setdefault(channel, [])
                if preference is not None and preference.phone:
                    mentions.append(preference.phone)
                continue
            planned.append((user_id, channel, _release_at(preference, tenant_quiet, now, severity), []))
    group_release = _release_at(None, tenant_quiet, now, severity)
    planned += [(None, channel, group_release, mentions) for channel, mentions in group_mentions.items()]
    ticket = payload.get("ticket") or {}
    print_ = _row_fingerprint(payload)
    pending: list[uuid.UUID] = []
    for recipient_id, channel, release, mentions in planned:
        provider = _provider_for(providers, channel)
        dead_reason = None
        if channel != IN_APP and provider is None:
            dead_reason = f"no active provider is configured for the {channel} channel"
        identifier = delivery_id(row.id, recipient_id, channel)
        preference = preferences.get(recipient_id) if recipient_id else None
        values = _delivery_values(
            row, identifier, ticket, recipient_id, channel, provider.id if provider else None, severity, now
        )
        values["fingerprint"] = print_
        if recipient_id and (recipient_id, channel, print_) in known.prints:
            deliveries.append(values | {"state": DUPLICATE, "not_before": None, "last_error": None})
            continue
        if recipient_id and context.limits.dedupe_window:
            known.prints.add((recipient_id, channel, print_))
        minutes = _digest_minutes(preference, recipient_id, channel, severity, known, context.limits)
        if dead_reason is None and recipient_id and minutes and provider is not None:
            digest = _digest_for(
                session, row, recipient_id, preference, tenant_quiet, channel, provider.id, now, minutes
            )
            if digest is not None:
                deliveries.append(
                    values | {"state": DIGESTED, "digest_id": digest, "not_before": None, "last_error": None}
                )
                continue
        if recipient_id and channel != IN_APP:
            key = (recipient_id, channel)
            known.hourly[key] = known.hourly.get(key, 0) + 1
        state = STATE_DEAD if dead_reason else STATE_PENDING
        outbox_rows.append(
            {
                "id": identifier,
                "tenant_id": row.tenant_id,
                "kind": KIND_NOTIFICATION_DELIVERY,
                "event_id": identifier,
                "event_type": row.event_type,
                "payload": {
                    **payload,
                    "recipient_id": str(recipient_id) if recipient_id else None,
                    "channel": channel,
                    "provider_channel_id": str(provider.id) if provider else None,
                    "mentions": mentions,
                },
                "target_id": provider.id if provider else None,
                "parent_id": row.id,
                "state": state,
                "attempts": 0,
                "next_attempt_at": release or now,
                "last_error": dead_reason,
                "created_at": now,
            }
        )
        deliveries.append(values | {"state": state, "not_before": release, "last_error": dead_reason})
        if state == STATE_PENDING:
            pending.append(identifier)
    return pending


def _delivery_values(
    row: OutboxRow,
    identifier: uuid.UUID,
    ticket: dict[str, Any],
    recipient_id: uuid.UUID | None,
    channel: str,
    provider_id: uuid.UUID | None,
    severity: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": identifier,
        "tenant_id": row.tenant_id,
        "notification_id": row.id,
        "ticket_id": _uuid(ticket.get("id")),
        "recipient_id": recipient_id,
        "channel": channel,
        "provider_channel_id": provider_id,
        "digest_id": None,
        "fingerprint": None,
        "severity": severity,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }


def _digest_minutes(
    preference: NotificationPreference | None,
    recipient_id: uuid.UUID | None,
    channel: str,
    severity: str,
    known: _Known,
    limits: FloodLimits,
) -> int | None:
    """The digest window this delivery joins: the recipient's own for info updates, or the rate
    limit's when the recipient already had ``limits.per_hour`` messages on this channel this hour
    (critical ones always go alone)."""
    own = preference.digest_minutes if preference is not None else None
    if is_digested(severity, channel, own):
        return own
    if recipient_id is None or channel == IN_APP or severity == CRITICAL:
        return None
    recent = known.hourly.get((recipient_id, channel), 0)
    return limits.digest_minutes if recent >= limits.per_hour else None


def _digest_for(
    session: Session,
    row: OutboxRow,
    recipient_id: uuid.UUID,
    preference: NotificationPreference | None,
    tenant_quiet: QuietHours | None,
    channel: str,
    provider_id: uuid.UUID,
    now: datetime,
    minutes: int,
) -> uuid.UUID | None:
    """The pending digest delivery of the recipient's current window on ``channel`` (created if it is
    the window's first item). None when that digest went out already: the item is then sent alone."""
    window_end = digest_window_end(now, minutes)
    identifier = digest_id(recipient_id, channel, window_end)
    due = _release_at(preference, tenant_quiet, window_end, DIGEST_SEVERITY) or window_end
    payload = {
        "digest": True,
        "recipient_id": str(recipient_id),
        "channel": channel,
        "provider_channel_id": str(provider_id),
        "severity": DIGEST_SEVERITY,
        "window_end": window_end.isoformat(),
    }
    session.execute(
        insert_if_absent(session, OutboxRow),
        [
            {
                "id": identifier,
                "tenant_id": row.tenant_id,
                "kind": KIND_NOTIFICATION_DELIVERY,
                "event_id": identifier,
                "event_type": row.event_type,
                "payload": payload,
                "target_id": provider_id,
                "parent_id": None,
                "state": STATE_PENDING,
                "attempts": 0,
                "next_attempt_at": due,
                "created_at": now,
            }
        ],
    )
    session.execute(
        insert_if_absent(session, NotificationDelivery),
        [
            {
                "id": identifier,
                "tenant_id": row.tenant_id,
                "notification_id": identifier,
                "ticket_id": None,
                "recipient_id": recipient_id,
                "channel": channel,
                "provider_channel_id": provider_id,
                "digest_id": None,
                "fingerprint": None,
                "severity": DIGEST_SEVERITY,
                "state": STATE_PENDING,
                "attempts": 0,
                "not_before": due,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    state = session.scalar(select(OutboxRow.state).where(OutboxRow.id == identifier))
    return identifier if state == STATE_PENDING else None


def _release_at(
    preference: NotificationPreference | None, tenant_quiet: QuietHours | None, now: datetime, severity: str
) -> datetime | None:
    """When a delivery may go: after the recipient's quiet hours and the tenant's (None: at once)."""
    windows = [tenant_quiet] if tenant_quiet is not None else []
    if preference is not None and preference.quiet_start and preference.quiet_end:
        windows.append(
            QuietHours(
                parse_clock(preference.quiet_start), parse_clock(preference.quiet_end), preference.timezone
            )
        )
    return release_after(windows, now, severity)


def _active_providers(session: Session) -> list[NotificationChannel]:
    return list(
        session.scalars(
            select(NotificationChannel)
            .where(NotificationChannel.is_active.is_(True))
            .order_by(NotificationChannel.created_at, NotificationChannel.id)
        )
    )


def _provider_for(providers: list[NotificationChannel], channel: str) -> NotificationChannel | None:
    kinds = CHANNEL_PROVIDERS.get(channel, ())
    return next((provider for provider in providers if provider.kind in kinds), None)


def compose(payload: dict[str, Any], identifier: uuid.UUID, console_url: str) -> OutgoingMessage:
    """The message of a delivery row, without the recipient's addresses."""
    ticket = payload.get("ticket") or {}
    number = str(ticket.get("number") or "")
    ticket_title = str(ticket.get("title") or "")
    severity = str(payload.get("severity") or "info")
    text = str(payload.get("message") or "")
    # A notification about no ticket (an analytics alert) is titled by what sent it and links where
    # its payload says (an absolute URL, e.g. the dashboard behind the alert).
    origin = payload.get("origin") or {}
    fallback = str(payload.get("title") or origin.get("name") or "汇流通知")
    title = f"工单 {number} {ticket_title}".strip() if number else (ticket_title or fallback)
    if severity == "critical":
        title = f"【紧急】{title}"
    given = payload.get("link")
    absolute = given if isinstance(given, str) and given.startswith(("https://", "http://")) else None
    link = f"{console_url}/tickets/{ticket['id']}" if ticket.get("id") else absolute
    variables = {
        "ticket_id": str(ticket.get("id") or ""),
        "ticket_number": number,
        "ticket_title": ticket_title,
        "message": text,
        "severity": severity,
        "link": link or "",
    }
    return OutgoingMessage(
        delivery_id=identifier,
        title=title[:MAX_TITLE],
        text=text or title,
        severity=severity,
        link=link,
        variables=variables,
        mentions=tuple(str(mobile) for mobile in payload.get("mentions") or []),
    )


def live_message(item: dict[str, Any]) -> dict[str, Any]:
    """The hub message for a new inbox item, for its recipient alone (``audience.user_id``)."""
    created = item["created_at"]
    return {
        "id": str(item["id"]),
        "type": LIVE_EVENT,
        "occurred_at": created.isoformat().replace("+00:00", "Z")
        if isinstance(created, datetime)
        else created,
        "data": {
            "notification": {
                "id": str(item["id"]),
                "recipient_id": str(item["user_id"]),
                "ticket_id": str(item["ticket_id"]) if item.get("ticket_id") else None,
                "severity": item["severity"],
                "title": item["title"],
                "body": item["body"],
                "link": item.get("link"),
            }
        },
        "audience": {"user_id": str(item["user_id"])},
    }


def redis_publisher(redis_url: str) -> Publisher:
    """Publishes onto the channel the API processes' ``RedisHub`` relays to their SSE streams."""
    import orjson
    import redis

    client = redis.Redis.from_url(redis_url)

    def publish(tenant_id: uuid.UUID, message: dict[str, Any]) -> None:
        client.publish(f"huiliu:live:{tenant_id}", orjson.dumps(message, default=str))

    return publish


def record_attempt(session: Session, row: OutboxRow, values: dict[str, Any], attempted: Attempted) -> None:
    """Mirror the settled outbox row onto its ``notification_deliveries`` row (same transaction)."""
    changes: dict[str, Any] = {
        "state": values["state"],
        "attempts": values["attempts"],
        "last_error": values.get("last_error"),
        "updated_at": utcnow(),
    }
    if values["state"] == STATE_DELIVERED:
        changes["delivered_at"] = values.get("delivered_at")
        changes["provider_message_id"] = attempted.provider_message_id
    session.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.id == row.id)
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if row.payload.get("digest") and values["state"] == STATE_DELIVERED:
        _settle_digest(session, row, values, attempted)


def _settle_digest(session: Session, row: OutboxRow, values: dict[str, Any], attempted: Attempted) -> None:
    """Mark the items a digest carried delivered; items that joined while it was being sent make it
    due again at once (nothing waits for a window that is over)."""
    if attempted.included:
        session.execute(
            update(NotificationDelivery)
            .where(NotificationDelivery.id.in_(list(attempted.included)))
            .values(
                state=STATE_DELIVERED,
                delivered_at=values.get("delivered_at"),
                provider_message_id=attempted.provider_message_id,
                attempts=values["attempts"],
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
    left = session.scalar(
        select(NotificationDelivery.id)
        .where(NotificationDelivery.digest_id == row.id, NotificationDelivery.state == DIGESTED)
        .limit(1)
    )
    if left is None:
        return
    now = utcnow()
    session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == row.id)
        .values(state=STATE_PENDING, next_attempt_at=now, locked_until=None, attempts=0, delivered_at=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.id == row.id)
        .values(state=STATE_PENDING, delivered_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )


TemplateKey = tuple[str, str, str]


def active_templates(session: Session) -> dict[TemplateKey, NotificationTemplate]:
    """The session's tenant's active templates by (event, channel, locale)."""
    return {
        (item.event, item.channel, item.locale): item
        for item in session.scalars(
            select(NotificationTemplate).where(NotificationTemplate.is_active.is_(True))
        )
    }


def worded(
    stored: dict[TemplateKey, NotificationTemplate],
    payload: dict[str, Any],
    message: OutgoingMessage,
    channel: str,
    user: User | None,
) -> OutgoingMessage:
    """The message in the tenant's template for its event, channel and the recipient's locale (or the
    shipped default); a template that fails to render falls back to the default."""
    event = str((payload.get("origin") or {}).get("kind") or templates.ANY)
    locale = (
        user.locale if user is not None and user.locale in templates.LOCALES else templates.DEFAULT_LOCALE
    )
    keys = templates.lookup_order(event, channel, locale)
    chosen = next((stored[key] for key in keys if key in stored), None)
    context = {
        "ticket": payload.get("ticket") or {},
        "message": str(payload.get("message") or ""),
        "severity": message.severity,
        "origin": payload.get("origin") or {},
        "link": message.link or "",
        "recipient": {"name": user.name if user is not None else ""},
    }
    sources = [(chosen.title, chosen.body)] if chosen is not None else []
    sources.append(templates.default_for(locale, event))
    for title, body in sources:
        try:
            rendered = templates.render(title, body, context)
        except templates.TemplateProblem:
            log.warning("notification template for %s/%s/%s failed to render", event, channel, locale)
            continue
        return replace(
            message, title=rendered.title[:MAX_TITLE] or message.title, text=rendered.body or message.title
        )
    return message


def digest_message(
    session: Session, row: OutboxRow, console_url: str
) -> tuple[OutgoingMessage, tuple[uuid.UUID, ...]]:
    """One message listing every notification waiting in this digest, oldest first."""
    items = list(
        session.scalars(
            select(NotificationDelivery)
            .where(NotificationDelivery.digest_id == row.id, NotificationDelivery.state == DIGESTED)
            .order_by(NotificationDelivery.created_at, NotificationDelivery.id)
        )
    )
    parents = {
        parent.id: parent.payload
        for parent in session.scalars(
            select(OutboxRow).where(OutboxRow.id.in_([item.notification_id for item in items]))
        )
    }
    lines, numbers = [], []
    for item in items:
        payload = parents.get(item.notification_id) or {}
        ticket = payload.get("ticket") or {}
        number = str(ticket.get("number") or "")
        numbers.append(number)
        lines.append(f"· 工单 {number} {ticket.get('title') or ''}：{payload.get('message') or ''}".strip())
    title = f"汇流：{len(items)} 条工单进展"
    link = f"{console_url}/notifications"
    message = OutgoingMessage(
        delivery_id=row.id,
        title=title,
        text="\n".join(lines) or title,
        severity=DIGEST_SEVERITY,
        link=link,
        variables={
            "ticket_id": "",
            "ticket_number": ",".join(numbers),
            "ticket_title": title,
            "message": title,
            "severity": DIGEST_SEVERITY,
            "link": link,
        },
    )
    return message, tuple(item.id for item in items)


__all__ = [
    "LIVE_EVENT",
    "STATE_DEAD",
    "Attempted",
    "compose",
    "fan_out",
    "live_message",
    "record_attempt",
    "redis_publisher",
]
