"""Knowledge-base articles and categories through the API: CRUD, sanitising, versions, 4xx problems
that change nothing, admin.kb for writes, drafts hidden from agents, tenant isolation, and
Chinese-aware search that puts the right article first on both databases."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import make_member, make_tenant
from tests.kb.conftest import BASE, Kb


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()  # type: ignore[no-any-return]


async def titles(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[str]:
    response = await client.get(f"{BASE}/articles", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("我想退货，钱什么时候退回来", "如何申请退货退款"),
        ("快递好几天了还没到，物流也不更新", "快递延误与物流查询"),
        ("怎么开发票？要填税号吗", "电子发票开具说明"),
        ("地址填错了能改吗", "修改收货地址"),
        ("登录不上去，忘记密码了", "忘记密码与登录失败"),
        ("空调不制冷了", "空调不制冷排查"),
        ("打印机又卡纸了", "门店打印机卡纸处理（内部）"),
    ],
)
async def test_search_puts_the_right_article_first(
    client: httpx.AsyncClient, kb: Kb, question: str, expected: str
) -> None:
    found = await titles(client, kb.agent.headers, q=question)
    assert found and found[0] == expected, found


async def test_search_results_carry_scores_best_first(client: httpx.AsyncClient, kb: Kb) -> None:
    response = await client.get(f"{BASE}/articles", params={"q": "退款"}, headers=kb.agent.headers)
    items = response.json()["items"]
    scores = [item["score"] for item in items]
    assert scores and all(score > 0 for score in scores)
    assert scores == sorted(scores, reverse=True)


async def test_title_match_outranks_a_body_match(client: httpx.AsyncClient, kb: Kb) -> None:
    # 物流 is in one title and in another article's body (退货物流单号).
    found = await titles(client, kb.agent.headers, q="物流")
    assert found[0] == "快递延误与物流查询"
    assert "如何申请退货退款" in found


async def test_a_query_of_only_stop_words_finds_nothing(client: httpx.AsyncClient, kb: Kb) -> None:
    assert await titles(client, kb.agent.headers, q="请问 怎么办 吗") == []


async def test_agents_never_see_drafts_admins_do(client: httpx.AsyncClient, kb: Kb) -> None:
    draft = kb.articles["会员积分规则（草稿）"]
    assert "会员积分规则（草稿）" not in await titles(client, kb.agent.headers, limit=100)
    assert await titles(client, kb.agent.headers, q="积分") == []
    response = await client.get(f"{BASE}/articles/{draft['id']}", headers=kb.agent.headers)
    assert_problem(response, 404)
    assert "会员积分规则（草稿）" in await titles(client, kb.admin.headers, q="积分")
    assert "会员积分规则（草稿）" in await titles(client, kb.admin.headers, status="draft")


async def test_agents_read_internal_articles(client: httpx.AsyncClient, kb: Kb) -> None:
    internal = await titles(client, kb.agent.headers, visibility="internal")
    assert internal == ["门店打印机卡纸处理（内部）"]


async def test_writing_needs_admin_kb(client: httpx.AsyncClient, kb: Kb) -> None:
    article = kb.articles["修改收货地址"]
    body = {"title": "改地址", "body": "x"}
    assert_problem(await client.post(f"{BASE}/articles", json=body, headers=kb.agent.headers), 403)
    assert_problem(
        await client.put(f"{BASE}/articles/{article['id']}", json=body, headers=kb.agent.headers), 403
    )
    assert_problem(await client.delete(f"{BASE}/articles/{article['id']}", headers=kb.agent.headers), 403)
    assert_problem(await client.post(f"{BASE}/categories", json={"name": "x"}, headers=kb.agent.headers), 403)
    unchanged = await client.get(f"{BASE}/articles/{article['id']}", headers=kb.agent.headers)
    assert unchanged.json()["title"] == "修改收货地址"


async def test_body_is_sanitised_and_plain_text_kept(client: httpx.AsyncClient, kb: Kb) -> None:
    response = await client.post(
        f"{BASE}/articles",
        json={
            "title": "安全测试",
            "body": '<p onclick="x()">你好<script>alert(1)</script><b>世界</b></p><img src=x onerror=y>',
        },
        headers=kb.admin.headers,
    )
    article = response.json()
    assert "<script" not in article["body"] and "onclick" not in article["body"]
    assert "onerror" not in article["body"]
    assert "<b>世界</b>" in article["body"]
    assert article["body_text"] == "你好世界"
    assert article["status"] == "draft" and article["visibility"] == "internal"
    assert article["author_name"] == "知识管理员" and article["version"] == 1


async def test_update_counts_versions_and_reindexes(client: httpx.AsyncClient, kb: Kb) -> None:
    article = kb.articles["修改收货地址"]
    body = {
        "title": "修改收货地址与电话",
        "body": "<p>未发货前可修改地址和联系电话，改派请联系顺丰。</p>",
        "visibility": "public",
        "status": "published",
        "version": 1,
    }
    response = await client.put(f"{BASE}/articles/{article['id']}", json=body, headers=kb.admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    assert (await titles(client, kb.agent.headers, q="顺丰改派"))[0] == "修改收货地址与电话"
    # A stale save is refused and changes nothing.
    stale = await client.put(
        f"{BASE}/articles/{article['id']}", json={**body, "title": "旧版本"}, headers=kb.admin.headers
    )
    assert assert_problem(stale, 409)["version"] == 2
    current = await client.get(f"{BASE}/articles/{article['id']}", headers=kb.admin.headers)
    assert current.json()["title"] == "修改收货地址与电话"


async def test_deleted_article_leaves_search(client: httpx.AsyncClient, kb: Kb) -> None:
    article = kb.articles["电子发票开具说明"]
    response = await client.delete(f"{BASE}/articles/{article['id']}", headers=kb.admin.headers)
    assert response.status_code == 204
    assert "电子发票开具说明" not in await titles(client, kb.admin.headers, q="发票")
    assert_problem(await client.get(f"{BASE}/articles/{article['id']}", headers=kb.admin.headers), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"title": "   "},
        {"title": "x" * 201},
        {"title": "ok", "visibility": "secret"},
        {"title": "ok", "status": "archived"},
        {"title": "ok", "tags": [""]},
        {"title": "ok", "tags": ["x" * 33]},
        {"title": "ok", "unknown": 1},
        {"title": "ok", "category_id": "00000000-0000-7000-8000-000000000000"},
        {"title": "ok", "attachment_ids": ["00000000-0000-7000-8000-000000000000"]},
    ],
)
async def test_bad_articles_are_refused_and_nothing_is_written(
    client: httpx.AsyncClient, kb: Kb, body: dict[str, Any]
) -> None:
    before = await titles(client, kb.admin.headers, limit=100)
    assert_problem(await client.post(f"{BASE}/articles", json=body, headers=kb.admin.headers), 422)
    assert await titles(client, kb.admin.headers, limit=100) == before


async def test_bad_queries_are_refused(client: httpx.AsyncClient, kb: Kb) -> None:
    headers = kb.agent.headers
    assert_problem(await client.get(f"{BASE}/articles", params={"q": "x" * 201}, headers=headers), 422)
    assert_problem(await client.get(f"{BASE}/articles", params={"limit": 0}, headers=headers), 422)
    assert_problem(await client.get(f"{BASE}/articles", params={"status": "gone"}, headers=headers), 422)
    assert_problem(await client.get(f"{BASE}/articles/not-a-uuid", headers=headers), 422)
    assert_problem(await client.get(f"{BASE}/articles"), 401)


async def test_fts_syntax_in_a_query_is_just_text(client: httpx.AsyncClient, kb: Kb) -> None:
    for query in ['"退款', "退款 OR", "退款*", "NEAR(退款)", "退款' | '", "a:b", "-退款"]:
        response = await client.get(f"{BASE}/articles", params={"q": query}, headers=kb.agent.headers)
        assert response.status_code == 200, (query, response.text)


async def test_tenants_never_see_each_others_articles(
    client: httpx.AsyncClient, runtime: Any, kb: Kb
) -> None:
    other_tenant = await make_tenant(runtime, "另一家")
    other = await make_member(runtime, other_tenant, "admin")
    assert await titles(client, other.headers, q="退货退款") == []
    article = kb.articles["如何申请退货退款"]
    assert_problem(await client.get(f"{BASE}/articles/{article['id']}", headers=other.headers), 404)
    put = await client.put(f"{BASE}/articles/{article['id']}", json={"title": "偷改"}, headers=other.headers)
    assert_problem(put, 404)
    assert_problem(await client.delete(f"{BASE}/articles/{article['id']}", headers=other.headers), 404)
    categories = await client.get(f"{BASE}/categories", headers=other.headers)
    assert categories.json()["items"] == []


async def test_category_tree_crud_and_filters(client: httpx.AsyncClient, kb: Kb) -> None:
    headers = kb.admin.headers
    root = (await client.post(f"{BASE}/categories", json={"name": "售后服务"}, headers=headers)).json()
    child = await client.post(
        f"{BASE}/categories", json={"name": "退换货", "parent_id": root["id"], "position": 1}, headers=headers
    )
    assert child.status_code == 201, child.text
    child_id = child.json()["id"]
    article = kb.articles["如何申请退货退款"]
    moved = await client.put(
        f"{BASE}/articles/{article['id']}",
        json={
            "title": article["title"],
            "body": article["body"],
            "category_id": child_id,
            "visibility": "public",
            "status": "published",
            "tags": article["tags"],
        },
        headers=headers,
    )
    assert moved.status_code == 200, moved.text
    listed = (await client.get(f"{BASE}/categories", headers=kb.agent.headers)).json()["items"]
    by_name = {item["name"]: item for item in listed}
    assert by_name["退换货"]["parent_id"] == root["id"] and by_name["退换货"]["article_count"] == 1
    assert await titles(client, kb.agent.headers, category_id=child_id) == ["如何申请退货退款"]
    # A category cannot move below itself, and a non-empty one is not deleted.
    loop = await client.put(
        f"{BASE}/categories/{root['id']}", json={"name": "售后服务", "parent_id": child_id}, headers=headers
    )
    assert_problem(loop, 422)
    assert_problem(await client.delete(f"{BASE}/categories/{root['id']}", headers=headers), 409)
    assert_problem(await client.delete(f"{BASE}/categories/{child_id}", headers=headers), 409)
    bad_parent = await client.post(
        f"{BASE}/categories",
        json={"name": "x", "parent_id": "00000000-0000-7000-8000-000000000000"},
        headers=headers,
    )
    assert_problem(bad_parent, 422)
    empty = (await client.post(f"{BASE}/categories", json={"name": "空分类"}, headers=headers)).json()
    assert (await client.delete(f"{BASE}/categories/{empty['id']}", headers=headers)).status_code == 204
