"""Engine facts from what is stored about a ticket: its row, its customer, its messages and audit
events. Pure (no queries): the caller loads the rows, so the dry run, the write path and the timer
sweep can share it.

References are ids as strings: ``team``, ``assignee`` and ``entry_point`` hold the UUIDs of the team,
user and entry point, so a rule compares them with ids (the console picks them from lists).
``within_business_hours`` is ``False`` unless a business calendar is given (none is stored yet)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from huiliu.automation.domain import ClassificationFacts, TicketFacts, with_business_hours
from huiliu.sla.domain import BusinessCalendar

CUSTOMER = "customer"
AGENT = "agent"
# Audit events that move a ticket into a status (tickets.service records both with a status change).
STATUS_EVENTS = frozenset({"ticket.status_changed", "ticket.reopened"})


class TicketRow(Protocol):
    @property
    def id(self) -> Any: ...
    @property
    def number(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def priority(self) -> str: ...
    @property
    def category(self) -> str | None: ...
    @property
    def scenario(self) -> str | None: ...
    @property
    def channel(self) -> str: ...
    @property
    def entry_point_id(self) -> Any: ...
    @property
    def team_id(self) -> Any: ...
    @property
    def assignee_id(self) -> Any: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def fields(self) -> dict[str, Any]: ...
    @property
    def reopen_count(self) -> int: ...
    @property
    def alarm_occurrences(self) -> int | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def first_response_at(self) -> datetime | None: ...


class CustomerRow(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def level(self) -> str: ...
    @property
    def attributes(self) -> dict[str, Any]: ...


class MessageRow(Protocol):
    @property
    def author_kind(self) -> str: ...
    @property
    def public(self) -> bool: ...
    @property
    def body(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def received_at(self) -> datetime | None: ...


class EventRow(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def changes(self) -> dict[str, Any]: ...
    @property
    def created_at(self) -> datetime: ...


class ClassificationRow(Protocol):
    """What the classifier stored about a ticket (``intelligence.models.TicketClassification``)."""

    @property
    def labels(self) -> dict[str, Any]: ...
    @property
    def confidence(self) -> dict[str, Any]: ...
    @property
    def low(self) -> list[str]: ...
    @property
    def needs_triage(self) -> bool: ...


def classification_facts(row: ClassificationRow) -> ClassificationFacts:
    """The ``classification.*`` facts of a stored classification (labels may be missing or null:
    a category nothing in the tenant's taxonomy scored)."""
    labels = {str(k): (None if v is None else str(v)) for k, v in (row.labels or {}).items()}
    confidence = {
        str(k): float(v)
        for k, v in (row.confidence or {}).items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
    return ClassificationFacts(labels, confidence, frozenset(row.low or ()), bool(row.needs_triage))


def _ref(value: Any) -> str | None:
    return None if value is None else str(value)


def _last_customer_message(messages: Iterable[MessageRow]) -> tuple[str, datetime | None]:
    latest: MessageRow | None = None
    latest_at: datetime | None = None
    for message in messages:
        if message.author_kind != CUSTOMER:
            continue
        at = message.received_at or message.created_at
        if latest_at is None or at >= latest_at:
            latest, latest_at = message, at
    return (latest.body if latest is not None else ""), latest_at


def _last_agent_reply(messages: Iterable[MessageRow], first_response_at: datetime | None) -> datetime | None:
    replies = [m.created_at for m in messages if m.author_kind == AGENT and m.public]
    if replies:
        return max(replies)
    return first_response_at


def _status_entered(events: Iterable[EventRow], created_at: datetime) -> datetime:
    entered = created_at
    for event in events:
        if event.type in STATUS_EVENTS and "status" in (event.changes or {}) and event.created_at > entered:
            entered = event.created_at
    return entered


def build_facts(
    ticket: TicketRow,
    customer: CustomerRow | None,
    messages: Iterable[MessageRow],
    events: Iterable[EventRow],
    *,
    now: datetime,
    calendar: BusinessCalendar | None = None,
    classification: ClassificationRow | None = None,
) -> TicketFacts:
    """The facts rules test about ``ticket`` at ``now``: its fields, tags, custom fields, customer
    level and attributes, the last customer message (text and time), the last public agent reply, when
    it entered its status, its counters, and what the classifier said about it (when it did)."""
    messages = list(messages)
    last_message, last_customer_message_at = _last_customer_message(messages)
    attributes: Mapping[str, Any] = customer.attributes if customer is not None else {}
    facts = TicketFacts(
        id=str(ticket.id),
        number=ticket.number,
        title=ticket.title,
        description=ticket.description or "",
        status=ticket.status,
        priority=ticket.priority,
        category=ticket.category,
        scenario=ticket.scenario,
        channel=ticket.channel,
        entry_point=_ref(ticket.entry_point_id),
        team=_ref(ticket.team_id),
        assignee=_ref(ticket.assignee_id),
        tags=tuple(ticket.tags or ()),
        fields=dict(ticket.fields or {}),
        customer_name=customer.name if customer is not None else None,
        customer_level=customer.level if customer is not None else None,
        customer_attributes=dict(attributes or {}),
        last_message=last_message,
        within_business_hours=False,
        reopen_count=ticket.reopen_count or 0,
        alarm_occurrences=ticket.alarm_occurrences,
        now=now,
        created_at=ticket.created_at,
        last_customer_message_at=last_customer_message_at,
        last_agent_reply_at=_last_agent_reply(messages, ticket.first_response_at),
        status_entered_at=_status_entered(events, ticket.created_at),
        classification=classification_facts(classification) if classification is not None else None,
    )
    return facts if calendar is None else with_business_hours(facts, calendar)
