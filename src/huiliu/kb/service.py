"""Use cases of the knowledge base: categories, articles (sanitised, versioned, indexed for search in
the same transaction), "turn this reply into an article", helpful feedback from the public help
centre, and quick replies (checked in the Jinja2 sandbox when saved, rendered for a ticket).

Every write needs ``admin.kb`` except feedback (public, rate-limited by the route) and rendering a
quick reply (``ticket.read`` on a ticket the caller sees)."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.attachments import queries as attachment_queries
from huiliu.auth.domain import Actor
from huiliu.core.clock import utcnow
from huiliu.core.errors import Conflict, NotFound, ValidationFailed
from huiliu.customers.models import Customer
from huiliu.db.session import UnitOfWork
from huiliu.kb import domain, queries, search
from huiliu.kb.models import KbArticle, KbCategory, KbFeedback, QuickReply
from huiliu.kb.schemas import ArticleWrite, CategoryWrite, QuickReplyWrite
from huiliu.tickets import queries as ticket_queries
from huiliu.tickets.service import sanitize_body

ADMIN_PERMISSION = "admin.kb"
MAX_CATEGORIES = 500
MAX_CATEGORY_DEPTH = 5
MAX_QUICK_REPLIES = 500


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        message, errors=[{"loc": ["body", field], "msg": message, "type": "invalid_value"}]
    )


# --- categories -----------------------------------------------------------------------------------------


async def _check_parent(
    session: AsyncSession, category_id: uuid.UUID | None, parent_id: uuid.UUID | None
) -> None:
    """The parent exists, is not the category itself or below it, and the tree stays shallow."""
    depth = 1
    current = parent_id
    while current is not None:
        if current == category_id:
            raise _invalid("parent_id", "a category cannot sit below itself")
        parent = await session.get(KbCategory, current)
        if parent is None:
            raise _invalid("parent_id", "no such parent category")
        depth += 1
        if depth > MAX_CATEGORY_DEPTH:
            raise _invalid("parent_id", f"categories nest at most {MAX_CATEGORY_DEPTH} deep")
        current = parent.parent_id


async def create_category(uow: UnitOfWork, actor: Actor, body: CategoryWrite) -> KbCategory:
    actor.require(ADMIN_PERMISSION)
    session = uow.session
    count = (await session.execute(select(func.count()).select_from(KbCategory))).scalar_one()
    if count >= MAX_CATEGORIES:
        raise Conflict(f"a tenant has at most {MAX_CATEGORIES} categories")
    await _check_parent(session, None, body.parent_id)
    row = KbCategory(tenant_id=actor.tenant_id, **body.model_dump())
    session.add(row)
    await uow.commit()
    return row


async def update_category(
    uow: UnitOfWork, actor: Actor, category_id: uuid.UUID, body: CategoryWrite
) -> KbCategory:
    actor.require(ADMIN_PERMISSION)
    row = await queries.get_category(uow.session, category_id)
    await _check_parent(uow.session, row.id, body.parent_id)
    for key, value in body.model_dump().items():
        setattr(row, key, value)
    row.updated_at = utcnow()
    await uow.commit()
    return row


async def delete_category(uow: UnitOfWork, actor: Actor, category_id: uuid.UUID) -> None:
    """Refused (409) while the category has sub-categories or articles."""
    actor.require(ADMIN_PERMISSION)
    session = uow.session
    row = await queries.get_category(session, category_id)
    children = (
        await session.execute(
            select(func.count()).select_from(KbCategory).where(KbCategory.parent_id == row.id)
        )
    ).scalar_one()
    articles = (
        await session.execute(
            select(func.count()).select_from(KbArticle).where(KbArticle.category_id == row.id)
        )
    ).scalar_one()
    if children or articles:
        raise Conflict("the category still has sub-categories or articles")
    await session.delete(row)
    await uow.commit()


# --- articles -------------------------------------------------------------------------------------------


async def _check_refs(session: AsyncSession, body: ArticleWrite) -> None:
    if body.category_id is not None and await session.get(KbCategory, body.category_id) is None:
        raise _invalid("category_id", "no such category")
    for attachment_id in body.attachment_ids:
        try:
            await attachment_queries.get_attachment(session, attachment_id)
        except NotFound as exc:
            raise _invalid("attachment_ids", f"no such attachment {attachment_id}") from exc


def _apply(row: KbArticle, body: ArticleWrite) -> None:
    clean = sanitize_body(body.body)
    row.title = body.title
    row.body = clean
    row.body_text = domain.html_to_text(clean)
    row.category_id = body.category_id
    row.tags = body.tags
    row.attachment_ids = [str(value) for value in body.attachment_ids]
    row.visibility = body.visibility
    if body.status == "published" and row.published_at is None:
        row.published_at = utcnow()
    row.status = body.status
    row.search_tokens = domain.index_tokens(row.title, row.body_text, row.tags)
    row.updated_at = utcnow()


async def create_article(uow: UnitOfWork, actor: Actor, body: ArticleWrite) -> KbArticle:
    """A new article (version 1), sanitised and indexed for search."""
    actor.require(ADMIN_PERMISSION)
    await _check_refs(uow.session, body)
    row = KbArticle(
        tenant_id=actor.tenant_id,
        author_id=actor.id,
        author_name=actor.name,
        version=1,
        helpful_count=0,
        not_helpful_count=0,
    )
    _apply(row, body)
    uow.session.add(row)
    await uow.session.flush()
    await search.index_article(uow.session, row)
    await uow.commit()
    return row


async def update_article(
    uow: UnitOfWork, actor: Actor, article_id: uuid.UUID, body: ArticleWrite
) -> KbArticle:
    """Replace an article; its version counts up. With ``version`` given, a save on top of someone
    else's newer save is refused (409)."""
    actor.require(ADMIN_PERMISSION)
    row = await queries.get_article(uow.session, article_id)
    if body.version is not None and body.version != row.version:
        raise Conflict(
            f"the article was changed meanwhile (now version {row.version}); reload it", version=row.version
        )
    await _check_refs(uow.session, body)
    previous_tokens = row.search_tokens
    _apply(row, body)
    row.version += 1
    await uow.session.flush()
    await search.index_article(uow.session, row, previous_tokens)
    await uow.commit()
    return row


