"""``GET /api/v1/export/tickets``: the incremental export BI tools poll (``ticket.read``, the caller's
data scope; an API key with the ``tickets:read`` scope is the usual caller). The schema of an item is
documented in docs/analytics-alerts.md and in the OpenAPI description."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from huiliu.analytics import bi
from huiliu.auth.deps import ActorDep, RuntimeDep

router = APIRouter(prefix="/api/v1/export", tags=["analytics"])


class TicketChange(BaseModel):
    """A ticket as it is now (times in UTC, ISO 8601)."""

    id: uuid.UUID
    number: int = Field(description="工单号, per tenant")
    title: str
    description: str
    status: str = Field(description="new / open / pending / on_hold / resolved / closed")
    priority: str = Field(description="urgent / high / normal / low")
    category: str | None
    scenario: str | None
    channel: str
    entry_point_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    team_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    parent_id: uuid.UUID | None
    merged_into_id: uuid.UUID | None
    tags: list[str]
    fields: dict[str, Any] = Field(description="template field values")
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopened_at: datetime | None
    reopen_count: int


class TicketChanges(BaseModel):
    items: list[TicketChange]
    next_cursor: str | None = Field(
        description="pass back as ?cursor= to continue; null only before the first ticket exists"
    )
    has_more: bool = Field(description="another page is ready now (otherwise poll again later)")


@router.get("/tickets", response_model=TicketChanges, summary="Tickets changed since a cursor (for BI)")
async def ticket_changes(
    actor: ActorDep,
    runtime: RuntimeDep,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the last page")] = None,
    limit: Annotated[int, Query(ge=1, le=bi.MAX_LIMIT)] = 500,
) -> dict[str, Any]:
    """Tickets in (updated_at, id) order after ``cursor`` (from the beginning without one). Upsert
    items by ``id``; store ``next_cursor``; call again while ``has_more``, then poll."""
    actor.require("ticket.read")
    async with runtime.db.read(actor.tenant_id) as session:
        return await bi.ticket_changes(session, actor, cursor=cursor, limit=limit)
