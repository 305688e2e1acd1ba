"""orders, opportunities and ticket-order links; order permissions for the built-in roles

Revision ID: c1a7e0000002
Revises: c1a7e0000001
Create Date: 2026-11-30 06:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "c1a7e0000002"
down_revision: str | Sequence[str] | None = "c1a7e0000001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ORDER_PERMISSIONS = ["order.read", "order.write", "opportunity.read", "opportunity.write"]
# Tenants created before this revision got their built-in roles without the order permissions.
BUILT_IN_ROLES = ("admin", "lead", "agent")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "orders",
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("amount", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("items", JSON, nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attributes", JSON, nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_orders_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_orders_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_orders_tenant_id_number")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_created", ["tenant_id", "created_at", "id"], unique=False)
        batch_op.create_index("ix_orders_customer", ["tenant_id", "customer_id", "created_at"], unique=False)

    op.create_table(
        "opportunities",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("expected_close_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("attributes", JSON, nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_opportunities_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_opportunities_owner_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_opportunities_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunities")),
    )
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.create_index("ix_opportunities_created", ["tenant_id", "created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_opportunities_customer", ["tenant_id", "customer_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_opportunities_owner_stage", ["tenant_id", "owner_id", "stage"], unique=False
        )

    op.create_table(
        "ticket_orders",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_ticket_orders_order_id_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_ticket_orders_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_orders_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_orders")),
        sa.UniqueConstraint("ticket_id", "order_id", name=op.f("uq_ticket_orders_ticket_id_order_id")),
    )
    with op.batch_alter_table("ticket_orders", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_orders_order", ["order_id"], unique=False)

    _change_role_permissions(add=True)


def downgrade() -> None:
    """Downgrade schema."""
    _change_role_permissions(add=False)
    with op.batch_alter_table("ticket_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_orders_order")
    op.drop_table("ticket_orders")
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.drop_index("ix_opportunities_owner_stage")
        batch_op.drop_index("ix_opportunities_customer")
        batch_op.drop_index("ix_opportunities_created")
    op.drop_table("opportunities")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_customer")
        batch_op.drop_index("ix_orders_created")
    op.drop_table("orders")


def _change_role_permissions(*, add: bool) -> None:
    """Grant the order permissions to the built-in roles of existing tenants (or take them back)."""
    roles = sa.table("roles", sa.column("id", sa.Uuid()), sa.column("name"), sa.column("permissions", JSON))
    connection = op.get_bind()
    query = sa.select(roles.c.id, roles.c.name, roles.c.permissions)
    if add:
        query = query.where(roles.c.name.in_(BUILT_IN_ROLES))
    for role_id, _name, permissions in connection.execute(query).all():
        current = list(permissions or [])
        if add:
            changed = current + [name for name in ORDER_PERMISSIONS if name not in current]
        else:
            changed = [name for name in current if name not in ORDER_PERMISSIONS]
        if changed != current:
            connection.execute(roles.update().where(roles.c.id == role_id).values(permissions=changed))