async def delete_article(uow: UnitOfWork, actor: Actor, article_id: uuid.UUID) -> None:
    actor.require(ADMIN_PERMISSION)
    row = await queries.get_article(uow.session, article_id)
    await search.unindex_article(uow.session, row)
    await uow.session.delete(row)
    await uow.commit()


async def article_from_message(
    uow: UnitOfWork, actor: Actor, message_id: uuid.UUID, title: str | None
) -> KbArticle:
    """ "Turn this reply into an article": a draft internal article whose body is the message's and
    whose title is the given one or the ticket's."""
    actor.require(ADMIN_PERMISSION)
    ticket, message = await queries.ticket_message(uow.session, actor, message_id)
    body = ArticleWrite(
        title=(title or ticket.title).strip()[:200] or ticket.title,
        body=message.body,
        tags=[tag for tag in ticket.tags if 0 < len(tag) <= 32][:20],
        visibility="internal",
        status="draft",
    )
    row = KbArticle(
        tenant_id=actor.tenant_id,
        author_id=actor.id,
        author_name=actor.name,
        version=1,
        helpful_count=0,
        not_helpful_count=0,
        source_message_id=message.id,
    )
    _apply(row, body)
    uow.session.add(row)
    await uow.session.flush()
    await search.index_article(uow.session, row)
    await uow.commit()
    return row


def visitor_key(secret: str, article_id: uuid.UUID, client: str) -> str:
    """A visitor's vote key: a keyed hash of their address (no address is stored)."""
    return hashlib.sha256(f"{secret}|{article_id}|{client}".encode()).hexdigest()[:64]


