"""Idempotency-Key handling for creating POSTs, shared by every router that creates things.

The key is stored in the same transaction as what it created, holding the new resource's id; a
repeat with the same key and body gets that resource back, a repeat with another body a 422."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from huiliu.core.clock import utcnow
from huiliu.core.errors import IdempotencyKeyReused, ValidationFailed
from huiliu.core.idempotency import IdempotencyRecord, request_fingerprint
from huiliu.core.ids import new_id
from huiliu.db.session import Database, UnitOfWork

T = TypeVar("T")
MAX_KEY_LENGTH = 255


async def run_idempotent(
    db: Database,
    tenant_id: uuid.UUID,
    principal_id: uuid.UUID,
    endpoint: str,
    key: str | None,
    payload: Any,
    create: Callable[[UnitOfWork, uuid.UUID], Awaitable[T]],
) -> tuple[uuid.UUID, bool]:
    """Run ``create(uow, new_id)`` once per key. Returns (resource id, created_now)."""
    resource_id = new_id()
    if key is None:
        async with db.uow(tenant_id) as uow:
            await create(uow, resource_id)
        return resource_id, True
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
    fingerprint = request_fingerprint(payload)
    stored = await _stored(db, tenant_id, principal_id, endpoint, key)
    if stored is not None:
        return _replay(stored, fingerprint), False
    try:
        async with db.uow(tenant_id) as uow:
            uow.session.add(
                IdempotencyRecord(
                    tenant_id=tenant_id,
                    principal_id=principal_id,
                    endpoint=endpoint,
                    key=key,
                    request_hash=fingerprint,
                    status_code=201,
                    response={"resource_id": str(resource_id)},
                    created_at=utcnow(),
                )
            )
            await create(uow, resource_id)
    except IntegrityError:
        # A concurrent request with the same key committed first.
        stored = await _stored(db, tenant_id, principal_id, endpoint, key)
        if stored is None:
            raise
        return _replay(stored, fingerprint), False
    return resource_id, True


async def _stored(
    db: Database, tenant_id: uuid.UUID, principal_id: uuid.UUID, endpoint: str, key: str
) -> IdempotencyRecord | None:
    async with db.read(tenant_id) as session:
        return (
            await session.execute(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.principal_id == principal_id,
                    IdempotencyRecord.endpoint == endpoint,
                    IdempotencyRecord.key == key,
                )
            )
        ).scalar_one_or_none()


def _replay(stored: IdempotencyRecord, fingerprint: str) -> uuid.UUID:
    if stored.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    return uuid.UUID(stored.response["resource_id"])
