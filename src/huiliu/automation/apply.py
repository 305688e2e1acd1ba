"""Applying planned actions to a ticket through the write path (``tickets.service``).

The engine plans (:mod:`huiliu.automation.domain`); this module applies. Every action runs through a
ticket service function with a system actor named after its origin (``rule:退款转售后``,
``sla_tier:75 % 提醒``), so each change is an audit event that names what made it; one
``ticket.rule_fired`` (or ``ticket.sla_tier_fired``) event per call lists the actions and their
outcomes. Side effects on the outside world are outbox rows in the same transaction: a notification
(kind ``notification``, recipients resolved to user ids) and a rule's webhook call (kind
``rule_webhook``: a URL of the rule's own, so it is not one of the webhook subscriptions that kind
``webhook`` rows are delivered to).

All actions of a call commit together or not at all: while applying, the unit of work holds its
commit the way a reaction does (docs/decisions/0015), so the service functions' own ``commit()``
return without committing and the caller's commit writes everything. A reference that names nothing
in the tenant (a deleted team, a role nobody holds) skips that one action with a note; an error from
the write path (an inactive agent, a database failure) propagates and nothing is applied.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pydantic

from huiliu.auth.domain import Actor, system_actor
from huiliu.automation import references
from huiliu.automation.domain import (
    AddInternalNote,
    AddTag,
    Assign,
    CallWebhook,
    CreateSubtask,
    Escalate,
    Notify,
    PlannedAction,
    RemoveTag,
    RuleDefinitionError,
    SendReplyTemplate,
    SetField,
    TicketFacts,
)
from huiliu.automation.domain.action_schema import compile_action
from huiliu.automation.domain.actions import ActionSpec, Scope
from huiliu.automation.domain.context import show
from huiliu.automation.domain.facts import facts_values, read_value, write_value
from huiliu.automation.domain.presets import INTERNAL_CHANNEL
from huiliu.automation.domain.problems import Problems
from huiliu.automation.domain.text import TemplateError, compile_template
from huiliu.automation.loading import load_facts, load_ticket
from huiliu.automation.webhook_delivery import KIND_RULE_WEBHOOK
from huiliu.core.clock import utcnow
from huiliu.core.errors import Conflict, NotFound, ValidationFailed
from huiliu.core.ids import new_id
from huiliu.core.outbox import STATE_PENDING, OutboxRow
from huiliu.db.session import UnitOfWork
from huiliu.tickets import service as tickets
from huiliu.tickets.domain import Priority
from huiliu.tickets.schemas import TicketCreate, TicketUpdate

RULE = "rule"
SLA_TIER = "sla_tier"
ORIGIN_KINDS = (RULE, SLA_TIER)
KIND_NOTIFICATION = "notification"
TICKET_NOTIFIED = "ticket.notified"
APPLIED = "applied"
SKIPPED = "skipped"
SUBTASK_CHANNEL = INTERNAL_CHANNEL
MAX_ACTOR_NAME = 200
MAX_REASON = 500

# Reply templates a rule can name by key; any other reference is the reply text itself, with
# ``{{ … }}`` template variables (there are no stored reply templates yet).
REPLY_TEMPLATES: dict[str, str] = {
    "acknowledge": "您好，我们已收到您的工单 #{{ticket.number}}「{{ticket.title}}」，会尽快为您处理。",
    "refund_received": "您好，您的退款申请（工单 #{{ticket.number}}）已转交售后，"
    "我们会在 1 个工作日内联系您。",
    "pending_reminder": "您好，工单 #{{ticket.number}} 还在等待您的回复，如问题已解决请告诉我们。",
    "resolved_check": "您好，工单 #{{ticket.number}} 已处理完毕，如仍有问题请直接回复本消息。",
}


@dataclass(frozen=True)
class Origin:
    """What asks for the actions: a rule (``kind`` ``rule``) or an SLA warning tier (``sla_tier``)."""

    kind: str
    id: str
    name: str

    def __post_init__(self) -> None:
        if self.kind not in ORIGIN_KINDS:
            raise ValueError(f"an origin is one of {', '.join(ORIGIN_KINDS)}, not {self.kind!r}")

    @property
    def actor_name(self) -> str:
        return f"{self.kind}:{self.name}"[:MAX_ACTOR_NAME]

    @property
    def label(self) -> str:
        return f"{'rule' if self.kind == RULE else 'SLA tier'} 「{self.name}」 ({self.id})"

    @property
    def event_type(self) -> str:
        return f"ticket.{self.kind}_fired"

    def actor(self, tenant_id: uuid.UUID) -> Actor:
        return system_actor(tenant_id, self.actor_name)

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id, "name": self.name}


@dataclass(frozen=True)
class AppliedAction:
    """One action's outcome: ``applied`` (with what it did) or ``skipped`` (and why)."""

    type: str
    outcome: str
    detail: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "outcome": self.outcome, "detail": self.detail, **_jsonable(self.data)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [_jsonable(item) for item in value]
    return value


