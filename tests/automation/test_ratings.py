"""Ratings: an agent or the customer (progress link) rates a ticket, which runs the rating.given
rules — the preset "rating below 3 → QA review sub-task and notify QA" end to end."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from huiliu.auth import service as auth
from huiliu.auth.schemas import RoleCreate
from huiliu.automation.apply import KIND_NOTIFICATION
from huiliu.channels.webform.domain import progress_token
from huiliu.core.outbox import OutboxRow
from huiliu.tickets.models import Ticket, TicketEvent
from tests.factories import PASSWORD, Member, make_member, make_team, make_tenant

TICKETS = "/api/v1/tickets"


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Any, tenant: Any) -> Member:
    return await make_member(runtime, tenant, "admin", name="管理员")


async def qa_member(runtime: Any, tenant: Any, admin: Member) -> uuid.UUID:
    async with runtime.db.uow(tenant.id) as uow:
        role = await auth.add_role(
            uow, admin.actor, RoleCreate(name="质检", permissions=["ticket.read"]), role_id=uuid.uuid4()
        )
        user = await auth.create_user(
            uow,
            email=f"qa-{uuid.uuid4().hex[:8]}@example.com",
            name="质检员",
            password=PASSWORD,
            role_id=role.id,
        )
        await uow.commit()
    user_id: uuid.UUID = user.id
    return user_id


async def children(runtime: Any, tenant: Any, ticket_id: str) -> list[Ticket]:
    async with runtime.db.read(tenant.id) as session:
        rows = await session.execute(select(Ticket).where(Ticket.parent_id == uuid.UUID(ticket_id)))
        return list(rows.scalars().all())


async def test_a_low_rating_opens_a_qa_review_and_notifies_qa(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, admin: Member
) -> None:
    qa_team = await make_team(runtime, tenant, "质检组")
    await make_team(runtime, tenant, "售后")  # the refund preset must leave the QA review alone
    qa_user = await qa_member(runtime, tenant, admin)
    assert (await client.post("/api/v1/rules/presets", headers=admin.headers)).status_code in (200, 201)
    ticket = (await client.post(TICKETS, json={"title": "安装延误"}, headers=admin.headers)).json()

    happy = await client.post(f"{TICKETS}/{ticket['id']}/rating", json={"rating": 5}, headers=admin.headers)
    assert happy.status_code == 201, happy.text
    assert await children(runtime, tenant, ticket["id"]) == []

    unhappy = await client.post(
        f"{TICKETS}/{ticket['id']}/rating",
        json={"rating": 2, "comment": "师傅迟到两小时，我要退款"},
        headers=admin.headers,
    )
    assert unhappy.status_code == 201, unhappy.text
    assert unhappy.json()["rating"] == 2
    [review] = await children(runtime, tenant, ticket["id"])
    assert review.team_id == qa_team.id
    assert f"#{ticket['number']}" in review.title and "2" in review.title
    assert "师傅迟到两小时，我要退款" in review.description
    async with runtime.db.read(tenant.id) as session:
        [notification] = (
            (await session.execute(select(OutboxRow).where(OutboxRow.kind == KIND_NOTIFICATION)))
            .scalars()
            .all()
        )
        rated = (
            (
                await session.execute(
                    select(TicketEvent).where(
                        TicketEvent.ticket_id == uuid.UUID(ticket["id"]), TicketEvent.type == "ticket.rated"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert notification.payload["recipients"] == [str(qa_user)]
    assert notification.payload["severity"] == "warning"
    assert sorted(event.changes["rating"]["to"] for event in rated) == [2, 5]
    dry = await client.post(
        "/api/v1/rules/dry-run",
        json={"ticket_id": ticket["id"], "event": "rating.given"},
        headers=admin.headers,
    )
    assert (
        dry.json()["facts"]["rating"] == 2
        and dry.json()["facts"]["rating_comment"] == "师傅迟到两小时，我要退款"
    )


async def test_the_customer_rates_on_the_progress_page(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, admin: Member, settings: Any
) -> None:
    ticket = (
        await client.post(
            TICKETS,
            json={"title": "路由器断网", "customer": {"name": "赵女士", "phone": "13700000003"}},
            headers=admin.headers,
        )
    ).json()
    token = progress_token(settings.secret_key, tenant.id, uuid.UUID(ticket["id"]))
    response = await client.post(
        f"/api/v1/public/progress/{token}/rating", json={"rating": 4, "comment": "快"}
    )
    assert response.status_code == 201, response.text
    async with runtime.db.read(tenant.id) as session:
        [event] = (
            (
                await session.execute(
                    select(TicketEvent).where(
                        TicketEvent.ticket_id == uuid.UUID(ticket["id"]), TicketEvent.type == "ticket.rated"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert event.actor_kind == "customer" and event.changes["comment"]["to"] == "快"
    forged = await client.post("/api/v1/public/progress/v1.abc.def/rating", json={"rating": 1})
    assert forged.status_code == 404


async def test_ratings_are_validated_and_need_permission(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, admin: Member
) -> None:
    ticket = (await client.post(TICKETS, json={"title": "x"}, headers=admin.headers)).json()
    for body in ({"rating": 0}, {"rating": 6}, {"rating": 3, "extra": 1}, {}):
        response = await client.post(f"{TICKETS}/{ticket['id']}/rating", json=body, headers=admin.headers)
        assert response.status_code == 422, body
    other = await make_member(runtime, tenant, "agent", team=await make_team(runtime, tenant))
    hidden = await client.post(f"{TICKETS}/{ticket['id']}/rating", json={"rating": 3}, headers=other.headers)
    assert hidden.status_code == 404  # outside the agent's team scope
    async with runtime.db.read(tenant.id) as session:
        rows = (await session.execute(select(TicketEvent).where(TicketEvent.type == "ticket.rated"))).all()
    assert rows == []
