"""Use case of the signed webhook: receive one event for an entry point, verify it, map it and hand
it to intake in one transaction. Anything refused (unknown entry point, bad signature, stale
timestamp, malformed JSON, an event the mapping cannot read) writes nothing."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from huiliu.auth.domain import system_actor
from huiliu.channels.webhook import domain
from huiliu.channels.webhook.presets import presets
from huiliu.core.clock import utcnow
from huiliu.core.errors import NotFound, ValidationFailed
from huiliu.db.session import Database
from huiliu.entry_points.domain import WEBHOOK
from huiliu.entry_points.models import EntryPoint
from huiliu.entry_points.queries import get_entry_point
from huiliu.intake import service as intake
from huiliu.intake.domain import InboundMessage, IngestResult, IntakeDefaults, SenderIdentity
from huiliu.orders.lookup import OrderLookup


@dataclass(frozen=True)
class Received:
    """What became of an event: an ingest result, or ignored (the mapping's ``accept`` said no)."""

    result: IngestResult | None
    ignored_reason: str | None = None


async def open_hook(db: Database, entry_point_id: uuid.UUID) -> EntryPoint:
    """The active webhook entry point with this id in any tenant; NotFound otherwise."""
    async with db.read(None, system=True) as session:
        entry_point = await get_entry_point(session, entry_point_id)
    if entry_point is None or not entry_point.is_active or entry_point.kind != WEBHOOK:
        raise NotFound("webhook entry point not found")
    return entry_point


def parse_event(body: bytes) -> Any:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise domain.MalformedJson(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise ValidationFailed("the event must be a JSON object")
    return payload


def to_message(entry_point: EntryPoint, mapped: domain.Mapped) -> InboundMessage:
    return InboundMessage(
        channel=entry_point.channel,
        text=mapped.text,
        received_at=mapped.received_at or utcnow(),
        entry_point_id=entry_point.id,
        external_id=mapped.external_id,
        sender_name=mapped.sender_name,
        identities=tuple(SenderIdentity(kind, value) for kind, value in mapped.identities),
        title=mapped.title,
        reply_to_external_id=mapped.reply_to_external_id,
        source=mapped.source,
        fields=mapped.fields,
        metadata=mapped.metadata,
    )


async def receive(
    db: Database,
    entry_point: EntryPoint,
    *,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    tolerance: int,
    defaults: IntakeDefaults | None = None,
    order_lookup: OrderLookup | None = None,
) -> Received:
    """Verify, parse and map one event, then ingest it (the entry point's tenant, a system actor)
    with the intake windows ``defaults`` and the ERP ``order_lookup`` (see ``intake.service.ingest``)."""
    domain.verify(
        str(entry_point.config.get("secret", "")),
        timestamp=timestamp,
        signature=signature,
        body=body,
        now=time.time(),
        tolerance=tolerance,
    )
    payload = parse_event(body)
    compiled = domain.compile_mapping(domain.effective_mapping(entry_point.config, presets()))
    prepared = domain.prepare(compiled, payload)
    if not domain.accepts(compiled, prepared):
        return Received(None, "the mapping's accept expression left this event out")
    message = to_message(entry_point, domain.apply_mapping(compiled, prepared))
    actor = system_actor(entry_point.tenant_id, f"webhook: {entry_point.name}")
    async with db.uow(entry_point.tenant_id) as uow:
        return Received(
            await intake.ingest(uow, actor, message, defaults=defaults, order_lookup=order_lookup)
        )
