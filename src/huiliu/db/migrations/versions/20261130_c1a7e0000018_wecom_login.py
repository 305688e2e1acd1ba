"""wecom login: the WeCom UserID of a console user (unique per tenant)

Revision ID: c1a7e0000018
Revises: c1a7e0000017
Create Date: 2026-11-30 10:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "c1a7e0000018"
down_revision: str | Sequence[str] | None = "c1a7e0000017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wecom_userid", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_users_tenant_id_wecom_userid"), ["tenant_id", "wecom_userid"]
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_tenant_id_wecom_userid"), type_="unique")
        batch_op.drop_column("wecom_userid")
