"""Order, stop processing, the loop guard and its bounded passes, events and kinds, dry runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from huiliu.automation.domain import (
    MAX_PASSES,
    EventType,
    Outcome,
    TicketFacts,
    TriggeringEvent,
    dry_run,
    evaluate,
)
from tests.automation.helpers import leaf, rule, ruleset, run

NOW = datetime(2026, 5, 6, 2, 0, tzinfo=UTC)


def tag(name: str) -> dict[str, str]:
    return {"type": "add_tag", "tag": name}


def test_rules_run_in_position_order_then_id() -> None:
    rules = ruleset(
        rule(actions=[tag("c")], id="c", position=20),
        rule(actions=[tag("b")], id="b", position=10),
        rule(actions=[tag("a")], id="a", position=10),
        rule(actions=[tag("z")], id="z", position=-5),
    )
    result = evaluate(rules, TicketFacts(), "ticket.created")
    assert result.fired_rule_ids == ("z", "a", "b", "c")
    assert [r.id for r in rules.rules] == ["z", "a", "b", "c"]


def test_later_rules_see_changes_made_by_earlier_ones() -> None:
    result = run(
        [
            rule(
                actions=[{"type": "set_field", "field": "priority", "value": "urgent"}],
                id="first",
                position=1,
            ),
            rule(leaf("priority", "eq", "urgent"), [tag("saw-urgent")], id="second", position=2),
        ],
        TicketFacts(),
    )
    assert result.fired_rule_ids == ("first", "second")
    assert result.passes == 1  # every rule fired: nothing left to test again
    assert result.changes == {"priority": "urgent", "tags": frozenset({"saw-urgent"})}


def test_an_earlier_rule_fires_in_a_later_pass_when_a_later_rule_satisfies_it() -> None:
    result = run(
        [
            rule(leaf("tags", "contains", "vip"), [tag("vip-seen")], id="early", position=1),
            rule(leaf("customer.level", "eq", "vip"), [tag("vip")], id="late", position=2),
        ],
        TicketFacts(customer_level="vip"),
    )
    assert result.fired_rule_ids == ("late", "early")
    assert [f.pass_number for f in result.firings] == [1, 2]
    assert result.passes == 2


def test_stop_processing_ends_the_evaluation() -> None:
    result = run(
        [
            rule(actions=[tag("a")], id="a", position=1),
            rule(actions=[tag("b")], id="b", position=2, stop_processing=True),
            rule(actions=[tag("c")], id="c", position=3),
        ],
        TicketFacts(),
    )
    assert result.fired_rule_ids == ("a", "b")
    assert result.stopped_by == "b"


def test_stop_processing_only_counts_when_the_rule_fires() -> None:
    result = run(
        [
            rule(leaf("status", "eq", "closed"), id="a", position=1, stop_processing=True),
            rule(actions=[tag("b")], id="b", position=2),
        ],
        TicketFacts(),
    )
    assert result.fired_rule_ids == ("b",) and result.stopped_by is None


def test_stop_processing_also_stops_later_passes() -> None:
    result = run(
        [
            rule(leaf("tags", "contains", "x"), [tag("y")], id="waits", position=1),
            rule(actions=[tag("x")], id="stops", position=2, stop_processing=True),
        ],
        TicketFacts(),
    )
    assert result.fired_rule_ids == ("stops",)
    assert result.passes == 1


def test_a_rule_whose_action_retriggers_itself_fires_once() -> None:
    # The rule holds for every ticket and changes the ticket each time it fires.
    result = run(
        [rule(actions=[{"type": "escalate", "to_team_lead": False}], id="loop")], TicketFacts(priority="low")
    )
    assert result.fired_rule_ids == ("loop",)
    assert result.changes == {"priority": "normal"}
    assert result.passes == 1  # nothing left to re-test


def test_ping_pong_rules_fire_once_each() -> None:
    result = run(
        [
            rule(
                leaf("tags", "not_contains", "ping"),
                [tag("ping"), {"type": "remove_tag", "tag": "pong"}],
                id="ping",
            ),
            rule(
                leaf("tags", "contains", "ping"),
                [tag("pong"), {"type": "remove_tag", "tag": "ping"}],
                id="pong",
            ),
        ],
        TicketFacts(),
    )
    assert result.fired_rule_ids == ("ping", "pong")


def test_passes_are_bounded() -> None:
    # A chain where each rule is satisfied only by the rule after it: one firing per pass.
    chain = [
        rule(leaf("tags", "contains", f"s{i + 1}"), [tag(f"s{i}")], id=f"r{i}", position=i)
        for i in range(1, 6)
    ] + [rule(actions=[tag("s6")], id="r6", position=6)]
    result = run(chain, TicketFacts())
    assert result.passes == MAX_PASSES == 3
    assert result.fired_rule_ids == ("r6", "r5", "r4")
    assert result.pass_limit_reached
    dry = dry_run(ruleset(*chain), TicketFacts(), "ticket.created")
    outcomes = {o.rule_id: o.outcome for o in dry.outcomes}
    assert outcomes == {
        "r1": Outcome.NOT_MATCHED,
        "r2": Outcome.NOT_MATCHED,
        "r3": Outcome.NOT_MATCHED,
        "r4": Outcome.FIRED,
        "r5": Outcome.FIRED,
        "r6": Outcome.FIRED,
    }


def test_a_pass_that_changes_nothing_ends_the_evaluation() -> None:
    result = run(
        [
            rule(actions=[{"type": "notify", "roles": ["qa"]}], id="n"),
            rule(leaf("status", "eq", "closed"), id="x"),
        ],
        TicketFacts(),
    )
    assert result.passes == 1 and not result.pass_limit_reached


def test_changed_sees_changes_made_by_earlier_rules_in_the_same_event() -> None:
    definitions = [
        rule(
            actions=[{"type": "set_field", "field": "priority", "value": "urgent"}],
            id="raise",
            position=1,
            on=["ticket.updated"],
        ),
        rule(
            leaf("priority", "changed_to", "urgent"),
            [tag("became-urgent")],
            id="watch",
            position=2,
            on=["ticket.updated"],
        ),
    ]
    result = run(definitions, TicketFacts(priority="normal"), TriggeringEvent("ticket.updated"))
    assert result.fired_rule_ids == ("raise", "watch")


def test_triggers_run_only_on_their_events_and_automations_only_on_the_timer() -> None:
    rules = ruleset(
        rule(id="created", on=["ticket.created"]),
        rule(id="both", on=["ticket.updated", "message.received"]),
        rule(id="rating", on=["rating.given"]),
        rule({"all": [leaf("hours_since_created", "gte", 1)]}, id="timer", kind="automation"),
        rule(id="off", active=False),
    )
    facts = TicketFacts(now=NOW, created_at=NOW - timedelta(hours=2))
    assert evaluate(rules, facts, "ticket.created").fired_rule_ids == ("created",)
    assert evaluate(rules, facts, "ticket.updated").fired_rule_ids == ("both",)
    assert evaluate(rules, facts, "message.received").fired_rule_ids == ("both",)
    assert evaluate(rules, facts, EventType.RATING_GIVEN).fired_rule_ids == ("rating",)
    assert evaluate(rules, facts, "timer").fired_rule_ids == ("timer",)
    assert [r.id for r in rules.for_event(EventType.TICKET_CREATED)] == ["created"]


def test_an_automation_that_already_fired_on_the_ticket_does_not_fire_again() -> None:
    rules = ruleset(rule(id="auto", kind="automation"))
    assert evaluate(rules, TicketFacts(), "timer").fired_rule_ids == ("auto",)
    again = TicketFacts(automations_fired=frozenset({"auto"}))
    assert evaluate(rules, again, "timer").fired_rule_ids == ()
    assert dry_run(rules, again, "timer").outcomes[0].outcome == Outcome.ALREADY_FIRED


def test_dry_run_explains_every_rule() -> None:
    rules = ruleset(
        rule(leaf("title", "contains", "退款"), id="refund", position=1),
        rule(leaf("priority", "eq", "urgent"), id="urgent", position=2),
        rule(id="stopper", position=3, stop_processing=True),
        rule(id="after", position=4),
        rule(id="off", position=0, active=False),
        rule(id="rating", on=["rating.given"]),
        rule(id="auto", kind="automation"),
    )
    result = dry_run(rules, TicketFacts(title="申请退款"), "ticket.created")
    outcomes = {o.rule_id: o for o in result.outcomes}
    assert {k: o.outcome.value for k, o in outcomes.items()} == {
        "off": "inactive",
        "refund": "fired",
        "urgent": "not_matched",
        "stopper": "fired",
        "after": "not_reached",
        "rating": "other_event",
        "auto": "other_event",
    }
    assert outcomes["urgent"].note == 'priority is "normal"'
    assert outcomes["after"].note == "rule stopper stopped processing first"
    assert outcomes["rating"].note == "runs on rating.given, not ticket.created"
    assert outcomes["auto"].note == "runs on the timer sweep, not ticket.created"
    assert outcomes["off"].note == "the rule is switched off"
    assert outcomes["refund"].explanation is not None and outcomes["refund"].explanation.passed
    # The dry run decides exactly what evaluate decides.
    plain = evaluate(rules, TicketFacts(title="申请退款"), "ticket.created")
    assert plain.fired_rule_ids == result.fired_rule_ids == ("refund", "stopper")
    assert plain.outcomes == ()
    data = result.to_dict()
    assert data["stopped_by"] == "stopper" and len(data["outcomes"]) == 7


def test_dry_run_shows_a_failed_not_as_a_whole() -> None:
    rules = ruleset(rule({"not": leaf("tags", "contains", "vip")}, id="not-vip"))
    outcome = dry_run(rules, TicketFacts(tags=["vip"]), "ticket.created").outcomes[0]
    assert outcome.outcome == Outcome.NOT_MATCHED
    assert outcome.note == 'the inner condition holds: tags has ["vip"]'


def test_evaluation_does_not_modify_the_facts_or_the_rules() -> None:
    facts = TicketFacts(tags=["a"], fields={"k": 1})
    rules = ruleset(
        rule(actions=[tag("b"), {"type": "set_field", "field": "fields.k", "value": 2}], id="x"),
    )
    first = evaluate(rules, facts, "ticket.created")
    second = evaluate(rules, facts, "ticket.created")
    assert facts.tags == ["a"] and facts.fields == {"k": 1}
    assert first == second


def test_a_firing_is_explained_with_the_facts_its_rule_saw() -> None:
    result = run(
        [
            rule(leaf("priority", "eq", "normal"), [tag("seen")], id="first", position=1),
            rule(
                actions=[{"type": "set_field", "field": "priority", "value": "urgent"}],
                id="second",
                position=2,
            ),
        ],
        TicketFacts(priority="normal"),
    )
    first = result.firings[0]
    assert first.explanation.passed
    assert first.reason == 'rule "rule first": priority is "normal"'
    assert first.to_dict()["explanation"]["reason"] == 'priority is "normal"'


def test_rules_whose_facts_did_not_change_are_not_tested_again() -> None:
    result = run(
        [
            rule(leaf("priority", "eq", "urgent"), id="reads-priority", position=1),
            rule(
                actions=[{"type": "set_field", "field": "category", "value": "x"}],
                id="sets-category",
                position=2,
            ),
        ],
        TicketFacts(),
    )
    assert result.fired_rule_ids == ("sets-category",)
    assert result.passes == 1
