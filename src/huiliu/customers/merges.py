"""Merging two customers and undoing it, and the customer's own history (customer events).

A merge moves everything of the merged customer to the survivor — identities, and through the
registered record movers the records other packages hang off a customer (tickets via
``tickets.service.reassign_customer``; orders and opportunities when that package registers) — and
writes a ``customer_merges`` row with exactly what moved. Undo moves exactly those back.

Packages above customers own their records and register a mover for them here
(``register_customer_records``) when their service module is imported, so customers never imports
them (writes flow one way between packages)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Sequence
from typing import Any, Protocol

from sqlalchemy import select, update

from huiliu.auth.domain import Actor
from huiliu.core.clock import utcnow
from huiliu.core.errors import Conflict, NotFound, ValidationFailed
from huiliu.core.ids import new_id
from huiliu.customers.domain import MERGE_AUTO, MERGE_MANUAL, profile_fill, profile_unfill
from huiliu.customers.models import Customer, CustomerEvent, CustomerIdentity, CustomerMerge
from huiliu.db.session import UnitOfWork

IDENTITIES = "identities"
PROFILE = "profile"
# Record kinds that must have a mover before any merge runs: a merge that silently left them behind
# would split a customer's history.
REQUIRED_RECORD_KINDS = ("tickets",)

CUSTOMER_CREATED = "customer.created"
CUSTOMER_UPDATED = "customer.updated"
CUSTOMER_IDENTITIES_ADDED = "customer.identities_added"
CUSTOMER_MERGED = "customer.merged"  # on the survivor: another customer was merged into it
CUSTOMER_MERGED_INTO = "customer.merged_into"  # on the merged customer
CUSTOMER_UNMERGED = "customer.unmerged"  # on both, when a merge is undone


class AlreadyMerged(Conflict):
    """One of the two customers was merged away (possibly a moment ago, by a concurrent request)."""


class RecordMover(Protocol):
    """Moves one package's records from one customer to another inside the caller's unit of work
    (no commit) and returns the ids moved. ``ids`` None means all records of ``from_customer_id``;
    a list means exactly those (an undo), skipping any that no longer belong to it."""

    def __call__(
        self,
        uow: UnitOfWork,
        actor: Actor,
        from_customer_id: uuid.UUID,
        to_customer_id: uuid.UUID,
        *,
        ids: Sequence[uuid.UUID] | None = None,
        reason: str,
    ) -> Awaitable[list[uuid.UUID]]: ...


_movers: dict[str, RecordMover] = {}


def register_customer_records(kind: str, mover: RecordMover) -> None:
    """Make ``kind`` records (``tickets``, ``orders``, ``opportunities`` …) follow customer merges.
    Called once by the owning package's service module; registering a kind again replaces it."""
    if kind in {IDENTITIES, PROFILE}:
        raise ValueError(f"{kind} is moved by the customers package itself")
    _movers[kind] = mover


def registered_record_kinds() -> list[str]:
    return sorted(_movers)


def _check_movers() -> None:
    missing = [kind for kind in REQUIRED_RECORD_KINDS if kind not in _movers]
    if missing:
        raise RuntimeError(
            f"no mover registered for customer records {missing}: import huiliu.tickets.service "
            "before merging customers"
        )


def record_event(
    uow: UnitOfWork, actor: Actor, customer_id: uuid.UUID, event_type: str, data: dict[str, Any]
) -> None:
    """Append one event to a customer's history (same transaction as the change)."""
    uow.session.add(
        CustomerEvent(
            id=new_id(),
            tenant_id=actor.tenant_id,
            customer_id=customer_id,
            type=event_type,
            actor_kind=actor.kind.value,
            actor_id=actor.id,
            actor_name=actor.name,
            data=_wire(data),
            created_at=utcnow(),
        )
    )


def _wire(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_wire(v) for v in value]
    return value


