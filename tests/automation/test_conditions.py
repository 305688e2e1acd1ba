"""Every condition operator, positive and negative, on each kind of fact; nesting; explanations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from huiliu.automation.domain import TicketFacts, TriggeringEvent, dry_run, with_business_hours
from huiliu.automation.domain.context import Context
from huiliu.automation.domain.facts import facts_values
from huiliu.sla.domain import BusinessCalendar
from tests.automation.helpers import holds, leaf, rule, ruleset

NOW = datetime(2026, 5, 6, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai

# (condition, facts, expected). Each operator appears with a fact that satisfies it and one that
# does not; "unset" rows pin down how a missing fact behaves.
CASES: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    # eq / ne on an enum, a string, a number, a boolean
    (leaf("status", "eq", "open"), {"status": "open"}, True),
    (leaf("status", "eq", "open"), {"status": "new"}, False),
    (leaf("status", "ne", "closed"), {"status": "open"}, True),
    (leaf("status", "ne", "open"), {"status": "open"}, False),
    (leaf("category", "eq", "物流"), {"category": "物流"}, True),
    (leaf("category", "eq", "物流"), {}, False),
    (leaf("category", "ne", "物流"), {}, True),  # unset is "not 物流"
    (leaf("reopen_count", "eq", 2), {"reopen_count": 2}, True),
    (leaf("reopen_count", "eq", 2), {"reopen_count": 1}, False),
    (leaf("within_business_hours", "eq", True), {"within_business_hours": True}, True),
    (leaf("within_business_hours", "eq", True), {"within_business_hours": False}, False),
    (leaf("within_business_hours", "eq", False), {}, False),  # not known is not "false"
    # in / not_in
    (leaf("priority", "in", ["high", "urgent"]), {"priority": "urgent"}, True),
    (leaf("priority", "in", ["high", "urgent"]), {"priority": "normal"}, False),
    (leaf("channel", "not_in", ["email", "api"]), {"channel": "wechat_mp"}, True),
    (leaf("channel", "not_in", ["email", "api"]), {"channel": "email"}, False),
    (leaf("channel", "not_in", ["email"]), {}, True),
    (leaf("entry_point", "in", ["store-12"]), {"entry_point": "store-12"}, True),
    (leaf("team", "eq", "after_sales"), {"team": "after_sales"}, True),
    (leaf("assignee", "in", ["u1", "u2"]), {"assignee": "u3"}, False),
    # gt / gte / lt / lte on numbers and on the ordered priority
    (leaf("alarm_occurrences", "gt", 3), {"alarm_occurrences": 4}, True),
    (leaf("alarm_occurrences", "gt", 3), {"alarm_occurrences": 3}, False),
    (leaf("alarm_occurrences", "gt", 3), {}, False),
    (leaf("reopen_count", "gte", 2), {"reopen_count": 2}, True),
    (leaf("reopen_count", "gte", 2), {"reopen_count": 1}, False),
    (leaf("rating", "lt", 3), {"rating": 2}, True),
    (leaf("rating", "lt", 3), {"rating": 3}, False),
    (leaf("rating", "lte", 3), {"rating": 3}, True),
    (leaf("rating", "lte", 3), {"rating": 4}, False),
    (leaf("classification.confidence", "gte", 0.8), {"classification_confidence": 0.81}, True),
    (leaf("classification.confidence", "gte", 0.8), {"classification_confidence": 0.5}, False),
    (leaf("priority", "gte", "high"), {"priority": "urgent"}, True),
    (leaf("priority", "gte", "high"), {"priority": "normal"}, False),
    (leaf("priority", "lt", "normal"), {"priority": "low"}, True),
    (leaf("priority", "lt", "normal"), {"priority": "high"}, False),
    # contains / not_contains on text: substring, keyword lists, Chinese without word splitting
    (leaf("title", "contains", "退款"), {"title": "我要退款谢谢"}, True),
    (leaf("title", "contains", "退款"), {"title": "我要退货"}, False),
    (leaf("description", "contains", ["退款", "退货", "退钱"]), {"description": "申请退货，订单 123"}, True),
    (leaf("description", "contains", ["退款", "退货", "退钱"]), {"description": "物流太慢"}, False),
    (leaf("title", "contains", "refund"), {"title": "REFUND please"}, True),  # case-folded
    (leaf("title", "contains", "vip"), {"title": "ＶＩＰ 客户"}, True),  # full-width letters
    (leaf("title", "not_contains", "投诉"), {"title": "咨询价格"}, True),
    (leaf("title", "not_contains", ["投诉", "差评"]), {"title": "我要投诉"}, False),
    (leaf("last_message", "contains", "发票"), {"last_message": "请开发票"}, True),
    (leaf("rating_comment", "contains", "慢"), {"rating_comment": "太慢了"}, True),
    # text eq
    (leaf("title", "eq", "测试"), {"title": "测试"}, True),
    (leaf("title", "ne", "测试"), {"title": "测试"}, False),
    # regex on normalised text (full-width digits become ASCII)
    (
        leaf("description", "regex", r"订单号?[:：]?\s*\d{6,}"),
        {"description": "订单号：１２３４５６７"},
        True,
    ),
    (leaf("description", "regex", r"订单号?[:：]?\s*\d{6,}"), {"description": "订单号 12"}, False),
    (leaf("title", "regex", r"(?i)^re:"), {"title": "RE: 发货"}, True),
    (leaf("title", "regex", r"^re:"), {"title": "RE: 发货"}, False),  # case-sensitive unless (?i)
    (leaf("title", "regex", r"x"), {"title": ""}, False),
    # tags
    (leaf("tags", "contains", "vip"), {"tags": ["vip", "华南"]}, True),
    (leaf("tags", "contains", ["vip", "大客户"]), {"tags": ["大客户"]}, True),
    (leaf("tags", "contains", "vip"), {"tags": ["VIP"]}, False),  # tags are exact
    (leaf("tags", "not_contains", "vip"), {"tags": []}, True),
    (leaf("tags", "not_contains", ["vip", "x"]), {"tags": ["x"]}, False),
    # is_set / is_not_set
    (leaf("category", "is_set"), {"category": "物流"}, True),
    (leaf("category", "is_set"), {"category": ""}, False),
    (leaf("assignee", "is_not_set"), {}, True),
    (leaf("assignee", "is_not_set"), {"assignee": "u1"}, False),
    (leaf("tags", "is_set"), {"tags": []}, False),
    (leaf("reopen_count", "is_set"), {"reopen_count": 0}, True),  # zero is a value
    # custom fields: typed by their value
    (leaf("fields.amount", "gt", 1000), {"fields": {"amount": 1500}}, True),
    (leaf("fields.amount", "gt", 1000), {"fields": {"amount": "1500"}}, False),  # a string is not a number
    (leaf("fields.amount", "gt", 1000), {"fields": {}}, False),
    (leaf("fields.due", "lt", "2026-06-01"), {"fields": {"due": "2026-05-20"}}, True),  # ISO dates as text
    (leaf("fields.paid", "eq", True), {"fields": {"paid": True}}, True),
    (leaf("fields.paid", "eq", 1), {"fields": {"paid": True}}, False),  # True is not 1 in a rule
    (leaf("fields.region", "in", ["华南", "华东"]), {"fields": {"region": "华南"}}, True),
    (leaf("fields.region", "not_in", ["华南"]), {"fields": {"region": "华北"}}, True),
    (leaf("fields.型号", "contains", "X1"), {"fields": {"型号": "Pro-x1-2026"}}, True),
    (leaf("fields.parts", "contains", "滤芯"), {"fields": {"parts": ["滤芯", "电机"]}}, True),
    (leaf("fields.parts", "contains", "滤"), {"fields": {"parts": ["滤芯"]}}, False),  # list items are exact
    (leaf("fields.parts", "contains", "x"), {"fields": {"parts": 3}}, False),
    (leaf("fields.sn", "regex", r"^SN\d+$"), {"fields": {"sn": "SN123"}}, True),
    (leaf("fields.sn", "regex", r"^SN\d+$"), {"fields": {"sn": 123}}, False),
    (leaf("fields.note", "is_set"), {"fields": {"note": "x"}}, True),
    (leaf("fields.note", "is_not_set"), {"fields": {"note": []}}, True),
    # customer level and attributes
    (leaf("customer.level", "eq", "vip"), {"customer_level": "vip"}, True),
    (leaf("customer.level", "in", ["vip", "svip"]), {"customer_level": "normal"}, False),
    (leaf("customer.region", "eq", "广东"), {"customer_attributes": {"region": "广东"}}, True),
    (leaf("customer.orders", "gte", 10), {"customer_attributes": {"orders": 12}}, True),
    (leaf("customer.name", "eq", "张三"), {"customer_name": "张三"}, True),
    # classification
    (leaf("classification.label", "eq", "退款"), {"classification_label": "退款"}, True),
    (leaf("classification.label", "eq", "退款"), {"classification_label": "咨询"}, False),
    # counters and SLA
    (leaf("sla.percent", "gte", 75), {"sla_first_response_percent": 80.0}, True),
    (
        leaf("sla.percent", "gte", 75),
        {"sla_first_response_percent": 10.0, "sla_resolution_percent": 76.0},
        True,
    ),
    (leaf("sla.resolution_percent", "gte", 100), {"sla_resolution_percent": 99.9}, False),
    (leaf("sla.percent", "is_not_set"), {}, True),
]


def _facts(**kwargs: Any) -> TicketFacts:
    return TicketFacts(**kwargs)


@pytest.mark.parametrize(("condition", "facts", "expected"), CASES)
def test_condition_operator(condition: dict[str, Any], facts: dict[str, Any], expected: bool) -> None:
    assert holds(condition, _facts(**facts)) is expected


def test_every_operator_is_exercised_positively_and_negatively() -> None:
    seen: dict[str, set[bool]] = {}
    for condition, _, expected in CASES:
        seen.setdefault(condition["op"], set()).add(expected)
    for op in ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "not_contains", "regex"):
        assert seen[op] == {True, False}, op
    assert seen["is_set"] == {True, False}
    assert seen["is_not_set"] == {True, False}


@pytest.mark.parametrize(
    ("hours", "field", "expected"),
    [
        (25, "hours_since_created", True),
        (23, "hours_since_created", False),
        (25, "hours_since_last_customer_message", True),
        (1, "hours_since_last_customer_message", False),
        (25, "hours_since_last_agent_reply", True),
        (25, "hours_since_status_entered", True),
        (2, "hours_since_status_entered", False),
    ],
)
def test_hours_since_are_computed_from_now(hours: int, field: str, expected: bool) -> None:
    stamp = NOW - timedelta(hours=hours)
    column = {
        "hours_since_created": "created_at",
        "hours_since_last_customer_message": "last_customer_message_at",
        "hours_since_last_agent_reply": "last_agent_reply_at",
        "hours_since_status_entered": "status_entered_at",
    }[field]
    facts = TicketFacts(now=NOW, **{column: stamp})
    assert holds(leaf(field, "gte", 24), facts) is expected


def test_hours_since_without_now_are_not_set() -> None:
    facts = TicketFacts(created_at=NOW)
    assert holds(leaf("hours_since_created", "is_not_set"), facts)
    assert not holds(leaf("hours_since_created", "gte", 0), facts)


def test_agent_replied_follows_the_last_agent_reply() -> None:
    assert holds(leaf("agent_replied", "eq", True), TicketFacts(last_agent_reply_at=NOW))
    assert holds(leaf("agent_replied", "eq", False), TicketFacts())


def test_business_hours_from_a_calendar() -> None:
    calendar = BusinessCalendar()
    working = with_business_hours(TicketFacts(now=NOW), calendar)  # Wed 10:00 Shanghai
    lunch = with_business_hours(TicketFacts(now=NOW + timedelta(hours=2, minutes=30)), calendar)  # 12:30
    assert working.within_business_hours is True
    assert lunch.within_business_hours is False
    assert holds(leaf("within_business_hours", "eq", False), lunch)
    with pytest.raises(ValueError, match="now"):
        with_business_hours(TicketFacts(), calendar)


def test_keyword_match_looks_at_the_first_10000_characters_only() -> None:
    facts = TicketFacts(description="x" * 10_000 + "退款")
    assert not holds(leaf("description", "contains", "退款"), facts)
    assert holds(leaf("description", "contains", "退款"), TicketFacts(description="x" * 9_990 + "退款"))


def test_regex_is_linear_time_on_patterns_that_hang_backtracking_engines() -> None:
    # On Python's re these take seconds to hours on 10,000 characters; RE2 answers at once.
    for pattern, text in [
        (r"(a+)+$", "a" * 9_999 + "!"),
        (r".*a.*b.*c", "ab" * 5_000),
        (r"\d+\d+x", "1" * 10_000),
    ]:
        assert not holds(leaf("description", "regex", pattern), TicketFacts(description=text))


# --- changed operators ------------------------------------------------------------------------


def _updated(previous: dict[str, Any]) -> TriggeringEvent:
    return TriggeringEvent("ticket.updated", previous=previous)


@pytest.mark.parametrize(
    ("condition", "facts", "previous", "expected"),
    [
        (leaf("priority", "changed"), {"priority": "high"}, {"priority": "normal"}, True),
        (leaf("priority", "changed"), {"priority": "high"}, {}, False),
        (leaf("priority", "changed"), {"priority": "high"}, {"priority": "high"}, False),
        (leaf("priority", "changed_to", "urgent"), {"priority": "urgent"}, {"priority": "normal"}, True),
        (leaf("priority", "changed_to", "urgent"), {"priority": "high"}, {"priority": "normal"}, False),
        (leaf("priority", "changed_to", "urgent"), {"priority": "urgent"}, {}, False),
        (leaf("status", "changed_from", "pending"), {"status": "open"}, {"status": "pending"}, True),
        (leaf("status", "changed_from", "pending"), {"status": "open"}, {"status": "new"}, False),
        (leaf("assignee", "changed"), {"assignee": None}, {"assignee": "u1"}, True),
        (leaf("tags", "changed"), {"tags": ["a", "b"]}, {"tags": ["b", "a"]}, False),
        (leaf("tags", "changed"), {"tags": ["a"]}, {"tags": []}, True),
        (leaf("fields.amount", "changed_to", 100), {"fields": {"amount": 100}}, {"fields.amount": 5}, True),
        (
            leaf("customer.level", "changed_to", "vip"),
            {"customer_level": "vip"},
            {"customer.level": "normal"},
            True,
        ),
    ],
)
def test_changed_operators(
    condition: dict[str, Any], facts: dict[str, Any], previous: dict[str, Any], expected: bool
) -> None:
    assert holds(condition, TicketFacts(**facts), _updated(previous)) is expected


def test_a_previous_value_must_name_a_changeable_fact() -> None:
    with pytest.raises(ValueError, match="previous"):
        TriggeringEvent("ticket.updated", previous={"hours_since_created": 3})
    with pytest.raises(ValueError, match="previous"):
        TriggeringEvent("ticket.updated", previous={"no_such_field": 3})


# --- nesting and explanations -------------------------------------------------------------------


VIP_REFUND = {
    "all": [
        {"any": [leaf("customer.level", "eq", "vip"), leaf("tags", "contains", "vip")]},
        {"not": leaf("status", "in", ["resolved", "closed"])},
        leaf("title", "contains", ["退款", "退货"]),
    ]
}


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"customer_level": "vip", "title": "退款"}, True),
        ({"tags": ["vip"], "title": "要退货"}, True),
        ({"customer_level": "normal", "title": "退款"}, False),  # any fails
        ({"customer_level": "vip", "title": "退款", "status": "closed"}, False),  # not fails
        ({"customer_level": "vip", "title": "咨询"}, False),  # leaf fails
    ],
)
def test_nested_all_any_not(facts: dict[str, Any], expected: bool) -> None:
    assert holds(VIP_REFUND, TicketFacts(**facts)) is expected


def test_empty_all_always_holds() -> None:
    assert holds({"all": []}, TicketFacts())


def test_explanation_names_the_failing_condition_and_why() -> None:
    rules = ruleset(rule(VIP_REFUND, id="vip-refund"))
    facts = TicketFacts(customer_level="normal", title="我要退款", tags=["华南"])
    outcome = dry_run(rules, facts, "ticket.created").outcomes[0]
    assert outcome.outcome == "not_matched"
    explanation = outcome.explanation
    assert explanation is not None and not explanation.passed
    failed = explanation.failed_conditions()
    assert [leaf.loc for leaf in failed] == [
        ("conditions", "all", 0, "any", 0),
        ("conditions", "all", 0, "any", 1),
    ]
    assert failed[0].reason == 'customer.level is "normal"'
    assert failed[1].reason == 'tags is ["华南"]: none of them'
    assert outcome.note == 'customer.level is "normal"; tags is ["华南"]: none of them'
    any_node, not_node, title_node = explanation.children
    assert any_node.reason == "no condition holds"
    assert not_node.passed and not_node.children[0].reason == 'status is "new"'
    assert title_node.passed and title_node.reason == 'title contains "退款"'
    assert explanation.reason == "1 of 3 conditions do not hold"


def test_explanation_of_a_regex_shows_the_match() -> None:
    rules = ruleset(rule(leaf("description", "regex", r"SN\d{4}"), id="sn"))
    explanation = rules.rules[0].conditions.explain(
        Context(facts_values(TicketFacts(description="设备 SN1234 坏了")), {})
    )
    assert explanation.passed and explanation.reason == 'description matches at "SN1234"'
    assert explanation.to_dict() == {
        "passed": True,
        "kind": "condition",
        "loc": ["conditions"],
        "text": 'description matches "SN\\\\d{4}"',
        "reason": 'description matches at "SN1234"',
    }
