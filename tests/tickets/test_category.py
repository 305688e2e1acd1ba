"""A ticket's category and the tenant's taxonomy (decision 0054): what a ticket is created with is
kept as given (imports, channels, integrations bring their own words); what a person sets on a ticket
later is a taxonomy key, and resending the ticket's current category is never an error."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from huiliu.core.problem import PROBLEM_MEDIA_TYPE
from huiliu.tickets.models import TicketEvent
from tests.auth.conftest import bearer, create_key
from tests.factories import make_member, make_team

BASE = "/api/v1/tickets"
SETTINGS = "/api/v1/intelligence/settings"


async def patch(client: Any, member: Any, ticket: dict[str, Any], **changes: Any) -> Any:
    return await client.patch(f"{BASE}/{ticket['id']}", headers=member.headers, json=changes)


async def create(client: Any, member: Any, **fields: Any) -> dict[str, Any]:
    response = await client.post(BASE, headers=member.headers, json={"title": "发票抬头开错了", **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def updated_events(runtime: Any, tenant: Any, ticket_id: str) -> int:
    async with runtime.db.read(tenant.id) as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(TicketEvent)
                .where(TicketEvent.ticket_id == uuid.UUID(ticket_id), TicketEvent.type == "ticket.updated")
            )
            or 0
        )


async def test_a_taxonomy_key_is_set_and_cleared(client: Any, admin: Any) -> None:
    ticket = await create(client, admin)
    response = await patch(client, admin, ticket, category="billing")
    assert response.status_code == 200, response.text
    assert response.json()["category"] == "billing"
    cleared = await client.patch(f"{BASE}/{ticket['id']}", headers=admin.headers, json={"category": None})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["category"] is None


async def test_a_key_outside_the_taxonomy_is_refused_and_changes_nothing(
    client: Any, runtime: Any, tenant: Any, admin: Any
) -> None:
    ticket = await create(client, admin, category="billing")
    for wrong in ("发票", "Billing"):
        response = await client.patch(
            f"{BASE}/{ticket['id']}", headers=admin.headers, json={"category": wrong, "title": "改了标题"}
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert "taxonomy" in response.json()["detail"]
    detail = (await client.get(f"{BASE}/{ticket['id']}", headers=admin.headers)).json()
    assert (detail["category"], detail["title"]) == ("billing", "发票抬头开错了")
    assert await updated_events(runtime, tenant, ticket["id"]) == 0


async def test_a_created_free_text_category_is_kept_and_may_be_resent(client: Any, admin: Any) -> None:
    ticket = await create(client, admin, category="旧系统-发票问题")
    assert ticket["category"] == "旧系统-发票问题"
    resent = await client.patch(
        f"{BASE}/{ticket['id']}",
        headers=admin.headers,
        json={"category": "旧系统-发票问题", "priority": "high"},
    )
    assert resent.status_code == 200, resent.text
    assert (resent.json()["category"], resent.json()["priority"]) == ("旧系统-发票问题", "high")
    moved = await patch(client, admin, ticket, category="billing")
    assert moved.status_code == 200, moved.text
    # Once moved into the taxonomy, the imported word is just another key outside it.
    back = await client.patch(
        f"{BASE}/{ticket['id']}", headers=admin.headers, json={"category": "旧系统-发票问题"}
    )
    assert back.status_code == 422, back.text


async def test_a_category_the_admin_adds_can_be_chosen(client: Any, admin: Any) -> None:
    ticket = await create(client, admin)
    refused = await patch(client, admin, ticket, category="parking")
    assert refused.status_code == 422, refused.text
    current = (await client.get(SETTINGS, headers=admin.headers)).json()
    current["categories"].append({"key": "parking", "names": {"zh-CN": "停车", "en": "Parking"}})
    assert (await client.put(SETTINGS, headers=admin.headers, json=current)).status_code == 200
    listed = (await client.get("/api/v1/intelligence/categories", headers=admin.headers)).json()["items"]
    assert listed[-1] == {"key": "parking", "names": {"zh-CN": "停车", "en": "Parking"}}
    chosen = await patch(client, admin, ticket, category="parking")
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["category"] == "parking"


async def test_a_removed_category_stays_on_its_tickets(client: Any, admin: Any) -> None:
    ticket = await create(client, admin, category="booking")
    current = (await client.get(SETTINGS, headers=admin.headers)).json()
    current["categories"] = [item for item in current["categories"] if item["key"] != "booking"]
    assert (await client.put(SETTINGS, headers=admin.headers, json=current)).status_code == 200
    detail = (await client.get(f"{BASE}/{ticket['id']}", headers=admin.headers)).json()
    assert detail["category"] == "booking"
    kept = await client.patch(
        f"{BASE}/{ticket['id']}", headers=admin.headers, json={"category": "booking", "title": "预约改期"}
    )
    assert kept.status_code == 200, kept.text
    other = await create(client, admin)
    refused = await client.patch(f"{BASE}/{other['id']}", headers=admin.headers, json={"category": "booking"})
    assert refused.status_code == 422, refused.text


async def test_permission_and_visibility_come_before_the_taxonomy(
    client: Any, runtime: Any, tenant: Any, admin: Any
) -> None:
    north, south = await make_team(runtime, tenant, "北区"), await make_team(runtime, tenant, "南区")
    ticket = await create(client, admin, team_id=str(north.id))
    reader = bearer(await create_key(client, admin, "tickets:read"))
    forbidden = await client.patch(f"{BASE}/{ticket['id']}", headers=reader, json={"category": "nope"})
    assert forbidden.status_code == 403, forbidden.text
    south_agent = await make_member(runtime, tenant, "agent", team=south, name="南区坐席")
    hidden = await patch(client, south_agent, ticket, category="nope")
    assert hidden.status_code == 404, hidden.text
