"""ticket_facts: the open-ticket index (resolved_at IS NULL) carries the scope and filter dimensions on
PostgreSQL, so backlog and aging counts are index-only scans (decision 0046)

Revision ID: c1a7e0000023
Revises: c1a7e0000021
Create Date: 2026-11-30 13:45:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "c1a7e0000023"
down_revision: str | Sequence[str] | None = "c1a7e0000021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_ticket_facts_unresolved"
DIMENSIONS = [
    "team_id",
    "assignee_id",
    "channel",
    "priority",
    "category",
    "scenario",
    "entry_point_id",
    "customer_level",
    "region",
]


def _recreate(include: list[str]) -> None:
    # SQLite has no INCLUDE: the index there stays as it is.
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(INDEX, table_name="ticket_facts")
    op.create_index(
        INDEX,
        "ticket_facts",
        ["tenant_id", "created_at"],
        unique=False,
        postgresql_where=sa.text("resolved_at IS NULL"),
        postgresql_include=include,
    )


def upgrade() -> None:
    """Upgrade schema."""
    _recreate(DIMENSIONS)


def downgrade() -> None:
    """Downgrade schema."""
    _recreate([])
