"""Provision a tenant: auth's tenant and default roles plus the tickets' number source, one transaction."""

from __future__ import annotations

from huiliu.auth.models import Tenant
from huiliu.auth.service import create_tenant
from huiliu.db.session import Database
from huiliu.tickets.service import prepare_ticket_numbers


async def provision_tenant(db: Database, slug: str, name: str) -> Tenant:
    async with db.uow(None, system=True) as uow:
        tenant = await create_tenant(uow, slug, name)
        await prepare_ticket_numbers(uow, tenant.id)
        await uow.commit()
        return tenant
