"""The read side of the knowledge base: the category tree, article lists and search (console and
public help centre), a ticket's article recommendations and the quick replies.

Who sees what: the public help centre sees published public articles only; signed-in users with
``ticket.read`` see every published article (public and internal); ``admin.kb`` also sees drafts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from huiliu.auth.domain import Actor
from huiliu.auth.models import Tenant
from huiliu.core.errors import NotFound
from huiliu.intelligence.triage import read_config
from huiliu.kb import domain, search
from huiliu.kb.models import KbArticle, KbCategory, QuickReply
from huiliu.tickets import queries as ticket_queries
from huiliu.tickets.models import Message, Ticket

READ_PERMISSION = "ticket.read"
ADMIN_PERMISSION = "admin.kb"
SNIPPET_CHARS = 160
MAX_LIMIT = 100
SUGGESTIONS = 3
# How many search hits a recommendation re-scores with tags and categories.
SUGGESTION_POOL = 20


def snippet(article: KbArticle) -> str:
    text = article.body_text.replace("\n", " ")
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"


def summary(article: KbArticle, score: float | None = None) -> dict[str, Any]:
    return {
        "id": article.id,
        "title": article.title,
        "category_id": article.category_id,
        "tags": article.tags,
        "visibility": article.visibility,
        "status": article.status,
        "version": article.version,
        "helpful_count": article.helpful_count,
        "not_helpful_count": article.not_helpful_count,
        "snippet": snippet(article),
        "author_name": article.author_name,
        "updated_at": article.updated_at,
        "published_at": article.published_at,
        "score": None if score is None else round(score, 4),
    }


def detail(article: KbArticle) -> dict[str, Any]:
    return {
        **summary(article),
        "body": article.body,
        "body_text": article.body_text,
        "attachment_ids": [uuid.UUID(value) for value in article.attachment_ids],
        "source_message_id": article.source_message_id,
        "created_at": article.created_at,
    }


def visible_to(actor: Actor) -> list[ColumnElement[bool]]:
    """The filter of what a signed-in actor may read (see the module docstring)."""
    actor.require(READ_PERMISSION)
    if actor.can(ADMIN_PERMISSION):
        return []
    return [KbArticle.status == "published"]


# Lists, search hits and recommendations show summaries: the HTML body and the token string (together
# several times the plain text) stay in the database, and touching them on such a row is an error.
SUMMARY_ONLY = (defer(KbArticle.body, raiseload=True), defer(KbArticle.search_tokens, raiseload=True))

PUBLIC_FILTER: tuple[ColumnElement[bool], ...] = (
    KbArticle.status == "published",
    KbArticle.visibility == "public",
)


# --- categories -----------------------------------------------------------------------------------------


async def list_categories(
    session: AsyncSession, article_filters: Sequence[ColumnElement[bool]] = ()
) -> list[dict[str, Any]]:
    """Every category in tree order material (parent, position, name) with its article count under
    ``article_filters``."""
    counts = dict(
        (
            await session.execute(
                select(KbArticle.category_id, func.count())
                .where(KbArticle.category_id.is_not(None), *article_filters)
                .group_by(KbArticle.category_id)
            )
        ).all()
    )
    rows = (
        await session.execute(select(KbCategory).order_by(KbCategory.position, KbCategory.name))
    ).scalars()
    return [
        {
            "id": row.id,
            "parent_id": row.parent_id,
            "name": row.name,
            "description": row.description,
            "position": row.position,
            "article_count": int(counts.get(row.id, 0)),
        }
        for row in rows
    ]


async def get_category(session: AsyncSession, category_id: uuid.UUID) -> KbCategory:
    row = await session.get(KbCategory, category_id)
    if row is None:
        raise NotFound("category not found")
    return row


# --- articles -------------------------------------------------------------------------------------------


async def get_article(
    session: AsyncSession, article_id: uuid.UUID, filters: Sequence[ColumnElement[bool]] = ()
) -> KbArticle:
    row = (
        await session.execute(select(KbArticle).where(KbArticle.id == article_id, *filters))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("article not found")
    return row


async def find_articles(
    session: AsyncSession,
    filters: Sequence[ColumnElement[bool]],
    *,
    text: str | None,
    category_id: uuid.UUID | None,
    limit: int,
) -> list[tuple[KbArticle, float | None]]:
    """Articles under ``filters`` (and in ``category_id`` when given): best matches of ``text`` when
    it has any search tokens, else the most recently updated."""
    where = list(filters)
    if category_id is not None:
        where.append(KbArticle.category_id == category_id)
    limit = max(1, min(limit, MAX_LIMIT))
    words = domain.query_tokens(text) if text else []
    if text and words:
        hits = await search.search(session, words, where, limit)
        return await _load_hits(session, hits)
    if text:
        return []
    rows = (
        await session.execute(
            select(KbArticle)
            .options(*SUMMARY_ONLY)
            .where(*where)
            .order_by(KbArticle.updated_at.desc(), KbArticle.id)
            .limit(limit)
        )
    ).scalars()
    return [(row, None) for row in rows]


async def _load_hits(
    session: AsyncSession, hits: Sequence[search.Hit]
) -> list[tuple[KbArticle, float | None]]:
    if not hits:
        return []
    rows = (
        await session.execute(
            select(KbArticle).options(*SUMMARY_ONLY).where(KbArticle.id.in_([hit.article_id for hit in hits]))
        )
    ).scalars()
    by_id = {row.id: row for row in rows}
    return [(by_id[hit.article_id], hit.score) for hit in hits if hit.article_id in by_id]


# --- public help centre ---------------------------------------------------------------------------------


async def tenant_by_slug(session: AsyncSession, slug: str) -> Tenant:
    """The tenant whose help centre ``slug`` names; NotFound otherwise."""
    if not slug or len(slug) > 64:
        raise NotFound("help centre not found")
    tenant = (await session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()
    if tenant is None:
        raise NotFound("help centre not found")
    return tenant


# --- recommendations ------------------------------------------------------------------------------------


async def last_customer_message(session: AsyncSession, ticket_id: uuid.UUID) -> str:
    body = (
        await session.execute(
            select(Message.body)
            .where(Message.ticket_id == ticket_id, Message.author_kind == "customer")
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return domain.html_to_text(body or "")


async def suggestions(session: AsyncSession, actor: Actor, ticket_id: uuid.UUID) -> dict[str, Any]:
    """The top ``SUGGESTIONS`` published articles for a ticket the actor sees: search hits for its
    title, description and last customer message, re-scored with tag and category overlap (an
    article's category matches by the key or a taxonomy name of the ticket's category)."""
    ticket = await ticket_queries.get_visible_ticket(session, actor, ticket_id)
    text = " ".join(
        [
            ticket.title,
            domain.html_to_text(ticket.description),
            await last_customer_message(session, ticket.id),
        ]
    )
    words = domain.query_tokens(text)
    hits = await search.search(session, words, [KbArticle.status == "published"], SUGGESTION_POOL)
    loaded = await _load_hits(session, hits)
    if not loaded:
        return {"items": [], "query": words}
    category_names = await _category_names(session, {a.category_id for a, _ in loaded if a.category_id})
    ticket_category = (
        await _category_labels(session, ticket.tenant_id, ticket.category) if category_names else []
    )
    top = max(score or 0.0 for _, score in loaded)
    scored = [
        (
            article,
            domain.recommendation_score(
                score or 0.0,
                top,
                article.tags,
                ticket.tags,
                category_names.get(article.category_id) if article.category_id else None,
                ticket_category,
            ),
        )
        for article, score in loaded
    ]
    scored.sort(key=lambda pair: (-pair[1], pair[0].title))
    return {
        "items": [
            {
                "id": article.id,
                "title": article.title,
                "snippet": snippet(article),
                "body_text": article.body_text,
                "visibility": article.visibility,
                "score": score,
            }
            for article, score in scored[:SUGGESTIONS]
        ],
        "query": words,
    }


async def _category_labels(session: AsyncSession, tenant_id: uuid.UUID, key: str | None) -> list[str]:
    """What a ticket's category is called: its key and, when the tenant's taxonomy has the key, its
    zh-CN and English names (a KB category is named by people, a ticket's category is a key)."""
    if not key:
        return []
    for category in (await read_config(session, tenant_id)).categories:
        if category.key == key:
            return [key, *category.names.values()]
    return [key]


async def _category_names(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = await session.execute(select(KbCategory.id, KbCategory.name).where(KbCategory.id.in_(ids)))
    return {row[0]: row[1] for row in rows}


# --- quick replies --------------------------------------------------------------------------------------


async def list_quick_replies(session: AsyncSession) -> list[QuickReply]:
    rows = await session.execute(select(QuickReply).order_by(QuickReply.position, QuickReply.title))
    return list(rows.scalars())


async def get_quick_reply(session: AsyncSession, reply_id: uuid.UUID) -> QuickReply:
    row = await session.get(QuickReply, reply_id)
    if row is None:
        raise NotFound("quick reply not found")
    return row


async def ticket_message(
    session: AsyncSession, actor: Actor, message_id: uuid.UUID
) -> tuple[Ticket, Message]:
    """A message of a ticket the actor sees; NotFound otherwise."""
    message = await session.get(Message, message_id)
    if message is None:
        raise NotFound("message not found")
    try:
        ticket = await ticket_queries.get_visible_ticket(session, actor, message.ticket_id)
    except NotFound as exc:
        raise NotFound("message not found") from exc
    return ticket, message
