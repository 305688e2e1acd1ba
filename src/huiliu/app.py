"""FastAPI application factory: routers, problem+json errors, the static web app."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.types import Receive, Scope, Send

from huiliu import __version__, route_filter
from huiliu.analytics.alerts.api import reports_router as analytics_reports_router
from huiliu.analytics.alerts.api import router as analytics_alerts_router
from huiliu.analytics.api import router as analytics_router
from huiliu.analytics.bi_api import router as analytics_bi_router
from huiliu.analytics.exports_api import router as analytics_exports_router
from huiliu.analytics.staffing_api import router as analytics_staffing_router
from huiliu.attachments.api import router as attachments_router
from huiliu.auth.admin_api import router as admin_router
from huiliu.auth.api import router as auth_router
from huiliu.automation.api import router as rules_router
from huiliu.automation.catalog_api import router as rules_catalog_router
from huiliu.automation.ratings import router as ratings_router
from huiliu.channels.tencent.api import router as tencent_setup_router
from huiliu.channels.webform.api import router as webform_router
from huiliu.channels.webhook.api import router as webhook_intake_router
from huiliu.channels.wechat.api import router as wechat_router
from huiliu.channels.wechat.miniprogram import router as miniprogram_router
from huiliu.channels.wecom.api import router as wecom_router
from huiliu.channels.wecom.login import router as wecom_login_router
from huiliu.channels.wecom.sidebar import router as wecom_sidebar_router
from huiliu.core.problem import install_problem_handlers
from huiliu.customers.api import router as customers_router
from huiliu.db import registry as _registry  # noqa: F401  (every table known to the ORM)
from huiliu.direct_routes import DirectRoutes, DirectStats
from huiliu.entry_points.api import router as entry_points_router
from huiliu.imports.api import router as imports_router
from huiliu.imports.runner import ImportRunner
from huiliu.intake import direct as intake_direct
from huiliu.intake.api import router as intake_router
from huiliu.intelligence.api import router as intelligence_router
from huiliu.intelligence.similar_api import router as similar_tickets_router
from huiliu.intelligence.triage_api import router as triage_router
from huiliu.kb.api import public_router as kb_public_router
from huiliu.kb.api import router as kb_router
from huiliu.kb.api import tickets_router as kb_tickets_router
from huiliu.live.api import router as live_router
from huiliu.notifications.api import router as notifications_router
from huiliu.notifications.relay import InboxRelay
from huiliu.orders.api import router as orders_router
from huiliu.orders.lookup import OrderLookup
from huiliu.reactions import install_reactors
from huiliu.routing.api import router as routing_router
from huiliu.runtime import Runtime
from huiliu.settings import Settings, get_settings
from huiliu.sla.api import router as sla_router
from huiliu.ticket_templates.api import router as ticket_templates_router
from huiliu.tickets import direct as tickets_direct
from huiliu.tickets.api import router as tickets_router
from huiliu.webhooks.api import router as webhooks_router
from huiliu.webui import mount_web
from huiliu.workflows.api import approvals_router as workflow_approvals_router
from huiliu.workflows.api import router as workflows_router
from huiliu.workflows.api import tickets_router as workflow_tickets_router

health_router = APIRouter(tags=["system"])


@health_router.get("/api/v1/health", summary="Liveness (no auth)")
async def health() -> dict[str, Any]:
    return {"status": "ok"}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.build(settings)
        app.state.runtime = runtime
        await runtime.start()
        # Rules, routing, SLA and channel replies react inside every unit of work (huiliu.reactions).
        install_reactors(runtime.db, runtime.settings)
        # Import jobs run in the API process and resume after a crash (docs/decisions/0009).
        import_runner = ImportRunner(runtime.db, settings)
        app.state.import_runner = import_runner
        await import_runner.start()
        # Without Redis the worker cannot reach this process's live hub: relay new in-app notifications.
        inbox_relay = InboxRelay(runtime.db, runtime.hub) if settings.redis_url is None else None
        if inbox_relay is not None:
            await inbox_relay.start()
        # The ERP order lookup and its cache, when configured (docs/orders.md).
        app.state.order_lookup = OrderLookup.from_settings(settings)
        # The KB tokeniser's dictionary (rjieba, 33 MB, decision 0065) loads on a process's first KB
        # request, off the event loop (kb.api.tokenizer_ready), not here: workers that never search never
        # hold it.
        # Everything built so far (routes, models, schemas) lives as long as the process: move it out of
        # the collector's reach, so full collections stay short and do not stall requests.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if inbox_relay is not None:
                await inbox_relay.stop()
            await import_runner.stop()
            order_lookup = getattr(app.state, "order_lookup", None)
            if order_lookup is not None:
                await order_lookup.close()
            await runtime.stop()

    app = HuiliuAPI(
        title="Huiliu API",
        version=__version__,
        lifespan=lifespan,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        description="汇流 Huiliu — one ticket pool for every channel. Errors are RFC 9457 problem+json.",
    )
    install_problem_handlers(app)
    app.include_router(health_router)
    app.include_router(auth_router)
    app.include_router(tickets_router)
    app.include_router(admin_router)
    app.include_router(customers_router)
    app.include_router(orders_router)
    app.include_router(live_router)
    app.include_router(attachments_router)
    app.include_router(webhooks_router)
    app.include_router(intake_router)
    app.include_router(imports_router)
    app.include_router(entry_points_router)
    app.include_router(webform_router)
    # Outside /api/v1 (senders are configured with /hooks/<id>); before mount_web's catch-all.
    app.include_router(webhook_intake_router)
    app.include_router(wechat_router)
    app.include_router(wecom_router)
    app.include_router(tencent_setup_router)
    app.include_router(wecom_login_router)
    app.include_router(wecom_sidebar_router)
    app.include_router(miniprogram_router)
    app.include_router(sla_router)
    app.include_router(ticket_templates_router)
    app.include_router(rules_catalog_router)  # before rules_router: /rules/{rule_id} would take "catalog"
    app.include_router(rules_router)
    app.include_router(ratings_router)
    app.include_router(routing_router)
    app.include_router(notifications_router)
    app.include_router(intelligence_router)
    app.include_router(triage_router)
    app.include_router(kb_router)
    app.include_router(kb_tickets_router)
    app.include_router(kb_public_router)
    app.include_router(similar_tickets_router)
    app.include_router(workflows_router)
    app.include_router(workflow_tickets_router)
    app.include_router(workflow_approvals_router)
    app.include_router(analytics_router)
    app.include_router(analytics_exports_router)
    app.include_router(analytics_bi_router)
    app.include_router(analytics_alerts_router)
    app.include_router(analytics_reports_router)
    app.include_router(analytics_staffing_router)
    # Last: the web apps' catch-all route must not shadow any API route.
    mount_web(app, settings)
    route_filter.install(app)
    # The bulk write routes' common requests skip FastAPI's layers (decision 0055).
    app.state.direct_routes = settings.direct_routes
    app.state.direct_stats = DirectStats()
    app.direct = DirectRoutes(
        partial(FastAPI.__call__, app),
        routes={
            ("POST", tickets_direct.PATH): tickets_direct.create_ticket,
            ("POST", intake_direct.PATH): intake_direct.submit_message,
        },
        stats=app.state.direct_stats,
        application=app,
    )
    return app


class HuiliuAPI(FastAPI):
    """The FastAPI application with the direct routes (decision 0055) in front of its middleware stack:
    every HTTP request passes ``direct`` first, which hands all but the bulk writes' common requests
    to FastAPI unchanged."""

    direct: DirectRoutes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.direct is not None and scope["type"] == "http":
            await self.direct(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)
