"""The demo tenant gets routing policies and agent profiles once, after its ticket history, so the
history is exactly the planned one and new tickets are routed with the default policy."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from huiliu.core.pubsub import InProcessHub
from huiliu.db.engine import make_async_engine
from huiliu.db.session import Database
from huiliu.demo import content as c
from huiliu.demo import seed_demo
from huiliu.routing.models import AgentProfile, RoutingPolicyRow
from huiliu.tickets.models import TicketEvent
from tests.demo.databases import fresh_database

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


async def _routing_rows(db: Database) -> tuple[dict[str, bool], int, int]:
    async with db.session(None, system=True) as session:
        policies = {
            row.name: row.is_default for row in (await session.execute(select(RoutingPolicyRow))).scalars()
        }
        profiles = int(await session.scalar(select(func.count()).select_from(AgentProfile)) or 0)
        routed = int(
            await session.scalar(
                select(func.count()).select_from(TicketEvent).where(TicketEvent.actor_name == "routing")
            )
            or 0
        )
    return policies, profiles, routed


async def test_demo_seed_sets_up_routing_once(tmp_path) -> None:
    with fresh_database(tmp_path) as url:
        db = Database(make_async_engine(url), InProcessHub())
        try:
            await seed_demo(db, tickets_count=6, customers_count=5, now=NOW)
            policies, profiles, routed = await _routing_rows(db)
            assert policies == {"默认派单": True, "VIP 专属": False}
            assert profiles == sum(len(people) for people in c.AGENTS.values())
            assert routed == 0  # the planned history is kept: the seed itself routes nothing

            await seed_demo(db, tickets_count=6, customers_count=5, now=NOW)
            assert await _routing_rows(db) == (policies, profiles, 0)
        finally:
            await db.dispose()
