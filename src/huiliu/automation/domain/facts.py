"""What a rule can look at: the field catalog, the ticket facts a caller supplies, and the event that
runs the rules.

Facts are a snapshot the caller builds (from the ticket row, its customer, the classifier, the SLA
clocks). The engine never loads anything: time-based facts such as ``hours_since_created`` are
computed from timestamps and the ``now`` the caller passes, and "within business hours" is either
supplied or computed with :func:`with_business_hours` from a business calendar.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from huiliu.sla.domain import BusinessCalendar, is_business_time
from huiliu.tickets.domain import Priority, Status

Values = dict[str, Any]


class EventType(StrEnum):
    """What runs the rules: a ticket event (triggers) or the timer sweep (automations)."""

    TICKET_CREATED = "ticket.created"
    TICKET_UPDATED = "ticket.updated"
    MESSAGE_RECEIVED = "message.received"
    RATING_GIVEN = "rating.given"
    TIMER = "timer"


TRIGGER_EVENTS: tuple[EventType, ...] = (
    EventType.TICKET_CREATED,
    EventType.TICKET_UPDATED,
    EventType.MESSAGE_RECEIVED,
    EventType.RATING_GIVEN,
)


class RuleKind(StrEnum):
    TRIGGER = "trigger"  # runs on ticket events
    AUTOMATION = "automation"  # runs on the timer sweep


class FieldType(StrEnum):
    ENUM = "enum"  # one of fixed choices
    STRING = "string"  # a short value compared as a whole (category, team reference)
    TEXT = "text"  # free text searched by keywords and patterns
    TAGS = "tags"  # a set of labels
    NUMBER = "number"
    BOOL = "bool"
    ANY = "any"  # custom fields and customer attributes: typed by their value at run time


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One fact a condition can test. ``ordered`` enums compare by rank (``priority gte high``);
    ``changeable`` facts may carry a previous value (``changed`` operators); ``settable`` ones are
    what ``set_field`` may change."""

    path: str
    type: FieldType
    choices: tuple[str, ...] = ()
    ordered: bool = False
    changeable: bool = True
    settable: bool = False


STATUSES: tuple[str, ...] = tuple(status.value for status in Status)
# Lowest to highest, so the index is the rank used by gt/lt and by escalation.
PRIORITIES: tuple[str, ...] = (
    Priority.LOW.value,
    Priority.NORMAL.value,
    Priority.HIGH.value,
    Priority.URGENT.value,
)
PRIORITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(PRIORITIES)}
# The classifier's scenario and sentiment labels (docs/intelligence.md).
SCENARIOS: tuple[str, ...] = ("presales", "sales", "aftersales", "complaint")
SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")
# The targets a classification has a label and a confidence for.
CLASSIFICATION_TARGETS: tuple[str, ...] = ("scenario", "category", "priority", "sentiment")

CUSTOM_FIELD_PREFIX = "fields."
CUSTOMER_PREFIX = "customer."
MAX_NAME_LENGTH = 64
# A custom field key or customer attribute name: no dots (they separate the path), no spaces or braces.
_DYNAMIC_NAME = re.compile(r"^[^\s.{}]{1,64}$")


@dataclass(frozen=True, slots=True)
class ClassificationFacts:
    """What the classifier said about a ticket (its ``ticket_classifications`` row): a label and a
    confidence per target (the category restricted to the tenant's taxonomy, ``None`` when nothing in
    it scored), the targets that were under the tenant's threshold (``low``) and whether the ticket
    still waits in 待分类 triage (an agent's confirmation or correction clears it)."""

    labels: Mapping[str, str | None] = field(default_factory=dict)
    confidence: Mapping[str, float] = field(default_factory=dict)
    low: frozenset[str] = frozenset()
    needs_triage: bool = False


def _spec(path: str, type_: FieldType, **options: Any) -> tuple[str, FieldSpec]:
    return path, FieldSpec(path, type_, **options)


