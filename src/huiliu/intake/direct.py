"""``POST /api/v1/intake/messages`` without FastAPI's layers, for bearer-authenticated valid requests
(huiliu.direct_routes, decision 0055); the route in ``intake.api`` answers everything else."""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError

from huiliu.auth.deps import bearer_actor
from huiliu.core.errors import HuiliuError
from huiliu.direct_routes import DirectAnswer, DirectRequest
from huiliu.intake.api import inbound, ingest_one, shape_result
from huiliu.intake.schemas import IntakeMessage, IntakeResultOut

PATH = "/api/v1/intake/messages"

_RESULT_OUT = TypeAdapter(IntakeResultOut)


async def submit_message(request: DirectRequest) -> DirectAnswer | None:
    """The route's answer, or ``None`` (before anything is written) to let the route answer."""
    runtime = request.app.state.runtime
    if not request.authorization:
        return None
    try:
        actor = await bearer_actor(runtime, request.authorization)
        body = IntakeMessage.model_validate(request.body)
    except (HuiliuError, ValidationError):
        return None
    if not actor.can("ticket.create"):
        return None
    order_lookup = getattr(request.app.state, "order_lookup", None)
    result = await ingest_one(request.app, runtime, actor, inbound(body), order_lookup)
    shaped = _RESULT_OUT.validate_python(shape_result(result))
    return DirectAnswer(201 if result.created else 200, _RESULT_OUT.dump_json(shaped, by_alias=True))
