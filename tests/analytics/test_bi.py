"""The incremental BI export: (updated_at, id) order, an opaque cursor that resumes where it stopped,
changed tickets coming back, the caller's scope, tenants apart, 4xx on bad input."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from huiliu.core import clock
from huiliu.runtime import Runtime
from huiliu.tickets import service as tickets
from huiliu.tickets.schemas import TicketUpdate
from tests.factories import make_member, make_team, make_tenant, make_ticket

EXPORT = "/api/v1/export/tickets"
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


async def test_pages_follow_updated_at_and_resume_from_the_cursor(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    created = []
    for i in range(5):
        with clock.at(T0 + timedelta(minutes=i)):
            created.append(await make_ticket(runtime, admin, title=f"工单{i}"))

    first = (await client.get(EXPORT, params={"limit": 2}, headers=admin.headers)).json()
    assert [item["title"] for item in first["items"]] == ["工单0", "工单1"]
    assert first["has_more"] is True
    item = first["items"][0]
    assert {"id", "number", "status", "fields", "first_response_at", "reopen_count"} <= set(item)
    second = (
        await client.get(EXPORT, params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin.headers)
    ).json()
    assert [item["title"] for item in second["items"]] == ["工单2", "工单3"]
    third = (
        await client.get(EXPORT, params={"limit": 2, "cursor": second["next_cursor"]}, headers=admin.headers)
    ).json()
    assert [item["title"] for item in third["items"]] == ["工单4"]
    assert third["has_more"] is False

    # Nothing new: the same cursor comes back, and an empty page.
    idle = (await client.get(EXPORT, params={"cursor": third["next_cursor"]}, headers=admin.headers)).json()
    assert idle == {"items": [], "next_cursor": third["next_cursor"], "has_more": False}

    # A change brings a ticket back after the cursor, at its new position.
    with clock.at(T0 + timedelta(hours=1)):
        async with runtime.db.uow(tenant.id) as uow:
            await tickets.update_ticket(
                uow, admin.actor, created[1]["id"], TicketUpdate(title="工单1（已改）")
            )
    changed = (
        await client.get(EXPORT, params={"cursor": third["next_cursor"]}, headers=admin.headers)
    ).json()
    assert [item["title"] for item in changed["items"]] == ["工单1（已改）"]


async def test_recent_changes_wait_until_they_settle(runtime: Runtime, client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    await make_ticket(runtime, admin, title="刚刚创建")
    page = (await client.get(EXPORT, headers=admin.headers)).json()
    assert page["items"] == []


async def test_scope_and_tenants(runtime: Runtime, client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(runtime)
    team_a = await make_team(runtime, tenant)
    team_b = await make_team(runtime, tenant)
    admin = await make_member(runtime, tenant, "admin")
    agent = await make_member(runtime, tenant, "agent", team=team_a)
    with clock.at(T0):
        await make_ticket(runtime, admin, title="A 组", team_id=team_a.id)
        await make_ticket(runtime, admin, title="B 组", team_id=team_b.id)
    mine = (await client.get(EXPORT, headers=agent.headers)).json()
    assert [item["title"] for item in mine["items"]] == ["A 组"]
    other = await make_member(runtime, await make_tenant(runtime), "admin")
    assert (await client.get(EXPORT, headers=other.headers)).json()["items"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "nonsense"},
        {"cursor": base64.urlsafe_b64encode(b'["v0","2026-01-01T00:00:00+00:00","x"]').decode()},
        {"limit": 0},
        {"limit": 5000},
        {"cursor": "x" * 300},
    ],
)
async def test_bad_cursors_and_limits_are_refused(
    runtime: Runtime, client: httpx.AsyncClient, params: dict[str, object]
) -> None:
    admin = await make_member(runtime, await make_tenant(runtime), "admin")
    response = await client.get(EXPORT, params=params, headers=admin.headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_export_needs_ticket_read(client: httpx.AsyncClient) -> None:
    assert (await client.get(EXPORT)).status_code == 401