FIELDS: dict[str, FieldSpec] = dict(
    [
        _spec("status", FieldType.ENUM, choices=STATUSES),
        _spec("priority", FieldType.ENUM, choices=PRIORITIES, ordered=True, settable=True),
        _spec("category", FieldType.STRING, settable=True),
        _spec("scenario", FieldType.STRING, settable=True),
        _spec("channel", FieldType.STRING),
        _spec("entry_point", FieldType.STRING),
        _spec("team", FieldType.STRING),
        _spec("assignee", FieldType.STRING),
        _spec("tags", FieldType.TAGS),
        _spec("title", FieldType.TEXT),
        _spec("description", FieldType.TEXT),
        _spec("last_message", FieldType.TEXT),
        _spec("customer.name", FieldType.STRING),
        _spec("customer.level", FieldType.STRING),
        # What the classifier said when the ticket was created (not set on tickets it did not classify).
        # ``label`` / ``confidence`` are the category and its confidence (docs/automation.md).
        _spec("classification.scenario", FieldType.ENUM, choices=SCENARIOS, changeable=False),
        _spec("classification.category", FieldType.STRING, changeable=False),
        _spec("classification.priority", FieldType.ENUM, choices=PRIORITIES, ordered=True, changeable=False),
        _spec("classification.sentiment", FieldType.ENUM, choices=SENTIMENTS, changeable=False),
        _spec("classification.scenario_confidence", FieldType.NUMBER, changeable=False),
        _spec("classification.category_confidence", FieldType.NUMBER, changeable=False),
        _spec("classification.priority_confidence", FieldType.NUMBER, changeable=False),
        _spec("classification.sentiment_confidence", FieldType.NUMBER, changeable=False),
        _spec("classification.label", FieldType.STRING, changeable=False),
        _spec("classification.confidence", FieldType.NUMBER, changeable=False),
        _spec("classification.needs_triage", FieldType.BOOL, changeable=False),
        _spec("classification.low_confidence", FieldType.TAGS, changeable=False),
        _spec("within_business_hours", FieldType.BOOL, changeable=False),
        _spec("agent_replied", FieldType.BOOL, changeable=False),
        _spec("reopen_count", FieldType.NUMBER),
        _spec("alarm_occurrences", FieldType.NUMBER),
        _spec("rating", FieldType.NUMBER),
        _spec("rating_comment", FieldType.TEXT),
        _spec("hours_since_created", FieldType.NUMBER, changeable=False),
        _spec("hours_since_last_customer_message", FieldType.NUMBER, changeable=False),
        _spec("hours_since_last_agent_reply", FieldType.NUMBER, changeable=False),
        _spec("hours_since_status_entered", FieldType.NUMBER, changeable=False),
        _spec("sla.percent", FieldType.NUMBER, changeable=False),
        _spec("sla.first_response_percent", FieldType.NUMBER, changeable=False),
        _spec("sla.next_response_percent", FieldType.NUMBER, changeable=False),
        _spec("sla.resolution_percent", FieldType.NUMBER, changeable=False),
    ]
)


def field_spec(path: str) -> FieldSpec | None:
    """The spec of a condition field: a catalog entry, ``fields.<key>`` (a custom field) or
    ``customer.<attribute>``; ``None`` when the path names nothing."""
    known = FIELDS.get(path)
    if known is not None:
        return known
    for prefix, settable in ((CUSTOM_FIELD_PREFIX, True), (CUSTOMER_PREFIX, False)):
        if path.startswith(prefix) and _DYNAMIC_NAME.match(path[len(prefix) :]):
            return FieldSpec(path, FieldType.ANY, settable=settable)
    return None


def is_set(value: Any) -> bool:
    """Set means present and not empty: ``0`` and ``False`` are set, ``None``, ``""`` and ``[]`` are not."""
    if value is None:
        return False
    if isinstance(value, str | Collection):
        return len(value) > 0
    return True


def read_value(values: Mapping[str, Any], path: str) -> Any:
    """A fact's current value by path (custom fields and customer attributes live in sub-maps)."""
    if path in values:
        return values[path]
    if path.startswith(CUSTOM_FIELD_PREFIX):
        return values["fields"].get(path[len(CUSTOM_FIELD_PREFIX) :])
    if path.startswith(CUSTOMER_PREFIX):
        return values["customer"].get(path[len(CUSTOMER_PREFIX) :])
    return None


def write_value(values: Values, path: str, value: Any) -> None:
    """Change a fact in the working values. Custom fields are copied on first write, so the caller's
    mapping is never modified."""
    if path.startswith(CUSTOM_FIELD_PREFIX):
        fields = dict(values["fields"])
        fields[path[len(CUSTOM_FIELD_PREFIX) :]] = value
        values["fields"] = fields
        return
    values[path] = value


def _require_aware(value: datetime | None, name: str) -> None:
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


def _hours_since(now: datetime | None, then: datetime | None) -> float | None:
    if now is None or then is None:
        return None
    return (now - then).total_seconds() / 3600


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketFacts:
    """Everything rules may test about one ticket, as the caller sees it now.

    References (team, assignee, entry point, routing policies) are opaque strings: ids or keys, as
    long as the rules use the same ones. ``automations_fired`` lists automation rules that already
    fired on this ticket (the caller's record); the timer sweep does not fire them again."""

    id: str | None = None
    number: int | None = None
    title: str = ""
    description: str = ""
    status: str = Status.NEW.value
    priority: str = Priority.NORMAL.value
    category: str | None = None
    scenario: str | None = None
    channel: str | None = None
    entry_point: str | None = None
    team: str | None = None
    assignee: str | None = None
    tags: Collection[str] = ()
    fields: Mapping[str, Any] = field(default_factory=dict)
    customer_name: str | None = None
    customer_level: str | None = None
    customer_attributes: Mapping[str, Any] = field(default_factory=dict)
    last_message: str = ""
    # Set for tickets the classifier saw; the two single values predate it (see ``facts_values``).
    classification: ClassificationFacts | None = None
    classification_label: str | None = None
    classification_confidence: float | None = None
    within_business_hours: bool | None = None
    reopen_count: int = 0
    alarm_occurrences: int | None = None
    rating: int | None = None
    rating_comment: str = ""
    now: datetime | None = None
    created_at: datetime | None = None
    last_customer_message_at: datetime | None = None
    last_agent_reply_at: datetime | None = None
    status_entered_at: datetime | None = None
    sla_first_response_percent: float | None = None
    sla_next_response_percent: float | None = None
    sla_resolution_percent: float | None = None
    automations_fired: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")
        if self.priority not in PRIORITY_RANK:
            raise ValueError(f"unknown priority {self.priority!r}")
        if isinstance(self.tags, str):
            raise ValueError("tags is a collection of strings, not one string")
        for name in (
            "now",
            "created_at",
            "last_customer_message_at",
            "last_agent_reply_at",
            "status_entered_at",
        ):
            _require_aware(getattr(self, name), name)


