"""Ticket routes under /api/v1/tickets."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from pydantic import ValidationError

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.auth.domain import Actor
from huiliu.core.errors import HuiliuError, ValidationFailed
from huiliu.core.idempotency_api import run_idempotent
from huiliu.db.session import UnitOfWork
from huiliu.intelligence.triage import read_config
from huiliu.tickets import queries, service
from huiliu.tickets.domain import Priority, Status
from huiliu.tickets.schemas import (
    Assignment,
    BulkAction,
    BulkResult,
    EventOut,
    LinkCreate,
    LinkOut,
    MergeRequest,
    MessageCreate,
    MessageOut,
    ReopenRequest,
    StatusChange,
    TagsChange,
    TicketCount,
    TicketCreate,
    TicketDetail,
    TicketOut,
    TicketPage,
    TicketSummary,
    TicketUpdate,
    TimelineEntry,
)

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()] if value else []


@router.post("", status_code=201, response_model=TicketOut, summary="Create a ticket")
async def create_ticket(
    body: TicketCreate, actor: ActorDep, runtime: RuntimeDep, idempotency_key: IdempotencyKey = None
) -> Any:
    """Create a ticket; the answer is the ticket as committed, after the tenant's reactions (decision
    0063). With ``Idempotency-Key``, a repeat of the same request returns the ticket the first one
    created (its current state) instead of creating another."""
    actor.require("ticket.create")
    if (
        idempotency_key is None
        and service.creates_directly(runtime.db, body)
        and not await runtime.db.reactions_apply(actor.tenant_id)
    ):
        return await service.create_ticket_direct(runtime.db, actor, body)
    created: dict[str, Any] = {}

    async def create(uow: Any, new_id: uuid.UUID) -> None:
        created.update(await service.create_ticket(uow, actor, body, ticket_id=new_id))

    ticket_id, _ = await run_idempotent(
        runtime.db,
        actor.tenant_id,
        actor.id or actor.tenant_id,
        "tickets.create",
        idempotency_key,
        body.model_dump(mode="json"),
        create,
    )
    if created:
        return created
    async with runtime.db.read(actor.tenant_id) as session:
        return await queries.get_visible_ticket(session, actor, ticket_id)


async def ticket_filters(
    status: Annotated[str | None, Query(description="comma-separated statuses")] = None,
    priority: Annotated[str | None, Query(description="comma-separated priorities")] = None,
    assignee_id: Annotated[str | None, Query(description="user id, 'me' or 'none'")] = None,
    team_id: Annotated[str | None, Query(description="team id or 'none'")] = None,
    channel: str | None = None,
    category: str | None = None,
    customer_id: uuid.UUID | None = None,
    tag: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> queries.TicketFilters:
    """The list filters, shared by the list and the count."""
    statuses = _csv(status)
    priorities = _csv(priority)
    try:
        statuses = [Status(s).value for s in statuses]
    except ValueError as exc:
        raise ValidationFailed(f"unknown status in {status!r}") from exc
    try:
        priorities = [Priority(p).value for p in priorities]
    except ValueError as exc:
        raise ValidationFailed(f"unknown priority in {priority!r}") from exc
    return queries.TicketFilters(
        statuses=statuses,
        priorities=priorities,
        assignee=assignee_id,
        team=team_id,
        channel=channel,
        category=category,
        customer_id=customer_id,
        tag=tag,
        created_from=created_from,
        created_to=created_to,
        text=q,
    )


FiltersDep = Annotated[queries.TicketFilters, Depends(ticket_filters)]


@router.get("", response_model=TicketPage, summary="List tickets (keyset pages)")
async def list_tickets(
    actor: ActorDep,
    runtime: RuntimeDep,
    filters: FiltersDep,
    sort: str = "-created_at",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 25,
) -> dict[str, Any]:
    actor.require("ticket.read")
    async with runtime.db.read(actor.tenant_id) as session:
        rows, next_cursor = await queries.list_tickets(
            session, actor, filters, sort=sort, cursor=cursor, limit=limit
        )
    return {
        "items": [TicketSummary.model_validate(row, from_attributes=True) for row in rows],
        "next_cursor": next_cursor,
    }


@router.get("/count", response_model=TicketCount, summary="Count tickets (capped)")
async def count_tickets(
    actor: ActorDep,
    runtime: RuntimeDep,
    filters: FiltersDep,
    cap: Annotated[int, Query(ge=1, le=queries.MAX_COUNT)] = queries.MAX_COUNT,
) -> dict[str, Any]:
    """How many tickets the caller may see match the same filters as the list; counting stops at
    ``cap`` (then ``exact`` is false and the queue shows "10000+"), so a count stays cheap at any size."""
    actor.require("ticket.read")
    async with runtime.db.read(actor.tenant_id) as session:
        count, exact = await queries.count_tickets(session, actor, filters, cap=cap)
    return {"count": count, "exact": exact}


async def _detail(runtime: Any, actor: Any, ticket_id: uuid.UUID) -> dict[str, Any]:
    async with runtime.db.read(actor.tenant_id) as session:
        found = await queries.ticket_detail(session, actor, ticket_id)
    return shape_detail(found)


def shape_detail(found: dict[str, Any]) -> dict[str, Any]:
    ticket = found["ticket"]
    attachments_by_message: dict[uuid.UUID, list[Any]] = {}
    for attachment in found["attachments"]:
        if attachment.message_id is not None:
            attachments_by_message.setdefault(attachment.message_id, []).append(attachment)
    messages = [
        MessageOut.model_validate(
            {**_columns(m), "attachments": [_columns(a) for a in attachments_by_message.get(m.id, [])]}
        )
        for m in found["messages"]
    ]
    events = [EventOut.model_validate(e, from_attributes=True) for e in found["events"]]
    timeline = sorted(
        [TimelineEntry(kind="message", at=m.created_at, message=m) for m in messages]
        + [TimelineEntry(kind="event", at=e.created_at, event=e) for e in events],
        key=lambda entry: (entry.at, 0 if entry.kind == "event" else 1),
    )
    links = []
    for link in found["links"]:
        other_id = link.target_id if link.source_id == ticket.id else link.source_id
        other = found["linked_tickets"].get(other_id)
        if other is None:
            continue
        kind = link.kind
        if kind == "parent":
            kind = "child" if link.source_id == ticket.id else "parent"
        elif kind == "merged":
            kind = "merged_from" if link.target_id == ticket.id else "merged_into"
        links.append(
            LinkOut(
                id=link.id,
                kind=kind,
                ticket_id=other.id,
                number=other.number,
                title=other.title,
                status=other.status,
            )
        )
    children = [
        LinkOut(id=c.id, kind="child", ticket_id=c.id, number=c.number, title=c.title, status=c.status)
        for c in found["children"]
    ]
    return {
        **_columns(ticket),
        "messages": messages,
        "events": events,
        "timeline": timeline,
        "links": links,
        "children": children,
    }


def _columns(row: Any) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


@router.get("/{ticket_id}", response_model=TicketDetail, summary="A ticket with its timeline")
async def get_ticket(ticket_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    return await _detail(runtime, actor, ticket_id)


@router.patch("/{ticket_id}", response_model=TicketOut, summary="Update ticket fields")
async def update_ticket(
    ticket_id: uuid.UUID, body: TicketUpdate, actor: ActorDep, runtime: RuntimeDep
) -> Any:
    """Change title, description, priority, category, scenario or custom field values. A category set
    here is a key of the tenant's taxonomy (``GET /api/v1/intelligence/categories``) or null; the
    ticket's current category is accepted as it is, even when the taxonomy no longer has it (an
    imported or since-removed category), so resending the ticket's values does not fail (decision 0054)."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        if body.category is not None:
            await _check_category(uow, actor, ticket_id, body.category)
        return await service.update_ticket(uow, actor, ticket_id, body)