# --- building planned actions from stored JSON --------------------------------------------------------


def compile_actions(definitions: Sequence[Any]) -> tuple[ActionSpec, ...]:
    """Validate and compile a JSON action list (the rule definitions' ``actions`` format), or raise
    :class:`RuleDefinitionError` (422) listing every problem with its index."""
    problems = Problems()
    specs = [compile_action(item, (index,), problems) for index, item in enumerate(definitions)]
    problems.raise_if_any()
    return tuple(spec for spec in specs if spec is not None)


def plan_actions(
    actions: Sequence[ActionSpec] | Sequence[Mapping[str, Any]], facts: TicketFacts, *, origin: Origin
) -> list[PlannedAction]:
    """The planned actions a JSON action list (or compiled specs) makes for a ticket with ``facts``, in
    order, each planned on the facts the earlier ones changed; no-ops (a tag already there) are left
    out, as the engine does for rules. For SLA tiers and other stored action lists."""
    specs: Sequence[ActionSpec] = (
        compile_actions(actions) if actions and not isinstance(actions[0], ActionSpec) else actions  # type: ignore[assignment]
    )
    values = facts_values(facts)
    scope = Scope({"id": origin.id, "name": origin.name}, origin.label)
    planned: list[PlannedAction] = []
    for spec in specs:
        plan = spec.plan(values, scope)
        if plan.action is None:
            continue
        planned.append(plan.action)
        for path, value in plan.changes.items():
            if read_value(values, path) != value:
                write_value(values, path, value)
    return planned


# --- applying -----------------------------------------------------------------------------------------


class BatchWrites:
    """The audit events and outbox rows (notifications, webhook calls) of many ``apply_actions``
    calls in one unit of work, written by ``write`` with one INSERT per table instead of one ORM
    object per row: the timer sweep applies the same tier to thousands of tickets. The caller
    writes before it commits; nothing in between reads them back."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.events = tickets.EventLog(uow)
        self._outbox: list[dict[str, Any]] = []

    def add_outbox(self, row: dict[str, Any]) -> None:
        self._outbox.append(row)

    async def write(self) -> None:
        rows, self._outbox = self._outbox, []
        await self.events.write(rows)


@dataclass
class _Applying:
    uow: UnitOfWork
    ticket_id: uuid.UUID
    origin: Origin
    actor: Actor
    facts: TicketFacts | None
    batch: BatchWrites | None = None

    def record(self, ticket: Any, event_type: str, *, reason: str, extra: dict[str, Any]) -> None:
        """An audit event of the origin's actor on the ticket (in the batch when there is one)."""
        if self.batch is None:
            tickets.record(self.uow, self.actor, ticket, event_type, {}, reason=reason, extra=extra)
        else:
            self.batch.events.record(self.actor, ticket, event_type, {}, reason=reason, extra=extra)

    def add_outbox(self, row: dict[str, Any]) -> None:
        if self.batch is None:
            self.uow.session.add(OutboxRow(**row))
        else:
            self.batch.add_outbox(row)

    async def current_facts(self) -> TicketFacts:
        """Facts for templates, as the ticket is now (earlier actions included)."""
        return await load_facts(self.uow, self.ticket_id, now=utcnow())

    @property
    def reason(self) -> str:
        return f"{self.origin.label} fired"[:MAX_REASON]


