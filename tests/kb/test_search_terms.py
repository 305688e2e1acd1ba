"""The per-tenant token counts search plans with (decision 0053): every article write keeps them equal
to a recount from scratch, and a token most of the tenant's articles hold does not decide the
ranking."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from huiliu.kb import domain, search
from huiliu.kb.models import KbSearchTerm
from tests.kb.conftest import BASE, CORPUS, Kb
from tests.kb.test_articles_api import titles


async def term_counts(runtime: Any, tenant_id: Any) -> dict[str, int]:
    async with runtime.db.read(tenant_id) as session:
        rows = await session.execute(select(KbSearchTerm.term, KbSearchTerm.articles))
        return {row[0]: row[1] for row in rows}


def corpus_count(term: str) -> int:
    return sum(
        term in domain.index_tokens(title, domain.html_to_text(body), tags).split()
        for title, body, tags, _, _ in CORPUS
    )


async def test_counts_follow_creates_updates_and_deletes(
    client: httpx.AsyncClient, runtime: Any, kb: Kb
) -> None:
    seeded = await term_counts(runtime, kb.tenant.id)
    assert seeded[domain.ALL_ARTICLES] == len(CORPUS)
    for term in ("退款", "订单", "打印机", "积分"):
        assert seeded[term] == corpus_count(term) > 0
    assert "发票" in seeded

    address = kb.articles["修改收货地址"]
    update = {"title": "修改收货地址与电话", "body": "<p>改派请联系顺丰。</p>", "status": "published"}
    response = await client.put(f"{BASE}/articles/{address['id']}", json=update, headers=kb.admin.headers)
    assert response.status_code == 200, response.text
    invoice = kb.articles["电子发票开具说明"]
    response = await client.delete(f"{BASE}/articles/{invoice['id']}", headers=kb.admin.headers)
    assert response.status_code == 204
    response = await client.post(
        f"{BASE}/articles", json={"title": "顺丰上门取件", "status": "published"}, headers=kb.admin.headers
    )
    assert response.status_code == 201, response.text

    counted = await term_counts(runtime, kb.tenant.id)
    assert counted[domain.ALL_ARTICLES] == len(CORPUS)
    assert counted["顺丰"] == 2
    assert counted["订单"] == seeded["订单"] - 2
    assert "发票" not in counted and "税号" not in counted
    async with runtime.db.uow(kb.tenant.id) as uow:
        await search.recount_terms(uow.session, kb.tenant.id)
        await uow.session.commit()
    assert await term_counts(runtime, kb.tenant.id) == counted


async def test_a_token_most_articles_hold_does_not_swamp_the_result(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, admin: Any
) -> None:
    # 会员 fills six of the seven articles (titles and bodies): ranked without document frequency it
    # would outweigh the one article about 发票.
    for number in range(1, 7):
        body = {
            "title": f"会员日活动第{number}期 会员专享",
            "body": "<p>会员日当天会员价八折，会员积分翻倍，会员等级越高折扣越多。</p>",
            "tags": ["会员"],
            "status": "published",
        }
        response = await client.post(f"{BASE}/articles", json=body, headers=admin.headers)
        assert response.status_code == 201, response.text
    invoice = {
        "title": "电子发票开具说明",
        "body": "<p>订单完成后在「我的发票」申请开具增值税电子发票，填写抬头和税号。</p>",
        "tags": ["发票"],
        "status": "published",
    }
    response = await client.post(f"{BASE}/articles", json=invoice, headers=admin.headers)
    assert response.status_code == 201, response.text
    assert (await term_counts(runtime, tenant.id))["会员"] == 6

    assert (await titles(client, admin.headers, q="会员怎么开发票"))[0] == "电子发票开具说明"
    # Alone, the common token still finds its articles.
    assert len(await titles(client, admin.headers, q="会员")) == 6
