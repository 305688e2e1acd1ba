"""The inbox relay: new in-app notifications pushed over the API process's own live hub.

The worker stores in-app notifications in another process. With Redis it publishes each one on the
channel every API process relays (``core.pubsub.RedisHub``); without Redis (embedded: SQLite, one
machine) the worker cannot reach the API's in-process hub, so each API process reads the inbox rows
stored since its last look, about once a second, and publishes them itself (``notification.created``,
seen only by the recipient). One indexed range read per second per API process while somebody is
connected to it; none while nobody listens (a bell that connects later fetches its inbox itself).

Rows are read with a look-back window, because a row's ``created_at`` is taken before its
transaction commits: a row that commits a little after a later one is still found. Ids published
within the window are remembered, so none is published twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from huiliu.core.clock import utcnow
from huiliu.core.pubsub import Hub, InProcessHub
from huiliu.db.session import Database
from huiliu.notifications.delivery import live_message
from huiliu.notifications.models import InboxItem

log = logging.getLogger("huiliu.notifications")

POLL_SECONDS = 1.0
LOOK_BACK = timedelta(seconds=30)
BATCH = 500


class InboxRelay:
    def __init__(self, db: Database, hub: Hub, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.db = db
        self.hub = hub
        self.poll_seconds = poll_seconds
        self._since: datetime = utcnow()
        self._published: dict[Any, datetime] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._since = utcnow()
        self._task = asyncio.create_task(self._run(), name="inbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            if isinstance(self.hub, InProcessHub) and not self.hub.listening():
                # Nobody to push to: start from now when somebody connects (their bell fetches the
                # inbox on connect, so nothing stored meanwhile goes unseen).
                self._since = utcnow()
                continue
            try:
                await self.relay_once()
            except Exception:  # the database may be briefly unreachable; the bell's refetch covers it
                log.warning("the inbox relay could not read new notifications", exc_info=True)

    async def relay_once(self) -> int:
        """Publish the inbox rows stored since the last look; returns how many."""
        now = utcnow()
        floor = min(self._since, now) - LOOK_BACK
        async with self.db.read(None, system=True) as session:
            rows = (
                (
                    await session.execute(
                        select(InboxItem)
                        .where(InboxItem.created_at > floor)
                        .order_by(InboxItem.created_at, InboxItem.id)
                        .limit(BATCH)
                    )
                )
                .scalars()
                .all()
            )
        published = 0
        for row in rows:
            if row.id in self._published:
                continue
            self._published[row.id] = row.created_at
            item = {
                "id": row.id,
                "user_id": row.user_id,
                "ticket_id": row.ticket_id,
                "severity": row.severity,
                "title": row.title,
                "body": row.body,
                "link": row.link,
                "created_at": row.created_at,
            }
            self.hub.publish(row.tenant_id, live_message(item))
            published += 1
        if rows:
            self._since = max(self._since, max(row.created_at for row in rows))
        horizon = floor
        self._published = {key: at for key, at in self._published.items() if at > horizon}
        return published
