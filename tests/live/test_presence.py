"""Presence: ephemeral, scope-filtered, never stored."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from huiliu.core.outbox import OutboxRow
from huiliu.live import service
from tests.factories import make_member, make_team, make_ticket
from tests.live.conftest import next_frame, open_stream


async def say(client: httpx.AsyncClient, member: Any, ticket: dict[str, Any], state: str) -> httpx.Response:
    return await client.post(
        f"/api/v1/tickets/{ticket['id']}/presence", headers=member.headers, json={"state": state}
    )


async def outbox_rows(runtime: Any, tenant_id: Any) -> int:
    async with runtime.db.read(tenant_id) as session:
        return int((await session.execute(select(func.count()).select_from(OutboxRow))).scalar_one())


async def test_presence_reaches_agents_who_see_the_ticket_and_is_not_stored(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, admin: Any
) -> None:
    team_a, team_b = await make_team(runtime, tenant), await make_team(runtime, tenant)
    watcher = await make_member(runtime, tenant, "agent", team=team_a, name="客服小李")
    typist = await make_member(runtime, tenant, "agent", team=team_a, name="客服小王")
    outsider = await make_member(runtime, tenant, "agent", team=team_b, name="客服小赵")
    ticket_a = await make_ticket(runtime, admin, team_id=team_a.id)
    ticket_b = await make_ticket(runtime, admin, team_id=team_b.id)
    stored_before = await outbox_rows(runtime, tenant.id)

    watching = service.event_stream(runtime.db, runtime.hub, watcher.actor)
    outside = service.event_stream(runtime.db, runtime.hub, outsider.actor)
    own = service.event_stream(runtime.db, runtime.hub, typist.actor)
    try:
        for stream in (watching, outside, own):
            await open_stream(stream)
        response = await say(client, typist, ticket_a, "typing")
        assert response.status_code == 204 and response.content == b""
        frame = await next_frame(watching)
        assert (await say(client, admin, ticket_b, "viewing")).status_code == 204
        outsider_frame = await next_frame(outside)
        assert (await say(client, admin, ticket_a, "viewing")).status_code == 204
        own_frame = await next_frame(own)
    finally:
        for stream in (watching, outside, own):
            await stream.aclose()

    assert frame["event"] == "presence"
    assert frame["id"] is None  # ephemeral: does not move the client's Last-Event-ID
    assert frame["data"]["data"] == {
        "ticket_id": str(ticket_a["id"]),
        "state": "typing",
        "user": {"id": str(typist.user.id), "name": "客服小王"},
    }
    # Team B's agent never saw team A's presence: their first frame is the one on team B's ticket.
    assert outsider_frame["data"]["data"]["ticket_id"] == str(ticket_b["id"])
    # Neither the typist's own presence nor admin's on team B's ticket reached the typist.
    assert own_frame["data"]["data"]["user"]["id"] == str(admin.user.id)
    assert own_frame["data"]["data"]["ticket_id"] == str(ticket_a["id"])
    assert await outbox_rows(runtime, tenant.id) == stored_before


async def test_presence_is_refused_outside_scope_for_bad_states_and_for_api_keys(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, admin: Any
) -> None:
    team_a, team_b = await make_team(runtime, tenant), await make_team(runtime, tenant)
    agent_b = await make_member(runtime, tenant, "agent", team=team_b)
    ticket = await make_ticket(runtime, admin, team_id=team_a.id)
    assert (await say(client, agent_b, ticket, "viewing")).status_code == 404
    assert (await say(client, admin, ticket, "dancing")).status_code == 422
    key = await client.post(
        "/api/v1/api-keys", headers=admin.headers, json={"name": "ERP", "scopes": ["tickets:read"]}
    )
    assert key.status_code == 201, key.text
    api_key = {"Authorization": f"Bearer {key.json()['key']}"}
    response = await client.post(
        f"/api/v1/tickets/{ticket['id']}/presence", headers=api_key, json={"state": "viewing"}
    )
    assert response.status_code == 403