async def _check_category(uow: UnitOfWork, actor: Actor, ticket_id: uuid.UUID, category: str) -> None:
    actor.require("ticket.update")
    if actor.tenant_id is None:
        return
    if category in (await read_config(uow.session, actor.tenant_id)).category_keys:
        return
    ticket = await queries.get_visible_ticket(uow.session, actor, ticket_id)
    if ticket.category == category:
        return
    raise ValidationFailed(
        f"category {category!r} is not in the tenant's taxonomy; choose one of its keys "
        "(设置 → 智能分类, GET /api/v1/intelligence/categories)."
    )


@router.post("/{ticket_id}/status", response_model=TicketOut, summary="Change status")
async def change_status(
    ticket_id: uuid.UUID, body: StatusChange, actor: ActorDep, runtime: RuntimeDep
) -> Any:
    async with runtime.db.uow(actor.tenant_id) as uow:
        return await service.change_status(uow, actor, ticket_id, body.status, body.reason)


@router.post("/{ticket_id}/reopen", response_model=TicketOut, summary="Reopen a resolved or closed ticket")
async def reopen(
    ticket_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep, body: ReopenRequest | None = None
) -> Any:
    async with runtime.db.uow(actor.tenant_id) as uow:
        return await service.reopen(uow, actor, ticket_id, body.reason if body else None)


