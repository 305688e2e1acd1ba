"""The routing reactor: new unassigned tickets of a tenant with an active default policy are routed
in the unit of work that creates them; other tickets and tenants are left alone."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import func, select

from huiliu.core import events as ev
from huiliu.core.outbox import OutboxRow
from huiliu.routing import service
from huiliu.routing.reactor import RoutingReactor, install
from huiliu.routing.service import ROUTING_FAILED
from huiliu.runtime import Runtime
from tests.routing.helpers import make_desk


def test_the_app_registers_the_reactor_once(runtime: Runtime) -> None:
    assert sum(isinstance(reactor, RoutingReactor) for reactor in runtime.db.reactors) == 1
    assert install(runtime.db) in runtime.db.reactors
    assert sum(isinstance(reactor, RoutingReactor) for reactor in runtime.db.reactors) == 1


async def test_new_ticket_is_routed_with_the_default_policy(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    await desk.agent("甲")
    await desk.policy({"strategy": "least_loaded"}, is_default=True)

    ticket_id = await desk.ticket()

    ticket = await desk.load(ticket_id)
    assert desk.name_of(ticket.assignee_id) == "甲"
    [assigned] = await desk.events(ticket_id, ev.TICKET_ASSIGNED)
    assert assigned.actor_name == "routing"
    assert assigned.reason is not None and "least loaded" in assigned.reason
    assert (await desk.profile("甲")).last_assigned_at is not None


async def test_new_ticket_through_the_api_is_routed(runtime: Runtime, client: httpx.AsyncClient) -> None:
    desk = await make_desk(runtime)
    await desk.agent("甲")
    await desk.policy({"strategy": "round_robin"}, is_default=True)

    response = await client.post(
        "/api/v1/tickets",
        json={"title": "退款", "team_id": str(desk.team.id), "customer": {"phone": "13800138009"}},
        headers=desk.admin.headers,
    )

    assert response.status_code == 201, response.text
    ticket = await desk.load(uuid.UUID(response.json()["id"]))
    assert desk.name_of(ticket.assignee_id) == "甲"


async def test_tickets_created_with_an_agent_are_not_rerouted(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    await desk.agent("甲")
    chosen = await desk.agent("乙")
    await desk.policy({"strategy": "least_loaded"}, is_default=True)

    ticket_id = await desk.ticket(assignee_id=str(chosen.user.id))

    assert (await desk.load(ticket_id)).assignee_id == chosen.user.id
    assert await desk.events(ticket_id, ev.TICKET_ASSIGNED) == []


async def test_no_routing_without_an_active_default(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    await desk.agent("甲")
    await desk.policy({"strategy": "least_loaded"})  # not the default
    inactive = await desk.policy({"strategy": "least_loaded"}, is_default=True, active=False)

    reactor = next(r for r in runtime.db.reactors if isinstance(r, RoutingReactor))

    assert not await reactor.applies(runtime.db, desk.tenant.id)
    ticket_id = await desk.ticket()
    assert (await desk.load(ticket_id)).assignee_id is None

    # Policy writes drop the reactor's cached flag at once (its time to live is not waited for).
    async with runtime.db.uow(desk.tenant.id) as uow:
        await service.update_policy(uow, desk.admin.actor, inactive.id, {"active": True})
    assert await reactor.applies(runtime.db, desk.tenant.id)
    routed = await desk.ticket()
    assert (await desk.load(routed)).assignee_id is not None

    async with runtime.db.uow(desk.tenant.id) as uow:
        await service.delete_policy(uow, desk.admin.actor, inactive.id)
    assert not await reactor.applies(runtime.db, desk.tenant.id)


async def test_other_tenants_are_not_routed(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    other = await make_desk(runtime)
    await desk.agent("甲")
    await other.agent("乙")
    await desk.policy({"strategy": "least_loaded"}, is_default=True)

    ticket_id = await other.ticket()

    assert (await other.load(ticket_id)).assignee_id is None


async def test_nobody_available_queues_the_new_ticket_on_its_team(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    await desk.agent("离线", presence="offline")
    await desk.policy({"strategy": "least_loaded", "final": "team_queue"}, is_default=True)

    ticket_id = await desk.ticket()

    ticket = await desk.load(ticket_id)
    assert ticket.assignee_id is None and ticket.team_id == desk.team.id


async def test_a_ticket_routing_cannot_read_is_created_with_a_routing_failed_event(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    await desk.agent("甲", skills={"粤语": 5})
    await desk.policy({"strategy": "skills"}, is_default=True)

    ticket_id = await desk.ticket(fields={"required_skills": {"粤语": 9}})

    assert (await desk.load(ticket_id)).assignee_id is None
    [failed] = await desk.events(ticket_id, ROUTING_FAILED)
    assert failed.actor_name == "routing"
    assert "required level" in (failed.reason or "")
    assert await desk.events(ticket_id, ev.TICKET_NOTE_ADDED) == []
    assert await desk.events(ticket_id, ev.TICKET_ASSIGNED) == []


async def test_a_ticket_without_a_team_nobody_can_take_records_an_event_not_a_note(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    await desk.policy({"strategy": "least_loaded", "final": "team_queue"}, is_default=True)

    ticket_id = await desk.ticket(team_id=None)

    [failed] = await desk.events(ticket_id, ROUTING_FAILED)
    assert failed.changes == {}
    assert await desk.events(ticket_id, ev.TICKET_NOTE_ADDED) == []
    async with runtime.db.read(desk.tenant.id) as session:
        outbox = await session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.event_id == failed.id)
        )
    assert outbox == 1  # webhooks and the live queue hear about it


async def test_a_policy_with_a_final_team_queues_a_teamless_ticket_there(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    await desk.agent("离线", presence="offline")
    definition = {"strategy": "least_loaded", "final": "team_queue", "final_team": str(desk.team.id)}
    await desk.policy(definition, is_default=True)

    ticket_id = await desk.ticket(team_id=None)

    ticket = await desk.load(ticket_id)
    assert ticket.team_id == desk.team.id and ticket.assignee_id is None
    [assigned] = await desk.events(ticket_id, ev.TICKET_ASSIGNED)
    assert "policy's team" in (assigned.reason or "")
    assert await desk.events(ticket_id, ROUTING_FAILED) == []
