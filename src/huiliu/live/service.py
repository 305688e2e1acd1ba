"""Live updates: which hub messages a caller may see, the server-sent-event wire format, the replay
of missed events from the outbox on reconnect, and ephemeral presence messages.

A hub message is an event envelope plus ``audience`` ({team_id, assignee_id}, the scope fields of the
ticket it is about; or {user_id} for a message to one user). The audience decides delivery and never
goes on the wire."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.auth.domain import Actor
from huiliu.core.clock import utcnow
from huiliu.core.errors import HuiliuError
from huiliu.core.ids import new_id
from huiliu.core.outbox import KIND_EVENT, OutboxRow
from huiliu.core.pubsub import Hub
from huiliu.db.session import Database

HEARTBEAT_SECONDS = 15.0
# How many missed events one reconnect replays; past that the client is told to reload (``reset``).
REPLAY_LIMIT = 500
# How long an EventSource waits before reconnecting after the connection drops.
RETRY_MILLISECONDS = 3000

PRESENCE = "presence"
RESET = "reset"
# In-app notifications pushed to their recipient: not outbox events, so they cannot be replayed and
# must not move the client's replay position (the inbox itself is fetched again on reconnect).
NOTIFICATION_CREATED = "notification.created"
UNREPLAYABLE = frozenset({PRESENCE, RESET, NOTIFICATION_CREATED})
PRESENCE_STATES = ("viewing", "typing", "left")

Reauthorize = Callable[[], Awaitable[Actor]]


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def visible_to(actor: Actor, message: dict[str, Any]) -> bool:
    """Whether a hub message may go to ``actor``: its audience lies inside the actor's data scope.
    A user's own presence is not echoed back to them."""
    if message.get("type") == PRESENCE:
        user = (message.get("data") or {}).get("user") or {}
        if actor.id is not None and user.get("id") == str(actor.id):
            return False
    audience = message.get("audience") or {}
    if audience.get("user_id") is not None:
        # Addressed to one user (an in-app notification): nobody else, whatever their scope.
        return actor.id is not None and str(actor.id) == str(audience["user_id"])
    return actor.sees(
        team_id=_uuid_or_none(audience.get("team_id")),
        assignee_id=_uuid_or_none(audience.get("assignee_id")),
    )


def wire_envelope(message: dict[str, Any]) -> dict[str, Any]:
    """The envelope a client sees: the hub message without its audience."""
    return {key: value for key, value in message.items() if key != "audience"}


def sse_frame(message: dict[str, Any]) -> str:
    """One SSE event. Durable events carry ``id:`` (the event id, echoed back as Last-Event-ID on
    reconnect); presence, reset and pushed notifications do not, so they never move the client's
    replay position."""
    envelope = wire_envelope(message)
    lines = []
    if envelope.get("type") not in UNREPLAYABLE:
        lines.append(f"id: {envelope['id']}")
    lines.append(f"event: {envelope['type']}")
    # orjson escapes newlines inside strings, so the JSON is always one ``data:`` line.
    lines.append("data: " + orjson.dumps(envelope, default=str).decode())
    return "\n".join(lines) + "\n\n"


def heartbeat_frame() -> str:
    return ": heartbeat\n\n"


def reset_message(reason: str) -> dict[str, Any]:
    return {
        "id": str(new_id()),
        "type": RESET,
        "occurred_at": _wire_time(utcnow()),
        "data": {"reason": reason},
    }


