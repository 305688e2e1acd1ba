"""The public help centre (no sign-in; the tenant's slug names it): published public articles only,
search, the article page, and "was this helpful" votes — one per visitor, rate limited per address."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.kb.conftest import Kb

PUBLIC = "/api/v1/public/help"
_addresses = itertools.count(1)


@pytest.fixture
async def visitor(app: object) -> AsyncIterator[httpx.AsyncClient]:
    """A client from its own address, so rate limits of one test do not reach another."""
    address = f"198.51.100.{next(_addresses)}"
    transport = httpx.ASGITransport(app=app, client=(address, 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_help_centre_lists_only_published_public_articles(visitor: httpx.AsyncClient, kb: Kb) -> None:
    slug = kb.tenant.slug
    centre = await visitor.get(f"{PUBLIC}/{slug}")
    assert centre.status_code == 200, centre.text
    assert centre.json()["name"] == kb.tenant.name
    listed = (await visitor.get(f"{PUBLIC}/{slug}/articles", params={"limit": 50})).json()["items"]
    found = {item["title"] for item in listed}
    assert "如何申请退货退款" in found
    assert "门店打印机卡纸处理（内部）" not in found
    assert "会员积分规则（草稿）" not in found
    searched = (await visitor.get(f"{PUBLIC}/{slug}/articles", params={"q": "打印机卡纸"})).json()["items"]
    assert searched == []
    first = (await visitor.get(f"{PUBLIC}/{slug}/articles", params={"q": "怎么退货"})).json()["items"][0]
    assert first["title"] == "如何申请退货退款" and first["score"] > 0


async def test_public_article_page_hides_internal_and_drafts(visitor: httpx.AsyncClient, kb: Kb) -> None:
    slug = kb.tenant.slug
    public = kb.articles["如何申请退货退款"]
    page = await visitor.get(f"{PUBLIC}/{slug}/articles/{public['id']}")
    assert page.status_code == 200
    assert page.json()["body"] == public["body"]
    assert "author_name" not in page.json()
    for title in ("门店打印机卡纸处理（内部）", "会员积分规则（草稿）"):
        hidden = await visitor.get(f"{PUBLIC}/{slug}/articles/{kb.articles[title]['id']}")
        assert hidden.status_code == 404
    assert (await visitor.get(f"{PUBLIC}/no-such-tenant-slug")).status_code == 404
    assert (await visitor.get(f"{PUBLIC}/no-such-tenant-slug/articles")).status_code == 404


async def test_another_tenants_slug_does_not_show_this_tenants_article(
    visitor: httpx.AsyncClient, runtime: Any, kb: Kb
) -> None:
    from tests.factories import make_tenant

    other = await make_tenant(runtime, "另一家")
    article = kb.articles["如何申请退货退款"]
    assert (await visitor.get(f"{PUBLIC}/{other.slug}/articles/{article['id']}")).status_code == 404
    assert (await visitor.get(f"{PUBLIC}/{other.slug}/articles", params={"q": "退货"})).json()["items"] == []


async def test_helpful_votes_count_once_per_visitor(visitor: httpx.AsyncClient, kb: Kb, app: object) -> None:
    slug = kb.tenant.slug
    article = kb.articles["快递延误与物流查询"]
    url = f"{PUBLIC}/{slug}/articles/{article['id']}/feedback"
    first = await visitor.post(url, json={"helpful": True})
    assert first.status_code == 200, first.text
    assert first.json() == {"helpful_count": 1, "not_helpful_count": 0}
    again = await visitor.post(url, json={"helpful": True})
    assert again.json() == {"helpful_count": 1, "not_helpful_count": 0}
    changed = await visitor.post(url, json={"helpful": False, "comment": "没说清楚怎么催件"})
    assert changed.json() == {"helpful_count": 0, "not_helpful_count": 1}
    transport = httpx.ASGITransport(app=app, client=("203.0.113.77", 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as someone_else:
        other = await someone_else.post(url, json={"helpful": True})
    assert other.json() == {"helpful_count": 1, "not_helpful_count": 1}


async def test_votes_on_hidden_articles_and_bad_votes_are_refused(visitor: httpx.AsyncClient, kb: Kb) -> None:
    slug = kb.tenant.slug
    internal = kb.articles["门店打印机卡纸处理（内部）"]
    refused = await visitor.post(
        f"{PUBLIC}/{slug}/articles/{internal['id']}/feedback", json={"helpful": True}
    )
    assert refused.status_code == 404
    public = kb.articles["如何申请退货退款"]
    url = f"{PUBLIC}/{slug}/articles/{public['id']}/feedback"
    for body in (
        {},
        {"helpful": "maybe"},
        {"helpful": True, "comment": "x" * 501},
        {"helpful": True, "x": 1},
    ):
        response = await visitor.post(url, json=body)
        assert response.status_code == 422, body
    page = await visitor.get(f"{PUBLIC}/{slug}/articles/{public['id']}")
    assert page.json()["helpful_count"] == 0 and page.json()["not_helpful_count"] == 0


async def test_votes_are_rate_limited_per_address(visitor: httpx.AsyncClient, kb: Kb) -> None:
    slug = kb.tenant.slug
    article = kb.articles["电子发票开具说明"]
    url = f"{PUBLIC}/{slug}/articles/{article['id']}/feedback"
    # 10 per minute, counted in a sliding window: the 11th is refused, or (when the minute turns while
    # the test runs) one of the next few.
    statuses = []
    for _ in range(25):
        statuses.append((await visitor.post(url, json={"helpful": True})).status_code)
        if statuses[-1] == 429:
            break
    assert statuses[:10] == [200] * 10
    assert statuses[-1] == 429 and set(statuses[:-1]) == {200}
    limited = await visitor.post(url, json={"helpful": False})
    assert limited.status_code == 429 and "retry-after" in limited.headers
    page = await visitor.get(f"{PUBLIC}/{slug}/articles/{article['id']}")
    assert page.json()["helpful_count"] == 1 and page.json()["not_helpful_count"] == 0
