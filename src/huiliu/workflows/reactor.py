"""Advance workflows inside the unit of work that changed a ticket (docs/decisions/0015, 0025).

- ``ticket.created`` whose data names a ``workflow_id`` (the ticket template's, set by
  ``ticket_templates``) starts that workflow's latest published version on the ticket;
- ``ticket.status_changed`` to ``resolved`` or ``closed``: a sub-task's join may go on, and the
  ticket's own run leaves its current handling step;
- ``ticket.merged`` of a sub-task ticket: the join waits for the ticket it was merged into instead (or
  counts the sub-task done when that one is finished already or is the workflow's own ticket).

Runs after automation (a rule may set the fields a condition node branches on) and before routing
(a workflow's first handling step assigns the ticket itself; routing only assigns tickets nobody
assigned). See docs/decisions/0025-workflow-engine.md."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from huiliu.core import events as ev
from huiliu.core.events import DomainEvent
from huiliu.db.session import Database, UnitOfWork
from huiliu.workflows import queries, service

log = logging.getLogger("huiliu.workflows")
NAME = "workflows"
DONE_STATUSES = frozenset({"resolved", "closed"})


def install(db: Database) -> WorkflowReactor:
    """Register the workflow reactor once (right after the automation reactor when that is installed,
    so before routing and SLA; else first) and the ``workflow`` timer handler (step time limits)."""
    from huiliu.timers.service import register_timer_handler

    register_timer_handler(service.TIMER_KIND, service.on_timer)
    for reactor in db.reactors:
        if isinstance(reactor, WorkflowReactor):
            return reactor
    workflows = WorkflowReactor()
    position = next(
        (index + 1 for index, found in enumerate(db.reactors) if getattr(found, "name", "") == "automation"),
        0,
    )
    db.reactors.insert(position, workflows)
    return workflows


def _workflow_id(data: dict[str, Any]) -> uuid.UUID | None:
    raw = data.get("workflow_id")
    if raw is None and isinstance(data.get("template"), dict):
        raw = data["template"].get("workflow_id")
    if raw is None:
        return None
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None


def _done_status(event: DomainEvent) -> str | None:
    if event.type != ev.TICKET_STATUS_CHANGED:
        return None
    status = ((event.data.get("changes") or {}).get("status") or {}).get("to")
    return status if status in DONE_STATUSES else None


def _merged_into(event: DomainEvent) -> uuid.UUID | None:
    """The ticket a merged ticket went into (the source's ``ticket.merged`` event only)."""
    if event.type != ev.TICKET_MERGED:
        return None
    target = ((event.data.get("changes") or {}).get("merged_into_id") or {}).get("to")
    try:
        return uuid.UUID(str(target)) if target else None
    except ValueError:
        return None


class WorkflowReactor:
    name = NAME

    async def applies(self, db: Database, tenant_id: uuid.UUID) -> bool:
        async def load() -> bool:
            async with db.read(tenant_id) as session:
                return await queries.has_published(session)

        return await service.published_flags.load(tenant_id, load)

    async def _runs(self, uow: UnitOfWork, tenant_id: uuid.UUID) -> bool:
        cached = service.published_flags.get(tenant_id)
        if cached is not None:
            return cached
        return service.published_flags.put(tenant_id, await queries.has_published(uow.session))

    async def react(self, uow: UnitOfWork, events: Sequence[DomainEvent]) -> None:
        if uow.tenant_id is None or not await self._runs(uow, uow.tenant_id):
            return
        for event in events:
            if event.tenant_id != uow.tenant_id:
                continue
            ticket_id = uuid.UUID(event.data["ticket"]["id"]) if "ticket" in event.data else None
            if ticket_id is None:
                continue
            if event.type == ev.TICKET_CREATED:
                workflow_id = _workflow_id(event.data)
                if workflow_id is not None:
                    reason = "started by the ticket's template"
                    await service.on_ticket_created(uow, ticket_id, workflow_id, reason)
                continue
            merged_into = _merged_into(event)
            if merged_into is not None:
                await service.on_ticket_merged(uow, ticket_id, merged_into)
                continue
            status = _done_status(event)
            if status is not None:
                await service.on_ticket_done(uow, ticket_id, status)
