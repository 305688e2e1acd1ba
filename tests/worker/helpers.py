"""Helpers for worker tests: subscriptions through the service, and draining one tenant's outbox
through the processor (claim, then process each claim) at a chosen moment."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select

from huiliu.core import clock
from huiliu.core.ids import new_id
from huiliu.core.outbox import KIND_EVENT, KIND_WEBHOOK, OutboxAttempt, OutboxRow
from huiliu.runtime import Runtime
from huiliu.webhooks import service as webhooks
from huiliu.webhooks.models import WebhookSubscription
from huiliu.webhooks.schemas import WebhookCreate
from huiliu.worker.processor import OutboxProcessor, Processed
from tests.factories import Member

MAX_ROUNDS = 20


async def subscribe(
    runtime: Runtime, member: Member, url: str, secret: str, events: list[str], *, active: bool = True
) -> WebhookSubscription:
    request = WebhookCreate(url=url, secret=secret, events=events, is_active=active)
    async with runtime.db.uow(member.actor.tenant_id) as uow:
        return await webhooks.create_subscription(uow, member.actor, request, subscription_id=new_id())


def _drain(processor: OutboxProcessor, tenant_id: uuid.UUID) -> list[Processed]:
    done: list[Processed] = []
    for _ in range(MAX_ROUNDS):
        claims = processor.claim(100, tenant_id=tenant_id)
        if not claims:
            return done
        done.extend(processor.process(claim.row_id, claim.lease) for claim in claims)
    raise AssertionError(f"outbox of tenant {tenant_id} not drained after {MAX_ROUNDS} rounds")


async def drain(
    processor: OutboxProcessor, tenant_id: uuid.UUID, at: datetime | None = None
) -> list[Processed]:
    """Process everything of the tenant that is due (now, or at ``at``), until nothing is due."""

    def run() -> list[Processed]:
        if at is None:
            return _drain(processor, tenant_id)
        with clock.at(at):
            return _drain(processor, tenant_id)

    return await asyncio.to_thread(run)


async def outbox_rows(runtime: Runtime, tenant_id: uuid.UUID, kind: str) -> list[OutboxRow]:
    async with runtime.db.read(tenant_id) as session:
        statement = select(OutboxRow).where(OutboxRow.kind == kind).order_by(OutboxRow.created_at)
        return list((await session.execute(statement)).scalars())


async def event_rows(runtime: Runtime, tenant_id: uuid.UUID) -> list[OutboxRow]:
    return await outbox_rows(runtime, tenant_id, KIND_EVENT)


async def webhook_rows(runtime: Runtime, tenant_id: uuid.UUID) -> list[OutboxRow]:
    return await outbox_rows(runtime, tenant_id, KIND_WEBHOOK)


async def attempts_of(runtime: Runtime, tenant_id: uuid.UUID, row_id: uuid.UUID) -> list[OutboxAttempt]:
    async with runtime.db.read(tenant_id) as session:
        statement = (
            select(OutboxAttempt).where(OutboxAttempt.outbox_id == row_id).order_by(OutboxAttempt.attempt)
        )
        return list((await session.execute(statement)).scalars())


def by_id(rows: list[Any]) -> dict[uuid.UUID, Any]:
    return {row.id: row for row in rows}
