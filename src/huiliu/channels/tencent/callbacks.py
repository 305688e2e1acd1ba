"""What the WeChat and WeCom callback routes share: finding the entry point a callback names, and
reading a body no larger than the limit (checked while streaming, before anything is parsed)."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import Engine
from starlette.requests import Request

from huiliu.core.errors import NotFound, PayloadTooLarge
from huiliu.db.engine import make_sync_engine
from huiliu.db.session import Database
from huiliu.entry_points.models import EntryPoint
from huiliu.entry_points.queries import get_entry_point

# A callback is one small XML message; anything larger is refused before parsing.
MAX_CALLBACK_BYTES = 64 * 1024
SUCCESS = "success"


async def open_entry_point(db: Database, entry_point_id: uuid.UUID, kinds: Collection[str]) -> EntryPoint:
    """The active entry point of one of ``kinds`` with this id, in any tenant; NotFound otherwise."""
    async with db.read(None, system=True) as session:
        entry_point = await get_entry_point(session, entry_point_id)
    if entry_point is None or not entry_point.is_active or entry_point.kind not in kinds:
        raise NotFound("callback entry point not found")
    return entry_point


async def read_body(request: Request, limit: int = MAX_CALLBACK_BYTES) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise PayloadTooLarge(f"the body is larger than {limit} bytes", limit=limit)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge(f"the body is larger than {limit} bytes", limit=limit)
    return bytes(body)


def sync_engine(request: Request, database_url: str) -> Engine:
    """The sync engine the platform client's token store uses in an API process: made once per app
    (the worker has its own), kept on the app's state."""
    engine: Engine | None = getattr(request.app.state, "tencent_sync_engine", None)
    if engine is None:
        engine = make_sync_engine(database_url)
        request.app.state.tencent_sync_engine = engine
    return engine
