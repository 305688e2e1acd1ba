"""Request and response bodies of the knowledge base."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Visibility = Literal["public", "internal"]
Status = Literal["draft", "published"]
MAX_TAGS = 20


class CategoryWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)
    parent_id: uuid.UUID | None = None
    position: int = Field(default=0, ge=0, le=1_000_000)

    @field_validator("name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class CategoryOut(BaseModel):
    id: uuid.UUID
    parent_id: uuid.UUID | None
    name: str
    description: str
    position: int
    article_count: int = 0


class CategoryList(BaseModel):
    items: list[CategoryOut]


class ArticleWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=200_000)
    category_id: uuid.UUID | None = None
    tags: list[str] = Field(default_factory=list, max_length=MAX_TAGS)
    attachment_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    visibility: Visibility = "internal"
    status: Status = "draft"
    # On update: the version the editor started from (409 when someone saved in between).
    version: int | None = Field(default=None, ge=1)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        cleaned = [tag.strip() for tag in value]
        if any(not tag or len(tag) > 32 for tag in cleaned):
            raise ValueError("tags are 1 to 32 characters")
        return list(dict.fromkeys(cleaned))


class ArticleSummary(BaseModel):
    id: uuid.UUID
    title: str
    category_id: uuid.UUID | None
    tags: list[str]
    visibility: str
    status: str
    version: int
    helpful_count: int
    not_helpful_count: int
    snippet: str
    author_name: str
    updated_at: datetime
    published_at: datetime | None
    score: float | None = None


class ArticleAttachment(BaseModel):
    """A file of an article; download it through the article's attachment route."""

    id: uuid.UUID
    filename: str
    content_type: str
    size: int


class ArticleOut(ArticleSummary):
    body: str
    body_text: str
    attachment_ids: list[uuid.UUID]
    attachments: list[ArticleAttachment] = Field(
        default_factory=list,
        description="the files of attachment_ids in that order: …/articles/{id}/attachments/{attachment_id}",
    )
    source_message_id: uuid.UUID | None
    created_at: datetime


class ArticleList(BaseModel):
    items: list[ArticleSummary]


class FromMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message_id: uuid.UUID
    title: str | None = Field(default=None, max_length=200)


class Suggestion(BaseModel):
    id: uuid.UUID
    title: str
    snippet: str
    body_text: str
    visibility: str
    score: float


class SuggestionList(BaseModel):
    items: list[Suggestion]
    query: list[str]


class QuickReplyWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=100)
    body: str = Field(min_length=1, max_length=4000)
    shortcut: str = Field(default="", max_length=32, pattern=r"^[\w\-]*$")
    position: int = Field(default=0, ge=0, le=1_000_000)


class QuickReplyOut(BaseModel):
    id: uuid.UUID
    title: str
    body: str
    shortcut: str
    position: int
    updated_at: datetime


class QuickReplyList(BaseModel):
    items: list[QuickReplyOut]
    variables: dict[str, str]


class RenderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ticket_id: uuid.UUID


class RenderOut(BaseModel):
    text: str


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    helpful: bool
    comment: str = Field(default="", max_length=500)


class FeedbackOut(BaseModel):
    helpful_count: int
    not_helpful_count: int


class HelpCentreOut(BaseModel):
    name: str
    categories: list[CategoryOut]


class PublicArticleSummary(BaseModel):
    id: uuid.UUID
    title: str
    category_id: uuid.UUID | None
    snippet: str
    updated_at: datetime
    score: float | None = None


class PublicArticleList(BaseModel):
    items: list[PublicArticleSummary]


class PublicArticleOut(PublicArticleSummary):
    body: str
    tags: list[str]
    helpful_count: int
    not_helpful_count: int
    attachments: list[ArticleAttachment] = Field(
        default_factory=list,
        description="downloads: GET /api/v1/public/help/{slug}/articles/{id}/attachments/{attachment_id}",
    )
