"""The stream generator: scope filtering, tenant separation, replay on reconnect, heartbeats."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from huiliu.core.errors import NotAuthenticated
from huiliu.live import service
from tests.factories import make_member, make_team, make_tenant
from tests.live.conftest import next_frame, open_stream


async def create_via_api(client: httpx.AsyncClient, member: Any, **fields: Any) -> dict[str, Any]:
    payload = {"title": "打印机卡纸", **{k: str(v) for k, v in fields.items()}}
    response = await client.post("/api/v1/tickets", headers=member.headers, json=payload)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_ticket_created_through_the_api_appears_on_the_stream(
    client: httpx.AsyncClient, runtime: Any, admin: Any
) -> None:
    stream = service.event_stream(runtime.db, runtime.hub, admin.actor)
    try:
        await open_stream(stream)
        ticket = await create_via_api(client, admin)
        frame = await next_frame(stream)
    finally:
        await stream.aclose()
    assert frame["event"] == "ticket.created"
    assert frame["id"] == frame["data"]["id"]
    assert frame["data"]["type"] == "ticket.created"
    assert frame["data"]["data"]["ticket"]["id"] == ticket["id"]
    assert "audience" not in frame["data"]


async def test_team_scoped_agent_gets_only_their_teams_events(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, admin: Any
) -> None:
    team_a, team_b = await make_team(runtime, tenant), await make_team(runtime, tenant)
    agent_b = await make_member(runtime, tenant, "agent", team=team_b)
    stream = service.event_stream(runtime.db, runtime.hub, agent_b.actor)
    try:
        await open_stream(stream)
        hidden = await create_via_api(client, admin, team_id=team_a.id)
        await client.post(
            f"/api/v1/tickets/{hidden['id']}/messages",
            headers=admin.headers,
            json={"body": "内部备注", "public": False},
        )
        visible = await create_via_api(client, admin, team_id=team_b.id)
        frame = await next_frame(stream)
        # Assigned to agent B personally: visible through "own" even though the team is A.
        mine = await create_via_api(client, admin, team_id=team_a.id, assignee_id=agent_b.user.id)
        second = await next_frame(stream)
    finally:
        await stream.aclose()
    # Team A's events were published first; the first frame B sees is team B's ticket.
    assert frame["event"] == "ticket.created"
    assert frame["data"]["data"]["ticket"]["id"] == visible["id"]
    assert second["data"]["data"]["ticket"]["id"] == mine["id"]


async def test_another_tenant_receives_nothing(client: httpx.AsyncClient, runtime: Any, admin: Any) -> None:
    other_tenant = await make_tenant(runtime)
    outsider = await make_member(runtime, other_tenant, "admin")
    stream = service.event_stream(runtime.db, runtime.hub, outsider.actor)
    try:
        await open_stream(stream)
        await create_via_api(client, admin)
        own = await create_via_api(client, outsider)
        frame = await next_frame(stream)
    finally:
        await stream.aclose()
    assert frame["data"]["data"]["ticket"]["id"] == own["id"]


async def created_event_id(client: httpx.AsyncClient, member: Any, ticket: dict[str, Any]) -> uuid.UUID:
    detail = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=member.headers)).json()
    [created] = [e for e in detail["events"] if e["type"] == "ticket.created"]
    return uuid.UUID(created["id"])


async def test_reconnect_replays_missed_events_in_scope_and_in_order(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, admin: Any
) -> None:
    team_a, team_b = await make_team(runtime, tenant), await make_team(runtime, tenant)
    agent_a = await make_member(runtime, tenant, "agent", team=team_a)
    seen = await create_via_api(client, admin, team_id=team_a.id)
    missed = [await create_via_api(client, admin, team_id=team_a.id) for _ in range(2)]
    await create_via_api(client, admin, team_id=team_b.id)
    last_event_id = await created_event_id(client, admin, seen)
    stream = service.event_stream(runtime.db, runtime.hub, agent_a.actor, last_event_id=last_event_id)
    try:
        await open_stream(stream)
        frames = [await next_frame(stream), await next_frame(stream)]
        live = await create_via_api(client, admin, team_id=team_a.id)
        after = await next_frame(stream)
    finally:
        await stream.aclose()
    assert [f["data"]["data"]["ticket"]["id"] for f in frames] == [t["id"] for t in missed]
    assert all(f["event"] == "ticket.created" and f["id"] == f["data"]["id"] for f in frames)
    assert after["data"]["data"]["ticket"]["id"] == live["id"]


async def test_an_event_both_replayed_and_live_is_sent_once(
    client: httpx.AsyncClient, runtime: Any, admin: Any
) -> None:
    seen = await create_via_api(client, admin)
    last_event_id = await created_event_id(client, admin, seen)
    stream = service.event_stream(runtime.db, runtime.hub, admin.actor, last_event_id=last_event_id)
    try:
        await open_stream(stream)  # subscribed; the replay is read on the next step
        both = await create_via_api(client, admin)  # committed (so replayed) and published (so queued)
        first = await next_frame(stream)
        later = await create_via_api(client, admin)
        second = await next_frame(stream)
    finally:
        await stream.aclose()
    assert first["data"]["data"]["ticket"]["id"] == both["id"]
    assert second["data"]["data"]["ticket"]["id"] == later["id"]


async def test_unknown_position_or_too_many_missed_events_tell_the_client_to_reset(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, admin: Any
) -> None:
    stream = service.event_stream(runtime.db, runtime.hub, admin.actor, last_event_id=uuid.uuid4())
    try:
        await open_stream(stream)
        frame = await next_frame(stream)
    finally:
        await stream.aclose()
    assert frame["event"] == "reset" and frame["id"] is None

    seen = await create_via_api(client, admin)
    for _ in range(3):
        await create_via_api(client, admin)
    last_event_id = await created_event_id(client, admin, seen)
    async with runtime.db.read(tenant.id) as session:
        assert await service.missed_events(session, admin.actor, last_event_id, limit=2) is None
        replay = await service.missed_events(session, admin.actor, last_event_id, limit=3)
    assert replay is not None and len(replay) == 3


async def test_replay_from_an_event_no_longer_in_the_outbox_resumes_from_its_time(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, admin: Any
) -> None:
    await create_via_api(client, admin)
    gone = service.presence_message(admin.actor, uuid.uuid4(), "viewing", team_id=None, assignee_id=None)
    later = await create_via_api(client, admin)
    async with runtime.db.read(tenant.id) as session:
        replay = await service.missed_events(session, admin.actor, uuid.UUID(gone["id"]))
    assert replay is not None
    assert [m["data"]["ticket"]["id"] for m in replay] == [later["id"]]


async def test_idle_stream_sends_heartbeats_and_ends_when_the_login_is_revoked(
    runtime: Any, admin: Any
) -> None:
    calls = 0

    async def reauthorize() -> Any:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise NotAuthenticated("user is unknown or inactive")
        return admin.actor

    stream = service.event_stream(
        runtime.db, runtime.hub, admin.actor, heartbeat_seconds=0.01, reauthorize=reauthorize
    )
    await open_stream(stream)
    assert (await next_frame(stream))["comment"] == "heartbeat"
    with pytest.raises(StopAsyncIteration):
        await next_frame(stream)


async def test_stream_requires_authentication_and_ticket_read(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/events/stream")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    refused = await client.get("/api/v1/events/stream", params={"access_token": "anything"})
    assert refused.status_code == 401


@pytest.mark.parametrize(
    ("message", "visible"),
    [
        ({"type": "ticket.created", "audience": {"team_id": None, "assignee_id": None}}, False),
        ({"type": "ticket.created", "audience": {"team_id": "TEAM", "assignee_id": None}}, True),
        ({"type": "ticket.created", "audience": {"team_id": "OTHER", "assignee_id": "ME"}}, True),
        ({"type": "ticket.created", "audience": {"team_id": "OTHER", "assignee_id": None}}, False),
        ({"type": "ticket.created", "audience": {"team_id": "not-a-uuid", "assignee_id": None}}, False),
        ({"type": "presence", "data": {"user": {"id": "ME"}}, "audience": {"team_id": "TEAM"}}, False),
    ],
)
async def test_visibility_follows_the_actors_scope(
    runtime: Any, tenant: Any, message: Any, visible: bool
) -> None:
    team = await make_team(runtime, tenant)
    agent = await make_member(runtime, tenant, "agent", team=team)
    names = {"TEAM": str(team.id), "OTHER": str(uuid.uuid4()), "ME": str(agent.user.id)}

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return names.get(value, value)

    assert service.visible_to(agent.actor, resolve(message)) is visible
