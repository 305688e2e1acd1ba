"""The engine: run a rule set on one ticket for one event and return what to do, with reasons.

:func:`evaluate` runs the active rules of the event's kind (triggers for ticket events,
automations for the timer sweep) in order (``position``, then ``id``):

1. **Pass 1** tests every such rule against the working facts. A rule whose conditions hold
   *fires*: its actions are planned and their fact changes (``set_field``, tags, ``assign``,
   ``escalate``) are applied to the working facts at once, so the rules after it see them.
2. A rule with ``stop_processing`` that fires ends the evaluation: no further rule in this pass,
   no further pass.
3. **Loop guard.** A rule fires at most once per event. After a pass that changed the working
   facts, the rules that have not fired and that read a fact changed since they were last tested
   are tested again, in order, in a new pass (a change made by a later rule can satisfy an earlier
   one); a rule whose facts did not change would give the same answer and is not re-tested. At most
   ``MAX_PASSES`` (3) passes run: when rules are still due for a re-test after the third, evaluation
   stops, the result says so (``pass_limit_reached``) and those rules do not fire for this event.
4. For the timer sweep, automations listed in ``TicketFacts.automations_fired`` are skipped: an
   automation fires once per ticket unless the caller clears its record.

Every firing is a :class:`Firing` naming the rule, with its planned actions and the explanation of
why its conditions held, so the caller records one event per firing. :func:`dry_run` is the same
evaluation keeping an outcome for *every* rule of the set: fired, not matched (and which
conditions failed), inactive, other event, already fired, or not reached (stopped earlier).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from huiliu.automation.domain.actions import Scope
from huiliu.automation.domain.conditions import Condition
from huiliu.automation.domain.context import Context, Explanation, show
from huiliu.automation.domain.facts import (
    EventType,
    RuleKind,
    TicketFacts,
    TriggeringEvent,
    as_event,
    facts_values,
    read_value,
    write_value,
)
from huiliu.automation.domain.planned import PlannedAction
from huiliu.automation.domain.rules import Rule, RuleSet

MAX_PASSES = 3
MAX_REASON_CHARS = 300


class Firing:
    """One rule that fired: the actions it plans, the pass it fired in, the actions it skipped as
    no-ops, and why. ``explanation`` and the one-line ``reason`` for the event log are worked out
    on first use from a snapshot of the facts the rule saw, so evaluation does not pay for them."""

    __slots__ = (
        "_condition",
        "_explanation",
        "_snapshot",
        "actions",
        "pass_number",
        "rule_id",
        "rule_name",
        "skipped",
    )

    def __init__(
        self,
        rule: Rule,
        actions: tuple[PlannedAction, ...],
        pass_number: int,
        skipped: tuple[str, ...],
        snapshot: Context,
    ) -> None:
        self.rule_id = rule.id
        self.rule_name = rule.name
        self.actions = actions
        self.pass_number = pass_number
        self.skipped = skipped
        self._condition: Condition = rule.conditions
        self._snapshot: Context | None = snapshot
        self._explanation: Explanation | None = None

    @property
    def explanation(self) -> Explanation:
        if self._explanation is None:
            assert self._snapshot is not None
            self._explanation = self._condition.explain(self._snapshot)
            self._snapshot = None
        return self._explanation

    @property
    def reason(self) -> str:
        explanation = self.explanation
        reasons = (
            explanation.deciding_reasons() if explanation.children or explanation.kind == "condition" else []
        )
        text = f"rule {show(self.rule_name)}: {'; '.join(reasons) if reasons else 'no conditions'}"
        return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"

    def _key(self) -> tuple[Any, ...]:
        return (self.rule_id, self.rule_name, self.actions, self.pass_number, self.skipped)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Firing) and self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Firing(rule_id={self.rule_id!r}, actions={self.actions!r}, pass_number={self.pass_number})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "actions": [action.to_dict() for action in self.actions],
            "reason": self.reason,
            "pass": self.pass_number,
            "skipped": list(self.skipped),
            "explanation": self.explanation.to_dict(),
        }


class Outcome(StrEnum):
    FIRED = "fired"
    NOT_MATCHED = "not_matched"
    INACTIVE = "inactive"
    OTHER_EVENT = "other_event"
    ALREADY_FIRED = "already_fired"
    NOT_REACHED = "not_reached"


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """What happened to one rule in a dry run, and why."""

    rule_id: str
    rule_name: str
    outcome: Outcome
    note: str
    explanation: Explanation | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "outcome": self.outcome.value,
            "note": self.note,
        }
        if self.explanation is not None:
            out["explanation"] = self.explanation.to_dict()
        return out


@dataclass(frozen=True, slots=True)
class EvaluationResult:
    """The firings in order, the net fact changes they plan (path to final value), how many passes
    ran, which rule stopped processing, and, for a dry run, an outcome per rule."""

    event: EventType
    firings: tuple[Firing, ...]
    changes: Mapping[str, Any]
    passes: int
    stopped_by: str | None = None
    pass_limit_reached: bool = False
    outcomes: tuple[RuleOutcome, ...] = field(default=())

    @property
    def actions(self) -> tuple[PlannedAction, ...]:
        return tuple(action for firing in self.firings for action in firing.actions)

    @property
    def fired_rule_ids(self) -> tuple[str, ...]:
        return tuple(firing.rule_id for firing in self.firings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.event.value,
            "firings": [firing.to_dict() for firing in self.firings],
            "changes": {
                path: sorted(v) if isinstance(v, frozenset) else v for path, v in self.changes.items()
            },
            "passes": self.passes,
            "stopped_by": self.stopped_by,
            "pass_limit_reached": self.pass_limit_reached,
            "outcomes": [outcome.to_dict() for outcome in self.outcomes],
        }


def _fire(rule: Rule, ctx: Context, pass_number: int) -> tuple[Firing, list[str]]:
    """Plan a rule's actions in order, applying each one's fact changes before planning the next;
    returns the firing and the fact paths it changed."""
    snapshot = ctx.snapshot()
    scope = Scope({"id": rule.id, "name": rule.name}, f"rule {show(rule.name)}")
    planned: list[PlannedAction] = []
    skipped: list[str] = []
    changed: list[str] = []
    for spec in rule.actions:
        plan = spec.plan(ctx.values, scope)
        if plan.action is None:
            skipped.append(f"{spec.type}: {plan.skipped}")
            continue
        planned.append(plan.action)
        for path, value in plan.changes.items():
            if read_value(ctx.values, path) != value:
                write_value(ctx.values, path, value)
                changed.append(path)
    return Firing(rule, tuple(planned), pass_number, tuple(skipped), snapshot), changed


@dataclass(slots=True)
class _Run:
    firings: list[Firing] = field(default_factory=list)
    explanations: dict[str, Explanation] = field(default_factory=dict)
    passes: int = 0
    stopped_by: str | None = None
    pass_limit_reached: bool = False


def _candidates(rules: RuleSet, facts: TicketFacts, event: EventType) -> list[Rule]:
    candidates = rules.for_event(event)
    if event is EventType.TIMER and facts.automations_fired:
        return [rule for rule in candidates if rule.id not in facts.automations_fired]
    return list(candidates)


def _run(ctx: Context, rules: RuleSet, candidates: list[Rule], keep_explanations: bool) -> _Run:
    run = _Run()
    # Rules to test again: those reading a fact that changed after their last test. A rule whose
    # facts did not change would give the same answer, so it is not re-tested.
    dirty: set[str] = set()
    readers = rules.readers
    pending = candidates
    while True:
        run.passes += 1
        remaining: list[Rule] = []
        for rule in pending:
            if run.passes > 1 and rule.id not in dirty:
                remaining.append(rule)
                continue
            dirty.discard(rule.id)
            if not rule.conditions.test(ctx):
                remaining.append(rule)
                if keep_explanations:
                    run.explanations[rule.id] = rule.conditions.explain(ctx)
                continue
            firing, changed = _fire(rule, ctx, run.passes)
            run.firings.append(firing)
            for path in changed:
                dirty.update(readers.get(path, ()))
            if rule.stop_processing:
                run.stopped_by = rule.id
                return run
        if not any(rule.id in dirty for rule in remaining):
            return run
        if run.passes == MAX_PASSES:
            run.pass_limit_reached = True
            return run
        pending = remaining


def _changes(ctx: Context) -> dict[str, Any]:
    """Net changes: facts whose working value differs from the value the evaluation started with."""
    out: dict[str, Any] = {}
    for path in ("priority", "category", "scenario", "team", "assignee", "tags"):
        if ctx.values[path] != ctx.initial[path]:
            out[path] = ctx.values[path]
    before, after = ctx.initial["fields"], ctx.values["fields"]
    if after is not before:
        for key, value in after.items():
            if key not in before or before[key] != value:
                out[f"fields.{key}"] = value
    return out


def evaluate(
    rules: RuleSet, facts: TicketFacts, event: TriggeringEvent | EventType | str
) -> EvaluationResult:
    """Which rules fire on this ticket for this event, and the actions they plan (see the module
    docstring for order, stop processing and the loop guard). Pure: the facts are not modified."""
    triggering = as_event(event)
    ctx = Context(facts_values(facts), triggering.previous)
    run = _run(ctx, rules, _candidates(rules, facts, triggering.type), keep_explanations=False)
    return EvaluationResult(
        triggering.type, tuple(run.firings), _changes(ctx), run.passes, run.stopped_by, run.pass_limit_reached
    )


def _outcome(
    rule: Rule, event: EventType, facts: TicketFacts, run: _Run, fired: Mapping[str, Firing]
) -> RuleOutcome:
    if rule.id in fired:
        firing = fired[rule.id]
        return RuleOutcome(
            rule.id, rule.name, Outcome.FIRED, f"fired in pass {firing.pass_number}", firing.explanation
        )
    if not rule.active:
        return RuleOutcome(rule.id, rule.name, Outcome.INACTIVE, "the rule is switched off")
    if not rule.runs_on(event):
        runs_on = (
            "the timer sweep" if rule.kind is RuleKind.AUTOMATION else ", ".join(e.value for e in rule.on)
        )
        return RuleOutcome(rule.id, rule.name, Outcome.OTHER_EVENT, f"runs on {runs_on}, not {event.value}")
    if event is EventType.TIMER and rule.id in facts.automations_fired:
        return RuleOutcome(rule.id, rule.name, Outcome.ALREADY_FIRED, "already fired on this ticket")
    explanation = run.explanations.get(rule.id)
    if explanation is None:
        return RuleOutcome(
            rule.id, rule.name, Outcome.NOT_REACHED, f"rule {run.stopped_by} stopped processing first"
        )
    failed = "; ".join(leaf.reason for leaf in explanation.failed_conditions()) or explanation.reason
    return RuleOutcome(rule.id, rule.name, Outcome.NOT_MATCHED, failed, explanation)


def dry_run(rules: RuleSet, facts: TicketFacts, event: TriggeringEvent | EventType | str) -> EvaluationResult:
    """The same evaluation as :func:`evaluate`, plus an outcome with its explanation for every rule
    in the set: which would fire on this ticket now, and why or why not."""
    triggering = as_event(event)
    ctx = Context(facts_values(facts), triggering.previous)
    run = _run(ctx, rules, _candidates(rules, facts, triggering.type), keep_explanations=True)
    fired = {firing.rule_id: firing for firing in run.firings}
    outcomes = tuple(_outcome(rule, triggering.type, facts, run, fired) for rule in rules.rules)
    return EvaluationResult(
        triggering.type,
        tuple(run.firings),
        _changes(ctx),
        run.passes,
        run.stopped_by,
        run.pass_limit_reached,
        outcomes,
    )
