"""Customers: search, create, profile with visible tickets, edit, phone masking, tenant isolation."""

from __future__ import annotations

import uuid

import pytest

from tests.customers.conftest import bearer, create_key
from tests.factories import make_member, make_team, make_tenant, make_ticket


def phone() -> str:
    return "139" + str(uuid.uuid4().int)[:8]


async def create(client, member, name: str = "张三", *identities: tuple[str, str], **extra) -> dict:
    body = {"name": name, "identities": [{"kind": k, "value": v} for k, v in identities], **extra}
    response = await client.post("/api/v1/customers", headers=member.headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_normalizes_identities(client, admin):
    number = phone()
    customer = await create(
        client,
        admin,
        "张三",
        ("phone", f"+86 {number[:3]}-{number[3:7]}-{number[7:]}"),
        ("email", "ZhangSan@Example.com"),
        level="vip",
        attributes={"城市": "深圳"},
    )
    assert (
        customer["name"] == "张三"
        and customer["level"] == "vip"
        and customer["attributes"] == {"城市": "深圳"}
    )
    assert [(i["kind"], i["value"]) for i in customer["identities"]] == [
        ("phone", number),
        ("email", "zhangsan@example.com"),
    ]
    assert customer["tickets"] == []
    fetched = await client.get(f"/api/v1/customers/{customer['id']}", headers=admin.headers)
    assert fetched.json() == customer


async def test_an_identity_of_another_customer_is_a_conflict(client, admin):
    number = phone()
    first = await create(client, admin, "李四", ("phone", number))
    again = await client.post(
        "/api/v1/customers",
        headers=admin.headers,
        json={
            "name": "李四（重复）",
            "identities": [
                {"kind": "email", "value": "l4@example.com"},
                {"kind": "phone", "value": f"0086{number}"},
            ],
        },
    )
    assert again.status_code == 409
    assert again.json()["conflicts"] == [{"kind": "phone", "value": number, "customer_id": first["id"]}]
    found = await client.get("/api/v1/customers?q=l4@example.com", headers=admin.headers)
    assert found.json()["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"identities": []},
        {"name": "", "identities": []},
        {"name": "王五", "identities": [{"kind": "fax", "value": "123"}]},
        {"name": "王五", "identities": [{"kind": "phone", "value": "call me"}]},
        {"name": "王五", "identities": [{"kind": "email", "value": "no-at-sign"}]},
        {"name": "王五", "identities": [{"kind": "phone"}]},
        {"name": "王五", "vip": True},
    ],
)
async def test_create_rejects_invalid_input(client, admin, body):
    response = await client.post("/api/v1/customers", headers=admin.headers, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_create_honours_idempotency_key(client, admin):
    headers = {**admin.headers, "Idempotency-Key": str(uuid.uuid4())}
    body = {"name": "赵六", "identities": [{"kind": "phone", "value": phone()}]}
    first = await client.post("/api/v1/customers", headers=headers, json=body)
    second = await client.post("/api/v1/customers", headers=headers, json=body)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] == second.json()["id"]


async def test_search_by_name_fragment_or_identity(client, admin):
    number = phone()
    zhang = await create(client, admin, "张小明", ("phone", number))
    wang = await create(client, admin, "王大明", ("wechat_openid", "oAbC_123"))
    await create(client, admin, "李华", ("email", "lihua@example.com"))

    async def search(q: str) -> list[str]:
        response = await client.get("/api/v1/customers", params={"q": q}, headers=admin.headers)
        assert response.status_code == 200
        return [item["id"] for item in response.json()["items"]]

    assert await search("明") == [wang["id"], zhang["id"]]
    assert await search(f"+86 {number}") == [zhang["id"]]
    assert await search("oAbC_123") == [wang["id"]]
    assert await search("LiHua@Example.com") == [(await search("李华"))[0]]
    assert await search("100%_") == []


