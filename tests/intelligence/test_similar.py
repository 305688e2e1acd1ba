"""Similar open tickets: the pure ranking (TF-IDF cosine over character bigrams) and
``GET /api/v1/tickets/{id}/similar`` — open tickets only, the caller's data scope, the tenant's own."""

from __future__ import annotations

from typing import Any

import httpx

from huiliu.intelligence.similar import rank, shingles
from tests.factories import Member, make_member, make_tenant


def test_shingles_are_cjk_bigrams_and_latin_words() -> None:
    features = shingles("iPhone13 屏幕碎了 a")
    assert features == {"iphone13": 1, "屏幕": 1, "幕碎": 1, "碎了": 1}


def test_rank_prefers_the_closest_text_and_drops_unrelated_ones() -> None:
    candidates = [
        ("refund", "申请退货退款，衣服尺码不合适"),
        ("printer", "门店打印机卡纸"),
        ("refund2", "退款什么时候到账"),
    ]
    ranked = rank("想退货退款，尺码太小了", candidates, 3)
    assert [key for key, _ in ranked][:1] == ["refund"]
    assert "printer" not in [key for key, _ in ranked]
    assert all(0 < score <= 1 for _, score in ranked)
    assert rank("", candidates, 3) == [] and rank("退款", [], 3) == []


def test_identical_text_scores_one() -> None:
    [(key, score)] = rank("空调不制冷", [("same", "空调不制冷")], 1)
    assert key == "same" and abs(score - 1) < 1e-3


async def ticket(client: httpx.AsyncClient, member: Member, title: str, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/tickets", json={"title": title, **body}, headers=member.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_similar_open_tickets_in_scope(client: httpx.AsyncClient, runtime: Any) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    agent = await make_member(runtime, tenant, "agent")
    mine = {"assignee_id": str(agent.user.id)}
    base = await ticket(
        client, admin, "空调不制冷", description="客厅空调开了一小时还是不制冷，外机不转", **mine
    )
    close = await ticket(client, admin, "空调外机不转", description="空调不制冷，外机不转了", **mine)
    near = await ticket(client, admin, "卧室空调不冷", description="空调制冷效果差", **mine)
    await ticket(client, admin, "发票抬头写错了", description="需要重开发票", **mine)
    hidden = await ticket(client, admin, "空调不制冷外机不转", description="空调不制冷，外机不转")
    done = await ticket(client, admin, "空调不制冷", description="空调不制冷，外机不转", **mine)
    resolved = await client.post(
        f"/api/v1/tickets/{done['id']}/status", json={"status": "resolved"}, headers=admin.headers
    )
    assert resolved.status_code == 200, resolved.text

    response = await client.get(f"/api/v1/tickets/{base['id']}/similar", headers=agent.headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    ids = [item["id"] for item in items]
    assert ids[0] == close["id"] and near["id"] in ids
    assert base["id"] not in ids and done["id"] not in ids and hidden["id"] not in ids
    assert [item["score"] for item in items] == sorted((item["score"] for item in items), reverse=True)
    assert items[0]["number"] == close["number"] and items[0]["status"] in {"new", "open"}

    # The admin sees every ticket, the unassigned one included.
    everything = await client.get(f"/api/v1/tickets/{base['id']}/similar", headers=admin.headers)
    assert hidden["id"] in [item["id"] for item in everything.json()["items"]]
    one = await client.get(
        f"/api/v1/tickets/{base['id']}/similar", params={"limit": 1}, headers=admin.headers
    )
    assert len(one.json()["items"]) == 1

    # Someone else's ticket, or another tenant's, is not found; bad limits are refused.
    assert (
        await client.get(f"/api/v1/tickets/{hidden['id']}/similar", headers=agent.headers)
    ).status_code == 404
    other = await make_member(runtime, await make_tenant(runtime), "admin")
    assert (
        await client.get(f"/api/v1/tickets/{base['id']}/similar", headers=other.headers)
    ).status_code == 404
    bad = await client.get(
        f"/api/v1/tickets/{base['id']}/similar", params={"limit": 0}, headers=admin.headers
    )
    assert bad.status_code == 422