async def record_feedback(
    uow: UnitOfWork, article_id: uuid.UUID, visitor: str, helpful: bool, comment: str
) -> KbArticle:
    """A visitor's "was this helpful" vote on a published public article of the unit of work's tenant.
    One vote per visitor and article: voting again replaces the earlier vote."""
    session = uow.session
    article = await queries.get_article(session, article_id, queries.PUBLIC_FILTER)
    earlier = (
        await session.execute(
            select(KbFeedback).where(KbFeedback.article_id == article.id, KbFeedback.visitor == visitor)
        )
    ).scalar_one_or_none()
    helpful_delta, not_helpful_delta = (1, 0) if helpful else (0, 1)
    if earlier is not None:
        if earlier.helpful != helpful:
            helpful_delta, not_helpful_delta = (1, -1) if helpful else (-1, 1)
        else:
            helpful_delta = not_helpful_delta = 0
        earlier.helpful = helpful
        earlier.comment = comment
    else:
        session.add(
            KbFeedback(
                tenant_id=article.tenant_id,
                article_id=article.id,
                visitor=visitor,
                helpful=helpful,
                comment=comment,
            )
        )
    await session.execute(
        update(KbArticle)
        .where(KbArticle.id == article.id)
        .values(
            helpful_count=KbArticle.helpful_count + helpful_delta,
            not_helpful_count=KbArticle.not_helpful_count + not_helpful_delta,
        )
        .execution_options(synchronize_session=False)
    )
    try:
        await uow.commit()
    except IntegrityError as exc:
        raise Conflict("this vote was just recorded; try again") from exc
    await session.refresh(article)
    return article


# --- quick replies --------------------------------------------------------------------------------------


def _check_template(body: QuickReplyWrite) -> None:
    try:
        domain.check_quick_reply(body.body)
    except domain.QuickReplyProblem as exc:
        raise _invalid("body", f"the template does not render: {exc}") from exc


async def _title_taken(session: AsyncSession, title: str, reply_id: uuid.UUID | None) -> bool:
    found = (
        await session.execute(select(QuickReply.id).where(QuickReply.title == title))
    ).scalar_one_or_none()
    return found is not None and found != reply_id


async def create_quick_reply(uow: UnitOfWork, actor: Actor, body: QuickReplyWrite) -> QuickReply:
    actor.require(ADMIN_PERMISSION)
    _check_template(body)
    session = uow.session
    count = (await session.execute(select(func.count()).select_from(QuickReply))).scalar_one()
    if count >= MAX_QUICK_REPLIES:
        raise Conflict(f"a tenant has at most {MAX_QUICK_REPLIES} quick replies")
    if await _title_taken(session, body.title, None):
        raise Conflict("a quick reply with this title exists")
    row = QuickReply(tenant_id=actor.tenant_id, created_by_id=actor.id, **body.model_dump())
    session.add(row)
    await uow.commit()
    return row


async def update_quick_reply(
    uow: UnitOfWork, actor: Actor, reply_id: uuid.UUID, body: QuickReplyWrite
) -> QuickReply:
    actor.require(ADMIN_PERMISSION)
    _check_template(body)
    row = await queries.get_quick_reply(uow.session, reply_id)
    if await _title_taken(uow.session, body.title, row.id):
        raise Conflict("a quick reply with this title exists")
    for key, value in body.model_dump().items():
        setattr(row, key, value)
    row.updated_at = utcnow()
    await uow.commit()
    return row


async def delete_quick_reply(uow: UnitOfWork, actor: Actor, reply_id: uuid.UUID) -> None:
    actor.require(ADMIN_PERMISSION)
    row = await queries.get_quick_reply(uow.session, reply_id)
    await uow.session.delete(row)
    await uow.commit()


async def render_quick_reply(
    session: AsyncSession, actor: Actor, reply_id: uuid.UUID, ticket_id: uuid.UUID
) -> str:
    """The quick reply's text for a ticket the actor sees (customer, ticket and agent filled in)."""
    actor.require(queries.READ_PERMISSION)
    reply = await queries.get_quick_reply(session, reply_id)
    ticket = await ticket_queries.get_visible_ticket(session, actor, ticket_id)
    customer = await session.get(Customer, ticket.customer_id) if ticket.customer_id else None
    context: dict[str, Any] = {
        "customer": {"name": customer.name if customer else ""},
        "ticket": {
            "number": ticket.number,
            "title": ticket.title,
            "status": ticket.status,
            "priority": ticket.priority,
        },
        "agent": {"name": actor.name},
    }
    try:
        return domain.render_quick_reply(reply.body, context)
    except domain.QuickReplyProblem as exc:
        raise ValidationFailed(f"the quick reply does not render: {exc}") from exc
