from __future__ import annotations

from typing import Any

import pytest

from tests.factories import Member, make_member, make_tenant


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def agent(runtime: Any, tenant: Any) -> Member:
    return await make_member(runtime, tenant, "agent", name="客服小李")
