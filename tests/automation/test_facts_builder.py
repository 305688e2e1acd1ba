"""Engine facts built from stored rows: the last customer message, the last public agent reply, the
time the ticket entered its status, references as id strings, business hours off without a calendar."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from huiliu.automation.domain import compile_rules, dry_run
from huiliu.automation.facts_builder import build_facts

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@dataclass
class TicketRow:
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    number: int = 42
    title: str = "设备报警"
    description: str = ""
    status: str = "open"
    priority: str = "normal"
    category: str | None = None
    scenario: str | None = "aftersales"
    channel: str = "iot"
    entry_point_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    tags: list[str] = field(default_factory=lambda: ["设备"])
    fields: dict[str, Any] = field(default_factory=lambda: {"device_sn": "SN1234"})
    reopen_count: int = 1
    alarm_occurrences: int | None = 3
    created_at: datetime = T0
    first_response_at: datetime | None = None


@dataclass
class CustomerRow:
    name: str = "王工"
    level: str = "vip"
    attributes: dict[str, Any] = field(default_factory=lambda: {"region": "华南"})


@dataclass
class MessageRow:
    author_kind: str
    body: str
    created_at: datetime
    public: bool = True
    received_at: datetime | None = None


@dataclass
class EventRow:
    type: str
    changes: dict[str, Any]
    created_at: datetime


def test_facts_come_from_the_row_the_customer_the_messages_and_the_events() -> None:
    team, entry_point = uuid.uuid4(), uuid.uuid4()
    ticket = TicketRow(team_id=team, entry_point_id=entry_point)
    messages = [
        MessageRow("customer", "第一次报警", T0),
        MessageRow("agent", "内部备注", T0 + timedelta(hours=1), public=False),
        MessageRow("agent", "已派工程师", T0 + timedelta(hours=2)),
        # Received before the next one, though stored later (a batch): the later receipt counts.
        MessageRow("customer", "又坏了", T0 + timedelta(hours=5), received_at=T0 + timedelta(hours=4)),
        MessageRow("customer", "还是不行", T0 + timedelta(hours=3)),
    ]
    events = [
        EventRow("ticket.created", {}, T0),
        EventRow("ticket.status_changed", {"status": {"from": "new", "to": "open"}}, T0 + timedelta(hours=2)),
        EventRow("ticket.updated", {"priority": {"from": "low", "to": "normal"}}, T0 + timedelta(hours=6)),
    ]
    now = T0 + timedelta(hours=8)
    facts = build_facts(ticket, CustomerRow(), messages, events, now=now)
    assert facts.id == str(ticket.id) and facts.number == 42
    assert facts.team == str(team) and facts.entry_point == str(entry_point) and facts.assignee is None
    assert facts.last_message == "又坏了"
    assert facts.last_customer_message_at == T0 + timedelta(hours=4)
    assert facts.last_agent_reply_at == T0 + timedelta(hours=2)
    assert facts.status_entered_at == T0 + timedelta(hours=2)
    assert facts.customer_level == "vip" and facts.customer_attributes == {"region": "华南"}
    assert facts.fields == {"device_sn": "SN1234"}
    assert facts.reopen_count == 1 and facts.alarm_occurrences == 3
    assert facts.within_business_hours is False

    rules = compile_rules(
        [
            {
                "id": "repeat-alarm",
                "name": "反复报警",
                "kind": "automation",
                "conditions": {
                    "all": [
                        {"field": "alarm_occurrences", "op": "gte", "value": 3},
                        {"field": "customer.region", "op": "eq", "value": "华南"},
                        {"field": "hours_since_status_entered", "op": "gte", "value": 6},
                        {"field": "last_message", "op": "contains", "value": "坏"},
                    ]
                },
                "actions": [{"type": "add_tag", "tag": "反复"}],
            }
        ]
    )
    assert dry_run(rules, facts, "timer").fired_rule_ids == ("repeat-alarm",)


def test_a_ticket_without_customer_messages_or_events() -> None:
    replied = T0 + timedelta(minutes=30)
    facts = build_facts(TicketRow(first_response_at=replied), None, [], [], now=T0 + timedelta(hours=1))
    assert facts.last_message == "" and facts.last_customer_message_at is None
    assert facts.last_agent_reply_at == replied  # the first response stands in for missing messages
    assert facts.status_entered_at == T0
    assert facts.customer_name is None and facts.customer_level is None and facts.customer_attributes == {}
