"""The demo plan is pure: same seed, same history; every text renders; histories fit before now."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from huiliu.demo import content as c
from huiliu.demo.plan import (
    AUTO_CLOSE,
    CLASSIFIED_DAYS,
    CUSTOMER,
    FREE_TEXT_CHANNELS,
    HISTORY_DAYS,
    ROUTING,
    Staff,
    _slots,
    build_customers,
    plan_tickets,
)
from huiliu.intelligence.taxonomy import DEFAULT_CATEGORIES

NOW = datetime(2026, 3, 18, 9, 30, tzinfo=UTC)
MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")


@pytest.fixture(scope="module")
def customers():
    return build_customers(500)


@pytest.fixture(scope="module")
def plans(customers):
    return plan_tickets(3000, customers, NOW)


def test_customers_have_unique_mainland_mobiles_and_some_emails_and_openids(customers):
    phones = [customer.phone for customer in customers]
    assert len(set(phones)) == len(phones) == 500
    assert all(MAINLAND_MOBILE.match(phone) for phone in phones)
    emails = [customer.email for customer in customers if customer.email]
    assert len(set(emails)) == len(emails)
    assert 100 < len(emails) < 250
    openids = [customer.wechat_openid for customer in customers if customer.wechat_openid]
    assert 180 < len(openids) < 320
    assert all(len(openid) == 28 and openid.startswith("o") for openid in openids)


def test_the_same_seed_plans_the_same_history(customers, plans):
    assert build_customers(500) == customers
    assert plan_tickets(3000, customers, NOW) == plans


def test_content_does_not_depend_on_the_day_the_seed_runs(customers, plans):
    later = plan_tickets(3000, customers, NOW + timedelta(days=3, hours=5))
    assert sorted(p.title for p in later) == sorted(p.title for p in plans)
    assert Counter(p.final_status for p in later) == Counter(p.final_status for p in plans)


def test_every_scenario_text_renders_with_its_slots():
    rng = random.Random(7)
    staff = Staff.from_content()
    generic = (
        c.CUSTOMER_CHASERS
        + c.CUSTOMER_INFO_REPLIES
        + c.CUSTOMER_REOPEN
        + c.AGENT_ASK_INFO
        + c.AGENT_ACK
        + c.TRANSFER_NOTES
    )
    for scenario in c.SCENARIOS:
        assert len(scenario.titles) == len(scenario.descriptions), scenario.key
        values, team = _slots(rng, scenario, "13800138000")
        values["agent"] = staff.names[staff.agents[team][0]]
        texts = [alt for title in scenario.titles for alt in title.split("|")]
        texts += [
            *scenario.descriptions,
            *scenario.follow_ups,
            *scenario.replies,
            *scenario.notes,
            *scenario.resolutions,
            *generic,
        ]
        for text in texts:
            rendered = text.format_map(values)
            assert "{" not in rendered and rendered.strip(), (scenario.key, text)


def test_histories_are_ordered_and_end_before_now(plans):
    assert [p.created_at for p in plans] == sorted(p.created_at for p in plans)
    earliest = NOW - timedelta(days=HISTORY_DAYS + 7)
    for plan in plans:
        assert earliest < plan.created_at < NOW
        moments = [plan.created_at, *(step.at for step in plan.steps)]
        assert moments == sorted(moments) and len(set(moments)) == len(moments), plan.title
        assert moments[-1] < NOW


def test_the_mix_covers_every_channel_scenario_and_status(plans):
    assert {p.channel for p in plans} == set(c.CHANNELS)
    assert {p.scenario for p in plans} == {"presales", "sales", "aftersales", "complaint"}
    assert {p.scenario_key for p in plans} == {s.key for s in c.SCENARIOS}
    assert {p.final_status for p in plans} == {"new", "open", "pending", "on_hold", "resolved", "closed"}
    assert len({p.title for p in plans}) > 500
    assert len({p.description for p in plans}) > 1000


def test_older_tickets_are_mostly_finished_and_recent_ones_mostly_in_progress(plans):
    old = [p for p in plans if p.created_at < NOW - timedelta(days=30)]
    recent = [p for p in plans if p.created_at > NOW - timedelta(days=2)]
    finished = {"resolved", "closed"}
    assert sum(p.final_status in finished for p in old) / len(old) > 0.85
    assert sum(p.final_status not in finished for p in recent) / len(recent) > 0.6


def test_steps_are_done_by_people_who_can_do_them(plans):
    staff = Staff.from_content()
    agents = {email for emails in staff.agents.values() for email in emails}
    leads = set(staff.leads.values())
    for plan in plans:
        for step in plan.steps:
            if step.kind == "customer":
                assert step.by == CUSTOMER
            elif step.kind == "assign":
                assert step.by in leads | {ROUTING}
                assert step.assignee is None or step.assignee in staff.agents[step.team]
            elif step.kind == "status":
                assert step.by in agents | {AUTO_CLOSE}
            else:
                assert step.by in agents


def test_every_scenario_files_its_tickets_under_a_key_of_the_default_taxonomy():
    keys = {category.key for category in DEFAULT_CATEGORIES}
    assert {scenario.category for scenario in c.SCENARIOS} <= keys
    # Refunds of every industry share one key: the refund workflow and rule look for it.
    refunds = {"retail_return", "edu_refund", "baby_return"}
    assert {s.key for s in c.SCENARIOS if s.category == "refund_return"} == refunds


def test_free_text_requests_of_the_last_week_still_being_handled_arrive_uncategorised(plans):
    left = [p for p in plans if p.category is None]
    # About one in five tickets of the week, so the 待分类 view has work in it; 3% of the history.
    assert 0.02 < len(left) / len(plans) < 0.05
    week = [p for p in plans if p.created_at > NOW - timedelta(days=CLASSIFIED_DAYS - 1)]
    assert 0.1 < sum(p.category is None for p in week) / len(week) < 0.35
    for plan in left:
        assert plan.channel in FREE_TEXT_CHANNELS and plan.final_status in {"new", "open", "pending"}
        assert plan.created_at > NOW - timedelta(days=CLASSIFIED_DAYS + 7)
