"""Planned actions: what a fired rule asks the write path (``tickets.service``) to do. Frozen
values carrying references (agent, team, role, template, routing policy) as the rule names them;
the write path resolves them, applies field changes and turns notifications, replies and webhooks
into outbox rows."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar


class _Planned:
    __slots__ = ()
    type: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        for item in fields(self):  # type: ignore[arg-type]
            value = getattr(self, item.name)
            out[item.name] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass(frozen=True, slots=True)
class SetField(_Planned):
    type: ClassVar[str] = "set_field"
    field: str
    value: Any
    previous: Any
    reason: str


@dataclass(frozen=True, slots=True)
class AddTag(_Planned):
    type: ClassVar[str] = "add_tag"
    tag: str
    reason: str


@dataclass(frozen=True, slots=True)
class RemoveTag(_Planned):
    type: ClassVar[str] = "remove_tag"
    tag: str
    reason: str


@dataclass(frozen=True, slots=True)
class Assign(_Planned):
    """Assign to an agent, a team, or through a routing policy (the routing engine then picks the
    agent); references are resolved by the caller."""

    type: ClassVar[str] = "assign"
    agent: str | None
    team: str | None
    routing_policy: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class AddInternalNote(_Planned):
    type: ClassVar[str] = "add_internal_note"
    body: str
    reason: str


@dataclass(frozen=True, slots=True)
class SendReplyTemplate(_Planned):
    type: ClassVar[str] = "send_reply_template"
    template: str
    reason: str


@dataclass(frozen=True, slots=True)
class Notify(_Planned):
    """Tell people: named users, everyone with a role, the lead of ``team`` and/or the assignee.
    No channels means the recipients' own preferences decide."""

    type: ClassVar[str] = "notify"
    users: tuple[str, ...]
    roles: tuple[str, ...]
    team_lead: bool
    assignee: bool
    team: str | None
    channels: tuple[str, ...]
    severity: str
    message: str
    reason: str


@dataclass(frozen=True, slots=True)
class CreateSubtask(_Planned):
    type: ClassVar[str] = "create_subtask"
    title: str
    description: str
    team: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Escalate(_Planned):
    """Raise the priority one step (``priority_to`` is ``None`` when it stays) and/or hand the ticket
    to the lead of ``team``."""

    type: ClassVar[str] = "escalate"
    priority_from: str
    priority_to: str | None
    to_team_lead: bool
    team: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class CallWebhook(_Planned):
    """POST to ``url``; ``payload`` ``None`` means the standard ticket event payload."""

    type: ClassVar[str] = "call_webhook"
    url: str
    payload: Any
    reason: str


PlannedAction = (
    SetField
    | AddTag
    | RemoveTag
    | Assign
    | AddInternalNote
    | SendReplyTemplate
    | Notify
    | CreateSubtask
    | Escalate
    | CallWebhook
)
