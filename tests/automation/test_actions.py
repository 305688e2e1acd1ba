"""Each action is planned (not applied) with its values and template variables rendered; no-op actions are
skipped with a note; fact changes are visible in the result."""

from __future__ import annotations

from typing import Any

import pytest

from huiliu.automation.domain import (
    AddInternalNote,
    AddTag,
    Assign,
    CallWebhook,
    CreateSubtask,
    Escalate,
    Notify,
    RemoveTag,
    SendReplyTemplate,
    SetField,
    TicketFacts,
    raised_priority,
)
from tests.automation.helpers import rule, run

# Planned actions name the rule that planned them; the firing's reason adds the conditions.
REASON = 'rule "测试规则"'
FACTS = TicketFacts(
    id="t-1",
    number=1024,
    title="空调不制冷",
    description="上周安装的空调不制冷",
    priority="normal",
    team="install",
    assignee="u-9",
    tags=["华南"],
    fields={"型号": "KFR-35", "amount": 3999},
    customer_name="张三",
    customer_level="vip",
    customer_attributes={"city": "广州"},
    rating=2,
)


def _plan(actions: list[dict[str, Any]], facts: TicketFacts = FACTS) -> Any:
    result = run([rule({"all": []}, actions, id="r-act", name="测试规则")], facts)
    assert len(result.firings) == 1
    return result


def test_set_field_plans_the_change_with_the_previous_value() -> None:
    result = _plan(
        [
            {"type": "set_field", "field": "priority", "value": "urgent"},
            {"type": "set_field", "field": "category", "value": "维修"},
            {"type": "set_field", "field": "scenario", "value": "aftersales"},
            {"type": "set_field", "field": "fields.型号", "value": "KFR-50"},
            {"type": "set_field", "field": "fields.visit", "value": ["2026-05-07", "上午"]},
        ]
    )
    reason = REASON
    assert result.actions == (
        SetField("priority", "urgent", "normal", reason),
        SetField("category", "维修", None, reason),
        SetField("scenario", "aftersales", None, reason),
        SetField("fields.型号", "KFR-50", "KFR-35", reason),
        SetField("fields.visit", ["2026-05-07", "上午"], None, reason),
    )
    assert result.changes == {
        "priority": "urgent",
        "category": "维修",
        "scenario": "aftersales",
        "fields.型号": "KFR-50",
        "fields.visit": ["2026-05-07", "上午"],
    }
    assert FACTS.fields == {"型号": "KFR-35", "amount": 3999}  # the caller's facts are untouched


def test_set_field_to_the_current_value_is_skipped() -> None:
    result = _plan(
        [{"type": "set_field", "field": "priority", "value": "normal"}, {"type": "add_tag", "tag": "x"}]
    )
    assert [a.type for a in result.actions] == ["add_tag"]
    assert result.firings[0].skipped == ("set_field: priority is already 'normal'",)


def test_set_field_can_clear_a_category() -> None:
    result = _plan([{"type": "set_field", "field": "category", "value": None}], TicketFacts(category="物流"))
    assert result.actions[0] == SetField("category", None, "物流", REASON)


def test_add_and_remove_tags() -> None:
    result = _plan(
        [
            {"type": "add_tag", "tag": "退款"},
            {"type": "add_tag", "tag": "华南"},  # already there: skipped
            {"type": "remove_tag", "tag": "华南"},
            {"type": "remove_tag", "tag": "不存在"},  # not there: skipped
        ]
    )
    reason = REASON
    assert result.actions == (AddTag("退款", reason), RemoveTag("华南", reason))
    assert result.changes == {"tags": frozenset({"退款"})}
    assert result.firings[0].skipped == (
        "add_tag: the ticket already has tag '华南'",
        "remove_tag: the ticket has no tag '不存在'",
    )


def test_add_tag_stops_at_the_tag_limit() -> None:
    facts = TicketFacts(tags=[f"t{i}" for i in range(30)])
    result = _plan([{"type": "add_tag", "tag": "one-more"}, {"type": "add_tag", "tag": "t1"}], facts)
    assert result.actions == ()
    assert result.firings[0].skipped[0] == "add_tag: the ticket already carries 30 tags"


@pytest.mark.parametrize(
    ("action", "expected", "changes"),
    [
        ({"type": "assign", "team": "after_sales"}, ("after_sales", None, None), {"team": "after_sales"}),
        ({"type": "assign", "agent": "u-1"}, (None, "u-1", None), {"assignee": "u-1"}),
        (
            {"type": "assign", "team": "after_sales", "agent": "u-1"},
            ("after_sales", "u-1", None),
            {"team": "after_sales", "assignee": "u-1"},
        ),
        ({"type": "assign", "routing_policy": "rp-skills"}, (None, None, "rp-skills"), {}),
        ({"type": "assign", "team": "install", "routing_policy": "rp-rr"}, ("install", None, "rp-rr"), {}),
    ],
)
def test_assign_carries_the_references(
    action: dict[str, Any], expected: tuple[Any, ...], changes: dict[str, Any]
) -> None:
    result = _plan([action])
    team, agent, policy = expected
    assert result.actions == (Assign(agent, team, policy, REASON),)
    assert result.changes == changes


def test_assign_to_the_current_team_is_skipped() -> None:
    result = _plan([{"type": "assign", "team": "install"}, {"type": "add_tag", "tag": "x"}])
    assert [a.type for a in result.actions] == ["add_tag"]


