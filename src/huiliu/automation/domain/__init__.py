"""The rule engine. Pure: no database, no HTTP; it decides, ``tickets.service`` applies.

- :mod:`.facts` — the field catalog, :class:`TicketFacts` (what the caller knows about a ticket now)
  and :class:`TriggeringEvent` (the event, with previous values for ``changed`` operators);
- :mod:`.condition_schema`, :mod:`.conditions`, :mod:`.context` — condition trees read from JSON,
  compiled into closures, explained;
- :mod:`.action_schema`, :mod:`.actions`, :mod:`.planned` — action definitions, planning, and the
  planned actions the write path receives;
- :mod:`.rules` — rule definitions (validated JSON) and rule sets indexed by event;
- :mod:`.engine` — :func:`evaluate` and :func:`dry_run` (order, stop processing, loop guard);
- :mod:`.presets` — the three rules a tenant starts with.

Typical use::

    rules = compile_rules(definitions)           # once per tenant and rule change
    event = TriggeringEvent(EventType.TICKET_UPDATED, previous={"priority": "normal"})
    result = evaluate(rules, facts, event)
    for firing in result.firings:                # record "rule X fired", apply firing.actions
        ...
"""

from huiliu.automation.domain.action_schema import ACTION_TYPES, NOTIFY_CHANNELS, SEVERITIES, url_problem
from huiliu.automation.domain.actions import raised_priority
from huiliu.automation.domain.conditions import OPERATORS, OPERATORS_BY_TYPE
from huiliu.automation.domain.context import Explanation
from huiliu.automation.domain.engine import (
    MAX_PASSES,
    EvaluationResult,
    Firing,
    Outcome,
    RuleOutcome,
    dry_run,
    evaluate,
)
from huiliu.automation.domain.facts import (
    FIELDS,
    PRIORITIES,
    TRIGGER_EVENTS,
    ClassificationFacts,
    EventType,
    FieldSpec,
    FieldType,
    RuleKind,
    TicketFacts,
    TriggeringEvent,
    field_spec,
    with_business_hours,
)
from huiliu.automation.domain.planned import (
    AddInternalNote,
    AddTag,
    Assign,
    CallWebhook,
    CreateSubtask,
    Escalate,
    Notify,
    PlannedAction,
    RemoveTag,
    SendReplyTemplate,
    SetField,
)
from huiliu.automation.domain.presets import default_rules
from huiliu.automation.domain.problems import RuleDefinitionError
from huiliu.automation.domain.rules import MAX_RULES, Rule, RuleSet, compile_rules, parse_rule
from huiliu.automation.domain.text import MAX_MATCH_CHARS, MAX_PATTERN_CHARS

__all__ = [
    "ACTION_TYPES",
    "FIELDS",
    "MAX_MATCH_CHARS",
    "MAX_PASSES",
    "MAX_PATTERN_CHARS",
    "MAX_RULES",
    "NOTIFY_CHANNELS",
    "OPERATORS",
    "OPERATORS_BY_TYPE",
    "PRIORITIES",
    "SEVERITIES",
    "TRIGGER_EVENTS",
    "AddInternalNote",
    "AddTag",
    "Assign",
    "CallWebhook",
    "ClassificationFacts",
    "CreateSubtask",
    "Escalate",
    "EvaluationResult",
    "EventType",
    "Explanation",
    "FieldSpec",
    "FieldType",
    "Firing",
    "Notify",
    "Outcome",
    "PlannedAction",
    "RemoveTag",
    "Rule",
    "RuleDefinitionError",
    "RuleKind",
    "RuleOutcome",
    "RuleSet",
    "SendReplyTemplate",
    "SetField",
    "TicketFacts",
    "TriggeringEvent",
    "compile_rules",
    "default_rules",
    "dry_run",
    "evaluate",
    "field_spec",
    "parse_rule",
    "raised_priority",
    "url_problem",
    "with_business_hours",
]
