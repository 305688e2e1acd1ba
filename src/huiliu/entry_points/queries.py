"""The read side of entry points."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.entry_points.models import EntryPoint


async def get_entry_point(session: AsyncSession, entry_point_id: uuid.UUID) -> EntryPoint | None:
    """The entry point with this id in the session's tenant (active or not), or None."""
    result = await session.execute(select(EntryPoint).where(EntryPoint.id == entry_point_id))
    return result.scalar_one_or_none()


async def get_by_public_key(session: AsyncSession, public_key: str) -> EntryPoint | None:
    """The entry point with this public key in any tenant (public routes open a system session to
    find the tenant), active or not; None when unknown."""
    result = await session.execute(select(EntryPoint).where(EntryPoint.public_key == public_key))
    return result.scalar_one_or_none()
