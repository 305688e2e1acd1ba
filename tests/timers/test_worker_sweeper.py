"""The worker's timer sweeper thread: it sweeps on its own event loop and database, hands a due
timer to its handler within a sweep interval, and stops cleanly."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import datetime, timedelta

from huiliu.automation.reactor import install as install_automation
from huiliu.core.clock import utcnow
from huiliu.db.session import UnitOfWork
from huiliu.sla.reactor import install as install_sla
from huiliu.timers.service import get_timer, register_timer_handler, set_timer, unregister_timer_handler
from huiliu.worker.timers import TimerSweeper
from tests.factories import make_member, make_tenant, make_ticket


async def test_the_sweeper_thread_handles_a_due_timer_and_stops(runtime, settings):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    ticket_id = (await make_ticket(runtime, admin))["id"]
    kind = f"w{uuid.uuid4().hex[:12]}"
    seen = threading.Event()

    async def handler(uow: UnitOfWork, ticket: uuid.UUID, now: datetime) -> datetime | None:
        if ticket == ticket_id:
            seen.set()
        return None

    register_timer_handler(kind, handler)
    async with runtime.db.uow(tenant.id) as uow:
        await set_timer(uow, ticket_id, kind, utcnow() - timedelta(seconds=1))
        await uow.commit()
    sweeper = TimerSweeper(settings.model_copy(update={"timer_sweep_seconds": 0.2}))
    try:
        sweeper.start()
        await asyncio.to_thread(seen.wait, 20)
    finally:
        sweeper.stop(timeout=10)
        unregister_timer_handler(kind)
        # The sweeper registered its own reactors' handlers; give the timer kinds back to this runtime's.
        install_automation(runtime.db)
        install_sla(runtime.db)
    assert seen.is_set()
    assert sweeper._thread is not None and not sweeper._thread.is_alive()
    async with runtime.db.uow(tenant.id) as uow:
        assert await get_timer(uow, ticket_id, kind) is None
