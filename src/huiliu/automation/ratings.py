"""Customer satisfaction ratings (CSAT): 1 to 5 stars and a comment on a ticket, given by the
customer on their progress page (the signed progress link is the credential) or recorded by an
agent. A rating is a ``ticket.rated`` audit event (``changes``: ``rating`` and ``comment`` from the
previous rating to this one); the latest one is the ticket's rating. It runs the ``rating.given``
trigger rules (the preset "rating below 3 → QA review sub-task and notify QA")."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.auth.domain import Actor, ActorKind, DataScope, system_actor
from huiliu.automation.loading import TICKET_RATED
from huiliu.channels.ratelimit import client_ip, limiter_for
from huiliu.channels.webform.domain import read_progress_token
from huiliu.core.errors import NotFound, ValidationFailed
from huiliu.db.session import UnitOfWork
from huiliu.tickets import service as tickets
from huiliu.tickets.models import Ticket, TicketEvent
from huiliu.tickets.queries import get_visible_ticket

MAX_COMMENT = 1000
RATE_PERMISSION = "ticket.update"


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    rating: int = Field(ge=1, le=5, description="1 (very unhappy) to 5 (very happy) stars")
    comment: str = Field(default="", max_length=MAX_COMMENT)


class RatingOut(BaseModel):
    ticket_id: uuid.UUID
    rating: int
    comment: str
    event_id: uuid.UUID


async def _previous(uow: UnitOfWork, ticket_id: uuid.UUID) -> dict[str, Any]:
    row = (
        await uow.session.execute(
            select(TicketEvent.changes)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.type == TICKET_RATED)
            .order_by(TicketEvent.created_at.desc(), TicketEvent.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if not row:
        return {"rating": None, "comment": None}
    return {name: (row.get(name) or {}).get("to") for name in ("rating", "comment")}


async def rate_ticket(
    uow: UnitOfWork, actor: Actor, ticket_id: uuid.UUID, rating: int, comment: str = ""
) -> dict[str, Any]:
    """Record a rating of the ticket: by its own customer, or by an agent who may update it (for a
    rating given by phone). Commits (and so runs the ``rating.given`` rules in the same transaction)."""
    if not 1 <= rating <= 5:
        raise ValidationFailed("a rating is 1 to 5 stars")
    if actor.kind is ActorKind.CUSTOMER:
        ticket = await get_visible_ticket(uow.session, actor, ticket_id)
        if ticket.customer_id is None or ticket.customer_id != actor.id:
            raise NotFound("ticket not found")
    else:
        actor.require(RATE_PERMISSION)
        ticket = await get_visible_ticket(uow.session, actor, ticket_id)
    before = await _previous(uow, ticket.id)
    changes = {
        "rating": {"from": before["rating"], "to": rating},
        "comment": {"from": before["comment"], "to": comment},
    }
    recorded = tickets.record(uow, actor, ticket, TICKET_RATED, changes, extra={"rating": rating})
    await uow.commit()
    return {"ticket_id": ticket.id, "rating": rating, "comment": comment, "event_id": recorded.event_id}


router = APIRouter(tags=["ratings"])


@router.post(
    "/api/v1/tickets/{ticket_id}/rating",
    status_code=201,
    response_model=RatingOut,
    summary="Record the customer's rating of a ticket (an agent, e.g. for a rating given by phone)",
)
async def post_rating(
    ticket_id: uuid.UUID, body: RatingIn, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Needs ``ticket.update`` on a ticket the caller sees. Runs the ``rating.given`` rules."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        return await rate_ticket(uow, actor, ticket_id, body.rating, body.comment)


@router.post(
    "/api/v1/public/progress/{token}/rating",
    status_code=201,
    response_model=RatingOut,
    summary="The customer rates their ticket on the progress page",
    tags=["public forms"],
)
async def post_progress_rating(
    token: str, body: RatingIn, request: Request, runtime: RuntimeDep, response: Response
) -> dict[str, Any]:
    """The signed progress link is the credential (404 for anything not genuine); rate limited per
    client IP like the page's other writes."""
    limiter = limiter_for(request, runtime.settings)
    await limiter.hit(limiter.limits.write_per_ip, "public-write-ip", client_ip(request))  # 429 when over
    tenant_id, ticket_id = read_progress_token(runtime.settings.secret_key, token)
    async with runtime.db.uow(tenant_id) as uow:
        ticket = await get_visible_ticket(uow.session, system_actor(tenant_id), ticket_id)
        target = ticket.merged_into_id or ticket.id
        owner = (await uow.session.get(Ticket, target)) or ticket
        customer = Actor(
            ActorKind.CUSTOMER, tenant_id, owner.customer_id, "customer", frozenset(), DataScope.ALL
        )
        result = await rate_ticket(uow, customer, target, body.rating, body.comment)
    response.headers.update({"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
    return result
