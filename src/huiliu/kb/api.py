"""Knowledge-base routes.

* ``/api/v1/kb/…`` (signed in): categories, articles with search, "turn this reply into an article",
  quick replies and their rendering for a ticket. Reading needs ``ticket.read``; writing ``admin.kb``.
* ``GET /api/v1/tickets/{id}/kb-suggestions``: the top 3 articles for a ticket, with scores.
* ``/api/v1/public/help/{slug}/…`` (no authentication; the tenant's slug names its help centre):
  categories, search and published public articles, and "was this helpful" votes. Rate limited per
  client address like the public H5 form; a refused request writes nothing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse

from huiliu.attachments import queries as attachment_queries
from huiliu.attachments.domain import content_disposition
from huiliu.attachments.models import Attachment
from huiliu.attachments.storage import LocalStorage
from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.channels.ratelimit import client_ip, limiter_for
from huiliu.core.errors import NotFound, RateLimited
from huiliu.kb import domain, queries, service
from huiliu.kb.domain import QUICK_REPLY_VARIABLES
from huiliu.kb.models import KbArticle, QuickReply
from huiliu.kb.schemas import (
    ArticleList,
    ArticleOut,
    ArticleWrite,
    CategoryList,
    CategoryOut,
    CategoryWrite,
    FeedbackIn,
    FeedbackOut,
    FromMessageIn,
    HelpCentreOut,
    PublicArticleList,
    PublicArticleOut,
    QuickReplyList,
    QuickReplyOut,
    QuickReplyWrite,
    RenderIn,
    RenderOut,
    Status,
    SuggestionList,
    Visibility,
)
from huiliu.runtime import Runtime


async def tokenizer_ready() -> None:
    """Routes tokenise text inline once the tokeniser's dictionary is loaded; until then (the first
    moments of a process) they wait for it off the event loop."""
    if not domain.is_warm():
        await asyncio.to_thread(domain.warm_up)


_READY = [Depends(tokenizer_ready)]
router = APIRouter(prefix="/api/v1/kb", tags=["knowledge base"], dependencies=_READY)
tickets_router = APIRouter(prefix="/api/v1/tickets", tags=["knowledge base"], dependencies=_READY)
public_router = APIRouter(prefix="/api/v1/public/help", tags=["public help centre"], dependencies=_READY)

QueryText = Annotated[str | None, Query(max_length=200, description="Search words (Chinese or English)")]
Limit = Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)]
PUBLIC_HEADERS = {"Cache-Control": "no-store"}


# --- article files --------------------------------------------------------------------------------------


async def _files(session: AsyncSession, article: KbArticle) -> list[dict[str, Any]]:
    """The article's files in its order; one deleted since is left out."""
    files = []
    for value in article.attachment_ids:
        try:
            attachment = await attachment_queries.get_attachment(session, uuid.UUID(value))
        except NotFound:
            continue
        files.append(
            {
                "id": attachment.id,
                "filename": attachment.filename,
                "content_type": attachment.content_type,
                "size": attachment.size,
            }
        )
    return files


async def _detail(session: AsyncSession, article: KbArticle) -> dict[str, Any]:
    return {**queries.detail(article), "attachments": await _files(session, article)}


async def _file_of(session: AsyncSession, article: KbArticle, attachment_id: uuid.UUID) -> Attachment:
    if str(attachment_id) not in article.attachment_ids:
        raise NotFound("attachment not found")
    return await attachment_queries.get_attachment(session, attachment_id)