@router.post("/{ticket_id}/assign", response_model=TicketOut, summary="Assign team and/or agent")
async def assign(ticket_id: uuid.UUID, body: Assignment, actor: ActorDep, runtime: RuntimeDep) -> Any:
    async with runtime.db.uow(actor.tenant_id) as uow:
        return await service.assign(
            uow, actor, ticket_id, team_id=body.team_id, assignee_id=body.assignee_id, reason=body.reason
        )


@router.post("/{ticket_id}/tags", response_model=TicketOut, summary="Add and remove tags")
async def change_tags(ticket_id: uuid.UUID, body: TagsChange, actor: ActorDep, runtime: RuntimeDep) -> Any:
    async with runtime.db.uow(actor.tenant_id) as uow:
        return await service.change_tags(uow, actor, ticket_id, add=body.add, remove=body.remove)


@router.post(
    "/{ticket_id}/messages",
    status_code=201,
    response_model=MessageOut,
    summary="Add a public reply or an internal note",
)
async def add_message(ticket_id: uuid.UUID, body: MessageCreate, actor: ActorDep, runtime: RuntimeDep) -> Any:
    async with runtime.db.uow(actor.tenant_id) as uow:
        message = await service.add_message(
            uow, actor, ticket_id, body.body, public=body.public, attachment_ids=body.attachment_ids
        )
    async with runtime.db.read(actor.tenant_id) as session:
        found = await queries.ticket_detail(session, actor, ticket_id)
    shaped = shape_detail(found)
    return next(m for m in shaped["messages"] if m.id == message.id)


@router.post("/{ticket_id}/merge", response_model=TicketOut, summary="Merge this ticket into another")
async def merge(ticket_id: uuid.UUID, body: MergeRequest, actor: ActorDep, runtime: RuntimeDep) -> Any:
    async with runtime.db.uow(actor.tenant_id) as uow:
        return await service.merge(uow, actor, ticket_id, body.target_id)


@router.post("/{ticket_id}/links", status_code=201, response_model=TicketDetail, summary="Link two tickets")
async def link(ticket_id: uuid.UUID, body: LinkCreate, actor: ActorDep, runtime: RuntimeDep) -> Any:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.link(uow, actor, ticket_id, body.target_id, body.kind)
    return await _detail(runtime, actor, ticket_id)


@router.post("/bulk", response_model=BulkResult, summary="Bulk status, assignment and tags")
async def bulk(body: BulkAction, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Each ticket is its own transaction: one failure does not undo the others; failures are listed."""
    if body.status is None and body.team_id is None and body.assignee_id is None and not body.add_tags:
        raise ValidationFailed("choose at least one of status, team_id, assignee_id, add_tags")
    # Refuse up front what the actor may never do, rather than reporting every ticket as failed.
    if body.status is not None or body.add_tags:
        actor.require("ticket.update")
    if body.team_id is not None or body.assignee_id is not None:
        actor.require("ticket.assign")
    updated, failed = [], []
    for ticket_id in dict.fromkeys(body.ticket_ids):
        try:
            if body.team_id is not None or body.assignee_id is not None:
                async with runtime.db.read(actor.tenant_id) as session:
                    current = await queries.get_visible_ticket(session, actor, ticket_id)
                    team_id = body.team_id if body.team_id is not None else current.team_id
                    assignee_id = body.assignee_id if body.assignee_id is not None else current.assignee_id
                async with runtime.db.uow(actor.tenant_id) as uow:
                    await service.assign(
                        uow, actor, ticket_id, team_id=team_id, assignee_id=assignee_id, reason="bulk"
                    )
            if body.add_tags:
                async with runtime.db.uow(actor.tenant_id) as uow:
                    await service.change_tags(uow, actor, ticket_id, add=body.add_tags, remove=[])
            if body.status is not None:
                async with runtime.db.uow(actor.tenant_id) as uow:
                    await service.change_status(uow, actor, ticket_id, body.status, "bulk")
            updated.append(ticket_id)
        except (HuiliuError, ValidationError) as exc:
            failed.append({"ticket_id": str(ticket_id), "error": str(exc)})
    return {"updated": updated, "failed": failed}
