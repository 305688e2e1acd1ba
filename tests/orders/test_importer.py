"""Order and opportunity imports through the import framework (POST /api/v1/imports, the runner):
platform exports in Chinese with row errors, updates on a second import, customers found or created
from the buyer's phone, permissions."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from huiliu.customers.models import CustomerIdentity
from huiliu.orders import queries
from huiliu.orders.models import Opportunity
from huiliu.runtime import Runtime
from tests.factories import Member, make_member
from tests.imports.samples import csv_utf8, xlsx
from tests.imports.test_imports_api import finished, upload
from tests.orders.conftest import make_customer


def phone() -> str:
    return "136" + str(uuid.uuid4().int)[:8]


async def customer_of_phone(runtime: Runtime, tenant_id: uuid.UUID, value: str) -> uuid.UUID | None:
    async with runtime.db.read(tenant_id) as session:
        return (
            await session.execute(
                select(CustomerIdentity.customer_id).where(
                    CustomerIdentity.kind == "phone", CustomerIdentity.value == value
                )
            )
        ).scalar_one_or_none()


async def test_import_orders_from_a_platform_export(
    client: httpx.AsyncClient, runtime: Runtime, admin: Member
) -> None:
    buyer = phone()
    rows: list[list[object]] = [
        [
            "订单编号",
            "买家姓名",
            "收货人手机",
            "订单状态",
            "实付金额",
            "下单时间",
            "宝贝标题",
            "数量",
            "店铺",
        ],
        [
            "SO-IMP-1",
            "李雷",
            buyer,
            "等待卖家发货",
            "¥1,299.00",
            "2026-11-11 00:05:00",
            "扫地机器人 X1",
            "1",
            "旗舰店",
        ],
        ["SO-IMP-2", "", "", "交易成功", "59.9元", "2026/11/12 10:00", "", "", "旗舰店"],
        ["SO IMP 3", "王五", "call me", "飞走了", "-5", "yesterday", "", "", ""],
        ["", "赵六", "", "", "", "", "", "", ""],
    ]
    response = await upload(client, admin, "淘宝订单.xlsx", xlsx(rows), kind="orders")
    assert response.status_code == 202, response.text
    job = await finished(client, admin, response.json()["id"])
    assert (job["status"], job["succeeded_rows"], job["failed_rows"], job["created_rows"]) == (
        "done",
        2,
        2,
        2,
    )
    messages = " ".join(error["message"] for error in job["errors"])
    for expected in ("订单号无效", "手机号无效", "订单状态无效", "金额无效", "下单时间无效", "缺少订单号"):
        assert expected in messages

    tenant_id = admin.actor.tenant_id
    async with runtime.db.read(tenant_id) as session:
        found = await queries.orders_by_number(session, ["SO-IMP-1", "SO-IMP-2"])
    first, second = found["SO-IMP-1"], found["SO-IMP-2"]
    assert (first.status, first.amount, first.origin) == ("paid", Decimal("1299.00"), "import")
    assert first.placed_at is not None and first.placed_at.isoformat() == "2026-11-10T16:05:00+00:00"
    assert first.items == [{"name": "扫地机器人 X1", "quantity": "1"}]
    assert first.attributes == {"店铺": "旗舰店"}
    assert first.customer_id == await customer_of_phone(runtime, tenant_id, buyer)
    assert (second.status, second.amount, second.customer_id) == ("completed", Decimal("59.90"), None)

    # A second export of the same orders updates them (only the columns present) instead of duplicating.
    again = await upload(
        client, admin, "退款.csv", csv_utf8([["订单号", "订单状态"], ["so-imp-1", "退款中"]]), kind="orders"
    )
    job = await finished(client, admin, again.json()["id"])
    assert (job["created_rows"], job["updated_rows"]) == (0, 1)
    async with runtime.db.read(tenant_id) as session:
        updated = await queries.get_order(session, first.id)
    assert (updated.status, updated.amount, updated.customer_id) == (
        "refunding",
        Decimal("1299.00"),
        first.customer_id,
    )


async def test_import_opportunities(client: httpx.AsyncClient, runtime: Runtime, admin: Member) -> None:
    buyer = phone()
    known = await make_customer(runtime, admin, "老客户")
    rows: list[list[object]] = [
        ["商机名称", "客户手机", "客户ID", "阶段", "预计金额", "预计成交日期", "负责人邮箱"],
        ["收银系统升级", buyer, "", "方案报价", "50000", "2026-12-31", admin.user.email],
        ["门店扩张", "", str(known), "赢单", "¥120000", "", ""],
        ["无客户", "", "", "", "", "", ""],
        ["负责人不存在", buyer, "", "", "", "", "nobody@example.com"],
    ]
    response = await upload(client, admin, "商机.csv", csv_utf8(rows), kind="opportunities")
    assert response.status_code == 202, response.text
    job = await finished(client, admin, response.json()["id"])
    assert (job["succeeded_rows"], job["failed_rows"]) == (2, 2), job["errors"]
    tenant_id = admin.actor.tenant_id
    customer_id = await customer_of_phone(runtime, tenant_id, buyer)
    assert customer_id is not None
    async with runtime.db.read(tenant_id) as session:
        (upgrade,) = await queries.opportunities_for_customer(session, customer_id)
        (expansion,) = await queries.opportunities_for_customer(session, known)
    assert (upgrade.stage, upgrade.amount, upgrade.owner_id) == (
        "proposal",
        Decimal("50000.00"),
        admin.user.id,
    )
    assert (expansion.stage, expansion.amount) == ("won", Decimal("120000.00"))
    assert expansion.closed_at is not None

    again = await upload(
        client,
        admin,
        "商机2.csv",
        csv_utf8([["商机名称", "客户手机", "阶段"], ["收银系统升级", buyer, "赢单"]]),
        kind="opportunities",
    )
    job = await finished(client, admin, again.json()["id"])
    assert (job["created_rows"], job["updated_rows"]) == (0, 1)
    async with runtime.db.read(tenant_id) as session:
        rows_now = list(
            (
                await session.execute(select(Opportunity).where(Opportunity.customer_id == customer_id))
            ).scalars()
        )
    assert [(o.stage, o.owner_id) for o in rows_now] == [("won", admin.user.id)]


async def test_importing_orders_needs_order_write(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Any, admin: Member
) -> None:
    data = csv_utf8([["订单号"], ["SO-PERM-1"]])
    key = await client.post(
        "/api/v1/api-keys", headers=admin.headers, json={"name": "BI", "scopes": ["orders:read"]}
    )
    reader = {"Authorization": f"Bearer {key.json()['key']}"}
    refused = await upload(client, admin, "o.csv", data, kind="orders", headers=reader)
    assert refused.status_code == 403
    agent = await make_member(runtime, tenant, "agent")
    accepted = await upload(client, agent, "o.csv", data, kind="orders")
    assert accepted.status_code == 202
    assert (await finished(client, agent, accepted.json()["id"]))["created_rows"] == 1


async def test_a_file_without_an_order_number_column_is_refused(
    client: httpx.AsyncClient, admin: Member
) -> None:
    response = await upload(client, admin, "o.csv", csv_utf8([["金额"], ["5"]]), kind="orders")
    assert response.status_code == 422
