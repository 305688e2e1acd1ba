"""Route new tickets inside the unit of work that created them (docs/decisions/0015, 0017).

On ``ticket.created`` of a tenant with an active default routing policy, a ticket created without an
agent is routed with that policy through ``routing.service.route`` — the same path as "route now"
and rules that assign via a routing policy — so the assignment and its reason commit with the new
ticket. Runs after the automation reactor (a rule that assigns first wins) and before SLA."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from huiliu.auth.domain import system_actor
from huiliu.core import events as ev
from huiliu.core.errors import Conflict, NotFound, ValidationFailed
from huiliu.core.events import DomainEvent
from huiliu.db.session import Database, TenantFlagCache, UnitOfWork
from huiliu.routing import queries, service

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
        async def load() -> bool:
            async with db.read(tenant_id) as session:
                return await queries.has_active_default(session)

        return await self.flags.load(tenant_id, load)

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
        ticket_ids = list(dict.fromkeys(uuid.UUID(event.data["ticket"]["id"]) for event in mine))
        try:
            # One snapshot of the agents for every ticket of the unit of work (an intake batch); a
            # rule reacting before routing may have assigned some already: those are left alone.
            await service.route_new(uow, ticket_ids, actor_name=ACTOR_NAME)
        except (NotFound, Conflict, ValidationFailed) as exc:
            # The default policy went away or was switched off (nothing was written yet): the tickets
            # are still created, unassigned on their team's queue, each with a
            # ``ticket.routing_failed`` event that says why, so none is left unassigned silently.
            log.warning("%d ticket(s) not routed: %s", len(ticket_ids), exc)
            actor = system_actor(uow.tenant_id, ACTOR_NAME)
            for ticket_id in ticket_ids:
                await service.record_failure(
                    uow, actor, ticket_id, f"Routing failed: {exc.detail or exc}", code="routing.failed"
                )