async def _lock(uow: UnitOfWork, ids: list[uuid.UUID]) -> dict[uuid.UUID, Customer]:
    """Lock customers in id order (two merges never wait on each other in opposite order)."""
    found: dict[uuid.UUID, Customer] = {}
    for customer_id in sorted(set(ids)):
        customer = (
            await uow.session.execute(select(Customer).where(Customer.id == customer_id).with_for_update())
        ).scalar_one_or_none()
        if customer is None:
            raise NotFound("customer not found")
        found[customer_id] = customer
    return found


async def merge_into(
    uow: UnitOfWork,
    actor: Actor,
    survivor_id: uuid.UUID,
    merged_id: uuid.UUID,
    *,
    mode: str,
    reason: str | None,
    keys: Sequence[tuple[str, str]] = (),
) -> CustomerMerge:
    """Merge ``merged_id`` into ``survivor_id`` inside the caller's unit of work (no commit)."""
    _check_movers()
    if survivor_id == merged_id:
        raise ValidationFailed("a customer cannot be merged with itself")
    locked = await _lock(uow, [survivor_id, merged_id])
    survivor, merged = locked[survivor_id], locked[merged_id]
    if merged.merged_into_id is not None:
        raise AlreadyMerged("this customer was already merged into another one")
    if survivor.merged_into_id is not None:
        raise AlreadyMerged(
            "the other customer was itself merged; merge into the customer it was merged into"
        )
    session = uow.session
    identity_ids = list(
        (
            await session.execute(
                select(CustomerIdentity.id).where(CustomerIdentity.customer_id == merged_id)
            )
        ).scalars()
    )
    if identity_ids:
        await session.execute(
            update(CustomerIdentity)
            .where(CustomerIdentity.id.in_(identity_ids))
            .values(customer_id=survivor_id)
            .execution_options(synchronize_session=False)
        )
    moved: dict[str, Any] = {IDENTITIES: [str(i) for i in identity_ids]}
    why = f"customer merged into {survivor_id}" + (f": {reason}" if reason else "")
    for kind, mover in sorted(_movers.items()):
        record_ids = await mover(uow, actor, merged_id, survivor_id, ids=None, reason=why)
        moved[kind] = [str(i) for i in record_ids]
    fill = profile_fill(
        survivor.name,
        survivor.level,
        dict(survivor.attributes or {}),
        merged.name,
        merged.level,
        dict(merged.attributes or {}),
    )
    moved[PROFILE] = fill.as_dict()
    now = utcnow()
    if fill.name is not None:
        survivor.name = fill.name
    if fill.level is not None:
        survivor.level = fill.level
    if fill.attributes:
        survivor.attributes = {**(survivor.attributes or {}), **fill.attributes}
    survivor.updated_at = now
    merged.merged_into_id = survivor_id
    merged.updated_at = now
    merge = CustomerMerge(
        id=new_id(),
        tenant_id=actor.tenant_id,
        survivor_id=survivor_id,
        merged_id=merged_id,
        mode=mode,
        reason=reason,
        actor_kind=actor.kind.value,
        actor_id=actor.id,
        actor_name=actor.name,
        moved={**moved, "keys": [{"kind": k, "value": v} for k, v in keys]},
        created_at=now,
    )
    session.add(merge)
    counts = {kind: len(ids) for kind, ids in moved.items() if kind != PROFILE}
    summary = {"merge_id": merge.id, "mode": mode, "reason": reason, "moved": counts}
    record_event(uow, actor, survivor_id, CUSTOMER_MERGED, {**summary, "merged_id": merged_id})
    record_event(uow, actor, merged_id, CUSTOMER_MERGED_INTO, {**summary, "survivor_id": survivor_id})
    await session.flush()
    return merge


async def merge_customers(
    uow: UnitOfWork, actor: Actor, survivor_id: uuid.UUID, other_id: uuid.UUID, reason: str | None
) -> CustomerMerge:
    """Manual merge: ``other_id`` is merged into ``survivor_id`` (the customer the agent is looking
    at), recorded as ``manual`` with the reason given; commits."""
    actor.require("customer.write")
    merge = await merge_into(uow, actor, survivor_id, other_id, mode=MERGE_MANUAL, reason=reason)
    await uow.commit()
    return merge


