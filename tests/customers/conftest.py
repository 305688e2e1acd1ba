from __future__ import annotations

from typing import Any

import pytest

from tests.factories import Member, make_member, make_tenant


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Any, tenant: Any) -> Member:
    return await make_member(runtime, tenant, "admin", name="管理员")


async def create_key(client: Any, admin: Member, *scopes: str) -> str:
    response = await client.post(
        "/api/v1/api-keys", headers=admin.headers, json={"name": "ERP", "scopes": list(scopes)}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["key"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
