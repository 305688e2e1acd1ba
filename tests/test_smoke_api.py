from tests.factories import make_member, make_tenant


async def test_health_needs_no_auth(client):
    response = await client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_create_then_read_ticket(client, runtime):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    created = await client.post("/api/v1/tickets", headers=admin.headers,
                                json={"title": "退款申请", "description": "订单重复扣款", "customer": {"phone": "13800138000"}})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["number"] == 1 and body["status"] == "new"
    listed = await client.get("/api/v1/tickets?status=new&limit=10", headers=admin.headers)
    assert [item["id"] for item in listed.json()["items"]] == [body["id"]]
