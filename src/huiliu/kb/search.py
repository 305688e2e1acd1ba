"""Full-text search over articles, the same answer on both databases.

Articles are indexed by their token string (``kb.domain.index_tokens``); a query is tokenised the same
way and matches articles holding any of its tokens, best first:

* PostgreSQL: ``search_vector @@ to_tsquery('simple', '退款' | '物流')``, where ``search_vector`` is
  the stored ``to_tsvector('simple', search_tokens)`` with the GIN index ``ix_kb_articles_search``,
  ranked by ``ts_rank``;
* SQLite: an FTS5 MATCH on ``kb_articles_fts`` (kept in step by ``index_article`` /
  ``unindex_article`` inside the writing transaction), ranked by ``bm25`` (negated: higher is better).

Tenant scoping applies as everywhere (the ORM statements select ``KbArticle``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, column, delete, func, insert, literal_column, select, table, text
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.kb.domain import fts5_query, pg_tsquery
from huiliu.kb.models import KbArticle

FTS_TABLE = table("kb_articles_fts", column("article_id"), column("tokens"))
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


async def index_article(session: AsyncSession, article: KbArticle) -> None:
    """Bring the article's row in the SQLite FTS table up to date (PostgreSQL indexes the column)."""
    if _dialect(session) != "sqlite":
        return
    await unindex_article(session, article.id)
    await session.execute(insert(FTS_TABLE).values(article_id=article.id.hex, tokens=article.search_tokens))


async def unindex_article(session: AsyncSession, article_id: uuid.UUID) -> None:
    if _dialect(session) != "sqlite":
        return
    await session.execute(delete(FTS_TABLE).where(FTS_TABLE.c.article_id == article_id.hex))


async def search(
    session: AsyncSession,
    words: Sequence[str],
    filters: Sequence[ColumnElement[bool]],
    limit: int,
) -> list[Hit]:
    """Articles matching any of ``words`` and every one of ``filters``, best first, at most ``limit``."""
    if not words:
        return []
    if _dialect(session) == "postgresql":
        query = func.to_tsquery(_SIMPLE, pg_tsquery(words))
        score = func.ts_rank(PG_VECTOR, query)
        statement = (
            select(KbArticle.id, score.label("score"))
            .where(PG_VECTOR.op("@@")(query), *filters)
            .order_by(score.desc(), KbArticle.id)
            .limit(limit)
        )
    else:
        rank: ColumnElement[Any] = literal_column("bm25(kb_articles_fts)")
        statement = (
            select(KbArticle.id, (-rank).label("score"))
            .select_from(FTS_TABLE.join(KbArticle, KbArticle.id == FTS_TABLE.c.article_id))
            .where(text("kb_articles_fts MATCH :match").bindparams(match=fts5_query(words)), *filters)
            .order_by(rank, KbArticle.id)
            .limit(limit)
        )
    rows = (await session.execute(statement)).all()
    return [Hit(article_id=row[0], score=float(row[1])) for row in rows]
