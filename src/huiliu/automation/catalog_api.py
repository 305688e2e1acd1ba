"""The rule catalog: what a rule definition may use, read from the engine's own tables so the console's
rule builder offers exactly what the server accepts.

``GET /api/v1/rules/catalog`` answers the condition fields (type, group, choices, label key), the
operators each field type takes, the trigger events and time anchors, the action types with their
parameters, notification channels and severities, template variables, the definition limits, and
where the pickers for references (users, teams, roles, routing policies) load their options. It
needs ``admin.rules`` like every rules route and is the same for every tenant.

The router is mounted before the rules router: ``/api/v1/rules/{rule_id}`` would otherwise take
``catalog`` for an id.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.routing import Route

from huiliu.auth.deps import ActorDep
from huiliu.automation import service
from huiliu.automation.domain.action_schema import ACTION_TYPES, NOTIFY_CHANNELS, SEVERITIES
from huiliu.automation.domain.condition_schema import MAX_CONDITIONS, MAX_DEPTH, MAX_GROUP_SIZE
from huiliu.automation.domain.conditions import (
    CHANGE_OPERATORS,
    COMPARISONS,
    NO_VALUE_OPERATORS,
    OPERATORS,
    OPERATORS_BY_TYPE,
)
from huiliu.automation.domain.facts import (
    CUSTOM_FIELD_PREFIX,
    CUSTOMER_PREFIX,
    FIELDS,
    TRIGGER_EVENTS,
    FieldSpec,
    FieldType,
    RuleKind,
)
from huiliu.automation.domain.rules import MAX_ACTIONS
from huiliu.automation.domain.text import RULE_VARIABLES, TICKET_VARIABLES

router = APIRouter(prefix="/api/v1/rules", tags=["rules"])

# How the builder groups the field select. Every catalog field has exactly one group
# (tests/automation/test_catalog_api.py checks it), so a new field cannot be left out silently.
FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "ticket": (
        "status",
        "priority",
        "category",
        "scenario",
        "channel",
        "entry_point",
        "team",
        "assignee",
        "tags",
        "agent_replied",
        "rating",
    ),
    "customer": ("customer.name", "customer.level"),
    "text": ("title", "description", "last_message", "rating_comment"),
    "classification": (
        "classification.scenario",
        "classification.category",
        "classification.priority",
        "classification.sentiment",
        "classification.scenario_confidence",
        "classification.category_confidence",
        "classification.priority_confidence",
        "classification.sentiment_confidence",
        "classification.needs_triage",
        "classification.low_confidence",
        "classification.label",
        "classification.confidence",
    ),
    "time": (
        "within_business_hours",
        "hours_since_created",
        "hours_since_last_customer_message",
        "hours_since_last_agent_reply",
        "hours_since_status_entered",
        "sla.percent",
        "sla.first_response_percent",
        "sla.next_response_percent",
        "sla.resolution_percent",
    ),
    "counters": ("reopen_count", "alarm_occurrences"),
}
# The clocks an automation rule waits on: hours since a moment, or how much of an SLA target is used.
TIME_ANCHORS: tuple[tuple[str, str], ...] = (
    ("hours_since_created", "hours"),
    ("hours_since_last_customer_message", "hours"),
    ("hours_since_last_agent_reply", "hours"),
    ("hours_since_status_entered", "hours"),
    ("sla.percent", "percent"),
    ("sla.first_response_percent", "percent"),
    ("sla.next_response_percent", "percent"),
    ("sla.resolution_percent", "percent"),
)
# Fields whose values are references the builder picks from a list loaded from the API.
FIELD_REFERENCES: dict[str, str] = {"team": "teams", "assignee": "users", "entry_point": "entry_points"}


class ParamOut(BaseModel):
    name: str
    type: str = Field(
        description="text, template, enum, bool, json, field, reference, references or channels"
    )
    required: bool = False
    choices: list[str] = []
    reference: str | None = Field(None, description="for reference(s): users, teams, roles, routing_policies")
    default: Any = None
    label_key: str


class ActionOut(BaseModel):
    type: str
    label_key: str
    params: list[ParamOut]


class FieldOut(BaseModel):
    path: str
    type: str
    group: str
    choices: list[str]
    ordered: bool
    changeable: bool
    settable: bool
    reference: str | None
    label_key: str


class DynamicFieldOut(BaseModel):
    prefix: str
    type: str
    group: str
    settable: bool
    label_key: str


class TimeAnchorOut(BaseModel):
    field: str
    unit: str


class ReferencesOut(BaseModel):
    users: str
    teams: str
    roles: str
    entry_points: str
    routing_policies: str | None = Field(
        None, description="null while the server has no routing policies API"
    )


class LimitsOut(BaseModel):
    max_depth: int
    max_conditions: int
    max_group_size: int
    max_actions: int


class CatalogOut(BaseModel):
    kinds: list[str]
    events: list[str]
    field_groups: list[str]
    fields: list[FieldOut]
    dynamic_fields: list[DynamicFieldOut]
    operators: list[str]
    operators_by_type: dict[str, list[str]]
    ordered_operators: list[str]
    change_operators: list[str]
    no_value_operators: list[str]
    list_operators: list[str]
    time_anchors: list[TimeAnchorOut]
    actions: list[ActionOut]
    notify_channels: list[str]
    severities: list[str]
    template_variables: list[str]
    limits: LimitsOut
    references: ReferencesOut


def _group_of(path: str) -> str:
    for group, paths in FIELD_GROUPS.items():
        if path in paths:
            return group
    raise LookupError(f"field {path!r} has no group in the rule catalog")


def _field(spec: FieldSpec) -> dict[str, Any]:
    return {
        "path": spec.path,
        "type": spec.type.value,
        "group": _group_of(spec.path),
        "choices": list(spec.choices),
        "ordered": spec.ordered,
        "changeable": spec.changeable,
        "settable": spec.settable,
        "reference": FIELD_REFERENCES.get(spec.path),
        "label_key": f"rules.fields.{spec.path}",
    }


def _in_order(operators: frozenset[str] | set[str]) -> list[str]:
    return [op for op in OPERATORS if op in operators]


def _param(name: str, type_: str, action: str, **options: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "label_key": f"rules.params.{action}.{name}", **options}


def _settable_fields() -> list[str]:
    return [path for path, spec in FIELDS.items() if spec.settable]


def _actions() -> list[dict[str, Any]]:
    params: dict[str, list[dict[str, Any]]] = {
        "set_field": [
            _param("field", "field", "set_field", required=True, choices=_settable_fields()),
            _param("value", "json", "set_field", required=True),
        ],
        "add_tag": [_param("tag", "text", "add_tag", required=True)],
        "remove_tag": [_param("tag", "text", "remove_tag", required=True)],
        "assign": [
            _param("agent", "reference", "assign", reference="users"),
            _param("team", "reference", "assign", reference="teams"),
            _param("routing_policy", "reference", "assign", reference="routing_policies"),
        ],
        "add_internal_note": [_param("body", "template", "add_internal_note", required=True)],
        "send_reply_template": [_param("template", "text", "send_reply_template", required=True)],
        "notify": [
            _param("users", "references", "notify", reference="users", default=[]),
            _param("roles", "references", "notify", reference="roles", default=[]),
            _param("team_lead", "bool", "notify", default=False),
            _param("assignee", "bool", "notify", default=False),
            _param("channels", "channels", "notify", choices=list(NOTIFY_CHANNELS), default=[]),
            _param("severity", "enum", "notify", choices=list(SEVERITIES), default="info"),
            _param("message", "template", "notify", default=""),
        ],
        "create_subtask": [
            _param("title", "template", "create_subtask", required=True),
            _param("description", "template", "create_subtask", default=""),
            _param("team", "reference", "create_subtask", reference="teams"),
        ],
        "escalate": [
            _param("raise_priority", "bool", "escalate", default=True),
            _param("to_team_lead", "bool", "escalate", default=True),
        ],
        "call_webhook": [
            _param("url", "text", "call_webhook", required=True),
            _param("payload", "json", "call_webhook"),
        ],
    }
    return [
        {"type": kind, "label_key": f"rules.actions.{kind}", "params": params[kind]} for kind in ACTION_TYPES
    ]


def _has_route(request: Request, path: str) -> bool:
    return any(isinstance(route, Route) and route.path == path for route in request.app.routes)


def build_catalog(routing_policies: str | None) -> dict[str, Any]:
    """The catalog; ``routing_policies`` is the URL of the routing policies list when the server has one."""
    return {
        "kinds": [kind.value for kind in RuleKind],
        "events": [event.value for event in TRIGGER_EVENTS],
        "field_groups": list(FIELD_GROUPS),
        "fields": [_field(spec) for spec in FIELDS.values()],
        "dynamic_fields": [
            {
                "prefix": CUSTOM_FIELD_PREFIX,
                "type": FieldType.ANY.value,
                "group": "ticket",
                "settable": True,
                "label_key": "rules.fields.custom",
            },
            {
                "prefix": CUSTOMER_PREFIX,
                "type": FieldType.ANY.value,
                "group": "customer",
                "settable": False,
                "label_key": "rules.fields.customerAttribute",
            },
        ],
        "operators": list(OPERATORS),
        "operators_by_type": {kind.value: _in_order(ops) for kind, ops in OPERATORS_BY_TYPE.items()},
        "ordered_operators": _in_order(set(COMPARISONS)),
        "change_operators": _in_order(CHANGE_OPERATORS),
        "no_value_operators": _in_order(NO_VALUE_OPERATORS),
        "list_operators": ["in", "not_in"],
        "time_anchors": [{"field": path, "unit": unit} for path, unit in TIME_ANCHORS],
        "actions": _actions(),
        "notify_channels": list(NOTIFY_CHANNELS),
        "severities": list(SEVERITIES),
        "template_variables": [
            *(f"ticket.{name}" for name in sorted(TICKET_VARIABLES)),
            "customer.name",
            "customer.level",
            "customer.<attribute>",
            "fields.<key>",
            *(f"rule.{name}" for name in sorted(RULE_VARIABLES)),
        ],
        "limits": {
            "max_depth": MAX_DEPTH,
            "max_conditions": MAX_CONDITIONS,
            "max_group_size": MAX_GROUP_SIZE,
            "max_actions": MAX_ACTIONS,
        },
        "references": {
            "users": "/api/v1/users",
            "teams": "/api/v1/teams",
            "roles": "/api/v1/roles",
            "entry_points": "/api/v1/entry-points",
            "routing_policies": routing_policies,
        },
    }


ROUTING_POLICIES_PATH = "/api/v1/routing/policies"


@router.get(
    "/catalog", response_model=CatalogOut, summary="What a rule definition may use (for the rule builder)"
)
async def rule_catalog(request: Request, actor: ActorDep) -> dict[str, Any]:
    """Fields, operators per field type, events, time anchors, actions with their parameters and the
    lists the reference pickers load; ``references.routing_policies`` is null until the server has a
    routing policies API."""
    actor.require(service.PERMISSION)
    routing = ROUTING_POLICIES_PATH if _has_route(request, ROUTING_POLICIES_PATH) else None
    return build_catalog(routing)
