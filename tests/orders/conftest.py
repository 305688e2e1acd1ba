"""Helpers for order tests: tenants, members, customers and tickets built through the services, and a
fake ERP order endpoint that checks the lookup protocol (docs/orders.md)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from huiliu.core.ids import new_id
from huiliu.customers import service as customers
from huiliu.customers.schemas import CustomerCreate
from huiliu.runtime import Runtime
from tests.factories import Member, make_member, make_tenant

ERP_URL = "http://erp.test/api/orders/lookup"
ERP_TOKEN = "erp-secret-token"


@pytest.fixture
async def tenant(runtime: Runtime) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Runtime, tenant: Any) -> Member:
    return await make_member(runtime, tenant, "admin", name="管理员")


async def make_customer(
    runtime: Runtime, member: Member, name: str = "张三", phone: str | None = None
) -> uuid.UUID:
    identities = [{"kind": "phone", "value": phone}] if phone else []
    async with runtime.db.uow(member.actor.tenant_id) as uow:
        customer = await customers.create_customer(
            uow, member.actor, CustomerCreate(name=name, identities=identities), customer_id=new_id()
        )
        return customer.id


@dataclass
class FakeErp:
    """An ERP order endpoint: GET ?number=… with a bearer token. Knows ``orders`` (by number); answers
    404 for others; ``fail_with`` makes it answer that status, ``delay`` makes it slow."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    token: str | None = ERP_TOKEN
    fail_with: int | None = None
    delay: float = 0.0
    requests: list[httpx.Request] = field(default_factory=list)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.method == "GET"
        assert str(request.url.copy_with(query=None)) == ERP_URL
        assert list(request.url.params.keys()) == ["number"]
        assert request.headers["accept"] == "application/json"
        if self.token is not None and request.headers.get("authorization") != f"Bearer {self.token}":
            return httpx.Response(401, json={"error": "bad token"})
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_with is not None:
            return httpx.Response(self.fail_with, text="upstream trouble")
        order = self.orders.get(request.url.params["number"])
        if order is None:
            return httpx.Response(404, json={"error": "no such order"})
        return httpx.Response(200, json=order)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def numbers_asked(self) -> list[str]:
        return [request.url.params["number"] for request in self.requests]
