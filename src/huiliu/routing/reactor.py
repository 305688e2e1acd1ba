"""Route new tickets inside the unit of work that created them (docs/decisions/0015, 0017).

On ``ticket.created`` of a tenant with an active default routing policy, a ticket created without an
agent is routed with that policy through ``routing.service.route`` — the same path as "route now"
and rules that assign via a routing policy — so the assignment and its reason commit with the new
ticket. Runs after the automation reactor (a rule that assigns first wins) and before SLA."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from sqlalchemy import select

from huiliu.auth.domain import system_actor
from huiliu.core import events as ev
from huiliu.core.errors import Conflict, NotFound, ValidationFailed
from huiliu.core.events import DomainEvent
from huiliu.db.session import Database, TenantFlagCache, UnitOfWork
from huiliu.routing import queries, service
from huiliu.tickets import service as tickets
from huiliu.tickets.models import Ticket

log = logging.getLogger("huiliu.routing")
ACTOR_NAME = "routing"
DEFAULT_TTL = 2.0  # seconds another process may keep routing (or not) after a policy change


def install(db: Database, ttl: float = DEFAULT_TTL) -> RoutingReactor:
    """Register the routing reactor on ``db`` once (after automation, before SLA); returns it."""
    for reactor in db.reactors:
        if isinstance(reactor, RoutingReactor):
            return reactor
    routing = RoutingReactor(ttl)
    db.reactors.append(routing)
    return routing


class RoutingReactor:
    """Assigns new, unassigned tickets with the tenant's default policy. ``flags`` caches, per
    tenant, whether it has an active default policy; policy writes invalidate it."""

    name = service.REACTOR_NAME

    def __init__(self, ttl: float = DEFAULT_TTL) -> None:
        self.flags = TenantFlagCache(ttl)

    async def applies(self, db: Database, tenant_id: uuid.UUID) -> bool:
        cached = self.flags.get(tenant_id)
        if cached is not None:
            return cached
        async with db.read(tenant_id) as session:
            return self.flags.put(tenant_id, await queries.has_active_default(session))

    async def _routes(self, uow: UnitOfWork, tenant_id: uuid.UUID) -> bool:
        cached = self.flags.get(tenant_id)
        if cached is not None:
            return cached
        return self.flags.put(tenant_id, await queries.has_active_default(uow.session))

    async def react(self, uow: UnitOfWork, events: Sequence[DomainEvent]) -> None:
        created = [event for event in events if event.type == ev.TICKET_CREATED]
        if not created or uow.tenant_id is None:
            return
        mine = [event for event in created if event.tenant_id == uow.tenant_id]
        if not mine or not await self._routes(uow, uow.tenant_id):
            return
        for event in mine:
            ticket_id = uuid.UUID(event.data["ticket"]["id"])
            # Read the ticket as it is now: a rule reacting before routing may have assigned it.
            await uow.session.flush()
            assignee = await uow.session.scalar(select(Ticket.assignee_id).where(Ticket.id == ticket_id))
            if assignee is not None:
                continue
            try:
                await service.route(uow, ticket_id, actor_name=ACTOR_NAME)
            except (NotFound, Conflict, ValidationFailed) as exc:
                # The default policy went away, was switched off, or the ticket's routing fields do not
                # parse (nothing was written yet): the ticket is still created, unassigned on its team's
                # queue, with an internal note that says why, so it is not left unassigned silently.
                log.warning("ticket %s not routed: %s", ticket_id, exc)
                await tickets.add_message(
                    uow,
                    system_actor(uow.tenant_id, ACTOR_NAME),
                    ticket_id,
                    f"自动分配失败 / Routing failed: {exc.detail or exc}",
                    public=False,
                )
