"""Builders for rule definitions and facts in the automation tests."""

from __future__ import annotations

from typing import Any

from huiliu.automation.domain import (
    EvaluationResult,
    RuleSet,
    TicketFacts,
    TriggeringEvent,
    compile_rules,
    evaluate,
)

_counter = iter(range(1, 1_000_000))


def rule(
    conditions: Any = None,
    actions: list[dict[str, Any]] | None = None,
    *,
    id: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A trigger on ticket.created (unless told otherwise) that adds a tag naming itself."""
    rule_id = id or f"r{next(_counter)}"
    definition: dict[str, Any] = {
        "id": rule_id,
        "name": fields.pop("name", f"rule {rule_id}"),
        "kind": fields.pop("kind", "trigger"),
        "actions": actions or [{"type": "add_tag", "tag": f"hit-{rule_id}"}],
    }
    if definition["kind"] == "trigger":
        definition["on"] = fields.pop("on", ["ticket.created"])
    if conditions is not None:
        definition["conditions"] = conditions
    definition.update(fields)
    return definition


def leaf(field: str, op: str, value: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"field": field, "op": op}
    if value is not None:
        out["value"] = value
    return out


def holds(
    condition: dict[str, Any], facts: TicketFacts, event: TriggeringEvent | str = "ticket.created"
) -> bool:
    """Whether a single rule with this condition fires on the facts (its explanation agreeing)."""
    definition = rule(condition, on=[event.type.value if isinstance(event, TriggeringEvent) else event])
    rules = compile_rules([definition])
    fired = bool(evaluate(rules, facts, event).firings)
    explained = rules.rules[0].conditions.explain
    from huiliu.automation.domain.context import Context
    from huiliu.automation.domain.facts import as_event, facts_values

    ctx = Context(facts_values(facts), as_event(event).previous)
    assert explained(ctx).passed is fired
    return fired


def run(
    definitions: list[dict[str, Any]], facts: TicketFacts, event: Any = "ticket.created"
) -> EvaluationResult:
    return evaluate(compile_rules(definitions), facts, event)


def ruleset(*definitions: dict[str, Any]) -> RuleSet:
    return compile_rules(list(definitions))
