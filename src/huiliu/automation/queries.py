"""The read side of rules: the tenant's rules in evaluation order, one rule, its change history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.automation.models import Rule, RuleChange
from huiliu.core.errors import NotFound

MAX_CHANGES = 200


async def list_rules(session: AsyncSession) -> Sequence[Rule]:
    """The tenant's rules in evaluation order (``position``, then id; a tenant has at most 1,000)."""
    query = select(Rule).order_by(Rule.position, Rule.id)
    return (await session.execute(query)).scalars().all()


async def get_rule(session: AsyncSession, rule_id: uuid.UUID) -> Rule | None:
    return (await session.execute(select(Rule).where(Rule.id == rule_id))).scalar_one_or_none()


async def require_rule(session: AsyncSession, rule_id: uuid.UUID) -> Rule:
    """The rule in the session's tenant; NotFound otherwise (another tenant's id included)."""
    rule = await get_rule(session, rule_id)
    if rule is None:
        raise NotFound("rule not found")
    return rule


async def count_rules(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Rule))).scalar_one())


async def last_position(session: AsyncSession) -> int | None:
    """The largest position in use, None when the tenant has no rules."""
    value = (await session.execute(select(func.max(Rule.position)))).scalar_one()
    return None if value is None else int(value)


async def preset_keys(session: AsyncSession) -> set[str]:
    rows = await session.execute(select(Rule.preset_key).where(Rule.preset_key.is_not(None)))
    return {key for (key,) in rows.all() if key is not None}


async def changes_of(
    session: AsyncSession, rule_id: uuid.UUID, *, limit: int = MAX_CHANGES
) -> Sequence[RuleChange]:
    """A rule's change history, newest first (kept after the rule is deleted)."""
    query = (
        select(RuleChange)
        .where(RuleChange.rule_id == rule_id)
        .order_by(RuleChange.created_at.desc(), RuleChange.id.desc())
        .limit(limit)
    )
    return (await session.execute(query)).scalars().all()
