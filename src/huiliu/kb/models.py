"""Tables of the knowledge base: categories (a tree, ordered), articles with their search tokens,
helpful/not-helpful feedback, quick replies (canned responses), and per tenant the number of articles
each search token occurs in (``KbSearchTerm``, which search uses to pick a query's distinctive tokens).

The full-text structures differ by database and are created by the migration only: on PostgreSQL
the generated column ``search_vector`` (``to_tsvector('simple', search_tokens)``, stored) with a GIN
index; on SQLite the FTS5 table ``kb_articles_fts`` (``article_id`` unindexed, ``tokens``), which
``kb.search`` keeps in step with the articles."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from huiliu.core.clock import utcnow
from huiliu.db.base import Base, CreatedAtMixin, IdMixin, TenantScoped


class KbCategory(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """A knowledge-base category; ``parent_id`` makes the tree, ``position`` orders siblings."""

    __tablename__ = "kb_categories"
    __table_args__ = (Index("ix_kb_categories_parent", "tenant_id", "parent_id", "position"),)

    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("kb_categories.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    position: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class KbArticle(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """An article. ``body`` is sanitised HTML, ``body_text`` its plain text (snippets, insertion into a
    plain reply); ``search_tokens`` is ``kb.domain.index_tokens`` of title, tags and body."""

    __tablename__ = "kb_articles"
    __table_args__ = (
        Index("ix_kb_articles_list", "tenant_id", "status", "visibility", "updated_at"),
        Index("ix_kb_articles_category", "tenant_id", "category_id"),
    )

    category_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("kb_categories.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(default=list)
    attachment_ids: Mapped[list[str]] = mapped_column(default=list)
    visibility: Mapped[str] = mapped_column(String(16), default="internal")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    version: Mapped[int] = mapped_column(default=1)
    helpful_count: Mapped[int] = mapped_column(default=0)
    not_helpful_count: Mapped[int] = mapped_column(default=0)
    search_tokens: Mapped[str] = mapped_column(Text, default="")
    source_message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL")
    )
    published_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class KbFeedback(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """One "was this helpful" answer; ``visitor`` is a hash of the visitor (one vote each per article:
    a second vote replaces the first)."""

    __tablename__ = "kb_feedback"
    __table_args__ = (UniqueConstraint("article_id", "visitor"),)

    article_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    visitor: Mapped[str] = mapped_column(String(64))
    helpful: Mapped[bool]
    comment: Mapped[str] = mapped_column(String(500), default="")


class QuickReply(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """A canned response: ``body`` is a sandboxed Jinja2 template over
    ``kb.domain.QUICK_REPLY_VARIABLES``."""

    __tablename__ = "kb_quick_replies"
    __table_args__ = (UniqueConstraint("tenant_id", "title"),)

    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    shortcut: Mapped[str] = mapped_column(String(32), default="")
    position: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class KbSearchTerm(TenantScoped, Base):
    """How many of the tenant's articles hold ``term`` among their search tokens (drafts included);
    the row whose ``term`` is ``""`` (never a token) counts the indexed articles. ``kb.search`` keeps
    the counts in step with the articles inside the writing transaction and reads them to rank a
    query by its distinctive tokens (decision 0053)."""

    __tablename__ = "kb_search_terms"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid(), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    articles: Mapped[int] = mapped_column(default=0)