async def undo_merge(uow: UnitOfWork, actor: Actor, merge_id: uuid.UUID) -> CustomerMerge:
    """Move back exactly what the merge moved (those of its records that still belong to the
    survivor), restore the merged customer and mark the merge undone; commits.

    409 when it was undone already, or when the survivor has since been merged into a third customer
    (undo that merge first: undoing in reverse order restores every customer exactly)."""
    actor.require("customer.write")
    _check_movers()
    merge = (
        await uow.session.execute(select(CustomerMerge).where(CustomerMerge.id == merge_id).with_for_update())
    ).scalar_one_or_none()
    if merge is None:
        raise NotFound("merge not found")
    if merge.undone_at is not None:
        raise Conflict("this merge was already undone")
    locked = await _lock(uow, [merge.survivor_id, merge.merged_id])
    survivor, merged = locked[merge.survivor_id], locked[merge.merged_id]
    if survivor.merged_into_id is not None:
        later = (
            await uow.session.execute(
                select(CustomerMerge.id).where(
                    CustomerMerge.merged_id == survivor.id, CustomerMerge.undone_at.is_(None)
                )
            )
        ).scalar_one_or_none()
        raise Conflict(
            "the surviving customer was merged into another customer since; undo that merge first",
            blocking_merge_id=str(later) if later else None,
        )
    if merged.merged_into_id != survivor.id:
        raise Conflict("the merged customer no longer points at the survivor")
    moved = dict(merge.moved or {})
    missing = [k for k in moved if k not in {IDENTITIES, PROFILE, "keys"} and k not in _movers]
    if missing:
        raise RuntimeError(f"no mover registered for customer records {missing}")
    session = uow.session
    identity_ids = [uuid.UUID(i) for i in moved.get(IDENTITIES, [])]
    returned: dict[str, int] = {IDENTITIES: 0}
    if identity_ids:
        result = await session.execute(
            update(CustomerIdentity)
            .where(CustomerIdentity.id.in_(identity_ids), CustomerIdentity.customer_id == survivor.id)
            .values(customer_id=merged.id)
            .execution_options(synchronize_session=False)
        )
        returned[IDENTITIES] = int(getattr(result, "rowcount", 0) or 0)
    why = f"customer merge {merge.id} undone"
    for kind, ids in moved.items():
        if kind in {IDENTITIES, PROFILE, "keys"}:
            continue
        back = await _movers[kind](
            uow, actor, survivor.id, merged.id, ids=[uuid.UUID(i) for i in ids], reason=why
        )
        returned[kind] = len(back)
    name, level, attributes = profile_unfill(
        survivor.name, survivor.level, dict(survivor.attributes or {}), moved.get(PROFILE) or {}
    )
    now = utcnow()
    survivor.name, survivor.level, survivor.attributes = name, level, attributes
    survivor.updated_at = now
    merged.merged_into_id = None
    merged.updated_at = now
    merge.undone_at = now
    merge.undone_by_kind = actor.kind.value
    merge.undone_by_id = actor.id
    merge.undone_by_name = actor.name
    data = {"merge_id": merge.id, "moved_back": returned}
    record_event(uow, actor, survivor.id, CUSTOMER_UNMERGED, {**data, "merged_id": merged.id})
    record_event(uow, actor, merged.id, CUSTOMER_UNMERGED, {**data, "survivor_id": survivor.id})
    await uow.commit()
    return merge


__all__ = [
    "CUSTOMER_CREATED",
    "CUSTOMER_IDENTITIES_ADDED",
    "CUSTOMER_MERGED",
    "CUSTOMER_MERGED_INTO",
    "CUSTOMER_UNMERGED",
    "CUSTOMER_UPDATED",
    "MERGE_AUTO",
    "MERGE_MANUAL",
    "RecordMover",
    "merge_customers",
    "merge_into",
    "record_event",
    "register_customer_records",
    "undo_merge",
]
