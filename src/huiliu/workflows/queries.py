"""The read side of workflows: definitions and versions, a ticket's runs with their steps, approvals
and sub-tasks, and an approver's inbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.auth.models import User
from huiliu.core.errors import NotFound
from huiliu.tickets.models import Ticket
from huiliu.workflows.models import (
    Workflow,
    WorkflowApproval,
    WorkflowInstance,
    WorkflowStep,
    WorkflowSubtask,
    WorkflowVersion,
)

RUNNING = "running"
WAITING = "waiting"
LIVE_STATUSES: tuple[str, ...] = (RUNNING, WAITING)
OPEN_TICKET_STATUSES: tuple[str, ...] = ("new", "open", "pending", "on_hold")
# Approval request states an inbox filters on.
APPROVAL_STATES: tuple[str, ...] = ("pending", "queued", "approved", "rejected", "closed")


async def list_workflows(session: AsyncSession) -> list[Workflow]:
    rows = await session.execute(select(Workflow).order_by(Workflow.created_at, Workflow.id))
    return list(rows.scalars().all())


async def get_workflow(session: AsyncSession, workflow_id: uuid.UUID) -> Workflow:
    workflow = await session.get(Workflow, workflow_id)
    if workflow is None:
        raise NotFound("workflow not found")
    return workflow


async def running_counts(session: AsyncSession) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(WorkflowInstance.workflow_id, func.count())
        .where(WorkflowInstance.status.in_(LIVE_STATUSES))
        .group_by(WorkflowInstance.workflow_id)
    )
    return {workflow_id: int(count) for workflow_id, count in rows.all()}


async def has_runs(session: AsyncSession, workflow_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(WorkflowInstance.id).where(WorkflowInstance.workflow_id == workflow_id).limit(1)
    )
    return found is not None


async def versions(session: AsyncSession, workflow_id: uuid.UUID) -> list[WorkflowVersion]:
    rows = await session.execute(
        select(WorkflowVersion)
        .where(WorkflowVersion.workflow_id == workflow_id)
        .order_by(WorkflowVersion.version.desc())
    )
    return list(rows.scalars().all())


async def get_version(session: AsyncSession, workflow_id: uuid.UUID, version: int) -> WorkflowVersion:
    row = await session.scalar(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow_id, WorkflowVersion.version == version
        )
    )
    if row is None:
        raise NotFound("workflow version not found")
    return row


async def version_by_id(session: AsyncSession, version_id: uuid.UUID) -> WorkflowVersion:
    row = await session.get(WorkflowVersion, version_id)
    if row is None:
        raise NotFound("workflow version not found")
    return row


async def has_published(session: AsyncSession) -> bool:
    """Whether the tenant has a workflow with a published version (the reactor's flag: runs of a
    workflow switched off since still advance)."""
    found = await session.scalar(select(Workflow.id).where(Workflow.latest_version.is_not(None)).limit(1))
    return found is not None


async def live_instance(session: AsyncSession, ticket_id: uuid.UUID) -> WorkflowInstance | None:
    """The ticket's run that is still going, if any (a ticket runs one workflow at a time)."""
    return await session.scalar(
        select(WorkflowInstance)
        .where(WorkflowInstance.ticket_id == ticket_id, WorkflowInstance.status.in_(LIVE_STATUSES))
        .order_by(WorkflowInstance.started_at.desc())
        .limit(1)
    )


async def instances_of_ticket(session: AsyncSession, ticket_id: uuid.UUID) -> list[WorkflowInstance]:
    rows = await session.execute(
        select(WorkflowInstance)
        .where(WorkflowInstance.ticket_id == ticket_id)
        .order_by(WorkflowInstance.started_at.desc(), WorkflowInstance.id.desc())
    )
    return list(rows.scalars().all())


async def live_instances_of_tickets(
    session: AsyncSession, ticket_ids: Sequence[uuid.UUID]
) -> list[WorkflowInstance]:
    if not ticket_ids:
        return []
    rows = await session.execute(
        select(WorkflowInstance).where(
            WorkflowInstance.ticket_id.in_(ticket_ids), WorkflowInstance.status.in_(LIVE_STATUSES)
        )
    )
    return list(rows.scalars().all())


async def steps_of(session: AsyncSession, instance_id: uuid.UUID) -> list[WorkflowStep]:
    rows = await session.execute(
        select(WorkflowStep)
        .where(WorkflowStep.instance_id == instance_id)
        .order_by(WorkflowStep.entered_at, WorkflowStep.id)
    )
    return list(rows.scalars().all())


async def active_step(session: AsyncSession, instance_id: uuid.UUID, node_id: str) -> WorkflowStep | None:
    return await session.scalar(
        select(WorkflowStep)
        .where(
            WorkflowStep.instance_id == instance_id,
            WorkflowStep.node_id == node_id,
            WorkflowStep.status == "active",
        )
        .order_by(WorkflowStep.entered_at.desc(), WorkflowStep.id.desc())
        .limit(1)
    )


