"""Alembic environment: the URL comes from HUILIU_DATABASE_URL (or the -x url=... argument)."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy.types import TypeEngine

from huiliu.db.base import UTCDateTime
from huiliu.db.engine import make_sync_engine
from huiliu.db.registry import metadata
from huiliu.settings import get_settings

config = context.config


def _database_url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.attributes.get("url")
    return url or get_settings().database_url


def render_item(type_: str, obj: Any, autogen_context: Any) -> Any:
    """Render our column types as plain SQLAlchemy types so migrations import nothing of the project."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, TypeEngine) and obj.__class__.__name__ == "JSON":
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return "sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')"
    return False


# Full-text structures a migration creates for one database only (the knowledge base's FTS5 table
# and its shadow tables on SQLite, its generated tsvector column and GIN index on PostgreSQL): no
# model declares them, so comparing must not offer to drop them.
HAND_MADE_TABLE_PREFIXES = ("kb_articles_fts",)
HAND_MADE_INDEXES = frozenset({"ix_kb_articles_search"})
HAND_MADE_COLUMNS = frozenset({"search_vector"})


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    if type_ == "table" and name is not None:
        return not name.startswith(HAND_MADE_TABLE_PREFIXES)
    if type_ == "index":
        return name not in HAND_MADE_INDEXES
    if type_ == "column":
        return name not in HAND_MADE_COLUMNS
    return True


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_sync_engine(_database_url())
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        render_item=render_item,
        include_name=include_name,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