def _download(runtime: Runtime, attachment: Attachment, cache_control: str) -> FileResponse:
    """Always a download with its stored type and ``nosniff`` (as ``GET /api/v1/attachments/{id}``),
    so a browser never renders an uploaded file as a page of ours."""
    headers = {
        "Content-Disposition": content_disposition(attachment.filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": cache_control,
    }
    path = LocalStorage(runtime.settings.files_dir).path_of(attachment.storage_path)
    media_type = attachment.content_type
    if media_type.startswith("text/"):
        media_type += "; charset=utf-8"
    return FileResponse(path, media_type=media_type, headers=headers)


# --- categories -----------------------------------------------------------------------------------------


def category_out(row: Any, count: int = 0) -> dict[str, Any]:
    return {
        "id": row.id,
        "parent_id": row.parent_id,
        "name": row.name,
        "description": row.description,
        "position": row.position,
        "article_count": count,
    }


@router.get("/categories", response_model=CategoryList, summary="The category tree (flat, ordered)")
async def list_categories(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    filters = queries.visible_to(actor)
    async with runtime.db.read(actor.tenant_id) as session:
        return {"items": await queries.list_categories(session, filters)}


@router.post("/categories", status_code=201, response_model=CategoryOut, summary="Create a category")
async def create_category(body: CategoryWrite, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        return category_out(await service.create_category(uow, actor, body))


@router.put("/categories/{category_id}", response_model=CategoryOut, summary="Replace a category")
async def update_category(
    category_id: uuid.UUID, body: CategoryWrite, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        return category_out(await service.update_category(uow, actor, category_id, body))


@router.delete("/categories/{category_id}", status_code=204, summary="Delete an empty category")
async def delete_category(category_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> Response:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.delete_category(uow, actor, category_id)
    return Response(status_code=204)


# --- articles -------------------------------------------------------------------------------------------


@router.get("/articles", response_model=ArticleList, summary="Articles, searched or newest first")
async def list_articles(
    actor: ActorDep,
    runtime: RuntimeDep,
    q: QueryText = None,
    category_id: uuid.UUID | None = None,
    status: Status | None = None,
    visibility: Visibility | None = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """With ``q``: the best matches (``score`` set), Chinese-aware; without: the latest updated.
    Agents see published articles; ``admin.kb`` also drafts."""
    filters = queries.visible_to(actor)
    if status is not None:
        filters.append(KbArticle.status == status)
    if visibility is not None:
        filters.append(KbArticle.visibility == visibility)
    async with runtime.db.read(actor.tenant_id) as session:
        found = await queries.find_articles(session, filters, text=q, category_id=category_id, limit=limit)
    return {"items": [queries.summary(article, score) for article, score in found]}


@router.post("/articles", status_code=201, response_model=ArticleOut, summary="Create an article")
async def create_article(body: ArticleWrite, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """The body is rich text, sanitised as ticket messages are."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        return await _detail(uow.session, await service.create_article(uow, actor, body))


@router.post(
    "/articles/from-message",
    status_code=201,
    response_model=ArticleOut,
    summary="Turn a reply into an article",
)
async def article_from_message(body: FromMessageIn, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """A draft internal article from a message of a ticket the caller sees."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        article = await service.article_from_message(uow, actor, body.message_id, body.title)
        return await _detail(uow.session, article)


@router.get("/articles/{article_id}", response_model=ArticleOut, summary="An article")
async def get_article(article_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    filters = queries.visible_to(actor)
    async with runtime.db.read(actor.tenant_id) as session:
        return await _detail(session, await queries.get_article(session, article_id, filters))


@router.put("/articles/{article_id}", response_model=ArticleOut, summary="Replace an article")
async def update_article(
    article_id: uuid.UUID, body: ArticleWrite, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Counts the version up; give ``version`` to be refused (409) if someone saved in between."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        return await _detail(uow.session, await service.update_article(uow, actor, article_id, body))


@router.get(
    "/articles/{article_id}/attachments/{attachment_id}",
    summary="Download a file of an article",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file"}},
)
async def article_attachment(
    article_id: uuid.UUID, attachment_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep
) -> Response:
    """For everyone who may read the article (its files are the article's, whoever uploaded them)."""
    filters = queries.visible_to(actor)
    async with runtime.db.read(actor.tenant_id) as session:
        article = await queries.get_article(session, article_id, filters)
        attachment = await _file_of(session, article, attachment_id)
    return _download(runtime, attachment, "private, max-age=3600")


@router.delete("/articles/{article_id}", status_code=204, summary="Delete an article")
async def delete_article(article_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> Response:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.delete_article(uow, actor, article_id)
    return Response(status_code=204)


@tickets_router.get(
    "/{ticket_id}/kb-suggestions", response_model=SuggestionList, summary="Articles recommended for a ticket"
)
async def ticket_suggestions(ticket_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """The top 3 published articles for the ticket's title, description and last customer message,
    with scores in [0, 1] (search rank relative to the best hit, tag and category overlap)."""
    actor.require(queries.READ_PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        return await queries.suggestions(session, actor, ticket_id)


# --- quick replies --------------------------------------------------------------------------------------


def quick_reply_out(row: QuickReply) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "body": row.body,
        "shortcut": row.shortcut,
        "position": row.position,
        "updated_at": row.updated_at,
    }


@router.get("/quick-replies", response_model=QuickReplyList, summary="Quick replies and their variables")
async def list_quick_replies(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require(queries.READ_PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        rows = await queries.list_quick_replies(session)
    return {"items": [quick_reply_out(row) for row in rows], "variables": QUICK_REPLY_VARIABLES}


@router.post("/quick-replies", status_code=201, response_model=QuickReplyOut, summary="Create a quick reply")
async def create_quick_reply(body: QuickReplyWrite, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """``body`` may use ``{{customer.name}}``, ``{{ticket.number}}`` … (Jinja2, sandboxed)."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        return quick_reply_out(await service.create_quick_reply(uow, actor, body))


@router.put("/quick-replies/{reply_id}", response_model=QuickReplyOut, summary="Replace a quick reply")
async def update_quick_reply(
    reply_id: uuid.UUID, body: QuickReplyWrite, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        return quick_reply_out(await service.update_quick_reply(uow, actor, reply_id, body))


@router.delete("/quick-replies/{reply_id}", status_code=204, summary="Delete a quick reply")
async def delete_quick_reply(reply_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> Response:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.delete_quick_reply(uow, actor, reply_id)
    return Response(status_code=204)


@router.post(
    "/quick-replies/{reply_id}/render",
    response_model=RenderOut,
    summary="A quick reply filled in for a ticket",
)
async def render_quick_reply(
    reply_id: uuid.UUID, body: RenderIn, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.read(actor.tenant_id) as session:
        return {"text": await service.render_quick_reply(session, actor, reply_id, body.ticket_id)}


# --- public help centre ---------------------------------------------------------------------------------


async def _limit(request: Request, runtime: Runtime, *, write: bool) -> None:
    limiter = limiter_for(request, runtime.settings)
    items = limiter.limits.write_per_ip if write else limiter.limits.read_per_ip
    scope = "help-write-ip" if write else "help-read-ip"
    try:
        await limiter.hit(items, scope, client_ip(request))
    except RateLimited as exc:
        retry_after = str(exc.extra.get("retry_after", 60))
        raise HTTPException(429, exc.detail, headers={"Retry-After": retry_after}) from exc


async def _tenant(runtime: Runtime, slug: str) -> Any:
    async with runtime.db.read(None, system=True) as session:
        return await queries.tenant_by_slug(session, slug)


def public_summary(article: KbArticle, score: float | None = None) -> dict[str, Any]:
    return {
        "id": article.id,
        "title": article.title,
        "category_id": article.category_id,
        "snippet": queries.snippet(article),
        "updated_at": article.updated_at,
        "score": None if score is None else round(score, 4),
    }


def public_detail(article: KbArticle) -> dict[str, Any]:
    return {
        **public_summary(article),
        "body": article.body,
        "tags": article.tags,
        "helpful_count": article.helpful_count,
        "not_helpful_count": article.not_helpful_count,
    }


@public_router.get("/{slug}", response_model=HelpCentreOut, summary="A help centre: name and categories")
async def help_centre(slug: str, request: Request, runtime: RuntimeDep, response: Response) -> dict[str, Any]:
    await _limit(request, runtime, write=False)
    tenant = await _tenant(runtime, slug)
    async with runtime.db.read(tenant.id) as session:
        categories = await queries.list_categories(session, queries.PUBLIC_FILTER)
    response.headers.update(PUBLIC_HEADERS)
    return {"name": tenant.name, "categories": [c for c in categories if c["article_count"] > 0]}


@public_router.get("/{slug}/articles", response_model=PublicArticleList, summary="Search the help centre")
async def public_articles(
    slug: str,
    request: Request,
    runtime: RuntimeDep,
    response: Response,
    q: QueryText = None,
    category_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> dict[str, Any]:
    await _limit(request, runtime, write=False)
    tenant = await _tenant(runtime, slug)
    async with runtime.db.read(tenant.id) as session:
        found = await queries.find_articles(
            session, list(queries.PUBLIC_FILTER), text=q, category_id=category_id, limit=limit
        )
    response.headers.update(PUBLIC_HEADERS)
    return {"items": [public_summary(article, score) for article, score in found]}


@public_router.get(
    "/{slug}/articles/{article_id}", response_model=PublicArticleOut, summary="A public article"
)
async def public_article(
    slug: str, article_id: uuid.UUID, request: Request, runtime: RuntimeDep, response: Response
) -> dict[str, Any]:
    await _limit(request, runtime, write=False)
    tenant = await _tenant(runtime, slug)
    async with runtime.db.read(tenant.id) as session:
        article = await queries.get_article(session, article_id, queries.PUBLIC_FILTER)
        files = await _files(session, article)
    response.headers.update(PUBLIC_HEADERS)
    return {**public_detail(article), "attachments": files}


@public_router.get(
    "/{slug}/articles/{article_id}/attachments/{attachment_id}",
    summary="Download a file of a public article",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file"}},
)
async def public_article_attachment(
    slug: str, article_id: uuid.UUID, attachment_id: uuid.UUID, request: Request, runtime: RuntimeDep
) -> Response:
    """Only files listed on a published public article; anything else is a 404 like a missing one."""
    await _limit(request, runtime, write=False)
    tenant = await _tenant(runtime, slug)
    async with runtime.db.read(tenant.id) as session:
        article = await queries.get_article(session, article_id, queries.PUBLIC_FILTER)
        attachment = await _file_of(session, article, attachment_id)
    return _download(runtime, attachment, "no-store")


@public_router.post(
    "/{slug}/articles/{article_id}/feedback", response_model=FeedbackOut, summary="Was this article helpful?"
)
async def public_feedback(
    slug: str, article_id: uuid.UUID, body: FeedbackIn, request: Request, runtime: RuntimeDep
) -> dict[str, Any]:
    """One vote per visitor and article (a second vote replaces the first); rate limited per address."""
    await _limit(request, runtime, write=True)
    tenant = await _tenant(runtime, slug)
    visitor = service.visitor_key(runtime.settings.secret_key, article_id, client_ip(request))
    async with runtime.db.uow(tenant.id) as uow:
        article = await service.record_feedback(uow, article_id, visitor, body.helpful, body.comment.strip())
    return {"helpful_count": article.helpful_count, "not_helpful_count": article.not_helpful_count}
