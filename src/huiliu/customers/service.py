"""Customer use cases: identity resolution (called by ticket creation, intake and imports), create,
edit. Merges and their undo live in ``customers.merges``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from huiliu.auth.domain import Actor, system_actor
from huiliu.core.clock import ensure_utc, utcnow
from huiliu.core.errors import Conflict, HuiliuError, NotFound, ValidationFailed
from huiliu.core.ids import new_id
from huiliu.customers.domain import (
    MERGE_AUTO,
    IdentityClaim,
    IdentityInput,
    Owner,
    identity_claims,
    normalize_identity,
    plan_resolution,
)
from huiliu.customers.merges import (
    CUSTOMER_CREATED,
    CUSTOMER_IDENTITIES_ADDED,
    CUSTOMER_UPDATED,
    AlreadyMerged,
    merge_into,
    record_event,
)
from huiliu.customers.models import Customer, CustomerIdentity
from huiliu.customers.schemas import CustomerCreate, CustomerUpdate
from huiliu.db.driver import session_driver_connection
from huiliu.db.session import UnitOfWork


async def resolve_customer(
    uow: UnitOfWork,
    name: str | None,
    identities: Iterable[IdentityInput],
    *,
    actor: Actor | None = None,
) -> uuid.UUID | None:
    """Find the customer behind ``identities`` (merging customers a strong key ties together) or
    create one that carries all of them; see ``resolve_identities``.

    Returns None when there is nothing to recognise a customer by (no identities, no name)."""
    return (await resolve_identities(uow, name, identities, actor=actor)).customer_id


RESOLUTION_ROUNDS = 3


@dataclass(frozen=True)
class Resolution:
    customer_id: uuid.UUID | None
    created: bool = False
    merges: tuple[uuid.UUID, ...] = ()
    attached: tuple[tuple[str, str], ...] = ()


async def resolve_identities(
    uow: UnitOfWork,
    name: str | None,
    identities: Iterable[IdentityInput],
    *,
    actor: Actor | None = None,
) -> Resolution:
    """Resolve one inbound set of identities (``(kind, value)``, ``(kind, value, verified)`` or
    objects with ``kind``/``value``/``verified``) inside the caller's unit of work (no commit).

    Strong keys (unionid, e-mail, a verified phone) that match two or more customers merge them into
    the oldest (recorded, reversible); weak keys attach to the first match and never merge; unknown
    identities join the resolved customer (DESIGN.md §3, ``domain.plan_resolution``)."""
    claims = identity_claims(identities)
    if not claims and not name:
        return Resolution(None)
    assert uow.tenant_id is not None
    actor = actor or system_actor(uow.tenant_id, "identity resolution")
    merge_ids: list[uuid.UUID] = []
    for _ in range(RESOLUTION_ROUNDS):
        owners = await _live_owners(uow, claims) if claims else {}
        plan = plan_resolution(claims, owners)
        if plan.target is None:
            return await _create_for_claims(uow, name, claims)
        try:
            for merged_id in plan.merges:
                merge = await merge_into(
                    uow,
                    actor,
                    plan.target,
                    merged_id,
                    mode=MERGE_AUTO,
                    reason="same " + ", ".join(sorted({kind for kind, _ in plan.merge_keys})),
                    keys=plan.merge_keys,
                )
                merge_ids.append(merge.id)
            break
        except AlreadyMerged:
            # A concurrent resolution merged one of these customers first (we waited on its row
            # lock): look at the identities again, they now point at its survivor.
            continue
    else:
        raise Conflict("these customers are being merged concurrently; try again")
    if plan.verify:
        await uow.session.execute(
            update(CustomerIdentity)
            .where(
                or_(
                    *(
                        and_(CustomerIdentity.kind == c.kind, CustomerIdentity.value == c.value)
                        for c in plan.verify
                    )
                ),
                CustomerIdentity.verified.is_(False),
            )
            .values(verified=True)
            .execution_options(synchronize_session=False)
        )
    if plan.attach:
        await _attach_identities(uow, plan.target, list(plan.attach))
        record_event(
            uow,
            actor,
            plan.target,
            CUSTOMER_IDENTITIES_ADDED,
            {"identities": [{"kind": c.kind, "value": c.value} for c in plan.attach]},
        )
    return Resolution(plan.target, merges=tuple(merge_ids), attached=tuple(c.key for c in plan.attach))


# Rows of one multi-row identity insert (7 parameters each: far below the drivers' parameter limits).
_ROWS_PER_INSERT = 1000


class IdentityTaken(Exception):
    """``resolve_identities_many``: a concurrent transaction registered one of the new identities
    first. The caller rolls back and resolves again (the identity then has a visible owner)."""


class ResolutionFailed(Exception):
    """``resolve_identities_many``: resolving the request at ``position`` failed with ``error``."""

    def __init__(self, position: int, error: HuiliuError) -> None:
        super().__init__(error.detail)
        self.position = position
        self.error = error


@dataclass(frozen=True)
class NewCustomers:
    """Customers (and their identities) that ``plan_identities_many`` resolved to but did not write."""

    customers: list[dict[str, Any]]
    identities: list[dict[str, Any]]


async def resolve_identities_many(
    uow: UnitOfWork,
    requests: Sequence[tuple[str | None, list[IdentityClaim]]],
    *,
    actor: Actor | None = None,
) -> list[Resolution]:
    """``resolve_identities`` for many senders at once (intake batches), in order, inside the caller's
    unit of work: later requests see what earlier ones resolved.

    One query finds the owners of every claimed identity; new customers and their identities are
    written with one multi-row insert each. A request that needs more than finding a customer or
    creating one (an automatic merge, identities attached to or verified on an existing customer)
    takes the per-request path, ``resolve_identities``, after the pending inserts are written.

    Raises ``IdentityTaken`` when a concurrent transaction registered one of the new identities first
    (roll back and try again) and ``ResolutionFailed`` for a request the per-request path refused."""
    results, new = await plan_identities_many(uow, requests, actor=actor)
    await write_new_customers(uow, new)
    return results


async def plan_identities_many(
    uow: UnitOfWork,
    requests: Sequence[tuple[str | None, list[IdentityClaim]]],
    *,
    actor: Actor | None = None,
    owners: dict[tuple[str, str], Owner] | None = None,
) -> tuple[list[Resolution], NewCustomers]:
    """``resolve_identities_many`` but for its last write: the customers it creates after the last
    request that took the per-request path are returned, and the caller writes them in this
    transaction before anything refers to them (``write_new_customers``, or on PostgreSQL
    ``PG_INSERT_NEW`` with ``pg_insert_new_params`` among its own statements; fewer identity rows
    than asked for means ``IdentityTaken``).

    ``owners``: the live owners of (at least) every claimed identity, when the caller looked them up
    already in this transaction (``owners_from_rows``); otherwise one query finds them."""
    assert uow.tenant_id is not None
    actor = actor or system_actor(uow.tenant_id, "identity resolution")
    now = utcnow()
    if owners is None:
        all_claims = {claim.key: claim for _, claims in requests for claim in claims}
        owners = await _live_owners(uow, list(all_claims.values())) if all_claims else {}
    else:
        owners = dict(owners)  # resolution adds the identities it creates
    pending_customers: list[dict[str, Any]] = []
    pending_identities: list[dict[str, Any]] = []
    results: list[Resolution] = []

    async def write_pending() -> None:
        """Insert the new customers, then their identities (on PostgreSQL in one statement);
        IdentityTaken when an identity was registered meanwhile."""
        new = NewCustomers(list(pending_customers), list(pending_identities))
        pending_customers.clear()
        pending_identities.clear()
        await write_new_customers(uow, new)

    for position, (name, claims) in enumerate(requests):
        if len({c.key for c in claims}) != len(claims):
            claims = identity_claims(claims)  # one row per identity (verified wins)
        if not claims and not name:
            results.append(Resolution(None))
            continue
        plan = plan_resolution(claims, owners)
        if plan.target is None:
            customer_id = new_id()
            pending_customers.append(
                {
                    "id": customer_id,
                    "tenant_id": uow.tenant_id,
                    "name": name or "",
                    "level": "normal",
                    "attributes": {},
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for claim in claims:
                pending_identities.append(
                    {
                        "id": new_id(),
                        "tenant_id": uow.tenant_id,
                        "customer_id": customer_id,
                        "kind": claim.kind,
                        "value": claim.value,
                        "verified": claim.verified,
                        "created_at": now,
                    }
                )
                owners[claim.key] = Owner(customer_id, now)
            results.append(Resolution(customer_id, created=True, attached=tuple(c.key for c in claims)))
        elif not (plan.merges or plan.attach or plan.verify):
            results.append(Resolution(plan.target))
        else:
            await write_pending()
            try:
                resolution = await resolve_identities(uow, name, claims, actor=actor)
            except HuiliuError as exc:
                raise ResolutionFailed(position, exc) from exc
            results.append(resolution)
            # Merges move identities between customers: look at the remaining ones again.
            later = {c.key: c for _, rest in requests[position + 1 :] for c in rest}
            owners = await _live_owners(uow, list(later.values())) if later else {}
    return results, NewCustomers(pending_customers, pending_identities)


async def write_new_customers(uow: UnitOfWork, new: NewCustomers) -> None:
    """Insert the new customers, then their identities (on PostgreSQL in one statement);
    IdentityTaken when an identity was registered meanwhile."""
    if uow.dialect == "postgresql":
        await _pg_insert_new(uow, new)
        return
    if new.customers:
        await uow.session.execute(insert(Customer), new.customers)
    for start in range(0, len(new.identities), _ROWS_PER_INSERT):
        rows = new.identities[start : start + _ROWS_PER_INSERT]
        stmt = (
            sqlite_insert(CustomerIdentity)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["tenant_id", "kind", "value"])
            .returning(CustomerIdentity.id)
        )
        written = (await uow.session.execute(stmt)).scalars().all()
        if len(written) != len(rows):
            raise IdentityTaken


# Built once (expanding parameters): building the statement per call cost more than running it.
_OWNERS = (
    select(
        CustomerIdentity.kind,
        CustomerIdentity.value,
        Customer.id,
        Customer.created_at,
        Customer.merged_into_id,
    )
    .join(Customer, Customer.id == CustomerIdentity.customer_id)
    .where(
        CustomerIdentity.kind.in_(bindparam("kinds", expanding=True)),
        CustomerIdentity.value.in_(bindparam("values", expanding=True)),
    )
)


# New customers and their identities on PostgreSQL, one statement whatever their number: a
# data-modifying CTE runs whether referenced or not, and the identities' foreign key is checked at the
# end of the statement, when the customers exist. In psycopg's parameter style: intake sends it in a
# pipeline with its look-ups (decision 0056); returns one row per identity written.
PG_INSERT_NEW = """
WITH new_customers AS (
    INSERT INTO customers (id, tenant_id, name, level, attributes, created_at, updated_at)
    SELECT c.id, %(tenant_id)s, c.name, 'normal', '{}'::jsonb, %(now)s, %(now)s
    FROM unnest(%(customer_ids)s::uuid[], %(names)s::text[]) AS c(id, name)
)
INSERT INTO customer_identities (id, tenant_id, customer_id, kind, value, verified, created_at)
SELECT i.id, %(tenant_id)s, i.customer_id, i.kind, i.value, i.verified, %(now)s
FROM unnest(
    %(identity_ids)s::uuid[], %(owners)s::uuid[], %(kinds)s::text[], %(values)s::text[],
    %(verified)s::boolean[]
) AS i(id, customer_id, kind, value, verified)
ON CONFLICT (tenant_id, kind, value) DO NOTHING
RETURNING id
"""


def pg_insert_new_params(tenant_id: uuid.UUID, new: NewCustomers) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "now": new.customers[0]["created_at"] if new.customers else utcnow(),
        "customer_ids": [c["id"] for c in new.customers],
        "names": [c["name"] for c in new.customers],
        "identity_ids": [i["id"] for i in new.identities],
        "owners": [i["customer_id"] for i in new.identities],
        "kinds": [i["kind"] for i in new.identities],
        "values": [i["value"] for i in new.identities],
        "verified": [i["verified"] for i in new.identities],
    }


async def _pg_insert_new(uow: UnitOfWork, new: NewCustomers) -> None:
    if not new.customers and not new.identities:
        return
    assert uow.tenant_id is not None
    if uow.session.new or uow.session.dirty or uow.session.deleted:
        await uow.session.flush()  # e.g. a merge's rows: they go first, as through the session
    cursor = (await session_driver_connection(uow.session)).cursor()
    await cursor.execute(PG_INSERT_NEW, pg_insert_new_params(uow.tenant_id, new))
    if len(await cursor.fetchall()) != len(new.identities):
        raise IdentityTaken


async def _live_owners(uow: UnitOfWork, claims: list[IdentityClaim]) -> dict[tuple[str, str], Owner]:
    """The live customer behind each claimed identity that exists. Identities move with merges, so
    they point at live customers; a merged one is followed to its survivor all the same (a
    concurrent merge may have committed between an identity insert and this read)."""
    rows = (
        await uow.session.execute(
            _OWNERS, {"kinds": list({c.kind for c in claims}), "values": list({c.value for c in claims})}
        )
    ).all()
    return await owners_from_rows(uow, claims, [tuple(row) for row in rows])


async def owners_from_rows(
    uow: UnitOfWork, claims: Iterable[IdentityClaim], rows: Iterable[tuple[Any, ...]]
) -> dict[tuple[str, str], Owner]:
    """The live owner of each claimed identity, from rows of (kind, value, customer id, created at,
    merged into id) as ``queries.PG_IDENTITY_OWNERS`` returns them (rows of other claims are skipped)."""
    owners: dict[tuple[str, str], Owner] = {}
    wanted = {c.key for c in claims}
    for kind, value, customer_id, created_at, merged_into_id in rows:
        if (kind, value) not in wanted:
            continue
        owner = Owner(customer_id, ensure_utc(created_at))
        if merged_into_id is not None:
            owner = await _survivor_of(uow, merged_into_id)
        owners[(kind, value)] = owner
    return owners


async def _survivor_of(uow: UnitOfWork, customer_id: uuid.UUID) -> Owner:
    for _ in range(32):
        row = (
            await uow.session.execute(
                select(Customer.id, Customer.created_at, Customer.merged_into_id).where(
                    Customer.id == customer_id
                )
            )
        ).one()
        if row.merged_into_id is None:
            return Owner(row.id, row.created_at)
        customer_id = row.merged_into_id
    raise Conflict("customer merge chain too long")


async def _create_for_claims(uow: UnitOfWork, name: str | None, claims: list[IdentityClaim]) -> Resolution:
    assert uow.tenant_id is not None
    session = uow.session
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
    if not claims:
        return Resolution(customer_id, created=True)
    winner = await _attach_identities(uow, customer_id, claims)
    if winner != customer_id:
        # A concurrent request registered the same identity first: use its customer, drop ours.
        await session.execute(delete(Customer).where(Customer.id == customer_id))
        return Resolution(winner)
    return Resolution(customer_id, created=True, attached=tuple(c.key for c in claims))


async def _attach_identities(
    uow: UnitOfWork, customer_id: uuid.UUID, claims: list[IdentityClaim]
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
            "kind": claim.kind,
            "value": claim.value,
            "verified": claim.verified,
            "created_at": now,
        }
        for claim in claims
    ]
    stmt = insert_fn(CustomerIdentity).on_conflict_do_nothing(index_elements=["tenant_id", "kind", "value"])
    await session.execute(stmt, rows)
    owner = (
        await session.execute(
            select(CustomerIdentity.customer_id).where(
                CustomerIdentity.kind == claims[0].kind, CustomerIdentity.value == claims[0].value
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
    claims = identity_claims((i.kind, i.value, i.verified) for i in request.identities)
    taken = await _owners(uow, [c.key for c in claims])
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
                kind=claim.kind,
                value=claim.value,
                verified=claim.verified,
                created_at=now,
            )
            for claim in claims
        ]
    )
    try:
        await uow.session.flush()
    except IntegrityError as exc:
        raise Conflict("an identity belongs to another customer") from exc
    record_event(uow, actor, customer_id, CUSTOMER_CREATED, {"source": "api"})
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
    recorded = _apply_profile(customer, changes)
    if recorded:
        record_event(uow, actor, customer.id, CUSTOMER_UPDATED, {"changes": recorded})
    await uow.commit()
    return customer


def _apply_profile(customer: Customer, changes: dict[str, Any]) -> dict[str, Any]:
    """Set name/level, merge attributes key by key (None removes a key); returns what changed."""
    recorded: dict[str, Any] = {}
    if "attributes" in changes:
        merged = dict(customer.attributes or {})
        for key, value in changes.pop("attributes").items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        if merged != (customer.attributes or {}):
            recorded["attributes"] = {"from": customer.attributes or {}, "to": merged}
            customer.attributes = merged
    for name, value in changes.items():
        if getattr(customer, name) != value:
            recorded[name] = {"from": getattr(customer, name), "to": value}
            setattr(customer, name, value)
    if recorded:
        customer.updated_at = utcnow()
    return recorded


async def upsert_customer(
    uow: UnitOfWork,
    actor: Actor,
    *,
    name: str | None,
    level: str | None,
    attributes: dict[str, Any],
    identities: Iterable[IdentityInput],
    source: dict[str, Any],
) -> tuple[uuid.UUID, bool]:
    """The import path: find the customer behind ``identities`` (the resolution rules, merges
    included) and update its profile with the values given, or create it. Returns the customer id and
    whether it was created. No commit (imports commit a chunk of rows at once)."""
    actor.require("customer.write")
    resolution = await resolve_identities(uow, name, identities, actor=actor)
    if resolution.customer_id is None:
        raise ValidationFailed("a customer needs a name or an identity")
    customer = (
        await uow.session.execute(
            select(Customer).where(Customer.id == resolution.customer_id).with_for_update()
        )
    ).scalar_one()
    changes: dict[str, Any] = {}
    if name:
        changes["name"] = name
    if level:
        changes["level"] = level
    if attributes:
        changes["attributes"] = attributes
    recorded = _apply_profile(customer, changes)
    if resolution.created:
        record_event(uow, actor, customer.id, CUSTOMER_CREATED, {"source": source})
    elif recorded or resolution.attached:
        record_event(uow, actor, customer.id, CUSTOMER_UPDATED, {"changes": recorded, "source": source})
    return customer.id, resolution.created


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
