"""tencent channels: platform tokens shared by all processes, 微信客服 sync cursors

Revision ID: c1a7e0000010
Revises: c1a7e0000009
Create Date: 2026-11-30 07:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "c1a7e0000010"
down_revision: str | Sequence[str] | None = "c1a7e0000009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "tencent_tokens",
        sa.Column("entry_point_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refreshing_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_point_id"],
            ["entry_points.id"],
            name=op.f("fk_tencent_tokens_entry_point_id_entry_points"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_tencent_tokens_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tencent_tokens")),
        sa.UniqueConstraint("entry_point_id", "kind", name=op.f("uq_tencent_tokens_entry_point_id_kind")),
    )
    op.create_table(
        "wecom_kf_cursors",
        sa.Column("entry_point_id", sa.Uuid(), nullable=False),
        sa.Column("open_kfid", sa.String(length=64), nullable=False),
        sa.Column("cursor", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_point_id"],
            ["entry_points.id"],
            name=op.f("fk_wecom_kf_cursors_entry_point_id_entry_points"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_wecom_kf_cursors_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wecom_kf_cursors")),
        sa.UniqueConstraint(
            "entry_point_id", "open_kfid", name=op.f("uq_wecom_kf_cursors_entry_point_id_open_kfid")
        ),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("wecom_kf_cursors")
    op.drop_table("tencent_tokens")