async def test_list_pages_newest_first_with_a_cursor(client, admin):
    created = [await create(client, admin, f"客户{i}") for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/customers", params=params, headers=admin.headers)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [c["id"] for c in reversed(created)]
    bad = await client.get("/api/v1/customers", params={"cursor": "garbage"}, headers=admin.headers)
    assert bad.status_code == 422
    assert (await client.get("/api/v1/customers?limit=0", headers=admin.headers)).status_code == 422


async def test_detail_lists_only_the_tickets_the_caller_may_see(client, runtime, tenant, admin):
    number = phone()
    mine, theirs = await make_team(runtime, tenant), await make_team(runtime, tenant)
    agent = await make_member(runtime, tenant, "agent", mine)
    visible = await make_ticket(runtime, admin, title="屏幕碎了", team_id=mine.id, customer={"phone": number})
    hidden = await make_ticket(runtime, admin, title="退款", team_id=theirs.id, customer={"phone": number})
    await make_ticket(runtime, admin, title="别人的", customer={"phone": phone()})
    customer_id = visible["customer_id"]
    assert hidden["customer_id"] == customer_id
    as_admin = (await client.get(f"/api/v1/customers/{customer_id}", headers=admin.headers)).json()
    assert [t["id"] for t in as_admin["tickets"]] == [str(hidden["id"]), str(visible["id"])]
    as_agent = (await client.get(f"/api/v1/customers/{customer_id}", headers=agent.headers)).json()
    assert [t["id"] for t in as_agent["tickets"]] == [str(visible["id"])]
    assert as_agent["tickets"][0]["title"] == "屏幕碎了"


async def test_phones_are_masked_without_customer_write(client, runtime, tenant, admin):
    number = "13812341234"
    customer = await create(client, admin, "钱七", ("phone", number), ("email", "qian@example.com"))
    reader = await create_key(client, admin, "tickets:read")
    detail = (await client.get(f"/api/v1/customers/{customer['id']}", headers=bearer(reader))).json()
    values = {i["kind"]: i["value"] for i in detail["identities"]}
    assert values == {"phone": "138****1234", "email": "qian@example.com"}
    listed = (await client.get("/api/v1/customers", params={"q": number}, headers=bearer(reader))).json()
    assert [i["value"] for i in listed["items"][0]["identities"] if i["kind"] == "phone"] == ["138****1234"]
    assert number not in str(listed)
    agent = await make_member(runtime, tenant, "agent")
    full = (await client.get(f"/api/v1/customers/{customer['id']}", headers=agent.headers)).json()
    assert {i["kind"]: i["value"] for i in full["identities"]}["phone"] == number


async def test_patch_changes_name_level_and_merges_attributes(client, admin):
    customer = await create(client, admin, "孙八", attributes={"城市": "杭州", "来源": "门店"})
    url = f"/api/v1/customers/{customer['id']}"
    patched = await client.patch(
        url,
        headers=admin.headers,
        json={"name": "孙八（VIP）", "level": "vip", "attributes": {"来源": None, "生日": "05-01"}},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["name"], body["level"]) == ("孙八（VIP）", "vip")
    assert body["attributes"] == {"城市": "杭州", "生日": "05-01"}
    assert body["updated_at"] >= customer["updated_at"]
    assert (await client.get(url, headers=admin.headers)).json()["attributes"] == body["attributes"]
    for bad in ({"name": None}, {"name": ""}, {"identities": []}, {"level": "x" * 40}):
        assert (await client.patch(url, headers=admin.headers, json=bad)).status_code == 422, bad


async def test_unknown_customer_is_404(client, admin):
    missing = uuid.uuid4()
    assert (await client.get(f"/api/v1/customers/{missing}", headers=admin.headers)).status_code == 404
    patched = await client.patch(f"/api/v1/customers/{missing}", headers=admin.headers, json={"name": "x"})
    assert patched.status_code == 404


async def test_permissions_on_customer_routes(client, admin):
    customer = await create(client, admin, "周九")
    reader = bearer(await create_key(client, admin, "tickets:read"))
    assert (await client.get("/api/v1/customers", headers=reader)).status_code == 200
    assert (await client.post("/api/v1/customers", headers=reader, json={"name": "x"})).status_code == 403
    patch = await client.patch(f"/api/v1/customers/{customer['id']}", headers=reader, json={"name": "x"})
    assert patch.status_code == 403
    hooks_only = bearer(await create_key(client, admin, "webhooks:manage"))
    assert (await client.get("/api/v1/customers", headers=hooks_only)).status_code == 403
    assert (await client.get(f"/api/v1/customers/{customer['id']}", headers=hooks_only)).status_code == 403
    for method, url in [
        ("GET", "/api/v1/customers"),
        ("POST", "/api/v1/customers"),
        ("GET", f"/api/v1/customers/{customer['id']}"),
        ("PATCH", f"/api/v1/customers/{customer['id']}"),
    ]:
        response = await client.request(method, url, json={"name": "x"} if method != "GET" else None)
        assert response.status_code == 401, (method, url)


async def test_another_tenant_sees_and_changes_nothing(client, runtime, admin):
    number = phone()
    customer = await create(client, admin, "吴十", ("phone", number))
    other = await make_member(runtime, await make_tenant(runtime, "乙公司"), "admin")
    assert (await client.get("/api/v1/customers", headers=other.headers)).json()["items"] == []
    assert (await client.get("/api/v1/customers", params={"q": number}, headers=other.headers)).json()[
        "items"
    ] == []
    url = f"/api/v1/customers/{customer['id']}"
    assert (await client.get(url, headers=other.headers)).status_code == 404
    assert (await client.patch(url, headers=other.headers, json={"name": "改了"})).status_code == 404
    # Identities are unique per tenant: the same phone is a different customer over there.
    theirs = await create(client, other, "吴十（乙）", ("phone", number))
    assert theirs["id"] != customer["id"]
    assert (await client.get(url, headers=admin.headers)).json()["name"] == "吴十"
