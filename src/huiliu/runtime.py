"""Everything a running API process shares: settings, database, live hub, caches. Built once at
start-up and handed to requests through ``auth.deps.get_runtime``; no module-level state."""

from __future__ import annotations

from dataclasses import dataclass, field

from huiliu.auth.service import ActorCache, TokenClaims
from huiliu.core.pubsub import Hub, make_hub
from huiliu.db.driver import DriverPool
from huiliu.db.engine import is_sqlite, make_async_engine
from huiliu.db.session import Database
from huiliu.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    db: Database
    hub: Hub
    actor_cache: ActorCache = field(default_factory=ActorCache)
    # Verified bearer/session tokens -> (user id, tenant id, expiry as Unix time); see auth.deps.
    token_cache: dict[str, TokenClaims] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        hub = make_hub(settings.redis_url)
        engine = make_async_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
        )
        driver_pool = None
        if not is_sqlite(settings.database_url):
            driver_pool = DriverPool(
                settings.database_url,
                size=settings.db_pool_size,
                timeout=settings.db_pool_timeout_seconds,
                group_concurrency=settings.create_group_commit_concurrency,
            )
        return cls(settings=settings, db=Database(engine, hub, driver_pool), hub=hub)

    async def start(self) -> None:
        await self.db.open()
        await self.hub.start()

    async def stop(self) -> None:
        await self.hub.stop()
        await self.db.dispose()
