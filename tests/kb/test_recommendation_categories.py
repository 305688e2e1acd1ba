"""A ticket's category is a taxonomy key (``refund_return``) while a KB category has a name people typed
(退换货): the recommendation's category boost fires when the KB category's name is the ticket's key or
one of that key's names in the tenant's taxonomy, in zh-CN or English (decision 0061)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from huiliu.kb import domain
from tests.kb.conftest import BASE, Kb

SETTINGS = "/api/v1/intelligence/settings"
# Two articles the search scores alike; without a category boost the title decides (A before B).
BODY = "<p>集运仓包裹到仓后 3 天内合箱发出，可在订单页查看集运进度。</p>"


async def kb_category(client: httpx.AsyncClient, kb: Kb, name: str) -> str:
    response = await client.post(f"{BASE}/categories", json={"name": name}, headers=kb.admin.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def twin_articles(client: httpx.AsyncClient, kb: Kb, category_of_b: str) -> None:
    """集运仓包裹 A (no category) and 集运仓包裹 B (in ``category_of_b``), published, same text."""
    for title, category_id in (
        ("集运仓包裹 A", None),
        ("集运仓包裹 B", await kb_category(client, kb, category_of_b)),
    ):
        response = await client.post(
            f"{BASE}/articles",
            json={
                "title": title,
                "body": BODY,
                "category_id": category_id,
                "visibility": "public",
                "status": "published",
            },
            headers=kb.admin.headers,
        )
        assert response.status_code == 201, response.text


async def suggested_titles(client: httpx.AsyncClient, kb: Kb, category: str | None) -> list[str]:
    response = await client.post(
        "/api/v1/tickets",
        json={
            "title": "集运仓包裹",
            "description": "集运仓包裹什么时候发出",
            "category": category,
            "assignee_id": str(kb.agent.user.id),
        },
        headers=kb.admin.headers,
    )
    assert response.status_code == 201, response.text
    suggestions = await client.get(
        f"/api/v1/tickets/{response.json()['id']}/kb-suggestions", headers=kb.agent.headers
    )
    assert suggestions.status_code == 200, suggestions.text
    return [item["title"] for item in suggestions.json()["items"]]


@pytest.mark.parametrize("kb_name", ["退换货", "Refund / return", "refund_return"])
async def test_a_kb_category_named_like_the_tickets_category_lifts_its_article(
    client: httpx.AsyncClient, kb: Kb, kb_name: str
) -> None:
    # The ticket stores the key refund_return; the default taxonomy names it 退换货 / Refund / return.
    await twin_articles(client, kb, kb_name)
    titles = await suggested_titles(client, kb, "refund_return")
    assert titles[:2] == ["集运仓包裹 B", "集运仓包裹 A"]


async def test_another_categorys_name_does_not_lift_the_article(client: httpx.AsyncClient, kb: Kb) -> None:
    await twin_articles(client, kb, "物流")  # logistics' name
    assert (await suggested_titles(client, kb, "refund_return"))[:2] == ["集运仓包裹 A", "集运仓包裹 B"]
    assert (await suggested_titles(client, kb, None))[:2] == ["集运仓包裹 A", "集运仓包裹 B"]


async def test_the_tenants_own_taxonomy_names_count(client: httpx.AsyncClient, kb: Kb) -> None:
    current = (await client.get(SETTINGS, headers=kb.admin.headers)).json()
    current["categories"].append(
        {"key": "consolidation", "names": {"zh-CN": "集运", "en": "Consolidated shipping"}}
    )
    response = await client.put(SETTINGS, json=current, headers=kb.admin.headers)
    assert response.status_code == 200, response.text
    await twin_articles(client, kb, "集运")
    assert (await suggested_titles(client, kb, "consolidation"))[:2] == ["集运仓包裹 B", "集运仓包裹 A"]


async def test_a_key_outside_the_taxonomy_matches_a_kb_category_of_that_name(
    client: httpx.AsyncClient, kb: Kb
) -> None:
    # An imported ticket keeps its word as its category (decision 0054); a KB category of that word matches.
    await twin_articles(client, kb, "集运")
    assert (await suggested_titles(client, kb, "集运"))[:2] == ["集运仓包裹 B", "集运仓包裹 A"]


@pytest.mark.parametrize(
    ("article_category", "labels", "expected"),
    [
        ("退换货", ["refund_return", "退换货", "Refund / return"], True),
        (" REFUND / RETURN ", ["refund_return", "退换货", "Refund / return"], True),
        ("Ｌｏｇｉｓｔｉｃｓ", ["logistics", "物流", "Logistics"], True),  # full-width letters
        ("refund_return", ["refund_return"], True),
        ("退货", ["refund_return", "退换货", "Refund / return"], False),  # a part of a name is not the name
        ("物流", ["refund_return", "退换货", "Refund / return"], False),
        (None, ["logistics", "物流"], False),
        ("物流", [], False),
        ("", [""], False),
    ],
)
def test_same_category_compares_names_and_key(
    article_category: str | None, labels: list[str], expected: Any
) -> None:
    assert domain.same_category(article_category, labels) is expected