def _skipped(action: PlannedAction, why: str) -> AppliedAction:
    return AppliedAction(action.type, SKIPPED, why)


async def apply_actions(
    uow: UnitOfWork,
    ticket_id: uuid.UUID,
    actions: Sequence[PlannedAction],
    *,
    origin: Origin,
    reason: str | None = None,
    batch: BatchWrites | None = None,
) -> list[AppliedAction]:
    """Apply ``actions`` to the ticket in order through ``tickets.service``, as ``origin``, and record
    one ``ticket.<origin kind>_fired`` event naming the origin with every action's outcome. Nothing
    is committed here: the caller's ``uow.commit()`` (or the reaction it runs in) writes it all, and
    an error in any action leaves nothing applied. ``reason`` (why the rule fired) goes into the
    event. ``batch``: the audit events and outbox rows this call records go there, for the caller to
    write with the others of its batch."""
    assert uow.tenant_id is not None
    state = _Applying(uow, ticket_id, origin, origin.actor(uow.tenant_id), None, batch)
    holding = not uow.reacting
    uow.reacting = True  # the service functions' commits return: all or nothing (module docstring)
    try:
        await load_ticket(uow, ticket_id)
        applied = [await _apply_checked(state, action) for action in actions]
        ticket = await load_ticket(uow, ticket_id)
        state.record(
            ticket,
            origin.event_type,
            reason=(reason or state.reason)[:MAX_REASON],
            extra={"origin": origin.to_dict(), "actions": [item.to_dict() for item in applied]},
        )
    finally:
        if holding:
            uow.reacting = False
    return applied


async def _apply_checked(state: _Applying, action: PlannedAction) -> AppliedAction:
    """One action; a value the write path refuses (a stored rule older than a schema change) fails the
    whole change with a 422 naming the origin and the action."""
    try:
        return await _apply_one(state, action)
    except pydantic.ValidationError as exc:
        problem = exc.errors()[0]
        detail = f"{state.origin.label}: {action.type} cannot be applied: {problem['msg']}"
        raise ValidationFailed(detail[:MAX_REASON]) from exc


async def _apply_one(state: _Applying, action: PlannedAction) -> AppliedAction:
    if isinstance(action, SetField):
        return await _set_field(state, action)
    if isinstance(action, AddTag | RemoveTag):
        return await _tag(state, action)
    if isinstance(action, Assign):
        return await _assign(state, action)
    if isinstance(action, AddInternalNote):
        return await _note(state, action.body, action.type)
    if isinstance(action, SendReplyTemplate):
        return await _reply(state, action)
    if isinstance(action, Notify):
        return await _notify(state, action)
    if isinstance(action, CreateSubtask):
        return await _subtask(state, action)
    if isinstance(action, Escalate):
        return await _escalate(state, action)
    return await _webhook(state, action)


async def _set_field(state: _Applying, action: SetField) -> AppliedAction:
    if action.field.startswith("fields."):
        key = action.field.removeprefix("fields.")
        ticket = await load_ticket(state.uow, state.ticket_id)
        update = TicketUpdate(fields={**(ticket.fields or {}), key: action.value})
    else:
        update = TicketUpdate.model_validate({action.field: action.value})
    await tickets.update_ticket(state.uow, state.actor, state.ticket_id, update)
    return AppliedAction(action.type, APPLIED, f"{action.field} = {show(action.value)}")


async def _tag(state: _Applying, action: AddTag | RemoveTag) -> AppliedAction:
    adding = isinstance(action, AddTag)
    await tickets.change_tags(
        state.uow,
        state.actor,
        state.ticket_id,
        add=[action.tag] if adding else [],
        remove=[] if adding else [action.tag],
    )
    return AppliedAction(action.type, APPLIED, f"{'+' if adding else '-'}{action.tag}")