def test_internal_note_renders_template_variables_safely() -> None:
    body = (
        "工单 {{ticket.number}}（{{ ticket.priority }}）客户 {{customer.name}}/{{customer.level}}/"
        "{{customer.city}} 型号 {{fields.型号}} 标签 {{ticket.tags}} 规则 {{rule.name}} {{fields.missing}}"
        " {{ not a template variable }} {{ticket.__class__"
    )
    result = _plan([{"type": "add_internal_note", "body": body}])
    assert result.actions == (
        AddInternalNote(
            "工单 1024（normal）客户 张三/vip/广州 型号 KFR-35 标签 华南 规则 测试规则 "
            " {{ not a template variable }} {{ticket.__class__",
            REASON,
        ),
    )


def test_template_variables_see_changes_made_by_earlier_actions() -> None:
    result = _plan(
        [
            {"type": "set_field", "field": "priority", "value": "high"},
            {"type": "add_internal_note", "body": "now {{ticket.priority}}"},
        ]
    )
    assert result.actions[1].body == "now high"


def test_send_reply_template() -> None:
    result = _plan([{"type": "send_reply_template", "template": "tpl-refund-ack"}])
    assert result.actions == (SendReplyTemplate("tpl-refund-ack", REASON),)


def test_notify_plans_recipients_channels_severity_and_message() -> None:
    result = _plan(
        [
            {
                "type": "notify",
                "users": ["u-1", "u-2", "u-1"],
                "roles": ["qa"],
                "team_lead": True,
                "assignee": True,
                "channels": ["sms", "wecom"],
                "severity": "critical",
                "message": "#{{ticket.number}} {{ticket.title}} 需要处理",
            }
        ]
    )
    assert result.actions == (
        Notify(
            users=("u-1", "u-2"),
            roles=("qa",),
            team_lead=True,
            assignee=True,
            team="install",
            channels=("sms", "wecom"),
            severity="critical",
            message="#1024 空调不制冷 需要处理",
            reason=REASON,
        ),
    )


def test_notify_defaults() -> None:
    result = _plan([{"type": "notify", "roles": ["lead"]}])
    action = result.actions[0]
    assert isinstance(action, Notify)
    assert (action.severity, action.channels, action.message) == ("info", (), "[测试规则] #1024 空调不制冷")


def test_create_subtask_renders_title_and_description() -> None:
    result = _plan(
        [
            {
                "type": "create_subtask",
                "title": "复盘 #{{ticket.number}}（{{ticket.rating}} 星）",
                "description": "{{ticket.description}}",
                "team": "qa",
            }
        ]
    )
    assert result.actions == (CreateSubtask("复盘 #1024（2 星）", "上周安装的空调不制冷", "qa", REASON),)


@pytest.mark.parametrize(
    ("priority", "action", "expected_to", "lead"),
    [
        ("low", {"type": "escalate"}, "normal", True),
        ("normal", {"type": "escalate"}, "high", True),
        ("high", {"type": "escalate", "to_team_lead": False}, "urgent", False),
        ("urgent", {"type": "escalate"}, None, True),  # at the top: only the handover
        ("normal", {"type": "escalate", "raise_priority": False}, None, True),
    ],
)
def test_escalate_raises_one_step_and_hands_to_the_lead(
    priority: str, action: dict[str, Any], expected_to: str | None, lead: bool
) -> None:
    result = _plan([action], TicketFacts(priority=priority, team="install"))
    assert result.actions == (Escalate(priority, expected_to, lead, "install", REASON),)
    assert result.changes == ({"priority": expected_to} if expected_to else {})


def test_escalate_at_the_top_without_handover_is_skipped() -> None:
    result = _plan(
        [{"type": "escalate", "to_team_lead": False}, {"type": "add_tag", "tag": "x"}],
        TicketFacts(priority="urgent"),
    )
    assert [a.type for a in result.actions] == ["add_tag"]
    assert result.firings[0].skipped == ("escalate: the priority is already urgent",)


def test_raised_priority() -> None:
    assert [raised_priority(p) for p in ("low", "normal", "high", "urgent")] == [
        "normal",
        "high",
        "urgent",
        None,
    ]


def test_call_webhook_renders_the_payload_template() -> None:
    result = _plan(
        [
            {
                "type": "call_webhook",
                "url": "https://erp.example.com/hooks/ticket?src=huiliu",
                "payload": {
                    "ticket": "{{ticket.number}}",
                    "who": {"name": "{{customer.name}}", "tags": ["{{ticket.tags}}", 1, True, None]},
                    "amount": "{{fields.amount}}",
                },
            },
            {"type": "call_webhook", "url": "http://10.0.0.5:8080/x"},
        ]
    )
    reason = REASON
    assert result.actions == (
        CallWebhook(
            "https://erp.example.com/hooks/ticket?src=huiliu",
            {"ticket": "1024", "who": {"name": "张三", "tags": ["华南", 1, True, None]}, "amount": "3999"},
            reason,
        ),
        CallWebhook("http://10.0.0.5:8080/x", None, reason),
    )


def test_planned_actions_serialise_to_json_ready_dicts() -> None:
    result = _plan([{"type": "notify", "users": ["u-1"], "channels": ["sms"]}])
    data = result.actions[0].to_dict()
    assert data["type"] == "notify"
    assert data["users"] == ["u-1"] and data["channels"] == ["sms"]
    assert result.to_dict()["firings"][0]["actions"][0] == data


def test_every_firing_names_its_rule_and_reason() -> None:
    result = run(
        [rule({"field": "title", "op": "contains", "value": ["不制冷", "漏水"]}, id="r-ac", name="空调故障")],
        FACTS,
    )
    firing = result.firings[0]
    assert (firing.rule_id, firing.rule_name) == ("r-ac", "空调故障")
    assert firing.reason == 'rule "空调故障": title contains "不制冷"'
    assert all(action.reason == 'rule "空调故障"' for action in firing.actions)
