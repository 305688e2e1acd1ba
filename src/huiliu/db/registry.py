"""Imports every models module so ``Base.metadata`` knows all tables (Alembic, tests, create_all)."""

from huiliu.analytics import models as analytics_models
from huiliu.analytics.alerts import models as analytics_alert_models
from huiliu.attachments import models as attachment_models
from huiliu.auth import models as auth_models
from huiliu.automation import models as automation_models
from huiliu.channels.tencent import models as tencent_models
from huiliu.core import idempotency, outbox
from huiliu.customers import models as customer_models
from huiliu.db.base import Base
from huiliu.entry_points import models as entry_point_models
from huiliu.imports import models as import_models
from huiliu.intelligence import models as intelligence_models
from huiliu.kb import models as kb_models
from huiliu.notifications import models as notification_models
from huiliu.orders import models as order_models
from huiliu.routing import models as routing_models
from huiliu.sla import models as sla_models
from huiliu.ticket_templates import models as ticket_template_models
from huiliu.tickets import models as ticket_models
from huiliu.timers import models as timer_models
from huiliu.webhooks import models as webhook_models
from huiliu.workflows import models as workflow_models

__all__ = [
    "Base",
    "analytics_alert_models",
    "analytics_models",
    "attachment_models",
    "auth_models",
    "automation_models",
    "customer_models",
    "entry_point_models",
    "idempotency",
    "import_models",
    "intelligence_models",
    "kb_models",
    "notification_models",
    "order_models",
    "outbox",
    "routing_models",
    "sla_models",
    "tencent_models",
    "ticket_models",
    "ticket_template_models",
    "timer_models",
    "webhook_models",
    "workflow_models",
]
metadata = Base.metadata
