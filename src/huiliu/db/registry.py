"""Imports every models module so ``Base.metadata`` knows all tables (Alembic, tests, create_all)."""

from huiliu.attachments import models as attachment_models
from huiliu.auth import models as auth_models
from huiliu.core import idempotency, outbox
from huiliu.customers import models as customer_models
from huiliu.db.base import Base
from huiliu.intake import models as intake_models
from huiliu.tickets import models as ticket_models
from huiliu.webhooks import models as webhook_models

__all__ = [
    "Base",
    "attachment_models",
    "auth_models",
    "customer_models",
    "idempotency",
    "intake_models",
    "outbox",
    "ticket_models",
    "webhook_models",
]
metadata = Base.metadata
