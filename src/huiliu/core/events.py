"""Domain events: frozen, past-tense facts with a wire name. The wire names are the webhook contract
(docs/events.md) and the types a live-stream client sees."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from huiliu.core.clock import utcnow
from huiliu.core.ids import new_id

TICKET_CREATED = "ticket.created"
TICKET_UPDATED = "ticket.updated"
TICKET_STATUS_CHANGED = "ticket.status_changed"
TICKET_ASSIGNED = "ticket.assigned"
TICKET_TAGS_CHANGED = "ticket.tags_changed"
TICKET_MESSAGE_ADDED = "ticket.message_added"
TICKET_NOTE_ADDED = "ticket.note_added"
TICKET_MERGED = "ticket.merged"
TICKET_LINKED = "ticket.linked"
TICKET_REOPENED = "ticket.reopened"
TICKET_ORDER_LINKED = "ticket.order_linked"
TICKET_ORDER_UNLINKED = "ticket.order_unlinked"
# Automation (huiliu.automation): a rule or an SLA tier fired, people were notified, a rating came in.
TICKET_RULE_FIRED = "ticket.rule_fired"
TICKET_SLA_TIER_FIRED = "ticket.sla_tier_fired"
TICKET_NOTIFIED = "ticket.notified"
TICKET_RATED = "ticket.rated"
# Routing (huiliu.routing): no step of the policy placed the ticket (the reason says why).
TICKET_ROUTING_FAILED = "ticket.routing_failed"
# SLA (huiliu.sla): a policy applied or changed, a tier's threshold reached.
SLA_APPLIED = "sla.applied"
SLA_POLICY_CHANGED = "sla.policy_changed"
SLA_WARNING = "sla.warning"
SLA_BREACHED = "sla.breached"
SLA_ESCALATED = "sla.escalated"
# Workflows (huiliu.workflows): every step of a run on a ticket, with its reason.
WORKFLOW_STARTED = "workflow.started"
WORKFLOW_STEP_ENTERED = "workflow.step_entered"
WORKFLOW_STEP_COMPLETED = "workflow.step_completed"
WORKFLOW_APPROVAL_REQUESTED = "workflow.approval_requested"
WORKFLOW_APPROVED = "workflow.approved"
WORKFLOW_REJECTED = "workflow.rejected"
WORKFLOW_COMPLETED = "workflow.completed"

EVENT_TYPES: frozenset[str] = frozenset(
    {
        TICKET_CREATED,
        TICKET_UPDATED,
        TICKET_STATUS_CHANGED,
        TICKET_ASSIGNED,
        TICKET_TAGS_CHANGED,
        TICKET_MESSAGE_ADDED,
        TICKET_NOTE_ADDED,
        TICKET_MERGED,
        TICKET_LINKED,
        TICKET_REOPENED,
        TICKET_ORDER_LINKED,
        TICKET_ORDER_UNLINKED,
        TICKET_RULE_FIRED,
        TICKET_SLA_TIER_FIRED,
        TICKET_NOTIFIED,
        TICKET_RATED,
        TICKET_ROUTING_FAILED,
        SLA_APPLIED,
        SLA_POLICY_CHANGED,
        SLA_WARNING,
        SLA_BREACHED,
        SLA_ESCALATED,
        WORKFLOW_STARTED,
        WORKFLOW_STEP_ENTERED,
        WORKFLOW_STEP_COMPLETED,
        WORKFLOW_APPROVAL_REQUESTED,
        WORKFLOW_APPROVED,
        WORKFLOW_REJECTED,
        WORKFLOW_COMPLETED,
    }
)


@dataclass(frozen=True, slots=True)
class Audience:
    """Who may see a live event: the scope fields that role data scopes filter on."""

    team_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class DomainEvent:
    type: str
    tenant_id: uuid.UUID
    data: dict[str, Any]
    audience: Audience = Audience()
    id: uuid.UUID = field(default_factory=new_id)
    occurred_at: datetime = field(default_factory=utcnow)

    def envelope(self) -> dict[str, Any]:
        """The wire form shared by webhooks and the live stream."""
        return {
            "id": str(self.id),
            "type": self.type,
            "occurred_at": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "data": self.data,
        }
