"""The Huey instance: SQLite storage by default (embedded, no extra service), Redis when
``HUILIU_REDIS_URL`` is set (many workers on many machines share one queue)."""

from __future__ import annotations

from huey import Huey, RedisHuey, SqliteHuey

from huiliu.settings import Settings

QUEUE_NAME = "huiliu"


def make_huey(settings: Settings) -> Huey:
    if settings.redis_url:
        return RedisHuey(name=QUEUE_NAME, url=settings.redis_url, results=False)
    path = settings.huey_sqlite_path
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name=QUEUE_NAME, filename=str(path), results=False)
