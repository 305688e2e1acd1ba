"""Properties of evaluation over random rule sets and tickets: it is deterministic, explained and
fast answers agree, a rule fires at most once, passes stay bounded, facts are never modified, and a
rule set where nothing matches plans nothing."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiliu.automation.domain import MAX_PASSES, TicketFacts, compile_rules, dry_run, evaluate
from huiliu.automation.domain.conditions import Condition, Group, Negation
from huiliu.automation.domain.context import Context, Explanation
from huiliu.automation.domain.facts import facts_values

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = ["退款", "退货", "发票", "物流", "refund", "VIP", "安装", "维修", "投诉", "咨询"]
TAGS = ["vip", "华南", "x", "y", "z"]
STATUSES = ["new", "open", "pending", "on_hold", "resolved"]  # "closed" stays free for the no-match test
PRIORITIES = ["low", "normal", "high", "urgent"]

leaves = st.one_of(
    st.builds(lambda v: {"field": "status", "op": "eq", "value": v}, st.sampled_from(STATUSES)),
    st.builds(
        lambda v: {"field": "status", "op": "in", "value": v}, st.lists(st.sampled_from(STATUSES), min_size=1)
    ),
    st.builds(
        lambda op, v: {"field": "priority", "op": op, "value": v},
        st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]),
        st.sampled_from(PRIORITIES),
    ),
    st.builds(
        lambda op, v: {"field": "title", "op": op, "value": v},
        st.sampled_from(["contains", "not_contains"]),
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
    ),
    st.builds(
        lambda v: {"field": "description", "op": "regex", "value": v},
        st.sampled_from([r"\d{3}", "退.", "(?i)vip"]),
    ),
    st.builds(
        lambda op, v: {"field": "tags", "op": op, "value": v},
        st.sampled_from(["contains", "not_contains"]),
        st.sampled_from(TAGS),
    ),
    st.builds(
        lambda op, v: {"field": "reopen_count", "op": op, "value": v},
        st.sampled_from(["eq", "gt", "lt", "gte", "lte", "ne"]),
        st.integers(0, 3),
    ),
    st.builds(lambda op: {"field": "category", "op": op}, st.sampled_from(["is_set", "is_not_set"])),
    st.builds(lambda v: {"field": "fields.amount", "op": "gte", "value": v}, st.integers(0, 2000)),
)
conditions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=6,
)
actions = st.one_of(
    st.builds(lambda t: {"type": "add_tag", "tag": t}, st.sampled_from(TAGS)),
    st.builds(lambda t: {"type": "remove_tag", "tag": t}, st.sampled_from(TAGS)),
    st.builds(lambda p: {"type": "set_field", "field": "priority", "value": p}, st.sampled_from(PRIORITIES)),
    st.builds(
        lambda c: {"type": "set_field", "field": "category", "value": c}, st.sampled_from(["a", "b", None])
    ),
    st.just({"type": "escalate", "to_team_lead": False}),
    st.just({"type": "notify", "roles": ["qa"], "message": "#{{ticket.number}} {{ticket.priority}}"}),
    st.just({"type": "assign", "team": "t1"}),
)


@st.composite
def rule_sets(draw: st.DrawFn, guard: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 8))
    out = []
    for index in range(count):
        condition = draw(conditions)
        if guard is not None:
            condition = {"all": [guard, condition]}
        out.append(
            {
                "id": f"r{index}",
                "name": f"rule {index}",
                "kind": "trigger",
                "on": ["ticket.created"],
                "position": draw(st.integers(0, 5)),
                "stop_processing": draw(st.integers(0, 4)) == 0,
                "conditions": condition,
                "actions": draw(st.lists(actions, min_size=1, max_size=3)),
            }
        )
    return out


tickets = st.builds(
    lambda status, priority, title, description, tags, reopen, category, amount: TicketFacts(
        number=1,
        status=status,
        priority=priority,
        title=title,
        description=description,
        tags=tags,
        reopen_count=reopen,
        category=category,
        fields={"amount": amount} if amount is not None else {},
    ),
    st.sampled_from(STATUSES),
    st.sampled_from(PRIORITIES),
    st.lists(st.sampled_from(WORDS), max_size=3).map("".join),
    st.text(alphabet="退货款123 vipVIP", max_size=12),
    st.lists(st.sampled_from(TAGS), max_size=3, unique=True),
    st.integers(0, 3),
    st.sampled_from([None, "", "物流"]),
    st.one_of(st.none(), st.integers(0, 2000)),
)


@PROPERTY_SETTINGS
@given(rule_sets(), tickets)
def test_evaluation_is_deterministic_and_bounded(
    definitions: list[dict[str, Any]], facts: TicketFacts
) -> None:
    rules = compile_rules(definitions)
    tags_before, fields_before = set(facts.tags), dict(facts.fields)
    first = evaluate(rules, facts, "ticket.created")
    second = evaluate(compile_rules(definitions), facts, "ticket.created")
    assert first == second
    assert set(facts.tags) == tags_before and dict(facts.fields) == fields_before
    fired = first.fired_rule_ids
    assert len(fired) == len(set(fired))  # at most once per event
    assert 1 <= first.passes <= MAX_PASSES
    # Within a pass rules fire in position order.
    order = {rule.id: index for index, rule in enumerate(rules.rules)}
    for pass_number in range(1, first.passes + 1):
        in_pass = [order[f.rule_id] for f in first.firings if f.pass_number == pass_number]
        assert in_pass == sorted(in_pass)
    if first.stopped_by is not None:
        assert fired[-1] == first.stopped_by
    dry = dry_run(rules, facts, "ticket.created")
    assert dry.firings == first.firings and dry.changes == first.changes
    assert {o.rule_id for o in dry.outcomes if o.outcome == "fired"} == set(fired)


@PROPERTY_SETTINGS
@given(conditions, tickets)
def test_explanations_agree_with_the_fast_predicate(condition: dict[str, Any], facts: TicketFacts) -> None:
    rule = compile_rules(
        [
            {
                "id": "r",
                "name": "r",
                "kind": "trigger",
                "on": ["ticket.created"],
                "conditions": condition,
                "actions": [{"type": "add_tag", "tag": "x"}],
            }
        ]
    ).rules[0]
    ctx = Context(facts_values(facts), {})
    explanation = rule.conditions.explain(ctx)
    assert explanation.passed is rule.conditions.test(ctx)

    def walk(node: Condition, expl: Explanation) -> None:
        assert expl.passed is node.test(ctx)
        children = (
            node.children if isinstance(node, Group) else (node.child,) if isinstance(node, Negation) else ()
        )
        for child_node, child_expl in zip(children, expl.children, strict=True):
            walk(child_node, child_expl)

    walk(rule.conditions, explanation)
    if not explanation.passed:
        assert explanation.failed_conditions()


@PROPERTY_SETTINGS
@given(rule_sets(guard={"field": "status", "op": "eq", "value": "closed"}), tickets)
def test_a_rule_set_with_no_matching_rule_plans_nothing(
    definitions: list[dict[str, Any]], facts: TicketFacts
) -> None:
    result = evaluate(compile_rules(definitions), facts, "ticket.created")
    assert result.firings == () and result.actions == ()
    assert result.changes == {} and result.passes == 1 and result.stopped_by is None
