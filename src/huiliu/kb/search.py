"""Full-text search over articles, the same answer on both databases.

Articles are indexed by their token string (``kb.domain.index_tokens``); a query is tokenised the same
way. ``KbSearchTerm`` counts, per tenant, the articles holding each token; ``domain.plan_query`` uses
the counts to drop tokens no article or most articles hold and to pick, among the rest, the rarest as
candidates (decision 0053). Articles holding any candidate token are ranked by all kept tokens, best
first:

* PostgreSQL: ``search_vector @@ to_tsquery('simple', '退款' | '物流')``, where ``search_vector`` is
  the stored ``to_tsvector('simple', search_tokens)`` with the GIN index ``ix_kb_articles_search``,
  ranked by ``ts_rank`` over the kept tokens;
* SQLite: an FTS5 MATCH of the kept tokens on ``kb_articles_fts``, ranked by ``bm25`` (negated:
  higher is better; FTS5 ranks by the tokens it matches, and bm25 weighs rare tokens up itself).

``index_article`` / ``unindex_article`` keep the counts (both databases) and the FTS5 table (SQLite)
in step inside the writing transaction. Tenant scoping applies as everywhere (the ORM statements
select ``KbArticle`` and ``KbSearchTerm``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, column, delete, func, insert, literal_column, select, table, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.kb.domain import (
    ALL_ARTICLES,
    QueryPlan,
    distinct_terms,
    fts5_query,
    pg_tsquery,
    plan_query,
    term_deltas,
)
from huiliu.kb.models import KbArticle, KbSearchTerm

FTS_TABLE = table("kb_articles_fts", column("article_id"), column("tokens"))
# Counter rows written per statement.
TERM_BATCH = 500
_SIMPLE: ColumnElement[Any] = literal_column("'simple'::regconfig")


@dataclass(frozen=True)
class Hit:
    article_id: uuid.UUID
    score: float


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


# PostgreSQL only: the stored ``to_tsvector('simple', search_tokens)`` the migration adds (generated,
# GIN-indexed); not mapped, so the ORM never writes it.
PG_VECTOR: ColumnElement[Any] = literal_column("kb_articles.search_vector")


async def index_article(
    session: AsyncSession, article: KbArticle, previous_tokens: str | None = None
) -> None:
    """Bring the search structures up to date with the article's ``search_tokens``; ``previous_tokens``
    is its token string before this change (``None``: a new article)."""
    await _count(session, article.tenant_id, term_deltas(previous_tokens, article.search_tokens))
    if _dialect(session) != "sqlite":
        return
    await session.execute(delete(FTS_TABLE).where(FTS_TABLE.c.article_id == article.id.hex))
    await session.execute(insert(FTS_TABLE).values(article_id=article.id.hex, tokens=article.search_tokens))


async def unindex_article(session: AsyncSession, article: KbArticle) -> None:
    """Take the article out of the search structures (before it is deleted)."""
    await _count(session, article.tenant_id, term_deltas(article.search_tokens, None))
    if _dialect(session) != "sqlite":
        return
    await session.execute(delete(FTS_TABLE).where(FTS_TABLE.c.article_id == article.id.hex))


async def _count(session: AsyncSession, tenant_id: uuid.UUID, deltas: dict[str, int]) -> None:
    """Add each term's delta to its article count, one statement per batch of terms in term order (a
    missing row is created; rows that reach zero are removed)."""
    terms = list(deltas)
    for start in range(0, len(terms), TERM_BATCH):
        chunk = terms[start : start + TERM_BATCH]
        await session.execute(_upsert(session, tenant_id, {term: deltas[term] for term in chunk}))
        lost = [term for term in chunk if deltas[term] < 0]
        if lost:
            await session.execute(
                delete(KbSearchTerm)
                .where(
                    KbSearchTerm.tenant_id == tenant_id,
                    KbSearchTerm.term.in_(lost),
                    KbSearchTerm.articles <= 0,
                )
                .execution_options(synchronize_session=False)
            )


def _upsert(session: AsyncSession, tenant_id: uuid.UUID, counts: dict[str, int]) -> Any:
    make = pg_insert if _dialect(session) == "postgresql" else sqlite_insert
    statement = make(KbSearchTerm).values(
        [{"tenant_id": tenant_id, "term": term, "articles": count} for term, count in counts.items()]
    )
    return statement.on_conflict_do_update(
        index_elements=[KbSearchTerm.tenant_id, KbSearchTerm.term],
        set_={"articles": KbSearchTerm.articles + statement.excluded.articles},
    )


async def recount_terms(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """Rebuild the tenant's article counts from its articles' token strings (after a bulk import or a
    tokeniser change); returns the number of distinct tokens."""
    counts: dict[str, int] = {}
    articles = 0
    rows = await session.execute(select(KbArticle.search_tokens).where(KbArticle.tenant_id == tenant_id))
    for tokens in rows.scalars():
        articles += 1
        for term in distinct_terms(tokens):
            counts[term] = counts.get(term, 0) + 1
    await session.execute(
        delete(KbSearchTerm)
        .where(KbSearchTerm.tenant_id == tenant_id)
        .execution_options(synchronize_session=False)
    )
    if articles:
        counts[ALL_ARTICLES] = articles
    terms = sorted(counts)
    for start in range(0, len(terms), TERM_BATCH):
        await session.execute(
            _upsert(session, tenant_id, {term: counts[term] for term in terms[start : start + TERM_BATCH]})
        )
    return len(counts) - (1 if articles else 0)


async def plan(session: AsyncSession, words: Sequence[str]) -> QueryPlan:
    """The tenant's query plan for ``words`` (see ``domain.plan_query``)."""
    rows = await session.execute(
        select(KbSearchTerm.term, KbSearchTerm.articles).where(KbSearchTerm.term.in_([ALL_ARTICLES, *words]))
    )
    counts = {row[0]: row[1] for row in rows}
    articles = counts.pop(ALL_ARTICLES, 0)
    return plan_query(words, counts, articles)


async def search(
    session: AsyncSession,
    words: Sequence[str],
    filters: Sequence[ColumnElement[bool]],
    limit: int,
) -> list[Hit]:
    """Articles matching ``words`` (as ``plan`` chooses) and every one of ``filters``, best first, at
    most ``limit``."""
    if not words:
        return []
    chosen = await plan(session, words)
    if not chosen.candidates:
        return []
    if _dialect(session) == "postgresql":
        candidates = func.to_tsquery(_SIMPLE, pg_tsquery(chosen.candidates))
        score = func.ts_rank(PG_VECTOR, func.to_tsquery(_SIMPLE, pg_tsquery(chosen.ranking)))
        statement = (
            select(KbArticle.id, score.label("score"))
            .where(PG_VECTOR.op("@@")(candidates), *filters)
            .order_by(score.desc(), KbArticle.id)
            .limit(limit)
        )
    else:
        rank: ColumnElement[Any] = literal_column("bm25(kb_articles_fts)")
        statement = (
            select(KbArticle.id, (-rank).label("score"))
            .select_from(FTS_TABLE.join(KbArticle, KbArticle.id == FTS_TABLE.c.article_id))
            .where(
                text("kb_articles_fts MATCH :match").bindparams(match=fts5_query(chosen.ranking)), *filters
            )
            .order_by(rank, KbArticle.id)
            .limit(limit)
        )
    rows = (await session.execute(statement)).all()
    return [Hit(article_id=row[0], score=float(row[1])) for row in rows]