def with_business_hours(facts: TicketFacts, calendar: BusinessCalendar) -> TicketFacts:
    """The facts with ``within_business_hours`` answered by the calendar at ``facts.now``."""
    if facts.now is None:
        raise ValueError("facts.now is needed to tell whether it is business time")
    return replace(facts, within_business_hours=is_business_time(calendar, facts.now))


def _max_set(*numbers: float | None) -> float | None:
    present = [n for n in numbers if n is not None]
    return max(present) if present else None


def _classification_values(facts: TicketFacts) -> Values:
    """``classification.*`` facts. ``label`` / ``confidence`` are the category and its confidence
    (what a rule author means by "the classification" of a ticket: the taxonomy entry); a caller that
    supplies only ``classification_label`` / ``classification_confidence`` (no row) keeps them."""
    found = facts.classification
    if found is None:
        values: Values = {f"classification.{target}": None for target in CLASSIFICATION_TARGETS}
        values.update({f"classification.{target}_confidence": None for target in CLASSIFICATION_TARGETS})
        values.update(
            {
                "classification.label": facts.classification_label,
                "classification.confidence": facts.classification_confidence,
                "classification.needs_triage": None,
                "classification.low_confidence": frozenset(),
            }
        )
        return values
    values = {f"classification.{target}": found.labels.get(target) for target in CLASSIFICATION_TARGETS}
    values.update(
        {
            f"classification.{target}_confidence": found.confidence.get(target)
            for target in CLASSIFICATION_TARGETS
        }
    )
    values.update(
        {
            "classification.label": found.labels.get("category"),
            "classification.confidence": found.confidence.get("category"),
            "classification.needs_triage": found.needs_triage,
            "classification.low_confidence": found.low,
        }
    )
    return values


def facts_values(facts: TicketFacts) -> Values:
    """The flat working map the compiled conditions read: catalog paths to values, plus ``fields``
    and ``customer`` sub-maps and the ``id`` / ``number`` template variables use."""
    now = facts.now
    return {
        "id": facts.id,
        "number": facts.number,
        "title": facts.title,
        "description": facts.description,
        "status": facts.status,
        "priority": facts.priority,
        "category": facts.category,
        "scenario": facts.scenario,
        "channel": facts.channel,
        "entry_point": facts.entry_point,
        "team": facts.team,
        "assignee": facts.assignee,
        "tags": frozenset(facts.tags),
        "fields": facts.fields,
        "customer": facts.customer_attributes,
        "customer.name": facts.customer_name,
        "customer.level": facts.customer_level,
        "last_message": facts.last_message,
        **_classification_values(facts),
        "within_business_hours": facts.within_business_hours,
        "agent_replied": facts.last_agent_reply_at is not None,
        "reopen_count": facts.reopen_count,
        "alarm_occurrences": facts.alarm_occurrences,
        "rating": facts.rating,
        "rating_comment": facts.rating_comment,
        "hours_since_created": _hours_since(now, facts.created_at),
        "hours_since_last_customer_message": _hours_since(now, facts.last_customer_message_at),
        "hours_since_last_agent_reply": _hours_since(now, facts.last_agent_reply_at),
        "hours_since_status_entered": _hours_since(now, facts.status_entered_at),
        "sla.percent": _max_set(
            facts.sla_first_response_percent, facts.sla_next_response_percent, facts.sla_resolution_percent
        ),
        "sla.first_response_percent": facts.sla_first_response_percent,
        "sla.next_response_percent": facts.sla_next_response_percent,
        "sla.resolution_percent": facts.sla_resolution_percent,
    }


@dataclass(frozen=True, slots=True)
class TriggeringEvent:
    """The event the rules run for. ``previous`` holds, for ``ticket.updated``, the values the changed
    fields had before the update (field path to value); ``changed`` operators compare against it."""

    type: EventType
    previous: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", EventType(self.type))
        previous: dict[str, Any] = {}
        for path, value in self.previous.items():
            spec = field_spec(path)
            if spec is None or not spec.changeable:
                raise ValueError(f"{path!r} cannot carry a previous value")
            previous[path] = frozenset(value) if spec.type is FieldType.TAGS else value
        object.__setattr__(self, "previous", previous)


def as_event(event: TriggeringEvent | EventType | str) -> TriggeringEvent:
    return event if isinstance(event, TriggeringEvent) else TriggeringEvent(EventType(event))


def is_number(value: Any) -> bool:
    """A real number, not a bool (``True`` is an ``int`` in Python) and not NaN or infinite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
