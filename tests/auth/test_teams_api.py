"""Teams: the department tree, member counts, cycles and safe deletion."""

from __future__ import annotations

import uuid

from tests.factories import make_member, make_team, make_ticket


async def create(client, admin, name: str, parent_id: object = None) -> dict:
    response = await client.post(
        "/api/v1/teams",
        headers=admin.headers,
        json={"name": name, "parent_id": str(parent_id) if parent_id else None},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_teams_form_a_tree_with_member_counts(client, runtime, tenant, admin):
    root = await create(client, admin, "客服中心")
    child = await create(client, admin, "华南组", root["id"])
    assert child["parent_id"] == root["id"] and child["member_count"] == 0
    team = await make_team(runtime, tenant, "华北组")
    await make_member(runtime, tenant, "agent", team)
    idle = await make_member(runtime, tenant, "agent", team)
    await client.patch(f"/api/v1/users/{idle.user.id}", headers=admin.headers, json={"is_active": False})
    listed = await client.get("/api/v1/teams", headers=admin.headers)
    assert listed.status_code == 200
    by_name = {t["name"]: t for t in listed.json()["items"]}
    assert set(by_name) == {"客服中心", "华南组", "华北组"}
    assert by_name["客服中心"]["child_count"] == 1 and by_name["华南组"]["parent_id"] == root["id"]
    assert (by_name["华北组"]["member_count"], by_name["华北组"]["active_member_count"]) == (2, 1)
    fetched = await client.get(f"/api/v1/teams/{team.id}", headers=admin.headers)
    assert fetched.json() == by_name["华北组"]


async def test_create_team_rejects_bad_input_and_duplicates(client, admin):
    await create(client, admin, "售前")
    assert (
        await client.post("/api/v1/teams", headers=admin.headers, json={"name": "售前"})
    ).status_code == 409
    assert (await client.post("/api/v1/teams", headers=admin.headers, json={"name": ""})).status_code == 422
    unknown_parent = await client.post(
        "/api/v1/teams", headers=admin.headers, json={"name": "孤儿", "parent_id": str(uuid.uuid4())}
    )
    assert unknown_parent.status_code == 422


async def test_rename_and_move_a_team(client, admin):
    a = await create(client, admin, "一组")
    b = await create(client, admin, "二组")
    moved = await client.patch(
        f"/api/v1/teams/{b['id']}", headers=admin.headers, json={"name": "二组（华东）", "parent_id": a["id"]}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["name"] == "二组（华东）" and moved.json()["parent_id"] == a["id"]
    to_root = await client.patch(f"/api/v1/teams/{b['id']}", headers=admin.headers, json={"parent_id": None})
    assert to_root.json()["parent_id"] is None and to_root.json()["name"] == "二组（华东）"
    taken = await client.patch(f"/api/v1/teams/{b['id']}", headers=admin.headers, json={"name": "一组"})
    assert taken.status_code == 409
    assert (
        await client.patch(f"/api/v1/teams/{b['id']}", headers=admin.headers, json={"name": None})
    ).status_code == 422


async def test_a_team_cannot_move_below_itself(client, admin):
    top = await create(client, admin, "总部")
    middle = await create(client, admin, "区域", top["id"])
    bottom = await create(client, admin, "门店", middle["id"])
    for parent in (top["id"], middle["id"], bottom["id"]):
        response = await client.patch(
            f"/api/v1/teams/{top['id']}", headers=admin.headers, json={"parent_id": parent}
        )
        assert response.status_code == 422, parent
    unknown = await client.patch(
        f"/api/v1/teams/{top['id']}", headers=admin.headers, json={"parent_id": str(uuid.uuid4())}
    )
    assert unknown.status_code == 422


async def test_moving_a_team_changes_department_scope_at_once(client, runtime, tenant, admin):
    region = await make_team(runtime, tenant, "华东区")
    store = await make_team(runtime, tenant, "上海门店")
    lead = await make_member(runtime, tenant, "lead", region)
    ticket = await make_ticket(runtime, admin, team_id=store.id)
    url = f"/api/v1/tickets/{ticket['id']}"
    assert (await client.get(url, headers=lead.headers)).status_code == 404
    moved = await client.patch(
        f"/api/v1/teams/{store.id}", headers=admin.headers, json={"parent_id": str(region.id)}
    )
    assert moved.status_code == 200
    assert (await client.get(url, headers=lead.headers)).status_code == 200


async def test_only_an_empty_leaf_team_can_be_deleted(client, runtime, tenant, admin):
    parent = await create(client, admin, "父部门")
    child = await create(client, admin, "子部门", parent["id"])
    staffed = await make_team(runtime, tenant)
    member = await make_member(runtime, tenant, "agent", staffed)
    assert (await client.delete(f"/api/v1/teams/{parent['id']}", headers=admin.headers)).status_code == 409
    assert (await client.delete(f"/api/v1/teams/{staffed.id}", headers=admin.headers)).status_code == 409
    assert (await client.delete(f"/api/v1/teams/{child['id']}", headers=admin.headers)).status_code == 204
    assert (await client.delete(f"/api/v1/teams/{parent['id']}", headers=admin.headers)).status_code == 204
    await client.patch(f"/api/v1/users/{member.user.id}", headers=admin.headers, json={"team_id": None})
    assert (await client.delete(f"/api/v1/teams/{staffed.id}", headers=admin.headers)).status_code == 204
    names = [t["name"] for t in (await client.get("/api/v1/teams", headers=admin.headers)).json()["items"]]
    assert names == []


async def test_unknown_team_is_404(client, admin):
    missing = uuid.uuid4()
    assert (await client.get(f"/api/v1/teams/{missing}", headers=admin.headers)).status_code == 404
    assert (
        await client.patch(f"/api/v1/teams/{missing}", headers=admin.headers, json={"name": "x"})
    ).status_code == 404
    assert (await client.delete(f"/api/v1/teams/{missing}", headers=admin.headers)).status_code == 404


async def test_an_agent_cannot_use_the_team_routes(client, runtime, tenant, admin):
    team = await make_team(runtime, tenant)
    agent = await make_member(runtime, tenant, "agent", team)
    listed = await client.get("/api/v1/teams", headers=agent.headers)
    assert listed.status_code == 200  # agents read the team list for the assignment picker
    assert team.id in {item["id"] for item in listed.json()["items"]} or str(team.id) in {
        item["id"] for item in listed.json()["items"]
    }
    for method, url, body in [
        ("POST", "/api/v1/teams", {"name": "新组"}),
        ("GET", f"/api/v1/teams/{team.id}", None),
        ("PATCH", f"/api/v1/teams/{team.id}", {"name": "y"}),
        ("DELETE", f"/api/v1/teams/{team.id}", None),
    ]:
        response = await client.request(method, url, headers=agent.headers, json=body)
        assert response.status_code == 403, (method, url, response.text)