async def next_due(session: AsyncSession, ticket_id: uuid.UUID) -> datetime | None:
    """The earliest time limit of the ticket's active steps not yet marked overdue."""
    return await session.scalar(
        select(func.min(WorkflowStep.due_at)).where(
            WorkflowStep.ticket_id == ticket_id,
            WorkflowStep.status == "active",
            WorkflowStep.due_at.is_not(None),
            WorkflowStep.overdue_at.is_(None),
        )
    )


async def overdue_steps(session: AsyncSession, ticket_id: uuid.UUID, now: datetime) -> list[WorkflowStep]:
    rows = await session.execute(
        select(WorkflowStep)
        .where(
            WorkflowStep.ticket_id == ticket_id,
            WorkflowStep.status == "active",
            WorkflowStep.due_at <= now,
            WorkflowStep.overdue_at.is_(None),
        )
        .order_by(WorkflowStep.due_at, WorkflowStep.id)
    )
    return list(rows.scalars().all())


async def approvals_of(session: AsyncSession, instance_id: uuid.UUID) -> list[WorkflowApproval]:
    rows = await session.execute(
        select(WorkflowApproval)
        .where(WorkflowApproval.instance_id == instance_id)
        .order_by(WorkflowApproval.created_at, WorkflowApproval.position, WorkflowApproval.id)
    )
    return list(rows.scalars().all())


async def open_approvals(
    session: AsyncSession, instance_id: uuid.UUID, node_id: str
) -> list[WorkflowApproval]:
    rows = await session.execute(
        select(WorkflowApproval)
        .where(
            WorkflowApproval.instance_id == instance_id,
            WorkflowApproval.node_id == node_id,
            WorkflowApproval.state.in_(("pending", "queued")),
        )
        .order_by(WorkflowApproval.position, WorkflowApproval.id)
    )
    return list(rows.scalars().all())


async def get_approval(session: AsyncSession, approval_id: uuid.UUID) -> WorkflowApproval:
    row = await session.get(WorkflowApproval, approval_id)
    if row is None:
        raise NotFound("approval not found")
    return row


async def subtasks_of(session: AsyncSession, instance_id: uuid.UUID) -> list[tuple[WorkflowSubtask, Any]]:
    rows = await session.execute(
        select(WorkflowSubtask, Ticket.number, Ticket.title, Ticket.status)
        .join(Ticket, Ticket.id == WorkflowSubtask.child_ticket_id)
        .where(WorkflowSubtask.instance_id == instance_id)
        .order_by(WorkflowSubtask.created_at, WorkflowSubtask.key)
    )
    return [(row[0], row[1:]) for row in rows.all()]


async def open_subtasks_of_child(session: AsyncSession, child_ticket_id: uuid.UUID) -> list[WorkflowSubtask]:
    rows = await session.execute(
        select(WorkflowSubtask).where(
            WorkflowSubtask.child_ticket_id == child_ticket_id, WorkflowSubtask.status == "open"
        )
    )
    return list(rows.scalars().all())


async def user_names(session: AsyncSession, user_ids: Sequence[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = [user_id for user_id in user_ids if user_id is not None]
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.name).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in rows.all()}


async def open_load(session: AsyncSession, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Open tickets per user, for picking the least loaded member of a role."""
    if not user_ids:
        return {}
    rows = await session.execute(
        select(Ticket.assignee_id, func.count())
        .where(Ticket.assignee_id.in_(user_ids), Ticket.status.in_(OPEN_TICKET_STATUSES))
        .group_by(Ticket.assignee_id)
    )
    return {user_id: int(count) for user_id, count in rows.all() if user_id is not None}


async def inbox(
    session: AsyncSession,
    user_id: uuid.UUID | None,
    *,
    states: Sequence[str],
    include_unassigned: bool,
    limit: int,
) -> list[tuple[WorkflowApproval, int, str, str]]:
    """Approval requests addressed to ``user_id`` (and, for workflow admins, those nobody could be
    found for) in ``states``, newest first, with the ticket's number and title and the workflow."""
    addressed = WorkflowApproval.approver_id == user_id
    if include_unassigned:
        addressed = addressed | WorkflowApproval.approver_id.is_(None)
    rows = await session.execute(
        select(WorkflowApproval, Ticket.number, Ticket.title, Workflow.name)
        .join(Ticket, Ticket.id == WorkflowApproval.ticket_id)
        .join(WorkflowInstance, WorkflowInstance.id == WorkflowApproval.instance_id)
        .join(Workflow, Workflow.id == WorkflowInstance.workflow_id)
        .where(addressed, WorkflowApproval.state.in_(states))
        .order_by(WorkflowApproval.created_at.desc(), WorkflowApproval.id.desc())
        .limit(limit)
    )
    return [(row[0], row[1], row[2], row[3]) for row in rows.all()]
