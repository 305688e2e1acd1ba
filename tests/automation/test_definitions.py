"""Rule definitions are validated as data: every problem is reported with its path (for a 422),
and a valid definition round-trips through its normalised JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from huiliu.automation.domain import RuleDefinitionError, compile_rules, default_rules, parse_rule
from huiliu.core.errors import ValidationFailed
from tests.automation.helpers import leaf, rule


def errors_of(definition: Any) -> list[tuple[list[Any], str]]:
    with pytest.raises(RuleDefinitionError) as caught:
        parse_rule(definition)
    return [(error["loc"], error["type"]) for error in caught.value.errors]


def condition_errors(condition: Any) -> list[tuple[list[Any], str]]:
    return errors_of(rule(condition, id="r"))


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (leaf("colour", "eq", "red"), [(["conditions", "field"], "unknown_field")]),
        (leaf("fields.", "eq", "x"), [(["conditions", "field"], "unknown_field")]),
        (leaf("fields.a.b", "eq", "x"), [(["conditions", "field"], "unknown_field")]),
        (leaf("status", "like", "x"), [(["conditions", "op"], "unknown_operator")]),
        (leaf("status", "gt", "new"), [(["conditions", "op"], "operator_not_allowed")]),
        (leaf("tags", "eq", "vip"), [(["conditions", "op"], "operator_not_allowed")]),
        (leaf("rating", "contains", "3"), [(["conditions", "op"], "operator_not_allowed")]),
        (leaf("hours_since_created", "changed"), [(["conditions", "op"], "operator_not_allowed")]),
        (leaf("status", "eq", "done"), [(["conditions", "value"], "invalid_value")]),
        (leaf("priority", "gte", "p1"), [(["conditions", "value"], "invalid_value")]),
        (leaf("rating", "lt", "3"), [(["conditions", "value"], "invalid_value")]),
        (leaf("rating", "lt", True), [(["conditions", "value"], "invalid_value")]),
        (leaf("within_business_hours", "eq", "yes"), [(["conditions", "value"], "invalid_value")]),
        (leaf("category", "eq", 5), [(["conditions", "value"], "invalid_value")]),
        ({"field": "category", "op": "eq"}, [(["conditions", "value"], "invalid_value")]),
        (leaf("category", "in", []), [(["conditions", "value"], "invalid_value")]),
        (leaf("category", "in", "物流"), [(["conditions", "value"], "invalid_value")]),
        (leaf("priority", "in", ["high", "p0"]), [(["conditions", "value"], "invalid_value")]),
        (leaf("title", "contains", ""), [(["conditions", "value"], "invalid_value")]),
        (leaf("title", "contains", ["退款", 3]), [(["conditions", "value"], "invalid_value")]),
        (leaf("title", "contains", []), [(["conditions", "value"], "invalid_value")]),
        (leaf("category", "is_set", "x"), [(["conditions", "value"], "invalid_value")]),
        (leaf("fields.a", "gt", False), [(["conditions", "value"], "invalid_value")]),
        (leaf("fields.a", "eq", {"x": 1}), [(["conditions", "value"], "invalid_value")]),
        (leaf("title", "regex", "(unclosed"), [(["conditions", "value"], "invalid_pattern")]),
        (leaf("title", "regex", r"(a)\1"), [(["conditions", "value"], "invalid_pattern")]),  # backreference
        (leaf("title", "regex", r"(?=a)b"), [(["conditions", "value"], "invalid_pattern")]),  # lookahead
        (leaf("title", "regex", "a" * 501), [(["conditions", "value"], "invalid_pattern")]),
        (leaf("title", "regex", 5), [(["conditions", "value"], "invalid_value")]),
        (
            {"field": "title", "op": "eq", "value": "x", "extra": 1},
            [(["conditions", "extra"], "extra_forbidden")],
        ),
        ({"op": "eq", "value": "x"}, [(["conditions", "field"], "missing")]),
        ({"any": []}, [(["conditions", "any"], "too_short")]),
        ({"all": {"field": "title"}}, [(["conditions", "all"], "list_type")]),
        ({"all": [], "any": []}, [(["conditions"], "extra_forbidden")]),
        ("title contains 退款", [(["conditions"], "invalid_type")]),
        (
            {
                "all": [
                    leaf("title", "contains", "x"),
                    {"any": [leaf("nope", "eq", 1), {"not": leaf("status", "eq", 1)}]},
                ]
            },
            [
                (["conditions", "all", 1, "any", 0, "field"], "unknown_field"),
                (["conditions", "all", 1, "any", 1, "not", "value"], "invalid_value"),
            ],
        ),
    ],
)
def test_bad_conditions_are_reported_with_their_path(condition: Any, expected: list[Any]) -> None:
    assert condition_errors(condition) == expected


def test_conditions_nest_at_most_eight_levels() -> None:
    deep: dict[str, Any] = leaf("status", "eq", "new")
    for _ in range(8):
        deep = {"not": deep}
    assert condition_errors(deep)[0][1] == "too_deep"


def test_a_rule_has_at_most_100_conditions() -> None:
    many = {"all": [{"any": [leaf("reopen_count", "eq", i) for i in range(j, j + 40)]} for j in (0, 40, 80)]}
    assert ([], "too_many") not in condition_errors(many)
    assert condition_errors(many)[0][1] == "too_many"


def test_changed_operators_are_refused_in_automations() -> None:
    errors = errors_of(rule(leaf("priority", "changed"), id="a", kind="automation"))
    assert errors == [(["conditions", "op"], "operator_not_allowed")]


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ({"type": "explode"}, [(["actions", 0, "type"], "unknown_action")]),
        ({"tag": "x"}, [(["actions", 0, "type"], "unknown_action")]),
        ("add_tag", [(["actions", 0], "invalid_type")]),
        ({"type": "add_tag"}, [(["actions", 0, "tag"], "missing")]),
        ({"type": "add_tag", "tag": "  "}, [(["actions", 0, "tag"], "string_too_short")]),
        ({"type": "add_tag", "tag": "x" * 65}, [(["actions", 0, "tag"], "string_too_long")]),
        ({"type": "add_tag", "tag": "x", "colour": 1}, [(["actions", 0, "colour"], "extra_forbidden")]),
        (
            {"type": "set_field", "field": "status", "value": "closed"},
            [(["actions", 0, "field"], "unknown_field")],
        ),
        ({"type": "set_field", "field": "title", "value": "x"}, [(["actions", 0, "field"], "unknown_field")]),
        (
            {"type": "set_field", "field": "priority", "value": "p0"},
            [(["actions", 0, "value"], "invalid_value")],
        ),
        (
            {"type": "set_field", "field": "scenario", "value": "x" * 33},
            [(["actions", 0, "value"], "invalid_value")],
        ),
        (
            {"type": "set_field", "field": "fields.a", "value": {"b": 1}},
            [(["actions", 0, "value"], "invalid_value")],
        ),
        ({"type": "set_field", "field": "priority"}, [(["actions", 0, "value"], "missing")]),
        ({"type": "assign"}, [(["actions", 0], "missing")]),
        ({"type": "assign", "agent": "u", "routing_policy": "p"}, [(["actions", 0], "conflict")]),
        ({"type": "assign", "team": 5}, [(["actions", 0, "team"], "string_type")]),
        (
            {"type": "add_internal_note", "body": "{{ticket.secret}}"},
            [(["actions", 0, "body"], "invalid_template")],
        ),
        (
            {"type": "add_internal_note", "body": "{{os.system}}"},
            [(["actions", 0, "body"], "invalid_template")],
        ),
        ({"type": "send_reply_template"}, [(["actions", 0, "template"], "missing")]),
        ({"type": "notify"}, [(["actions", 0], "missing")]),
        (
            {"type": "notify", "roles": ["qa"], "severity": "panic"},
            [(["actions", 0, "severity"], "invalid_value")],
        ),
        (
            {"type": "notify", "roles": ["qa"], "channels": ["pager"]},
            [(["actions", 0, "channels", 0], "invalid_value")],
        ),
        ({"type": "notify", "roles": "qa"}, [(["actions", 0, "roles"], "list_type")]),
        ({"type": "notify", "team_lead": "yes"}, [(["actions", 0, "team_lead"], "bool_type")]),
        ({"type": "create_subtask"}, [(["actions", 0, "title"], "missing")]),
        ({"type": "create_subtask", "title": "{{x}}"}, [(["actions", 0, "title"], "invalid_template")]),
        (
            {"type": "escalate", "raise_priority": False, "to_team_lead": False},
            [(["actions", 0], "invalid_value")],
        ),
        ({"type": "call_webhook", "url": "ftp://x.example.com/"}, [(["actions", 0, "url"], "invalid_url")]),
        ({"type": "call_webhook", "url": "javascript:alert(1)"}, [(["actions", 0, "url"], "invalid_url")]),
        ({"type": "call_webhook", "url": "https:///path"}, [(["actions", 0, "url"], "invalid_url")]),
        (
            {"type": "call_webhook", "url": "https://u:p@x.example.com/"},
            [(["actions", 0, "url"], "invalid_url")],
        ),
        (
            {"type": "call_webhook", "url": "https://x.example.com/a b"},
            [(["actions", 0, "url"], "invalid_url")],
        ),
        ({"type": "call_webhook", "url": "http://[::1/"}, [(["actions", 0, "url"], "invalid_url")]),
        (
            {"type": "call_webhook", "url": "https://x.example.com", "payload": []},
            [(["actions", 0, "payload"], "invalid_type")],
        ),
        (
            {"type": "call_webhook", "url": "https://x.example.com", "payload": {"a": {"b": "{{nope}}"}}},
            [(["actions", 0, "payload", "a", "b"], "invalid_template")],
        ),
        (
            {"type": "call_webhook", "url": "https://x.example.com", "payload": {"a": "x" * 20_000}},
            [(["actions", 0, "payload"], "too_long")],
        ),
    ],
)
def test_bad_actions_are_reported_with_their_path(action: Any, expected: list[Any]) -> None:
    assert errors_of(rule(None, [action], id="r")) == expected


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"kind": "macro"}, [(["kind"], "invalid_value")]),
        ({"on": []}, [(["on"], "invalid_value")]),
        ({"on": ["ticket.deleted"]}, [(["on", 0], "invalid_value")]),
        ({"kind": "automation", "on": ["ticket.created"]}, [(["on"], "extra_forbidden")]),
        ({"id": "has space"}, [(["id"], "invalid_value")]),
        ({"name": ""}, [(["name"], "string_too_short")]),
        ({"position": "1"}, [(["position"], "int_type")]),
        ({"position": True}, [(["position"], "int_type")]),
        ({"active": "yes"}, [(["active"], "bool_type")]),
        ({"stop_processing": 1}, [(["stop_processing"], "bool_type")]),
        ({"actions": []}, [(["actions"], "invalid_value")]),
        ({"actions": [{"type": "add_tag", "tag": "x"}] * 21}, [(["actions"], "too_long")]),
        ({"priority": 1}, [(["priority"], "extra_forbidden")]),
    ],
)
def test_bad_rule_fields_are_reported(change: dict[str, Any], expected: list[Any]) -> None:
    definition = rule(None, id="r")
    definition.update(change)
    if definition.get("kind") == "automation" and "on" not in change:
        definition.pop("on", None)
    assert errors_of(definition) == expected


def test_missing_required_keys_and_non_objects() -> None:
    assert errors_of({}) == [
        (["id"], "missing"),
        (["name"], "missing"),
        (["kind"], "missing"),
        (["actions"], "missing"),
    ]
    assert errors_of([1, 2]) == [([], "invalid_type")]


def test_every_problem_is_reported_at_once_and_is_a_422() -> None:
    definition = {
        "id": "r",
        "name": "多处错误",
        "kind": "trigger",
        "on": ["ticket.created"],
        "conditions": {"all": [leaf("colour", "eq", 1), leaf("title", "regex", "(")]},
        "actions": [{"type": "notify"}, {"type": "call_webhook", "url": "ftp://x"}],
    }
    with pytest.raises(ValidationFailed) as caught:
        parse_rule(definition)
    error = caught.value
    assert error.status == 422
    assert [e["loc"] for e in error.extra["errors"]] == [
        ["conditions", "all", 0, "field"],
        ["conditions", "all", 1, "value"],
        ["actions", 0],
        ["actions", 1, "url"],
    ]
    assert error.detail.startswith("conditions.all.0.field: unknown field 'colour'")
    assert error.detail.endswith("(and 3 more)")
    json.dumps(error.extra)  # the errors are JSON for problem+json


def test_a_rule_set_reports_problems_under_the_rule_index_and_duplicate_ids() -> None:
    with pytest.raises(RuleDefinitionError) as caught:
        compile_rules([rule(None, id="a"), rule(leaf("status", "eq", "x"), id="b"), rule(None, id="a")])
    assert [(e["loc"], e["type"]) for e in caught.value.errors] == [
        ([1, "conditions", "value"], "invalid_value"),
        ([2, "id"], "duplicate"),
    ]


def test_valid_definitions_round_trip_through_their_normalised_json() -> None:
    definitions = [
        *default_rules(),
        rule(
            {"all": [leaf("title", "contains", [" 退款 ", "退款", "退货"]), {"not": leaf("tags", "is_set")}]},
            [
                {"type": "assign", "team": " after_sales "},
                {
                    "type": "call_webhook",
                    "url": "https://x.example.com/h",
                    "payload": {"n": "{{ticket.number}}"},
                },
                {"type": "escalate"},
            ],
            id="custom",
            name="  自定义  ",
        ),
    ]
    first = [r.to_dict() for r in compile_rules(definitions).rules]
    second = [r.to_dict() for r in compile_rules(json.loads(json.dumps(first))).rules]
    assert first == second
    custom = next(d for d in first if d["id"] == "custom")
    assert custom["name"] == "自定义"
    assert custom["conditions"]["all"][0]["value"] == ["退款", "退货"]  # stripped and deduplicated
    assert custom["actions"][0] == {"type": "assign", "team": "after_sales"}
    assert custom["actions"][2] == {"type": "escalate", "raise_priority": True, "to_team_lead": True}
