"""Customer use cases. Identity resolution is called by ticket creation and, later, intake."""

from __future__ import annotations

import uuid

from sqlalchemy import and_, delete, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from huiliu.auth.domain import Actor
from huiliu.core.clock import utcnow
from huiliu.core.errors import Conflict, NotFound
from huiliu.core.ids import new_id
from huiliu.customers.domain import normalize_identity
from huiliu.customers.models import Customer, CustomerIdentity
from huiliu.customers.schemas import CustomerCreate, CustomerUpdate
from huiliu.db.session import UnitOfWork


async def resolve_customer(
    uow: UnitOfWork, name: str | None, identities: list[tuple[str, str]]
) -> uuid.UUID | None:
    """Find the customer behind any of ``identities`` or create one that carries all of them.

    Returns None when there is nothing to recognise a customer by (no identities, no name)."""
    normalized = list(dict.fromkeys((kind, normalize_identity(kind, value)) for kind, value in identities))
    session = uow.session
    if normalized:
        found = (
            await session.execute(
                select(CustomerIdentity.customer_id, CustomerIdentity.kind, CustomerIdentity.value).where(
                    CustomerIdentity.kind.in_({k for k, _ in normalized}),
                    CustomerIdentity.value.in_({v for _, v in normalized}),
                )
            )
        ).all()
        matches: dict[tuple[str, str], uuid.UUID] = {(row.kind, row.value): row.customer_id for row in found}
        for key in normalized:
            if key in matches:
                customer_id = matches[key]
                missing = [k for k in normalized if k not in matches]
                if missing:
                    await _attach_identities(uow, customer_id, missing)
                return customer_id
    elif not name:
        return None
    assert uow.tenant_id is not None
    now = utcnow()
    customer_id = new_id()
    await session.execute(
        insert(Customer).values(
            id=customer_id,
            tenant_id=uow.tenant_id,
            name=name or "",
            level="normal",
            attributes={},
            created_at=now,
            updated_at=now,
        )
    )
    if not normalized:
        return customer_id
    winner = await _attach_identities(uow, customer_id, normalized)
    if winner != customer_id:
        # A concurrent request registered the same identity first: use its customer, drop ours.
        await session.execute(delete(Customer).where(Customer.id == customer_id))
    return winner


async def _attach_identities(
    uow: UnitOfWork, customer_id: uuid.UUID, identities: list[tuple[str, str]]
) -> uuid.UUID:
    """Insert identities that do not exist yet; return the customer that owns the first one."""
    session = uow.session
    insert_fn = pg_insert if uow.dialect == "postgresql" else sqlite_insert
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "tenant_id": uow.tenant_id,
            "customer_id": customer_id,
            "kind": kind,
            "value": value,
            "verified": False,
            "created_at": now,
        }
        for kind, value in identities
    ]
    stmt = insert_fn(CustomerIdentity).on_conflict_do_nothing(index_elements=["tenant_id", "kind", "value"])
    await session.execute(stmt, rows)
    owner = (
        await session.execute(
            select(CustomerIdentity.customer_id).where(
                CustomerIdentity.kind == identities[0][0], CustomerIdentity.value == identities[0][1]
            )
        )
    ).scalar_one()
    return owner


async def create_customer(
    uow: UnitOfWork, actor: Actor, request: CustomerCreate, *, customer_id: uuid.UUID
) -> Customer:
    """A customer with the identities given. An identity that already belongs to a customer is a
    conflict: the caller should open that customer (or merge) instead of creating a duplicate."""
    actor.require("customer.write")
    identities = list(
        dict.fromkeys(
            (identity.kind, normalize_identity(identity.kind, identity.value))
            for identity in request.identities
        )
    )
    taken = await _owners(uow, identities)
    if taken:
        raise Conflict(
            "an identity belongs to another customer",
            conflicts=[
                {"kind": kind, "value": value, "customer_id": str(owner)}
                for (kind, value), owner in taken.items()
            ],
        )
    assert uow.tenant_id is not None
    now = utcnow()
    customer = Customer(
        id=customer_id,
        tenant_id=uow.tenant_id,
        name=request.name,
        level=request.level,
        attributes=request.attributes,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(customer)
    uow.session.add_all(
        [
            CustomerIdentity(
                id=new_id(),
                tenant_id=uow.tenant_id,
                customer_id=customer_id,
                kind=kind,
                value=value,
                verified=False,
                created_at=now,
            )
            for kind, value in identities
        ]
    )
    try:
        await uow.session.flush()
    except IntegrityError as exc:
        raise Conflict("an identity belongs to another customer") from exc
    await uow.commit()
    return customer


async def _owners(uow: UnitOfWork, identities: list[tuple[str, str]]) -> dict[tuple[str, str], uuid.UUID]:
    if not identities:
        return {}
    rows = (
        await uow.session.execute(
            select(CustomerIdentity.kind, CustomerIdentity.value, CustomerIdentity.customer_id).where(
                or_(
                    *(
                        and_(CustomerIdentity.kind == kind, CustomerIdentity.value == value)
                        for kind, value in identities
                    )
                )
            )
        )
    ).all()
    return {(row.kind, row.value): row.customer_id for row in rows}


async def update_customer(
    uow: UnitOfWork, actor: Actor, customer_id: uuid.UUID, request: CustomerUpdate
) -> Customer:
    """Change a customer's name, level or attributes (merged key by key; null removes a key)."""
    actor.require("customer.write")
    customer = (
        await uow.session.execute(select(Customer).where(Customer.id == customer_id).with_for_update())
    ).scalar_one_or_none()
    if customer is None:
        raise NotFound("customer not found")
    changes = request.model_dump(exclude_unset=True)
    if "attributes" in changes:
        merged = dict(customer.attributes or {})
        for key, value in changes.pop("attributes").items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        customer.attributes = merged
    for name, value in changes.items():
        setattr(customer, name, value)
    customer.updated_at = utcnow()
    await uow.commit()
    return customer


def pg_resolve_one_identity(
    tenant_id: uuid.UUID, name: str | None, kind: str, value: str
) -> dict[str, object]:
    """Parameters of the customer-resolution part of the tickets' one-statement create on PostgreSQL
    (``tickets.pg_create``): find the customer behind one identity or create both."""
    return {
        "tenant_id": tenant_id,
        "kind": kind,
        "value": normalize_identity(kind, value),
        "customer_id": new_id(),
        "identity_id": new_id(),
        "name": name or "",
        "now": utcnow(),
    }


async def settle_lost_identity(uow: UnitOfWork, orphan_id: uuid.UUID, kind: str, value: str) -> uuid.UUID:
    """After a create lost the race to register a new identity: delete the customer row it made (no
    identity points at it) and return the customer that owns the identity."""
    await uow.session.execute(delete(Customer).where(Customer.id == orphan_id))
    return (
        await uow.session.execute(
            select(CustomerIdentity.customer_id).where(
                CustomerIdentity.kind == kind,
                CustomerIdentity.value == value,
            )
        )
    ).scalar_one()
