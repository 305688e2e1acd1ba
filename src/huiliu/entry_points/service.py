"""Use cases of entry points: create, change, delete (or deactivate). Each needs the
``admin.entry_points`` permission and runs in one transaction of the caller's tenant."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from huiliu.auth.domain import Actor
from huiliu.auth.service import check_assignable
from huiliu.core.clock import utcnow
from huiliu.core.errors import Conflict
from huiliu.db.session import UnitOfWork
from huiliu.entry_points import domain, queries
from huiliu.entry_points.models import EntryPoint
from huiliu.entry_points.schemas import EntryPointCreate, EntryPointUpdate

PERMISSION = "admin.entry_points"

# A check a channel adds for its kind's settings (a webhook's mapping, say): it returns the config
# normalised or raises ValidationFailed. The API passes the channels' checks in.
ConfigCheck = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Created:
    entry_point: EntryPoint
    # The webhook secret, when this call generated it: shown to the caller once.
    generated_secret: str | None


async def _checked_config(
    uow: UnitOfWork, kind: str, config: Mapping[str, Any], checks: Mapping[str, ConfigCheck]
) -> dict[str, Any]:
    clean = domain.validate_config(kind, config)
    kind_check = checks.get(kind)
    if kind_check is not None:
        clean = kind_check(clean)
    if "default_team_id" in clean:
        await check_assignable(uow, team_id=uuid.UUID(clean["default_team_id"]), assignee_id=None)
    return clean


async def create_entry_point(
    uow: UnitOfWork,
    actor: Actor,
    request: EntryPointCreate,
    *,
    entry_point_id: uuid.UUID,
    checks: Mapping[str, ConfigCheck] | None = None,
) -> Created:
    """A new entry point with a fresh public key. A webhook entry point without a ``secret`` gets a
    generated one, returned here once."""
    actor.require(PERMISSION)
    domain.kind_spec(request.kind)
    config = dict(request.config)
    generated = None
    if request.kind == domain.WEBHOOK and not config.get("secret"):
        generated = config["secret"] = domain.new_secret()
    config = await _checked_config(uow, request.kind, config, checks or {})
    entry_point = EntryPoint(
        id=entry_point_id,
        tenant_id=actor.tenant_id,
        kind=request.kind,
        name=request.name,
        channel=domain.channel_for(request.kind, config),
        public_key=domain.new_public_key(),
        config=config,
        is_active=request.is_active,
        created_at=utcnow(),
    )
    uow.session.add(entry_point)
    await uow.commit()
    return Created(entry_point, generated)


async def update_entry_point(
    uow: UnitOfWork,
    actor: Actor,
    entry_point_id: uuid.UUID,
    request: EntryPointUpdate,
    *,
    checks: Mapping[str, ConfigCheck] | None = None,
) -> EntryPoint:
    """Rename, (de)activate or change settings. Config keys given replace the stored ones, keys set
    to null are removed, the rest are kept; the kind never changes (make a new entry point)."""
    actor.require(PERMISSION)
    entry_point = await queries.require_entry_point(uow.session, entry_point_id)
    if request.config is not None:
        merged = domain.merge_config(entry_point.config, request.config)
        entry_point.config = await _checked_config(uow, entry_point.kind, merged, checks or {})
        entry_point.channel = domain.channel_for(entry_point.kind, entry_point.config)
    if request.name is not None:
        entry_point.name = request.name
    if request.is_active is not None:
        entry_point.is_active = request.is_active
    await uow.commit()
    return entry_point


async def delete_entry_point(uow: UnitOfWork, actor: Actor, entry_point_id: uuid.UUID) -> str:
    """Delete an entry point nobody has used; one that tickets came through is deactivated instead,
    so those tickets keep saying where they came from. Returns ``deleted`` or ``deactivated``."""
    actor.require(PERMISSION)
    entry_point = await queries.require_entry_point(uow.session, entry_point_id)
    if await queries.has_tickets(uow.session, entry_point.id):
        entry_point.is_active = False
        await uow.commit()
        return "deactivated"
    await uow.session.delete(entry_point)
    try:
        await uow.commit()
    except IntegrityError as exc:  # a ticket arrived between the check and the delete
        raise Conflict("tickets came in through this entry point meanwhile; deactivate it") from exc
    return "deleted"
