"""knowledge base: kb_search_terms counts, per tenant, the articles holding each search token (and,
under the empty term, the indexed articles), filled from the existing articles; on PostgreSQL the
search GIN index writes through (fastupdate off) and its pending list is merged (decision 0053)

Revision ID: c1a7e0000024
Revises: c1a7e0000023b
Create Date: 2026-11-30 17:00:00.000000

"""

from collections import Counter, defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "c1a7e0000024"
down_revision: str | Sequence[str] | None = "c1a7e0000023b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
# kb.domain.MAX_TOKEN_CHARS when this was written: longer tokens are not counted.
MAX_TOKEN_CHARS = 64


def upgrade() -> None:
    """Upgrade schema."""
    terms = op.create_table(
        "kb_search_terms",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("term", sa.String(length=100), nullable=False),
        sa.Column("articles", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_kb_search_terms_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "term", name=op.f("pk_kb_search_terms")),
    )
    articles = sa.table(
        "kb_articles", sa.column("tenant_id", sa.Uuid()), sa.column("search_tokens", sa.Text())
    )
    counts: defaultdict[object, Counter[str]] = defaultdict(Counter)
    for tenant_id, tokens in op.get_bind().execute(sa.select(articles.c.tenant_id, articles.c.search_tokens)):
        counts[tenant_id][""] += 1
        counts[tenant_id].update({term for term in (tokens or "").split() if len(term) <= MAX_TOKEN_CHARS})
    rows = [
        {"tenant_id": tenant_id, "term": term, "articles": count}
        for tenant_id, tenant_counts in counts.items()
        for term, count in tenant_counts.items()
    ]
    for start in range(0, len(rows), BATCH):
        op.bulk_insert(terms, rows[start : start + BATCH])
    if op.get_bind().dialect.name == "postgresql":
        # Every search would otherwise scan the whole pending list of recent inserts (up to 4 MB) on top
        # of the index; articles are written rarely, so they pay for the index update instead.
        op.execute("ALTER INDEX ix_kb_articles_search SET (fastupdate = off)")
        op.execute("SELECT gin_clean_pending_list('ix_kb_articles_search'::regclass)")


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER INDEX ix_kb_articles_search RESET (fastupdate)")
    op.drop_table("kb_search_terms")
