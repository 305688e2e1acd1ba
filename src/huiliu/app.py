"""FastAPI application factory: routers, problem+json errors, the static web app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

from huiliu import __version__
from huiliu.attachments.api import router as attachments_router
from huiliu.auth.admin_api import router as admin_router
from huiliu.auth.api import router as auth_router
from huiliu.core.problem import install_problem_handlers
from huiliu.customers.api import router as customers_router
from huiliu.db import registry as _registry  # noqa: F401  (every table known to the ORM)
from huiliu.live.api import router as live_router
from huiliu.runtime import Runtime
from huiliu.settings import Settings, get_settings
from huiliu.tickets.api import router as tickets_router
from huiliu.webhooks.api import router as webhooks_router
from huiliu.webui import mount_web

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
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
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
    app.include_router(live_router)
    app.include_router(attachments_router)
    app.include_router(webhooks_router)
    # Last: the web apps' catch-all route must not shadow any API route.
    mount_web(app, settings)
    return app
