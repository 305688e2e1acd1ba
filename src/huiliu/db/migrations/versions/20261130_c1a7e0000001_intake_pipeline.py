"""intake pipeline: device alarm folding on tickets, received_at on messages

Revision ID: c1a7e0000001
Revises: a8172c2f2d09
Create Date: 2026-11-30 04:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "c1a7e0000001"
down_revision: str | Sequence[str] | None = "a8172c2f2d09"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alarm_key", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("alarm_occurrences", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_tickets_alarm_key",
            ["tenant_id", "alarm_key"],
            unique=False,
            postgresql_where=sa.text("alarm_key IS NOT NULL"),
            sqlite_where=sa.text("alarm_key IS NOT NULL"),
        )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("received_at")

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_tickets_alarm_key",
            postgresql_where=sa.text("alarm_key IS NOT NULL"),
            sqlite_where=sa.text("alarm_key IS NOT NULL"),
        )
        batch_op.drop_column("alarm_occurrences")
        batch_op.drop_column("alarm_key")
