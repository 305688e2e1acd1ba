"""Intake routes for integrators: ``POST /api/v1/intake/messages`` (one) and ``…/messages:batch``
(up to 1,000). Bearer token or API key with ``ticket.create`` (API key scope ``tickets:write``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.core.clock import utcnow
from huiliu.core.errors import HuiliuError
from huiliu.core.problem import TYPE_BASE
from huiliu.intake import service
from huiliu.intake.coalesce import IntakeCoalescer
from huiliu.intake.domain import InboundMessage, IngestResult, SenderIdentity
from huiliu.intake.schemas import (
    BatchProblemOut,
    BatchResultOut,
    IntakeBatch,
    IntakeBatchOut,
    IntakeMessage,
    IntakeResultOut,
)
from huiliu.orders.lookup import OrderLookupDep

router = APIRouter(prefix="/api/v1/intake", tags=["intake"])


def inbound(body: IntakeMessage) -> InboundMessage:
    """The API's message as intake takes it; the channel is the entry point's."""
    return InboundMessage(
        channel="",
        text=body.text,
        received_at=body.received_at or utcnow(),
        entry_point_id=body.entry_point_id,
        external_id=body.external_id,
        sender_name=body.sender.name or None,
        identities=tuple(SenderIdentity(i.kind, i.value, i.verified) for i in body.sender.identities),
        title=body.title,
        attachment_ids=tuple(body.attachments),
        reply_to_external_id=body.reply_to_external_id,
        source=body.source,
        metadata=body.metadata,
    )


def shape_result(result: IngestResult) -> dict[str, Any]:
    return {
        "ticket_id": result.ticket_id,
        "ticket_number": result.ticket_number,
        "created": result.created,
        "message_id": result.message_id,
        "outcome": result.outcome,
    }


def _problem(error: HuiliuError) -> BatchProblemOut:
    return BatchProblemOut(
        type=TYPE_BASE + error.slug, title=error.title, status=error.status, detail=error.detail
    )


def _invalid(error: ValidationError) -> BatchProblemOut:
    return BatchProblemOut(
        type=TYPE_BASE + "validation-failed",
        title="The request is not valid",
        status=422,
        detail="One or more fields are invalid.",
        errors=[
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg"), "type": e.get("type")}
            for e in error.errors()
        ],
    )


@router.post(
    "/messages",
    response_model=IntakeResultOut,
    status_code=201,
    responses={200: {"model": IntakeResultOut, "description": "threaded, folded, alarm or repeat"}},
    summary="Deliver one inbound message (idempotent on external_id)",
)
async def submit_message(
    body: IntakeMessage,
    actor: ActorDep,
    runtime: RuntimeDep,
    order_lookup: OrderLookupDep,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    """Run the intake pipeline on one message: 201 when it opened a ticket, 200 when it joined one
    (``outcome`` threaded, folded, alarm) or repeated an earlier delivery (``repeat``: nothing written).
    422 for an unknown entry point, identity kind or malformed identity, with nothing written.

    Under load, single messages of one sender share transactions (group commit, decision 0020); each
    request is answered after the transaction holding its message committed."""
    actor.require("ticket.create")
    result = await ingest_one(request.app, runtime, actor, inbound(body), order_lookup)
    response.status_code = 201 if result.created else 200
    return shape_result(result)


async def ingest_one(
    app: Any, runtime: Any, actor: Any, message: InboundMessage, order_lookup: Any
) -> IngestResult:
    if not runtime.settings.intake_group_commit:
        async with runtime.db.uow(actor.tenant_id) as uow:
            return await service.ingest(
                uow,
                actor,
                message,
                defaults=service.defaults_from(runtime.settings),
                order_lookup=order_lookup,
            )
    answer = await _coalescer(app, runtime, order_lookup).submit(actor, message)
    assert isinstance(answer, IngestResult)
    return answer


def _coalescer(app: Any, runtime: Any, order_lookup: Any) -> IntakeCoalescer:
    """The process's coalescer (built on first use; the order look-up is the process's too)."""
    coalescer: IntakeCoalescer | None = getattr(app.state, "intake_coalescer", None)
    if coalescer is None:
        defaults = service.defaults_from(runtime.settings)

        async def run_batch(actor: Any, messages: list[InboundMessage]) -> list[object]:
            async with runtime.db.uow(actor.tenant_id) as uow:
                answers = await service.ingest_many(
                    uow, actor, messages, defaults=defaults, order_lookup=order_lookup, defer_contended=True
                )
            return list(answers)

        # SQLite has one writer: more transactions at once would only wait for its lock.
        concurrency = 1 if runtime.db.engine.dialect.name == "sqlite" else None
        coalescer = IntakeCoalescer(
            run_batch, concurrency=concurrency or runtime.settings.intake_group_commit_concurrency
        )
        app.state.intake_coalescer = coalescer
    return coalescer


@router.post(
    "/messages:batch",
    response_model=IntakeBatchOut,
    summary="Deliver up to 1,000 inbound messages in one transaction",
)
async def submit_batch(
    body: IntakeBatch, actor: ActorDep, runtime: RuntimeDep, order_lookup: OrderLookupDep
) -> dict[str, Any]:
    """One result per message, in order: a result with ``status`` 201/200 as for a single message,
    or a problem object (``status`` 4xx) for a message that was refused — that message wrote nothing,
    the others went through. Later messages see earlier ones (a customer's second message threads onto
    the ticket the first opened; a repeated external id answers ``repeat``)."""
    actor.require("ticket.create")
    results: list[BatchResultOut | BatchProblemOut | None] = [None] * len(body.messages)
    positions: list[int] = []
    messages: list[InboundMessage] = []
    for index, raw in enumerate(body.messages):
        try:
            messages.append(inbound(IntakeMessage.model_validate(raw)))
            positions.append(index)
        except ValidationError as exc:
            results[index] = _invalid(exc)
    async with runtime.db.uow(actor.tenant_id) as uow:
        answers = await service.ingest_many(
            uow,
            actor,
            messages,
            defaults=service.defaults_from(runtime.settings),
            order_lookup=order_lookup,
        )
    for index, answer in zip(positions, answers, strict=True):
        if isinstance(answer, HuiliuError):
            results[index] = _problem(answer)
        else:
            results[index] = BatchResultOut(**shape_result(answer), status=201 if answer.created else 200)
    return {"results": results}
