"""The brief's three examples ship as default rules and behave as the brief describes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from huiliu.automation.domain import (
    Assign,
    CreateSubtask,
    Escalate,
    Notify,
    Outcome,
    TicketFacts,
    compile_rules,
    default_rules,
    dry_run,
    evaluate,
)
from huiliu.automation.domain.presets import ESCALATED_TAG, LANGUAGES

RULES = compile_rules(default_rules())
NOW = datetime(2026, 5, 6, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("title", "description", "fires"),
    [
        ("我要退款", "", True),
        ("咨询", "上周买的鞋子想退货", True),
        ("怎么退钱", "", True),
        ("咨询发票", "什么时候开", False),
    ],
)
def test_refund_keywords_assign_the_after_sales_team(title: str, description: str, fires: bool) -> None:
    facts = TicketFacts(number=7, title=title, description=description, team="pre_sales")
    result = evaluate(RULES, facts, "ticket.created")
    if not fires:
        assert result.firings == ()
        return
    (firing,) = result.firings
    assert firing.rule_id == "preset-refund-to-after-sales"
    assert result.actions == (Assign(None, "after_sales", None, f'rule "{firing.rule_name}"'),)
    assert "退" in firing.reason and firing.reason.startswith(f'rule "{firing.rule_name}": ')


def test_refund_rule_runs_on_new_tickets_only() -> None:
    assert evaluate(RULES, TicketFacts(title="退款"), "ticket.updated").firings == ()


def _waiting(hours: float, **overrides: object) -> TicketFacts:
    values: dict[str, object] = {
        "number": 88,
        "title": "打印机卡纸",
        "status": "open",
        "priority": "normal",
        "team": "it",
        "now": NOW,
        "created_at": NOW - timedelta(hours=hours),
    }
    values.update(overrides)
    return TicketFacts(**values)  # type: ignore[arg-type]


def test_unhandled_for_24_hours_escalates_and_texts_the_lead() -> None:
    result = evaluate(RULES, _waiting(24), "timer")
    (firing,) = result.firings
    assert firing.rule_id == "preset-unhandled-24h"
    escalate, notify, tag = result.actions
    assert escalate == Escalate("normal", "high", True, "it", f'rule "{firing.rule_name}"')
    assert isinstance(notify, Notify)
    assert (notify.team_lead, notify.channels, notify.severity, notify.team) == (
        True,
        ("sms",),
        "critical",
        "it",
    )
    assert notify.message == "工单 #88「打印机卡纸」已超过 24 小时未处理，已升级给您"
    assert tag.to_dict()["tag"] == ESCALATED_TAG["zh-CN"]
    assert result.changes == {"priority": "high", "tags": frozenset({ESCALATED_TAG["zh-CN"]})}


@pytest.mark.parametrize(
    ("hours", "overrides"),
    [
        (23.9, {}),
        (30, {"last_agent_reply_at": NOW - timedelta(hours=20)}),  # an agent answered
        (30, {"status": "pending"}),
        (30, {"status": "resolved"}),
        (30, {"tags": [ESCALATED_TAG["zh-CN"]]}),  # already escalated once
        (30, {"automations_fired": frozenset({"preset-unhandled-24h"})}),
    ],
)
def test_unhandled_rule_does_not_fire(hours: float, overrides: dict[str, object]) -> None:
    assert evaluate(RULES, _waiting(hours, **overrides), "timer").firings == ()


def test_unhandled_rule_on_a_new_ticket_fires_too() -> None:
    assert evaluate(RULES, _waiting(48, status="new"), "timer").fired_rule_ids == ("preset-unhandled-24h",)


@pytest.mark.parametrize(("rating", "fires"), [(1, True), (2, True), (3, False), (5, False)])
def test_a_rating_below_3_opens_a_qa_review_and_notifies_qa(rating: int, fires: bool) -> None:
    facts = TicketFacts(number=5, title="安装", rating=rating, rating_comment="师傅迟到")
    result = evaluate(RULES, facts, "rating.given")
    if not fires:
        assert result.firings == ()
        return
    (firing,) = result.firings
    subtask, notify = result.actions
    assert subtask == CreateSubtask(
        f"质检复盘：工单 #5（{rating} 星）", "客户评价：师傅迟到", "qa", f'rule "{firing.rule_name}"'
    )
    assert isinstance(notify, Notify) and notify.roles == ("qa",) and notify.severity == "warning"


def test_dry_run_of_the_presets_on_a_ticket() -> None:
    result = dry_run(RULES, TicketFacts(title="退货"), "ticket.created")
    outcomes = {o.rule_id: o.outcome for o in result.outcomes}
    assert outcomes == {
        "preset-low-rating-qa-review": Outcome.OTHER_EVENT,
        "preset-refund-to-after-sales": Outcome.FIRED,
        "preset-unhandled-24h": Outcome.OTHER_EVENT,
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_presets_exist_in_every_language_with_the_same_logic(language: str) -> None:
    rules = compile_rules(default_rules(language))
    assert [r.id for r in rules.rules] == [r.id for r in RULES.rules]
    english = evaluate(rules, _waiting(25), "timer")
    assert [a.type for a in english.actions] == ["escalate", "notify", "add_tag"]


def test_unknown_preset_language() -> None:
    with pytest.raises(ValueError, match="zh-CN"):
        default_rules("fr")
