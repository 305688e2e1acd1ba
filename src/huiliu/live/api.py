"""Live routes: the server-sent event stream and ticket presence."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response, StreamingResponse

from huiliu.auth.deps import ActorDep, RuntimeDep, current_actor
from huiliu.auth.domain import Actor, ActorKind
from huiliu.core.errors import PermissionDenied
from huiliu.live import service
from huiliu.live.schemas import PresenceUpdate
from huiliu.tickets.queries import get_visible_ticket

router = APIRouter(prefix="/api/v1", tags=["live"])

STREAM_HEADERS = {
    "Cache-Control": "no-cache, no-transform",
    # nginx and similar proxies buffer responses by default, which would hold events back.
    "X-Accel-Buffering": "no",
}


def _parse_event_id(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


@router.get(
    "/events/stream",
    summary="Live updates (server-sent events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "An endless event stream"}},
)
async def stream(
    request: Request,
    actor: ActorDep,
    runtime: RuntimeDep,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    last_event_id: Annotated[
        str | None, Query(description="Resume position for a first connection (the header wins)")
    ] = None,
) -> StreamingResponse:
    """Ticket events of the caller's tenant inside the caller's data scope, plus presence. Each event
    is ``id:`` (event id), ``event:`` (type) and ``data:`` (the envelope JSON). On reconnect the
    ``Last-Event-ID`` header replays what was missed. Authenticate with a bearer token or the console
    session cookie; tokens in the query string are refused (they end up in access logs)."""
    actor.require("ticket.read")

    async def reauthorize() -> Actor:
        return await current_actor(request, runtime)

    body = service.event_stream(
        runtime.db,
        runtime.hub,
        actor,
        last_event_id=_parse_event_id(last_event_id_header or last_event_id),
        reauthorize=reauthorize,
    )
    return StreamingResponse(body, media_type="text/event-stream", headers=STREAM_HEADERS)


@router.post(
    "/tickets/{ticket_id}/presence",
    status_code=204,
    response_class=Response,
    summary="Say you are viewing, typing on or leaving a ticket",
)
async def presence(
    ticket_id: uuid.UUID, body: PresenceUpdate, actor: ActorDep, runtime: RuntimeDep
) -> Response:
    """Publishes an ephemeral ``presence`` event to the other agents who can see the ticket (the
    console's collision indicator). Nothing is stored."""
    actor.require("ticket.read")
    if actor.kind is not ActorKind.USER:
        raise PermissionDenied("presence is for console users")
    async with runtime.db.read(actor.tenant_id) as session:
        ticket = await get_visible_ticket(session, actor, ticket_id)
    service.publish_presence(
        runtime.hub, actor, ticket.id, body.state, team_id=ticket.team_id, assignee_id=ticket.assignee_id
    )
    return Response(status_code=204)
