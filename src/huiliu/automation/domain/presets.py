"""The rules a new tenant starts with: the product brief's three examples, as plain definitions.

- 客户咨询含关键词"退款" → 分配售后 (refund keywords in the title or description → the after-sales team);
- 工单超 24 小时未处理 → 升级至主管并发送短信 (24 h without an agent reply → escalate, SMS to the lead);
- 服务评分低于 3 星 → 创建复盘任务并通知质检 (rating below 3 → QA review sub-task, notify QA).

Teams and roles are referenced by key (``after_sales``, ``qa``); the caller resolves the keys to its
own teams and roles when it applies the actions, and admins may edit the rules like any other.
"""

from __future__ import annotations

from typing import Any

REFUND_KEYWORDS = ["退款", "退货", "退钱"]
# The channel of sub-tasks created by rules (``automation.apply.SUBTASK_CHANNEL``).
INTERNAL_CHANNEL = "internal"
ESCALATED_TAG = {"zh-CN": "超24小时升级", "en": "escalated-24h"}

_TEXT: dict[str, dict[str, str]] = {
    "zh-CN": {
        "refund.name": "含“退款”关键词 → 分配售后",
        "refund.description": "标题或描述含 退款/退货/退钱 时分配给售后组（规则创建的内部子任务除外）",
        "unhandled.name": "超 24 小时未处理 → 升级主管并短信提醒",
        "unhandled.description": "创建 24 小时后仍为待受理/处理中且坐席未回复："
        "提高优先级、转交组长、短信通知组长",
        "unhandled.message": "工单 #{{ticket.number}}「{{ticket.title}}」已超过 24 小时未处理，已升级给您",
        "csat.name": "评分低于 3 星 → 复盘任务并通知质检",
        "csat.description": "客户评分低于 3 星时创建质检复盘子任务，并通知质检角色",
        "csat.title": "质检复盘：工单 #{{ticket.number}}（{{ticket.rating}} 星）",
        "csat.body": "客户评价：{{ticket.rating_comment}}",
        "csat.message": "工单 #{{ticket.number}} 收到 {{ticket.rating}} 星评价，请复盘",
    },
    "en": {
        "refund.name": "Refund keywords → after-sales",
        "refund.description": "Title or description mentions 退款/退货/退钱: assign the after-sales team "
        "(not internal sub-tasks opened by rules)",
        "unhandled.name": "Unhandled for 24 h → escalate and text the lead",
        "unhandled.description": "24 h after creation, still new/open and no agent reply: "
        "raise the priority, hand over to the team lead, SMS the lead",
        "unhandled.message": 'Ticket #{{ticket.number}} "{{ticket.title}}" has waited 24 h '
        "and was escalated to you",
        "csat.name": "Rating below 3 → QA review and notify QA",
        "csat.description": "A customer rating below 3 stars opens a QA review sub-task "
        "and notifies the QA role",
        "csat.title": "QA review: ticket #{{ticket.number}} ({{ticket.rating}} stars)",
        "csat.body": "Customer comment: {{ticket.rating_comment}}",
        "csat.message": "Ticket #{{ticket.number}} was rated {{ticket.rating}} stars: please review",
    },
}
LANGUAGES: tuple[str, ...] = tuple(_TEXT)


def default_rules(language: str = "zh-CN") -> list[dict[str, Any]]:
    """The three preset rule definitions (JSON-ready), named in ``language`` (``zh-CN`` or ``en``)."""
    if language not in _TEXT:
        raise ValueError(f"presets exist in {', '.join(LANGUAGES)}, not {language!r}")
    text = _TEXT[language]
    tag = ESCALATED_TAG[language]
    return [
        {
            "id": "preset-refund-to-after-sales",
            "name": text["refund.name"],
            "description": text["refund.description"],
            "kind": "trigger",
            "on": ["ticket.created"],
            "position": 100,
            "active": True,
            "stop_processing": False,
            "conditions": {
                "all": [
                    {
                        "any": [
                            {"field": "title", "op": "contains", "value": REFUND_KEYWORDS},
                            {"field": "description", "op": "contains", "value": REFUND_KEYWORDS},
                        ]
                    },
                    # Sub-tasks rules open (a QA review quoting "要退款") are internal work, not requests.
                    {"field": "channel", "op": "ne", "value": INTERNAL_CHANNEL},
                ]
            },
            "actions": [{"type": "assign", "team": "after_sales"}],
        },
        {
            "id": "preset-unhandled-24h",
            "name": text["unhandled.name"],
            "description": text["unhandled.description"],
            "kind": "automation",
            "position": 100,
            "active": True,
            "stop_processing": False,
            "conditions": {
                "all": [
                    {"field": "hours_since_created", "op": "gte", "value": 24},
                    {"field": "status", "op": "in", "value": ["new", "open"]},
                    {"field": "agent_replied", "op": "eq", "value": False},
                    # The tag makes the rule hold once, even for a caller that keeps no record.
                    {"field": "tags", "op": "not_contains", "value": tag},
                ]
            },
            "actions": [
                {"type": "escalate", "raise_priority": True, "to_team_lead": True},
                {
                    "type": "notify",
                    "team_lead": True,
                    "channels": ["sms"],
                    "severity": "critical",
                    "message": text["unhandled.message"],
                },
                {"type": "add_tag", "tag": tag},
            ],
        },
        {
            "id": "preset-low-rating-qa-review",
            "name": text["csat.name"],
            "description": text["csat.description"],
            "kind": "trigger",
            "on": ["rating.given"],
            "position": 100,
            "active": True,
            "stop_processing": False,
            "conditions": {"all": [{"field": "rating", "op": "lt", "value": 3}]},
            "actions": [
                {
                    "type": "create_subtask",
                    "title": text["csat.title"],
                    "description": text["csat.body"],
                    "team": "qa",
                },
                {"type": "notify", "roles": ["qa"], "severity": "warning", "message": text["csat.message"]},
            ],
        },
    ]
