from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.factories import Member, make_member, make_tenant

# A small Chinese help-centre corpus: (title, body, tags, visibility, status).
CORPUS: list[tuple[str, str, list[str], str, str]] = [
    (
        "如何申请退货退款",
        "<p>收到商品后 7 天内，可在订单详情页点击「申请售后」选择退货退款。</p>"
        "<p>寄回商品并填写退货物流单号，仓库签收后 1-3 个工作日原路退款。</p>",
        ["售后", "退款"],
        "public",
        "published",
    ),
    (
        "快递延误与物流查询",
        "<p>发货后可在订单页查看物流单号和轨迹。快递超过 5 天未更新，请联系客服催件。</p>",
        ["物流"],
        "public",
        "published",
    ),
    (
        "电子发票开具说明",
        "<p>订单完成后在「我的发票」申请开具增值税电子发票，填写抬头和税号。</p>",
        ["发票"],
        "public",
        "published",
    ),
    (
        "修改收货地址",
        "<p>订单未发货前可以在订单详情页修改收货地址；已发货请联系快递改派。</p>",
        [],
        "public",
        "published",
    ),
    (
        "忘记密码与登录失败",
        "<p>登录页点击「忘记密码」，通过手机验证码重置密码。连续输错 5 次账号会锁定 30 分钟。</p>",
        ["账号"],
        "public",
        "published",
    ),
    (
        "空调不制冷排查",
        "<p>先检查遥控器是否为制冷模式、滤网是否脏堵；外机不转请报修，师傅上门检测。</p>",
        ["家电", "报修"],
        "public",
        "published",
    ),
    (
        "门店打印机卡纸处理（内部）",
        "<p>打开前盖取出卡纸，检查定影组件。门店3号打印机反复卡纸请提交 IT 工单。</p>",
        ["IT"],
        "internal",
        "published",
    ),
    (
        "会员积分规则（草稿）",
        "<p>每消费 1 元积 1 分，积分可抵扣现金。</p>",
        [],
        "public",
        "draft",
    ),
]

BASE = "/api/v1/kb"


@dataclass
class Kb:
    tenant: Any
    admin: Member
    agent: Member
    articles: dict[str, dict[str, Any]]


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Any, tenant: Any) -> Member:
    return await make_member(runtime, tenant, "admin", name="知识管理员")


@pytest.fixture
async def agent(runtime: Any, tenant: Any) -> Member:
    return await make_member(runtime, tenant, "agent", name="客服小李")


async def seed(client: httpx.AsyncClient, admin: Member) -> dict[str, dict[str, Any]]:
    articles = {}
    for title, body, tags, visibility, status in CORPUS:
        response = await client.post(
            f"{BASE}/articles",
            json={"title": title, "body": body, "tags": tags, "visibility": visibility, "status": status},
            headers=admin.headers,
        )
        assert response.status_code == 201, response.text
        articles[title] = response.json()
    return articles


@pytest.fixture
async def kb(client: httpx.AsyncClient, tenant: Any, admin: Member, agent: Member) -> Kb:
    return Kb(tenant=tenant, admin=admin, agent=agent, articles=await seed(client, admin))