async def _assign(state: _Applying, action: Assign) -> AppliedAction:
    uow = state.uow
    ticket = await load_ticket(uow, state.ticket_id)
    team_id, assignee_id = ticket.team_id, ticket.assignee_id
    if action.team is not None:
        team_id = await references.resolve_team(uow, action.team)
        if team_id is None:
            return _skipped(action, f"no team {action.team!r} in this tenant")
        # An agent of another team does not keep a ticket handed to this team.
        if (
            assignee_id is not None
            and action.agent is None
            and await references.user_team(uow, assignee_id) != team_id
        ):
            assignee_id = None
    if action.agent is not None:
        assignee_id = await references.resolve_user(uow, action.agent)
        if assignee_id is None:
            return _skipped(action, f"no active agent {action.agent!r} in this tenant")
    if (team_id, assignee_id) != (ticket.team_id, ticket.assignee_id):
        await tickets.assign(
            uow, state.actor, state.ticket_id, team_id=team_id, assignee_id=assignee_id, reason=state.reason
        )
    data: dict[str, Any] = {"team_id": team_id, "assignee_id": assignee_id}
    if action.routing_policy is None:
        return AppliedAction(action.type, APPLIED, "assigned", data)
    # Routing picks the agent (helper package above tickets; imported here so automation loads
    # without it).
    from huiliu.routing import service as routing

    try:
        outcome = await routing.route(
            uow, state.ticket_id, policy=action.routing_policy, actor_name=state.origin.actor_name
        )
    except (NotFound, Conflict) as exc:  # no such policy, switched off, or the ticket is not open
        return AppliedAction(action.type, SKIPPED, f"routing {action.routing_policy!r}: {exc.detail}", data)
    data.update(team_id=outcome.team_id, assignee_id=outcome.agent_id, routing=outcome.kind)
    return AppliedAction(action.type, APPLIED, f"routed by {outcome.policy_name}: {outcome.reason}", data)


async def _note(state: _Applying, body: str, kind: str) -> AppliedAction:
    if not body.strip():
        return AppliedAction(kind, SKIPPED, "the note is empty")
    await tickets.add_message(state.uow, state.actor, state.ticket_id, body, public=False)
    return AppliedAction(kind, APPLIED, "internal note added")


def reply_text(template: str) -> str:
    """The template source a reply reference stands for: a built-in key, or the text itself."""
    return REPLY_TEMPLATES.get(template, template)


async def _reply(state: _Applying, action: SendReplyTemplate) -> AppliedAction:
    try:
        template = compile_template(reply_text(action.template))
    except TemplateError as exc:
        return _skipped(action, f"template {action.template!r}: {exc}")
    facts = await state.current_facts()
    body = template.render(facts_values(facts), {"id": state.origin.id, "name": state.origin.name})
    if not body.strip():
        return _skipped(action, "the reply is empty")
    message = await tickets.add_message(state.uow, state.actor, state.ticket_id, body, public=True)
    return AppliedAction(action.type, APPLIED, "reply sent", {"message_id": message.id})


async def _recipients(state: _Applying, action: Notify) -> list[uuid.UUID]:
    uow = state.uow
    ticket = await load_ticket(uow, state.ticket_id)
    found: list[uuid.UUID] = []
    for ref in action.users:
        user_id = await references.resolve_user(uow, ref)
        if user_id is not None:
            found.append(user_id)
    found += await references.role_members(uow, await references.resolve_roles(uow, action.roles))
    if action.team_lead:
        found += await references.team_leads(uow, ticket.team_id)
    if action.assignee and ticket.assignee_id is not None:
        found.append(ticket.assignee_id)
    return list(dict.fromkeys(found))


async def _notify(state: _Applying, action: Notify) -> AppliedAction:
    recipients = await _recipients(state, action)
    if not recipients:
        return _skipped(action, "no recipient: nobody holds the roles, the team has no lead or no assignee")
    await _notification(state, recipients, list(action.channels), action.severity, action.message)
    return AppliedAction(action.type, APPLIED, f"{len(recipients)} recipient(s)", {"recipients": recipients})


