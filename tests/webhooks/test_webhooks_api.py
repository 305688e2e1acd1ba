"""The webhooks API: subscriptions CRUD, validation, permissions and tenant isolation."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from huiliu.core.events import TICKET_ASSIGNED, TICKET_CREATED
from tests.factories import Member, make_member, make_tenant

SECRET = "s3cr3t-value-for-tests-0001"
URL = "https://erp.example.com/hooks/huiliu"


async def create(client: httpx.AsyncClient, member: Member, **fields: Any) -> httpx.Response:
    body: dict[str, Any] = {"url": URL, "secret": SECRET, "events": [TICKET_CREATED]}
    body.update(fields)
    return await client.post("/api/v1/webhooks", headers=member.headers, json=body)


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    return problem


async def test_create_returns_the_subscription_without_its_secret(client: Any, admin: Member) -> None:
    response = await create(client, admin, description="ERP 同步", events=[TICKET_CREATED, TICKET_ASSIGNED])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["url"] == URL
    assert body["events"] == [TICKET_CREATED, TICKET_ASSIGNED]
    assert body["description"] == "ERP 同步"
    assert body["is_active"] is True
    assert body["secret_hint"].endswith(SECRET[-4:])
    assert "secret" not in body
    assert SECRET not in response.text

    listed = await client.get("/api/v1/webhooks", headers=admin.headers)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [body["id"]]
    assert SECRET not in listed.text

    one = await client.get(f"/api/v1/webhooks/{body['id']}", headers=admin.headers)
    assert one.status_code == 200
    assert one.json() == body


async def test_star_subscribes_to_everything(client: Any, admin: Member) -> None:
    response = await create(client, admin, events=["*", TICKET_CREATED])
    assert response.status_code == 201, response.text
    assert response.json()["events"] == ["*"]


async def test_create_is_idempotent_with_a_key(client: Any, admin: Member) -> None:
    headers = {**admin.headers, "Idempotency-Key": "hook-1"}
    body = {"url": URL, "secret": SECRET, "events": [TICKET_CREATED]}
    first = await client.post("/api/v1/webhooks", headers=headers, json=body)
    again = await client.post("/api/v1/webhooks", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    listed = await client.get("/api/v1/webhooks", headers=admin.headers)
    assert len(listed.json()["items"]) == 1


async def test_patch_changes_fields_and_the_secret_hint(client: Any, admin: Member) -> None:
    created = (await create(client, admin)).json()
    new_secret = "another-secret-value-9876"
    response = await client.patch(
        f"/api/v1/webhooks/{created['id']}",
        headers=admin.headers,
        json={
            "url": "http://127.0.0.1:9000/in",
            "events": [TICKET_ASSIGNED],
            "is_active": False,
            "secret": new_secret,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["url"] == "http://127.0.0.1:9000/in"
    assert body["events"] == [TICKET_ASSIGNED]
    assert body["is_active"] is False
    assert body["secret_hint"].endswith("9876")
    assert new_secret not in response.text
    assert body["description"] == created["description"]


async def test_patch_refuses_null_and_unknown_fields(client: Any, admin: Member) -> None:
    created = (await create(client, admin)).json()
    path = f"/api/v1/webhooks/{created['id']}"
    assert_problem(await client.patch(path, headers=admin.headers, json={"url": None}), 422)
    assert_problem(await client.patch(path, headers=admin.headers, json={"colour": "red"}), 422)
    assert_problem(await client.patch(path, headers=admin.headers, json={"events": ["nope.nope"]}), 422)
    unchanged = await client.get(path, headers=admin.headers)
    assert unchanged.json() == created


async def test_delete_removes_the_subscription(client: Any, admin: Member) -> None:
    created = (await create(client, admin)).json()
    deleted = await client.delete(f"/api/v1/webhooks/{created['id']}", headers=admin.headers)
    assert deleted.status_code == 204
    assert_problem(await client.get(f"/api/v1/webhooks/{created['id']}", headers=admin.headers), 404)
    assert_problem(await client.delete(f"/api/v1/webhooks/{created['id']}", headers=admin.headers), 404)


async def test_invalid_bodies_answer_422_and_create_nothing(client: Any, admin: Member) -> None:
    cases: list[dict[str, Any]] = [
        {"url": "ftp://erp.example.com/hooks"},
        {"url": "not a url"},
        {"url": "https://"},
        {"events": ["ticket.exploded"]},
        {"events": []},
        {"secret": "short"},
        {"colour": "red"},
    ]
    for fields in cases:
        problem = assert_problem(await create(client, admin, **fields), 422)
        assert problem["errors"], fields
    missing = await client.post("/api/v1/webhooks", headers=admin.headers, json={"url": URL})
    assert_problem(missing, 422)
    listed = await client.get("/api/v1/webhooks", headers=admin.headers)
    assert listed.json()["items"] == []


async def test_routes_need_the_webhooks_permission(
    client: Any, runtime: Any, tenant: Any, admin: Member
) -> None:
    created = (await create(client, admin)).json()
    agent = await make_member(runtime, tenant, "agent")
    path = f"/api/v1/webhooks/{created['id']}"
    assert_problem(await create(client, agent), 403)
    assert_problem(await client.get("/api/v1/webhooks", headers=agent.headers), 403)
    assert_problem(await client.get(path, headers=agent.headers), 403)
    assert_problem(await client.patch(path, headers=agent.headers, json={"is_active": False}), 403)
    assert_problem(await client.delete(path, headers=agent.headers), 403)
    assert_problem(await client.get(f"{path}/deliveries", headers=agent.headers), 403)
    retry = await client.post(f"{path}/deliveries/{uuid.uuid4()}/retry", headers=agent.headers)
    assert_problem(retry, 403)
    assert (await client.get(path, headers=admin.headers)).json()["is_active"] is True


async def test_api_key_with_webhooks_scope_manages_webhooks(client: Any, admin: Member) -> None:
    key = await client.post(
        "/api/v1/api-keys", headers=admin.headers, json={"name": "ERP", "scopes": ["webhooks:manage"]}
    )
    assert key.status_code == 201, key.text
    headers = {"Authorization": f"Bearer {key.json()['key']}"}
    response = await client.post(
        "/api/v1/webhooks", headers=headers, json={"url": URL, "secret": SECRET, "events": ["*"]}
    )
    assert response.status_code == 201, response.text


async def test_other_tenants_webhooks_are_invisible(client: Any, runtime: Any, admin: Member) -> None:
    mine = (await create(client, admin)).json()
    other_tenant = await make_tenant(runtime)
    other = await make_member(runtime, other_tenant, "admin")
    theirs = (await create(client, other, url="https://other.example.com/in")).json()

    listed = await client.get("/api/v1/webhooks", headers=other.headers)
    assert [item["id"] for item in listed.json()["items"]] == [theirs["id"]]
    path = f"/api/v1/webhooks/{mine['id']}"
    assert_problem(await client.get(path, headers=other.headers), 404)
    assert_problem(await client.patch(path, headers=other.headers, json={"is_active": False}), 404)
    assert_problem(await client.delete(path, headers=other.headers), 404)
    assert_problem(await client.get(f"{path}/deliveries", headers=other.headers), 404)
    retry = await client.post(f"{path}/deliveries/{uuid.uuid4()}/retry", headers=other.headers)
    assert_problem(retry, 404)
    still = await client.get(path, headers=admin.headers)
    assert still.status_code == 200
    assert still.json()["is_active"] is True


async def test_deliveries_of_a_new_subscription_are_empty_and_cursor_is_checked(
    client: Any, admin: Member
) -> None:
    created = (await create(client, admin)).json()
    path = f"/api/v1/webhooks/{created['id']}/deliveries"
    response = await client.get(path, headers=admin.headers)
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}
    assert_problem(await client.get(path, headers=admin.headers, params={"cursor": "garbage"}), 422)
    assert_problem(await client.get(path, headers=admin.headers, params={"state": "lost"}), 422)
