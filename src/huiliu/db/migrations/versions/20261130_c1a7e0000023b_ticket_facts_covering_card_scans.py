"""ticket_facts: the created-at and resolved-at indexes carry the summary cards' columns on PostgreSQL,
so a period's card scans are index-only (decision 0046)

Revision ID: c1a7e0000023b
Revises: c1a7e0000023
Create Date: 2026-11-30 14:30:00.000000

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "c1a7e0000023b"
down_revision: str | Sequence[str] | None = "c1a7e0000023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CREATED = ("ix_ticket_facts_created", ["tenant_id", "created_at"])
RESOLVED = ("ix_ticket_facts_resolved", ["tenant_id", "resolved_at", "created_at"])
CREATED_CARD_COLUMNS = [
    "team_id",
    "assignee_id",
    "first_response_minutes",
    "first_response_met",
    "resolution_met",
    "csat",
    "reopened",
    "ever_resolved",
    "fcr",
    "transfers",
]
RESOLVED_CARD_COLUMNS = ["team_id", "assignee_id", "resolution_minutes"]


def _recreate(index: tuple[str, list[str]], include: list[str]) -> None:
    name, columns = index
    op.drop_index(name, table_name="ticket_facts")
    op.create_index(name, "ticket_facts", columns, unique=False, postgresql_include=include)


def upgrade() -> None:
    """Upgrade schema."""
    # SQLite has no INCLUDE: the indexes there stay as they are.
    if op.get_bind().dialect.name != "postgresql":
        return
    _recreate(CREATED, CREATED_CARD_COLUMNS)
    _recreate(RESOLVED, RESOLVED_CARD_COLUMNS)


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name != "postgresql":
        return
    _recreate(CREATED, [])
    _recreate(RESOLVED, [])
