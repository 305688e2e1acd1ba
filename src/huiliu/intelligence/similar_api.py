"""``GET /api/v1/tickets/{id}/similar``: the open tickets most like this one, with scores, among
those the caller sees (``ticket.read`` and the caller's data scope)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.intelligence.similar import DEFAULT_LIMIT, similar_tickets

router = APIRouter(prefix="/api/v1/tickets", tags=["intelligence"])


class SimilarTicketOut(BaseModel):
    id: uuid.UUID
    number: int
    title: str
    status: str
    priority: str
    assignee_id: uuid.UUID | None
    created_at: datetime
    score: float


class SimilarTicketList(BaseModel):
    items: list[SimilarTicketOut]


@router.get("/{ticket_id}/similar", response_model=SimilarTicketList, summary="Similar open tickets")
async def similar(
    ticket_id: uuid.UUID,
    actor: ActorDep,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=10)] = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Open tickets of the last 90 days whose title and description read most like this ticket's
    (TF-IDF cosine over character bigrams, score in [0, 1], at least 0.15)."""
    actor.require("ticket.read")
    async with runtime.db.read(actor.tenant_id) as session:
        found = await similar_tickets(session, actor, ticket_id, limit)
    return {"items": [asdict(item) for item in found]}