async def _notification(
    state: _Applying, recipients: list[uuid.UUID], channels: list[str], severity: str, message: str
) -> None:
    """An outbox row of kind ``notification`` (delivered by the notifications package) and the
    ``ticket.notified`` event on the ticket."""
    uow = state.uow
    ticket = await load_ticket(uow, state.ticket_id)
    now = utcnow()
    notification_id = new_id()
    payload = {
        "id": str(notification_id),
        "ticket": _jsonable(tickets.summary(ticket)),
        "recipients": [str(user_id) for user_id in recipients],
        "channels": channels,
        "severity": severity,
        "message": message,
        "origin": state.origin.to_dict(),
    }
    assert uow.tenant_id is not None
    state.add_outbox(
        {
            "id": notification_id,
            "tenant_id": uow.tenant_id,
            "kind": KIND_NOTIFICATION,
            "event_id": notification_id,
            "event_type": TICKET_NOTIFIED,
            "payload": payload,
            "state": STATE_PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
    )
    state.record(
        ticket,
        TICKET_NOTIFIED,
        reason=state.reason,
        extra={
            "notification": {
                "id": notification_id,
                "recipients": recipients,
                "channels": channels,
                "severity": severity,
                "message": message,
            }
        },
    )


async def _subtask(state: _Applying, action: CreateSubtask) -> AppliedAction:
    uow = state.uow
    parent = await load_ticket(uow, state.ticket_id)
    team_id = parent.team_id
    note = ""
    if action.team is not None:
        team_id = await references.resolve_team(uow, action.team)
        if team_id is None:
            note = f" (no team {action.team!r}: left unassigned)"
    request = TicketCreate(
        title=action.title.strip() or f"#{parent.number}",
        description=action.description,
        priority=Priority(parent.priority),
        channel=SUBTASK_CHANNEL,
        team_id=team_id,
        parent_id=parent.id,
    )
    child = await tickets.create_ticket(uow, state.actor, request)
    return AppliedAction(
        action.type,
        APPLIED,
        f"sub-task #{child['number']} created{note}",
        {"ticket_id": child["id"], "number": child["number"]},
    )


async def _escalate(state: _Applying, action: Escalate) -> AppliedAction:
    uow = state.uow
    done: list[str] = []
    if action.priority_to is not None:
        await tickets.update_ticket(
            uow, state.actor, state.ticket_id, TicketUpdate(priority=Priority(action.priority_to))
        )
        done.append(f"priority {action.priority_from} → {action.priority_to}")
    lead_id: uuid.UUID | None = None
    if action.to_team_lead:
        ticket = await load_ticket(uow, state.ticket_id)
        leads = await references.team_leads(uow, ticket.team_id)
        if not leads:
            done.append("no team lead to hand over to")
        else:
            lead_id = leads[0]
            if ticket.assignee_id != lead_id:
                await tickets.assign(
                    uow,
                    state.actor,
                    state.ticket_id,
                    team_id=ticket.team_id,
                    assignee_id=lead_id,
                    reason=state.reason,
                )
            done.append("handed to the team lead")
    return AppliedAction(action.type, APPLIED, "; ".join(done), {"lead_id": lead_id})


async def _webhook(state: _Applying, action: CallWebhook) -> AppliedAction:
    """An outbox row of kind ``rule_webhook``: POST ``payload`` (or the standard envelope naming the
    ticket and the origin) to the rule's URL."""
    uow = state.uow
    assert uow.tenant_id is not None
    ticket = await load_ticket(uow, state.ticket_id)
    now = utcnow()
    call_id = new_id()
    body = action.payload
    if body is None:
        body = {
            "id": str(call_id),
            "type": state.origin.event_type,
            "occurred_at": now.isoformat().replace("+00:00", "Z"),
            "data": {"ticket": _jsonable(tickets.summary(ticket)), "origin": state.origin.to_dict()},
        }
    state.add_outbox(
        {
            "id": call_id,
            "tenant_id": uow.tenant_id,
            "kind": KIND_RULE_WEBHOOK,
            "event_id": call_id,
            "event_type": state.origin.event_type,
            "payload": {"url": action.url, "body": body, "origin": state.origin.to_dict()},
            "state": STATE_PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
    )
    return AppliedAction(action.type, APPLIED, f"POST {action.url} queued", {"outbox_id": call_id})


__all__ = [
    "KIND_NOTIFICATION",
    "KIND_RULE_WEBHOOK",
    "RULE",
    "SLA_TIER",
    "AppliedAction",
    "BatchWrites",
    "Origin",
    "RuleDefinitionError",
    "apply_actions",
    "compile_actions",
    "plan_actions",
    "reply_text",
]
