"""The routing API: policies, preview, route now, agent profiles and presence; 4xx on bad input
(writing nothing), the admin.routing permission, and tenant isolation."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from huiliu.core import events as ev
from huiliu.runtime import Runtime
from tests.factories import make_member
from tests.routing.helpers import Desk, make_desk

POLICIES = "/api/v1/routing/policies"


async def _create(client: httpx.AsyncClient, desk: Desk, body: dict[str, Any]) -> httpx.Response:
    return await client.post(POLICIES, json=body, headers=desk.admin.headers)


async def test_policy_crud(runtime: Runtime, client: httpx.AsyncClient) -> None:
    desk = await make_desk(runtime)
    created = await _create(
        client,
        desk,
        {
            "name": "技能优先",
            "definition": {"strategy": "skills", "fallback": [{"strategy": "least_loaded"}]},
        },
    )
    assert created.status_code == 201, created.text
    policy = created.json()
    assert policy["definition"]["fallback"][0]["strategy"] == "least_loaded"
    assert policy["definition"]["final"] == "team_queue"  # stored normalised
    assert policy["active"] and not policy["is_default"]

    second = await _create(
        client, desk, {"name": "轮询", "definition": {"strategy": "round_robin"}, "is_default": True}
    )
    changed = await client.patch(
        f"{POLICIES}/{policy['id']}", json={"is_default": True}, headers=desk.admin.headers
    )
    assert changed.status_code == 200 and changed.json()["is_default"]
    listed = (await client.get(POLICIES, headers=desk.admin.headers)).json()["items"]
    assert {p["name"]: p["is_default"] for p in listed} == {"技能优先": True, "轮询": False}

    fetched = await client.get(f"{POLICIES}/{second.json()['id']}", headers=desk.admin.headers)
    assert fetched.json()["name"] == "轮询"
    deleted = await client.delete(f"{POLICIES}/{second.json()['id']}", headers=desk.admin.headers)
    assert deleted.status_code == 204
    gone = await client.get(f"{POLICIES}/{second.json()['id']}", headers=desk.admin.headers)
    assert gone.status_code == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "x", "definition": {"strategy": "telepathy"}}, 422),
        ({"name": "x", "definition": {"strategy": "skills", "fallback": "least_loaded"}}, 422),
        ({"name": "x", "definition": {"strategy": "skills", "familiarity_days": 0}}, 422),
        ({"name": "x", "definition": {"strategy": "skills", "colour": "red"}}, 422),
        ({"name": "", "definition": {"strategy": "skills"}}, 422),
        ({"definition": {"strategy": "skills"}}, 422),
        ({"name": "x", "definition": {"strategy": "skills"}, "is_default": "yes"}, 422),
        ({"name": "x", "definition": {"strategy": "skills"}, "owner": "me"}, 422),
    ],
)
async def test_bad_policies_are_refused_and_nothing_is_stored(
    runtime: Runtime, client: httpx.AsyncClient, body: dict[str, Any], status: int
) -> None:
    desk = await make_desk(runtime)
    response = await _create(client, desk, body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(POLICIES, headers=desk.admin.headers)).json()["items"] == []


async def test_duplicate_names_conflict(runtime: Runtime, client: httpx.AsyncClient) -> None:
    desk = await make_desk(runtime)
    body = {"name": "同名", "definition": {"strategy": "round_robin"}}
    assert (await _create(client, desk, body)).status_code == 201
    assert (await _create(client, desk, body)).status_code == 409


async def test_agents_read_but_do_not_write(runtime: Runtime, client: httpx.AsyncClient) -> None:
    desk = await make_desk(runtime)
    agent = await make_member(runtime, desk.tenant, role="agent", team=desk.team)
    await _create(client, desk, {"name": "轮询", "definition": {"strategy": "round_robin"}})

    assert (await client.get(POLICIES, headers=agent.headers)).status_code == 200
    assert (await client.get("/api/v1/routing/agents", headers=agent.headers)).status_code == 200
    denied = await client.post(
        POLICIES, json={"name": "y", "definition": {"strategy": "round_robin"}}, headers=agent.headers
    )
    assert denied.status_code == 403
    put = await client.put(
        f"/api/v1/routing/agents/{agent.user.id}", json={"capacity": 3}, headers=agent.headers
    )
    assert put.status_code == 403


async def test_agent_profiles_and_open_load(runtime: Runtime, client: httpx.AsyncClient) -> None:
    desk = await make_desk(runtime)
    agent = await make_member(runtime, desk.tenant, role="agent", team=desk.team, name="小李")
    url = f"/api/v1/routing/agents/{agent.user.id}"
    shift = {"timezone": "Asia/Shanghai", "hours": {"mon": [["09:00", "12:00"], ["13:00", "18:00"]]}}
    put = await client.put(
        url,
        json={
            "presence": "online",
            "skills": {"粤语": 4, "English": 2},
            "regions": ["华南/广东"],
            "senior": True,
            "capacity": 5,
            "shift": shift,
        },
        headers=desk.admin.headers,
    )
    assert put.status_code == 200, put.text
    body = put.json()
    assert body["has_profile"] and body["skills"] == {"粤语": 4, "English": 2}
    assert body["shift"]["hours"]["mon"] == [["09:00", "12:00"], ["13:00", "18:00"]]
    await desk.ticket(assignee_id=str(agent.user.id), priority="high")

    fetched = (await client.get(url, headers=desk.admin.headers)).json()
    assert fetched["open_load"] == {"high": 1} and fetched["open_total"] == 1
    # Fields left out keep their values; null capacity removes the cap.
    put = await client.put(url, json={"capacity": None}, headers=desk.admin.headers)
    assert put.json()["capacity"] is None and put.json()["senior"]

    listed = (await client.get("/api/v1/routing/agents", headers=desk.admin.headers)).json()["items"]
    assert [a["name"] for a in listed] == ["小李"]
    everyone = (await client.get("/api/v1/routing/agents?all_users=true", headers=desk.admin.headers)).json()
    assert {a["name"]: a["has_profile"] for a in everyone["items"]} == {"小李": True, "管理员": False}


@pytest.mark.parametrize(
    "body",
    [
        {"presence": "busy"},
        {"skills": {"粤语": 6}},
        {"skills": {"": 3}},
        {"regions": ["华南//深圳"]},
        {"capacity": -1},
        {"shift": {"hours": {"mon": [["18:00", "09:00"]]}}},
        {"shift": {"timezone": "Mars/Olympus", "hours": {}}},
        {"shift": "sometimes"},
        {"mood": "happy"},
    ],
)
async def test_bad_profiles_are_refused(
    runtime: Runtime, client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    desk = await make_desk(runtime)
    agent = await desk.agent("甲", capacity=2)
    response = await client.put(
        f"/api/v1/routing/agents/{agent.user.id}", json=body, headers=desk.admin.headers
    )
    assert response.status_code == 422, response.text
    assert (await desk.profile("甲")).capacity == 2


async def test_presence_is_set_by_the_agent_themself(runtime: Runtime, client: httpx.AsyncClient) -> None:
    desk = await make_desk(runtime)
    agent = await make_member(runtime, desk.tenant, role="agent", team=desk.team)
    assert (await client.get("/api/v1/routing/presence", headers=agent.headers)).json()[
        "presence"
    ] == "offline"

    response = await client.put("/api/v1/routing/presence", json={"presence": "away"}, headers=agent.headers)

    assert response.status_code == 200
    assert response.json()["presence"] == "away" and response.json()["presence_changed_at"]
    assert (await client.get("/api/v1/routing/presence", headers=agent.headers)).json()["presence"] == "away"
    bad = await client.put("/api/v1/routing/presence", json={"presence": "asleep"}, headers=agent.headers)
    assert bad.status_code == 422


async def test_preview_writes_nothing_and_route_now_assigns(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    desk = await make_desk(runtime)
    chosen = await desk.agent("甲", skills={"English": 3})
    await desk.agent("乙")
    policy = (
        await _create(client, desk, {"name": "英语", "definition": {"strategy": "skills"}, "active": False})
    ).json()
    ticket_id = await desk.ticket(fields={"required_skills": ["English"]})

    preview = await client.post(
        f"{POLICIES}/{policy['id']}/preview", json={"ticket_id": str(ticket_id)}, headers=desk.admin.headers
    )

    assert preview.status_code == 200, preview.text
    assert preview.json()["agent_id"] == str(chosen.user.id)
    assert preview.json()["applied"] is False
    assert (await desk.load(ticket_id)).assignee_id is None

    inactive = await client.post(
        f"/api/v1/routing/tickets/{ticket_id}:route", json={"policy": "英语"}, headers=desk.admin.headers
    )
    assert inactive.status_code == 409
    await client.patch(f"{POLICIES}/{policy['id']}", json={"active": True}, headers=desk.admin.headers)
    routed = await client.post(
        f"/api/v1/routing/tickets/{ticket_id}:route", json={"policy": "英语"}, headers=desk.admin.headers
    )
    assert routed.status_code == 200, routed.text
    assert routed.json()["applied"] and routed.json()["kind"] == "assign"
    assert (await desk.load(ticket_id)).assignee_id == chosen.user.id
    [assigned] = await desk.events(ticket_id, ev.TICKET_ASSIGNED)
    assert assigned.reason == routed.json()["reason"]
    assert assigned.actor_name == "routing (by 管理员)"


async def test_route_now_without_a_default_policy_is_404(runtime: Runtime, client: httpx.AsyncClient) -> None:
    desk = await make_desk(runtime)
    ticket_id = await desk.ticket()
    response = await client.post(f"/api/v1/routing/tickets/{ticket_id}:route", headers=desk.admin.headers)
    assert response.status_code == 404


async def test_tenants_do_not_see_each_other(runtime: Runtime, client: httpx.AsyncClient) -> None:
    desk = await make_desk(runtime)
    other = await make_desk(runtime)
    theirs = (
        await _create(client, other, {"name": "别家", "definition": {"strategy": "round_robin"}})
    ).json()
    their_agent = await other.agent("乙")
    their_ticket = await other.ticket()
    mine = (await _create(client, desk, {"name": "自家", "definition": {"strategy": "round_robin"}})).json()
    my_ticket = await desk.ticket()
    headers = desk.admin.headers

    assert (await client.get(f"{POLICIES}/{theirs['id']}", headers=headers)).status_code == 404
    assert (
        await client.patch(f"{POLICIES}/{theirs['id']}", json={"active": False}, headers=headers)
    ).status_code == 404
    assert (await client.delete(f"{POLICIES}/{theirs['id']}", headers=headers)).status_code == 404
    assert (
        await client.get(f"/api/v1/routing/agents/{their_agent.user.id}", headers=headers)
    ).status_code == 404
    put = await client.put(
        f"/api/v1/routing/agents/{their_agent.user.id}", json={"capacity": 1}, headers=headers
    )
    assert put.status_code == 404
    preview = await client.post(
        f"{POLICIES}/{mine['id']}/preview", json={"ticket_id": str(their_ticket)}, headers=headers
    )
    assert preview.status_code == 404
    preview = await client.post(
        f"{POLICIES}/{theirs['id']}/preview", json={"ticket_id": str(my_ticket)}, headers=headers
    )
    assert preview.status_code == 404
    route = await client.post(
        f"/api/v1/routing/tickets/{their_ticket}:route", json={"policy": mine["id"]}, headers=headers
    )
    assert route.status_code == 404
    assert (await other.profile("乙")).capacity is None
    assert (await other.load(their_ticket)).assignee_id is None


async def test_unknown_ids_are_404(runtime: Runtime, client: httpx.AsyncClient) -> None:
    desk = await make_desk(runtime)
    missing = uuid.uuid4()
    headers = desk.admin.headers
    assert (await client.get(f"{POLICIES}/{missing}", headers=headers)).status_code == 404
    assert (await client.get(f"/api/v1/routing/agents/{missing}", headers=headers)).status_code == 404
    assert (await client.get(f"{POLICIES}/not-a-uuid", headers=headers)).status_code == 422
