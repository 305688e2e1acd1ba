"""``POST /api/v1/tickets`` without FastAPI's layers, for the requests the route itself sends down the
direct create path (huiliu.direct_routes, decision 0055): bearer-authenticated, valid, no
``Idempotency-Key``, ``service.creates_directly`` and no reactions that apply. The route in
``tickets.api`` answers everything else. No reaction runs here, so the row written is the ticket as
committed: the same answer the route gives (decision 0063)."""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError

from huiliu.auth.deps import bearer_actor
from huiliu.core.errors import HuiliuError
from huiliu.direct_routes import DirectAnswer, DirectRequest
from huiliu.tickets import service
from huiliu.tickets.schemas import TicketCreate, TicketOut

PATH = "/api/v1/tickets"

_TICKET_OUT = TypeAdapter(TicketOut)


async def create_ticket(request: DirectRequest) -> DirectAnswer | None:
    """The route's answer, or ``None`` (before anything is written) to let the route answer."""
    if not request.authorization or b"idempotency-key" in request.headers:
        return None
    runtime = request.app.state.runtime
    try:
        actor = await bearer_actor(runtime, request.authorization)
        body = TicketCreate.model_validate(request.body)
    except (HuiliuError, ValidationError):
        return None
    if not actor.can("ticket.create") or not service.creates_directly(runtime.db, body):
        return None
    if await runtime.db.reactions_apply(actor.tenant_id):
        return None
    created = await service.create_ticket_direct(runtime.db, actor, body)
    return DirectAnswer(201, _TICKET_OUT.dump_json(_TICKET_OUT.validate_python(created), by_alias=True))
