"""The read side of customers: keyset pages (newest first), one customer with its identities, its
merge history and its events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.core.errors import NotFound, ValidationFailed
from huiliu.customers.domain import IDENTITY_KINDS, normalize_identity
from huiliu.customers.models import Customer, CustomerEvent, CustomerIdentity, CustomerMerge

MAX_LIMIT = 200

# The owners of claimed identities (kind, value, customer id, created at, merged into) in psycopg's
# own parameter style, for PostgreSQL callers that send it in one pipeline with their other look-ups
# (intake); ``service.owners_from_rows`` reads its rows. Fixed text: psycopg prepares it on the server.
PG_IDENTITY_OWNERS = """
SELECT i.kind, i.value, c.id, c.created_at, c.merged_into_id
FROM customer_identities AS i JOIN customers AS c ON c.id = i.customer_id
WHERE i.tenant_id = %(tenant_id)s AND c.tenant_id = %(tenant_id)s
  AND i.kind = ANY(%(kinds)s::text[]) AND i.value = ANY(%(values)s::text[])
"""


def identity_candidates(text: str) -> list[tuple[str, str]]:
    """Every (kind, normalized value) that ``text`` could be, so a search for "+86 138-0013-8000" finds
    the phone identity 13800138000 through the (tenant, kind, value) index."""
    candidates = []
    for kind in sorted(IDENTITY_KINDS):
        try:
            candidates.append((kind, normalize_identity(kind, text)))
        except ValidationFailed:
            continue
    return candidates


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def list_customers(
    session: AsyncSession, *, text: str | None, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> tuple[list[Customer], bool]:
    """Customers newest first (merged-away ones left out), optionally matching ``text`` against the
    name (a fragment) or an identity value (the whole value). Returns the page and whether more follow."""
    where: list[Any] = [Customer.merged_into_id.is_(None)]
    if text:
        matches: list[Any] = [func.lower(Customer.name).like(_like(text.lower()), escape="\\")]
        candidates = identity_candidates(text)
        if candidates:
            matches.append(
                Customer.id.in_(
                    select(CustomerIdentity.customer_id).where(
                        or_(
                            *(
                                and_(CustomerIdentity.kind == kind, CustomerIdentity.value == value)
                                for kind, value in candidates
                            )
                        )
                    )
                )
            )
        where.append(or_(*matches))
    if after is not None:
        created_at, customer_id = after
        where.append(
            or_(
                Customer.created_at < created_at,
                and_(Customer.created_at == created_at, Customer.id < customer_id),
            )
        )
    limit = max(1, min(limit, MAX_LIMIT))
    rows = (
        (
            await session.execute(
                select(Customer)
                .where(*where)
                .order_by(Customer.created_at.desc(), Customer.id.desc())
                .limit(limit + 1)
            )
        )
        .scalars()
        .all()
    )
    return list(rows[:limit]), len(rows) > limit


async def identities_of(session: AsyncSession, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    if not customer_ids:
        return {}
    rows = (
        (
            await session.execute(
                select(CustomerIdentity)
                .where(CustomerIdentity.customer_id.in_(customer_ids))
                .order_by(CustomerIdentity.created_at, CustomerIdentity.id)
            )
        )
        .scalars()
        .all()
    )
    found: dict[uuid.UUID, list[Any]] = {customer_id: [] for customer_id in customer_ids}
    for row in rows:
        found[row.customer_id].append(row)
    return found


async def get_customer(session: AsyncSession, customer_id: uuid.UUID) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("customer not found")
    return customer


async def merges_of(session: AsyncSession, customer_id: uuid.UUID) -> list[CustomerMerge]:
    """Every merge this customer took part in (as survivor or as the merged one), newest first."""
    rows = (
        await session.execute(
            select(CustomerMerge)
            .where(or_(CustomerMerge.survivor_id == customer_id, CustomerMerge.merged_id == customer_id))
            .order_by(CustomerMerge.created_at.desc(), CustomerMerge.id.desc())
        )
    ).scalars()
    return list(rows)


async def events_of(session: AsyncSession, customer_id: uuid.UUID, *, limit: int) -> list[CustomerEvent]:
    rows = (
        await session.execute(
            select(CustomerEvent)
            .where(CustomerEvent.customer_id == customer_id)
            .order_by(CustomerEvent.created_at.desc(), CustomerEvent.id.desc())
            .limit(limit)
        )
    ).scalars()
    return list(rows)
