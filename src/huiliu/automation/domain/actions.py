"""Actions planned against the working facts, never applied here (definitions are read in
:mod:`.action_schema`).

A rule's actions become *planned actions* (frozen values with the reason the rule fired); the
write path (``tickets.service``) applies them, resolving references (agent, team, role, template,
routing policy) and turning notifications, replies and webhooks into outbox rows. Planning also
returns the fact changes an action implies (``set_field``, tags, ``assign``, ``escalate``), which the
engine applies to its working copy so later rules see them. An action that would change nothing
(a tag already there, a priority already set) is skipped with a note instead of planned.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from huiliu.automation.domain.conditions import same
from huiliu.automation.domain.facts import PRIORITIES, PRIORITY_RANK, Values, read_value
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
from huiliu.automation.domain.text import Template
from huiliu.tickets.domain import MAX_TAGS


@dataclass(frozen=True, slots=True)
class Plan:
    """What one action contributes: the planned action and its fact changes, or why it was skipped."""

    action: PlannedAction | None
    changes: Mapping[str, Any]
    skipped: str | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """What templates and reasons may name about the firing rule."""

    rule: Mapping[str, str]
    reason: str


def _skip(why: str) -> Plan:
    return Plan(None, {}, why)


class ActionSpec(ABC):
    """A compiled action: ``plan`` turns it into the changes and effects it would make."""

    __slots__ = ("definition",)
    type: ClassVar[str]

    def __init__(self, definition: dict[str, Any]) -> None:
        self.definition = definition

    @abstractmethod
    def plan(self, values: Values, scope: Scope) -> Plan: ...

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **self.definition}


class SetFieldSpec(ActionSpec):
    __slots__ = ("field", "value")
    type = "set_field"

    def __init__(self, definition: dict[str, Any]) -> None:
        super().__init__(definition)
        self.field: str = definition["field"]
        self.value: Any = definition["value"]

    def plan(self, values: Values, scope: Scope) -> Plan:
        current = read_value(values, self.field)
        if same(current, self.value) and type(current) is type(self.value):
            return _skip(f"{self.field} is already {self.value!r}")
        return Plan(SetField(self.field, self.value, current, scope.reason), {self.field: self.value})


class AddTagSpec(ActionSpec):
    __slots__ = ("tag",)
    type = "add_tag"

    def __init__(self, definition: dict[str, Any]) -> None:
        super().__init__(definition)
        self.tag: str = definition["tag"]

    def plan(self, values: Values, scope: Scope) -> Plan:
        tags: frozenset[str] = values["tags"]
        if self.tag in tags:
            return _skip(f"the ticket already has tag {self.tag!r}")
        if len(tags) >= MAX_TAGS:
            return _skip(f"the ticket already carries {MAX_TAGS} tags")
        return Plan(AddTag(self.tag, scope.reason), {"tags": tags | {self.tag}})


class RemoveTagSpec(ActionSpec):
    __slots__ = ("tag",)
    type = "remove_tag"

    def __init__(self, definition: dict[str, Any]) -> None:
        super().__init__(definition)
        self.tag: str = definition["tag"]

    def plan(self, values: Values, scope: Scope) -> Plan:
        tags: frozenset[str] = values["tags"]
        if self.tag not in tags:
            return _skip(f"the ticket has no tag {self.tag!r}")
        return Plan(RemoveTag(self.tag, scope.reason), {"tags": tags - {self.tag}})


class AssignSpec(ActionSpec):
    __slots__ = ("agent", "routing_policy", "team")
    type = "assign"

    def __init__(self, definition: dict[str, Any]) -> None:
        super().__init__(definition)
        self.agent: str | None = definition.get("agent")
        self.team: str | None = definition.get("team")
        self.routing_policy: str | None = definition.get("routing_policy")

    def plan(self, values: Values, scope: Scope) -> Plan:
        changes: dict[str, Any] = {}
        if self.team is not None and self.team != values["team"]:
            changes["team"] = self.team
        if self.agent is not None and self.agent != values["assignee"]:
            changes["assignee"] = self.agent
        if not changes and self.routing_policy is None:
            return _skip("the ticket is already assigned so")
        return Plan(Assign(self.agent, self.team, self.routing_policy, scope.reason), changes)


class AddInternalNoteSpec(ActionSpec):
    __slots__ = ("body",)
    type = "add_internal_note"

    def __init__(self, definition: dict[str, Any], body: Template) -> None:
        super().__init__(definition)
        self.body = body

    def plan(self, values: Values, scope: Scope) -> Plan:
        return Plan(AddInternalNote(self.body.render(values, scope.rule), scope.reason), {})


class SendReplyTemplateSpec(ActionSpec):
    __slots__ = ("template",)
    type = "send_reply_template"

    def __init__(self, definition: dict[str, Any]) -> None:
        super().__init__(definition)
        self.template: str = definition["template"]

    def plan(self, values: Values, scope: Scope) -> Plan:
        return Plan(SendReplyTemplate(self.template, scope.reason), {})


class NotifySpec(ActionSpec):
    __slots__ = ("message",)
    type = "notify"

    def __init__(self, definition: dict[str, Any], message: Template) -> None:
        super().__init__(definition)
        self.message = message

    def plan(self, values: Values, scope: Scope) -> Plan:
        d = self.definition
        return Plan(
            Notify(
                users=tuple(d["users"]),
                roles=tuple(d["roles"]),
                team_lead=d["team_lead"],
                assignee=d["assignee"],
                team=values["team"],
                channels=tuple(d["channels"]),
                severity=d["severity"],
                message=self.message.render(values, scope.rule),
                reason=scope.reason,
            ),
            {},
        )


class CreateSubtaskSpec(ActionSpec):
    __slots__ = ("description", "title")
    type = "create_subtask"

    def __init__(self, definition: dict[str, Any], title: Template, description: Template) -> None:
        super().__init__(definition)
        self.title = title
        self.description = description

    def plan(self, values: Values, scope: Scope) -> Plan:
        return Plan(
            CreateSubtask(
                title=self.title.render(values, scope.rule)[:300],
                description=self.description.render(values, scope.rule),
                team=self.definition.get("team"),
                reason=scope.reason,
            ),
            {},
        )


def raised_priority(priority: str) -> str | None:
    """One step more urgent, or ``None`` at the top."""
    rank = PRIORITY_RANK[priority]
    return PRIORITIES[rank + 1] if rank + 1 < len(PRIORITIES) else None


class EscalateSpec(ActionSpec):
    __slots__ = ()
    type = "escalate"

    def plan(self, values: Values, scope: Scope) -> Plan:
        current: str = values["priority"]
        raised = raised_priority(current) if self.definition["raise_priority"] else None
        to_lead: bool = self.definition["to_team_lead"]
        if raised is None and not to_lead:
            return _skip(f"the priority is already {current}")
        action = Escalate(current, raised, to_lead, values["team"], scope.reason)
        return Plan(action, {"priority": raised} if raised else {})


class CallWebhookSpec(ActionSpec):
    __slots__ = ("payload",)
    type = "call_webhook"

    def __init__(self, definition: dict[str, Any], payload: Any) -> None:
        super().__init__(definition)
        self.payload = payload

    def plan(self, values: Values, scope: Scope) -> Plan:
        payload = None if self.payload is None else _render_payload(self.payload, values, scope)
        return Plan(CallWebhook(self.definition["url"], payload, scope.reason), {})


def _render_payload(template: Any, values: Values, scope: Scope) -> Any:
    if isinstance(template, Template):
        return template.render(values, scope.rule)
    if isinstance(template, dict):
        return {key: _render_payload(item, values, scope) for key, item in template.items()}
    if isinstance(template, list):
        return [_render_payload(item, values, scope) for item in template]
    return template
