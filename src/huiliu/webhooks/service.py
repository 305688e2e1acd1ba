"""Use cases of outgoing webhooks: manage subscriptions, re-queue a dead delivery. Each needs the
``admin.webhooks`` permission and runs in one transaction of the caller's tenant."""

from __future__ import annotations

import uuid

from sqlalchemy import update

from huiliu.auth.domain import Actor
from huiliu.core.clock import utcnow
from huiliu.core.errors import Conflict
from huiliu.core.outbox import KIND_WEBHOOK, STATE_DEAD, STATE_PENDING, OutboxRow
from huiliu.db.session import UnitOfWork
from huiliu.webhooks import queries
from huiliu.webhooks.models import WebhookSubscription
from huiliu.webhooks.schemas import WebhookCreate, WebhookUpdate

PERMISSION = "admin.webhooks"


async def create_subscription(
    uow: UnitOfWork, actor: Actor, request: WebhookCreate, *, subscription_id: uuid.UUID
) -> WebhookSubscription:
    """Subscribe ``url`` to the given event types; events committed from now on are delivered."""
    actor.require(PERMISSION)
    subscription = WebhookSubscription(
        id=subscription_id,
        tenant_id=actor.tenant_id,
        url=request.url,
        secret=request.secret,
        events=request.events,
        description=request.description,
        is_active=request.is_active,
        created_at=utcnow(),
    )
    uow.session.add(subscription)
    await uow.commit()
    return subscription


async def update_subscription(
    uow: UnitOfWork, actor: Actor, subscription_id: uuid.UUID, request: WebhookUpdate
) -> WebhookSubscription:
    """Change the url, events, secret, description or active flag. A new secret signs every delivery
    attempted from now on, including retries of older events."""
    actor.require(PERMISSION)
    subscription = await queries.get_subscription(uow.session, subscription_id)
    for name, value in request.model_dump(exclude_unset=True).items():
        setattr(subscription, name, value)
    await uow.commit()
    return subscription


async def delete_subscription(uow: UnitOfWork, actor: Actor, subscription_id: uuid.UUID) -> None:
    """Remove a subscription. Its deliveries still pending are given up (dead) in the same
    transaction; the delivery log rows stay for the record."""
    actor.require(PERMISSION)
    subscription = await queries.get_subscription(uow.session, subscription_id)
    await uow.session.execute(
        update(OutboxRow)
        .where(
            OutboxRow.kind == KIND_WEBHOOK,
            OutboxRow.target_id == subscription.id,
            OutboxRow.state == STATE_PENDING,
        )
        .values(state=STATE_DEAD, last_error="subscription deleted")
        .execution_options(synchronize_session=False)
    )
    await uow.session.delete(subscription)
    await uow.commit()


async def retry_delivery(
    uow: UnitOfWork, actor: Actor, subscription_id: uuid.UUID, row_id: uuid.UUID
) -> OutboxRow:
    """Re-queue a dead delivery: due now, with a fresh retry schedule. The body (and so the event id)
    is unchanged, so a receiver that did get an earlier attempt recognises the repeat."""
    actor.require(PERMISSION)
    await queries.get_subscription(uow.session, subscription_id)
    row = await queries.get_delivery(uow.session, subscription_id, row_id)
    if row.state != STATE_DEAD:
        raise Conflict(f"only a dead delivery can be retried (this one is {row.state})")
    row.state = STATE_PENDING
    row.attempts = 0
    row.next_attempt_at = utcnow()
    row.locked_until = None
    await uow.commit()
    return row