def _wire_time(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def uuid7_moment(value: uuid.UUID) -> datetime | None:
    """The creation time a UUIDv7 carries (millisecond precision), None for other versions."""
    if value.version != 7:
        return None
    return datetime.fromtimestamp((value.int >> 80) / 1000, tz=UTC)


def _ticket_audience(payload: dict[str, Any]) -> dict[str, Any]:
    ticket = (payload.get("data") or {}).get("ticket") or {}
    return {"team_id": ticket.get("team_id"), "assignee_id": ticket.get("assignee_id")}


async def missed_events(
    session: AsyncSession, actor: Actor, last_event_id: uuid.UUID, limit: int = REPLAY_LIMIT
) -> list[dict[str, Any]] | None:
    """The events of the actor's tenant written after ``last_event_id``, oldest first, filtered by the
    actor's scope (from the ticket summary each event carries). None when they cannot be replayed: the
    position is unknown, or more than ``limit`` events were missed; the client then reloads instead.

    ``session`` is tenant-scoped, so only the actor's tenant's outbox rows are read."""
    anchor = (
        await session.execute(
            select(OutboxRow.created_at).where(OutboxRow.id == last_event_id, OutboxRow.kind == KIND_EVENT)
        )
    ).scalar_one_or_none()
    if anchor is not None:
        after = or_(
            OutboxRow.created_at > anchor,
            and_(OutboxRow.created_at == anchor, OutboxRow.id > last_event_id),
        )
    else:
        # Not (or no longer) in the outbox: an event id is a UUIDv7, so its time still says where to resume.
        moment = uuid7_moment(last_event_id)
        if moment is None:
            return None
        after = and_(OutboxRow.created_at >= moment, OutboxRow.id != last_event_id)
    rows = (
        await session.execute(
            select(OutboxRow.payload)
            .where(OutboxRow.kind == KIND_EVENT, after)
            .order_by(OutboxRow.created_at, OutboxRow.id)
            .limit(limit + 1)
        )
    ).all()
    if len(rows) > limit:
        return None
    replay = []
    for (payload,) in rows:
        message = {**payload, "audience": _ticket_audience(payload)}
        if visible_to(actor, message):
            replay.append(message)
    return replay


def presence_message(
    actor: Actor,
    ticket_id: uuid.UUID,
    state: str,
    *,
    team_id: uuid.UUID | None,
    assignee_id: uuid.UUID | None,
) -> dict[str, Any]:
    """An ephemeral hub message saying ``actor`` is viewing, typing on or has left a ticket."""
    return {
        "id": str(new_id()),
        "type": PRESENCE,
        "occurred_at": _wire_time(utcnow()),
        "data": {
            "ticket_id": str(ticket_id),
            "state": state,
            "user": {"id": str(actor.id) if actor.id else None, "name": actor.name},
        },
        "audience": {
            "team_id": str(team_id) if team_id else None,
            "assignee_id": str(assignee_id) if assignee_id else None,
        },
    }


def publish_presence(
    hub: Hub,
    actor: Actor,
    ticket_id: uuid.UUID,
    state: str,
    *,
    team_id: uuid.UUID | None,
    assignee_id: uuid.UUID | None,
) -> None:
    """Tell the tenant's other agents who can see the ticket. Not stored: presence is only ever live."""
    message = presence_message(actor, ticket_id, state, team_id=team_id, assignee_id=assignee_id)
    hub.publish(actor.tenant_id, message)


async def event_stream(
    db: Database,
    hub: Hub,
    actor: Actor,
    *,
    last_event_id: uuid.UUID | None = None,
    heartbeat_seconds: float = HEARTBEAT_SECONDS,
    reauthorize: Reauthorize | None = None,
) -> AsyncIterator[str]:
    """The SSE text of one connection: a retry hint, the replay of missed events (when reconnecting),
    then live messages of the actor's tenant inside the actor's scope, with a heartbeat comment
    whenever the line has been quiet for ``heartbeat_seconds``.

    The subscription is opened before the replay is read, so nothing falls between the two; events
    that arrive both ways are sent once. At each heartbeat ``reauthorize`` (when given) loads the actor
    afresh: a changed role or team applies from then on, and a revoked login ends the stream."""
    async with hub.subscribe(actor.tenant_id) as messages:
        yield f"retry: {RETRY_MILLISECONDS}\n\n"
        replayed: set[str] = set()
        if last_event_id is not None:
            async with db.read(actor.tenant_id) as session:
                backlog = await missed_events(session, actor, last_event_id)
            if backlog is None:
                yield sse_frame(reset_message("too many missed events or unknown position"))
                backlog = []
            for message in backlog:
                replayed.add(message["id"])
                yield sse_frame(message)
        pending: asyncio.Future[dict[str, Any]] | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(anext(messages))
                done, _ = await asyncio.wait({pending}, timeout=heartbeat_seconds)
                if not done:
                    if reauthorize is not None:
                        try:
                            actor = await reauthorize()
                        except HuiliuError:
                            return
                    yield heartbeat_frame()
                    continue
                message, pending = pending.result(), None
                if replayed and message.get("id") in replayed:
                    replayed.discard(message["id"])
                    continue
                if visible_to(actor, message):
                    yield sse_frame(message)
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await pending
