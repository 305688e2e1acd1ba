"""What the knowledge base does for an agent on a ticket: the top 3 articles for it (with scores),
quick replies with variables rendered for the ticket, and "turn this reply into an article"."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from huiliu.auth.domain import Actor, ActorKind, DataScope
from huiliu.kb import domain
from huiliu.tickets import service as tickets
from tests.factories import make_member, make_team, make_tenant
from tests.kb.conftest import BASE, Kb


async def create_ticket(client: httpx.AsyncClient, kb: Kb, **body: Any) -> dict[str, Any]:
    """A ticket the admin creates and assigns to the agent (agents see their own tickets)."""
    body.setdefault("assignee_id", str(kb.agent.user.id))
    response = await client.post("/api/v1/tickets", json=body, headers=kb.admin.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def suggestions(
    client: httpx.AsyncClient, headers: dict[str, str], ticket_id: str
) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/tickets/{ticket_id}/kb-suggestions", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


async def test_suggestions_put_the_matching_article_first(client: httpx.AsyncClient, kb: Kb) -> None:
    ticket = await create_ticket(
        client, kb, title="申请退款", description="衣服尺码不合适，想退货退款，运费谁出？"
    )
    items = await suggestions(client, kb.agent.headers, ticket["id"])
    assert 1 <= len(items) <= 3
    assert items[0]["title"] == "如何申请退货退款"
    assert items[0]["score"] == max(item["score"] for item in items) and 0 < items[0]["score"] <= 1
    assert items[0]["body_text"].startswith("收到商品后")
    assert all(item["title"] != "会员积分规则（草稿）" for item in items)


async def test_the_last_customer_message_steers_suggestions(
    client: httpx.AsyncClient, runtime: Any, kb: Kb
) -> None:
    ticket = await create_ticket(client, kb, title="咨询", description="你好")
    assert await suggestions(client, kb.agent.headers, ticket["id"]) == []
    customer = Actor(
        ActorKind.CUSTOMER, kb.tenant.id, None, "张女士", frozenset({"ticket.reply"}), DataScope.ALL
    )
    async with runtime.db.uow(kb.tenant.id) as uow:
        await tickets.add_message(
            uow, customer, uuid.UUID(ticket["id"]), "登录不上，忘记密码了怎么办", public=True
        )
        await uow.commit()
    items = await suggestions(client, kb.agent.headers, ticket["id"])
    assert items[0]["title"] == "忘记密码与登录失败"


async def test_tags_and_category_break_ties(client: httpx.AsyncClient, kb: Kb) -> None:
    # Both 退货 articles match 订单 / 快递; the ticket's tag 物流 lifts the logistics one.
    ticket = await create_ticket(client, kb, title="订单快递", description="订单快递", tags=["物流"])
    items = await suggestions(client, kb.agent.headers, ticket["id"])
    assert items[0]["title"] == "快递延误与物流查询"


def test_recommendation_score_weights() -> None:
    assert domain.recommendation_score(2.0, 2.0, ["a"], ["a"], "售后", ["aftersales", "售后"]) == 1.0
    assert domain.recommendation_score(1.0, 2.0, [], ["a"], None, ["售后"]) == 0.35
    assert domain.recommendation_score(1.0, 0.0, ["a", "b"], ["A", "c"], "x", ["y"]) == 0.1


async def test_suggestions_follow_ticket_visibility(client: httpx.AsyncClient, runtime: Any, kb: Kb) -> None:
    team = await make_team(runtime, kb.tenant)
    ticket = await create_ticket(client, kb, title="退款", team_id=str(team.id), assignee_id=None)
    # The built-in agent role sees its own tickets only.
    response = await client.get(f"/api/v1/tickets/{ticket['id']}/kb-suggestions", headers=kb.agent.headers)
    assert response.status_code == 404
    allowed = await client.get(f"/api/v1/tickets/{ticket['id']}/kb-suggestions", headers=kb.admin.headers)
    assert allowed.status_code == 200
    other = await make_member(runtime, await make_tenant(runtime), "admin")
    response = await client.get(f"/api/v1/tickets/{ticket['id']}/kb-suggestions", headers=other.headers)
    assert response.status_code == 404


async def test_quick_replies_render_variables_for_a_ticket(client: httpx.AsyncClient, kb: Kb) -> None:
    body = {
        "title": "催件安抚",
        "body": "{{ customer.name or '您' }}好，工单 {{ ticket.number }}「{{ ticket.title }}」"
        "已为您催件。— {{ agent.name }}",
        "shortcut": "cuijian",
    }
    created = await client.post(f"{BASE}/quick-replies", json=body, headers=kb.admin.headers)
    assert created.status_code == 201, created.text
    ticket = await create_ticket(
        client, kb, title="快递没到", customer={"name": "张女士", "phone": "13800138000"}
    )
    rendered = await client.post(
        f"{BASE}/quick-replies/{created.json()['id']}/render",
        json={"ticket_id": ticket["id"]},
        headers=kb.agent.headers,
    )
    assert rendered.status_code == 200, rendered.text
    assert rendered.json()["text"] == f"张女士好，工单 {ticket['number']}「快递没到」已为您催件。— 客服小李"
    listed = (await client.get(f"{BASE}/quick-replies", headers=kb.agent.headers)).json()
    assert [item["title"] for item in listed["items"]] == ["催件安抚"]
    assert "customer.name" in listed["variables"]


@pytest.mark.parametrize(
    "source",
    [
        "{{ ticket.number",
        "{% for %}",
        "{{ ''.__class__.__mro__ }}",
        "{{ customer.name.__globals__ }}",
        "x" * 4001,
    ],
)
async def test_bad_quick_replies_are_refused(client: httpx.AsyncClient, kb: Kb, source: str) -> None:
    response = await client.post(
        f"{BASE}/quick-replies", json={"title": "坏模板", "body": source}, headers=kb.admin.headers
    )
    assert response.status_code == 422, response.text
    listed = (await client.get(f"{BASE}/quick-replies", headers=kb.admin.headers)).json()["items"]
    assert listed == []


async def test_quick_reply_writes_need_admin_kb_and_titles_are_unique(
    client: httpx.AsyncClient, kb: Kb
) -> None:
    body = {"title": "问候", "body": "您好"}
    assert (
        await client.post(f"{BASE}/quick-replies", json=body, headers=kb.agent.headers)
    ).status_code == 403
    created = (await client.post(f"{BASE}/quick-replies", json=body, headers=kb.admin.headers)).json()
    assert (
        await client.post(f"{BASE}/quick-replies", json=body, headers=kb.admin.headers)
    ).status_code == 409
    updated = await client.put(
        f"{BASE}/quick-replies/{created['id']}",
        json={"title": "问候语", "body": "您好呀"},
        headers=kb.admin.headers,
    )
    assert updated.json()["body"] == "您好呀"
    assert (
        await client.delete(f"{BASE}/quick-replies/{created['id']}", headers=kb.agent.headers)
    ).status_code == 403
    assert (
        await client.delete(f"{BASE}/quick-replies/{created['id']}", headers=kb.admin.headers)
    ).status_code == 204


async def test_a_reply_becomes_a_draft_article(client: httpx.AsyncClient, kb: Kb, runtime: Any) -> None:
    ticket = await create_ticket(client, kb, title="蓝牙耳机连不上", tags=["耳机"])
    reply = await client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={
            "body": "<p>长按耳机按键 10 秒恢复出厂设置，再在手机蓝牙里删除后重新配对。</p>",
            "public": True,
        },
        headers=kb.admin.headers,
    )
    assert reply.status_code == 201, reply.text
    message_id = reply.json()["id"]
    assert (
        await client.post(
            f"{BASE}/articles/from-message", json={"message_id": message_id}, headers=kb.agent.headers
        )
    ).status_code == 403
    made = await client.post(
        f"{BASE}/articles/from-message", json={"message_id": message_id}, headers=kb.admin.headers
    )
    assert made.status_code == 201, made.text
    article = made.json()
    assert article["title"] == "蓝牙耳机连不上"
    assert article["status"] == "draft" and article["visibility"] == "internal"
    assert article["source_message_id"] == message_id and article["tags"] == ["耳机"]
    assert "恢复出厂设置" in article["body_text"]
    other = await make_member(runtime, await make_tenant(runtime), "admin")
    foreign = await client.post(
        f"{BASE}/articles/from-message", json={"message_id": message_id}, headers=other.headers
    )
    assert foreign.status_code == 404
