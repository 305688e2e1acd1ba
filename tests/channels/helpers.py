"""Shared helpers of the channel tests: public clients with their own address, entry points made
through the API, and counts that prove a refused request wrote nothing."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from huiliu.attachments.models import Attachment
from huiliu.core.outbox import OutboxRow
from huiliu.customers.models import Customer
from huiliu.tickets.models import Message, Ticket
from tests.factories import Member


def random_ip() -> str:
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


@asynccontextmanager
async def public_client(app: Any, ip: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous client with its own peer address (the rate limits count per address)."""
    transport = httpx.ASGITransport(app=app, client=(ip or random_ip(), 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def create_entry_point(
    client: httpx.AsyncClient, member: Member, kind: str, name: str = "门店二维码", **config: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/entry-points", headers=member.headers, json={"kind": kind, "name": name, "config": config}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def counts(runtime: Any, tenant_id: uuid.UUID) -> dict[str, int]:
    """Rows a request could have written in this tenant."""
    async with runtime.db.read(tenant_id) as session:
        found = {}
        for model in (Ticket, Message, Customer, Attachment, OutboxRow):
            found[model.__tablename__] = (
                await session.execute(select(func.count()).select_from(model))
            ).scalar_one()
        return found


def stored_files(runtime: Any, tenant_id: uuid.UUID) -> list[Path]:
    root = runtime.settings.files_dir / str(tenant_id)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def customer_notices_off(client: httpx.AsyncClient, admin: Member) -> None:
    """Switch the tenant's automatic customer notices (受理 / 处理中 / 已解决) off, so a test sees only
    the replies it makes go out on the channel."""
    moments = {"accepted": False, "in_progress": False, "resolved": False}
    response = await client.put(
        "/api/v1/notifications/policy", headers=admin.headers, json={"customer_notices": moments}
    )
    assert response.status_code == 200, response.text
