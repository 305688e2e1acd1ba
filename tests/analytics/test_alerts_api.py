"""The alert rules API: CRUD, preview, firings; 4xx (problem+json, nothing stored) on bad input; the
admin.analytics permission; tenants never see each other's rules."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from huiliu.runtime import Runtime
from tests.factories import make_member, make_team, make_tenant

RULES = "/api/v1/analytics/alerts/rules"
FIRINGS = "/api/v1/analytics/alerts/firings"


def rule(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "SLA 连续三天低于 90%",
        "metric": "sla_compliance",
        "condition": {"kind": "consecutive_days_below", "standard": 0.9},
        "recipients": {"roles": ["admin", "lead"]},
        "channels": ["in_app", "wecom"],
    }
    body.update(changes)
    return body


async def test_rule_crud(runtime: Runtime, client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(runtime)
    team = await make_team(runtime, tenant)
    admin = await make_member(runtime, tenant, "admin")
    created = await client.post(
        RULES, json=rule(filters={"team_ids": [str(team.id)], "channels": ["wechat"]}), headers=admin.headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["condition"] == {
        "kind": "consecutive_days_below",
        "standard": 0.9,
        "days": 3,
        "direction": "below",
    }
    assert body["filters"] == {"team_ids": [str(team.id)], "channels": ["wechat"]}
    assert (body["severity"], body["cooldown_hours"], body["enabled"], body["incident_open"]) == (
        "warning",
        6,
        True,
        False,
    )
    rule_id = body["id"]

    listed = (await client.get(RULES, headers=admin.headers)).json()["items"]
    assert [item["id"] for item in listed] == [rule_id]
    replaced = await client.put(
        f"{RULES}/{rule_id}",
        json=rule(name="来单激增", metric="volume", condition={"kind": "spike", "z": 4}, enabled=False),
        headers=admin.headers,
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["condition"]["z"] == 4.0 and replaced.json()["enabled"] is False
    assert (await client.get(f"{RULES}/{rule_id}", headers=admin.headers)).json()["name"] == "来单激增"

    duplicate = await client.post(RULES, json=rule(name="来单激增"), headers=admin.headers)
    assert duplicate.status_code == 409

    assert (await client.get(FIRINGS, headers=admin.headers)).json() == {"items": []}
    assert (await client.delete(f"{RULES}/{rule_id}", headers=admin.headers)).status_code == 204
    assert (await client.get(f"{RULES}/{rule_id}", headers=admin.headers)).status_code == 404


async def test_preview_reports_the_bucket_without_storing(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    admin = await make_member(runtime, await make_tenant(runtime), "admin")
    threshold = {"kind": "threshold", "op": "lt", "value": 1, "window_hours": 24}
    response = await client.post(
        f"{RULES}:preview", json=rule(metric="volume", condition=threshold), headers=admin.headers
    )
    assert response.status_code == 200, response.text
    found = response.json()
    # No tickets in the last 24 hours: volume 0 < 1.
    assert found["breached"] is True and found["value"] == 0
    assert found["message"].startswith("工单量最近 24 小时为 0")
    assert (await client.get(RULES, headers=admin.headers)).json()["items"] == []


BAD_RULES = [
    rule(metric="happiness"),
    rule(condition={"kind": "magic"}),
    rule(condition={"kind": "threshold", "op": "gt"}),
    rule(condition={"kind": "spike", "weeks": 40}),
    rule(recipients={}),
    rule(recipients={"roles": ["nobody"]}),
    rule(recipients={"users": ["not-a-uuid"]}),
    rule(recipients={"users": ["0190f1e2-0000-7000-8000-000000000001"]}),
    rule(recipients={"groups": ["x"]}),
    rule(channels=["pigeon"]),
    rule(severity="apocalyptic"),
    rule(cooldown_hours=-1),
    rule(cooldown_hours=100_000),
    rule(filters={"team_ids": ["x"]}),
    rule(filters={"colour": ["red"]}),
    rule(filters={"channels": "wechat"}),
    rule(name=""),
    rule(name="x" * 201),
    rule(owner="me"),
    {"name": "no metric", "condition": {"kind": "spike"}, "recipients": {"roles": ["admin"]}},
]


@pytest.mark.parametrize("body", BAD_RULES)
async def test_bad_rules_are_refused_and_nothing_is_stored(
    runtime: Runtime, client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    admin = await make_member(runtime, await make_tenant(runtime), "admin")
    response = await client.post(RULES, json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(RULES, headers=admin.headers)).json()["items"] == []


async def test_bad_replacements_change_nothing(runtime: Runtime, client: httpx.AsyncClient) -> None:
    admin = await make_member(runtime, await make_tenant(runtime), "admin")
    rule_id = (await client.post(RULES, json=rule(), headers=admin.headers)).json()["id"]
    response = await client.put(f"{RULES}/{rule_id}", json=rule(metric="happiness"), headers=admin.headers)
    assert response.status_code == 422
    assert (await client.get(f"{RULES}/{rule_id}", headers=admin.headers)).json()[
        "metric"
    ] == "sla_compliance"
    assert (await client.get(f"{RULES}/not-a-uuid", headers=admin.headers)).status_code == 422


async def test_agents_and_leads_cannot_manage_rules(runtime: Runtime, client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    rule_id = (await client.post(RULES, json=rule(), headers=admin.headers)).json()["id"]
    for role in ("agent", "lead"):
        member = await make_member(runtime, tenant, role)
        assert (await client.get(RULES, headers=member.headers)).status_code == 403
        assert (await client.post(RULES, json=rule(name=role), headers=member.headers)).status_code == 403
        assert (await client.post(f"{RULES}:preview", json=rule(), headers=member.headers)).status_code == 403
        assert (
            await client.put(f"{RULES}/{rule_id}", json=rule(), headers=member.headers)
        ).status_code == 403
        assert (await client.delete(f"{RULES}/{rule_id}", headers=member.headers)).status_code == 403
    agent = await make_member(runtime, tenant, "agent")
    assert (await client.get(FIRINGS, headers=agent.headers)).status_code == 403
    assert (await client.get(RULES)).status_code == 401


async def test_tenants_never_see_each_others_rules(runtime: Runtime, client: httpx.AsyncClient) -> None:
    owner = await make_member(runtime, await make_tenant(runtime), "admin")
    stranger = await make_member(runtime, await make_tenant(runtime), "admin")
    rule_id = (await client.post(RULES, json=rule(), headers=owner.headers)).json()["id"]
    assert (await client.get(RULES, headers=stranger.headers)).json()["items"] == []
    assert (await client.get(f"{RULES}/{rule_id}", headers=stranger.headers)).status_code == 404
    assert (await client.put(f"{RULES}/{rule_id}", json=rule(), headers=stranger.headers)).status_code == 404
    assert (await client.delete(f"{RULES}/{rule_id}", headers=stranger.headers)).status_code == 404
    assert (await client.get(FIRINGS, params={"rule_id": rule_id}, headers=stranger.headers)).json()[
        "items"
    ] == []
    # The same name is free in another tenant.
    assert (await client.post(RULES, json=rule(), headers=stranger.headers)).status_code == 201
