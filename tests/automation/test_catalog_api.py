"""The rule catalog the console's rule builder reads: it lists exactly what the engine accepts, and a
definition built only from catalog entries passes the server's validation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from huiliu.automation.catalog_api import FIELD_GROUPS, ROUTING_POLICIES_PATH, build_catalog
from huiliu.automation.domain.action_schema import ACTION_TYPES
from huiliu.automation.domain.facts import FIELDS
from tests.factories import Member, make_member, make_tenant

CATALOG = "/api/v1/rules/catalog"


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Any, tenant: Any) -> Member:
    return await make_member(runtime, tenant, "admin", name="管理员")


async def read_catalog(client: httpx.AsyncClient, member: Member) -> dict[str, Any]:
    response = await client.get(CATALOG, headers=member.headers)
    assert response.status_code == 200, response.text
    catalog: dict[str, Any] = response.json()
    return catalog


def test_every_engine_field_has_exactly_one_builder_group() -> None:
    grouped = [path for paths in FIELD_GROUPS.values() for path in paths]
    assert sorted(grouped) == sorted(FIELDS)
    assert len(grouped) == len(set(grouped))


async def test_catalog_lists_fields_operators_events_and_actions(
    app: Any, client: httpx.AsyncClient, admin: Member
) -> None:
    catalog = await read_catalog(client, admin)
    fields = {item["path"]: item for item in catalog["fields"]}
    assert list(fields) == list(FIELDS)
    assert fields["priority"] == {
        "path": "priority",
        "type": "enum",
        "group": "ticket",
        "choices": ["low", "normal", "high", "urgent"],
        "ordered": True,
        "changeable": True,
        "settable": True,
        "reference": None,
        "label_key": "rules.fields.priority",
    }
    assert fields["title"]["group"] == "text"
    assert fields["hours_since_created"]["changeable"] is False
    assert fields["team"]["reference"] == "teams"
    assert catalog["operators_by_type"]["tags"] == [
        "contains",
        "not_contains",
        "is_set",
        "is_not_set",
        "changed",
    ]
    assert "regex" in catalog["operators_by_type"]["text"]
    assert "gt" not in catalog["operators_by_type"]["enum"]
    assert catalog["ordered_operators"] == ["gt", "gte", "lt", "lte"]
    assert catalog["events"] == ["ticket.created", "ticket.updated", "message.received", "rating.given"]
    assert catalog["kinds"] == ["trigger", "automation"]
    assert [anchor["field"] for anchor in catalog["time_anchors"]][:2] == [
        "hours_since_created",
        "hours_since_last_customer_message",
    ]
    actions = {item["type"]: item for item in catalog["actions"]}
    assert list(actions) == list(ACTION_TYPES)
    notify = {param["name"]: param for param in actions["notify"]["params"]}
    assert notify["severity"]["choices"] == ["info", "warning", "critical"]
    assert "sms" in notify["channels"]["choices"]
    assert notify["roles"]["reference"] == "roles"
    assert [param["name"] for param in actions["set_field"]["params"]] == ["field", "value"]
    assert actions["set_field"]["params"][0]["choices"] == ["priority", "category", "scenario"]
    assert "ticket.title" in catalog["template_variables"]
    assert catalog["references"]["teams"] == "/api/v1/teams"
    # The routing policy picker is offered exactly when this server has the routing policies API.
    has_routing = any(getattr(route, "path", "") == ROUTING_POLICIES_PATH for route in app.routes)
    assert catalog["references"]["routing_policies"] == (ROUTING_POLICIES_PATH if has_routing else None)


def test_routing_policies_reference_is_given_only_when_the_server_has_the_api() -> None:
    assert build_catalog(ROUTING_POLICIES_PATH)["references"]["routing_policies"] == ROUTING_POLICIES_PATH
    assert build_catalog(None)["references"]["routing_policies"] is None


async def test_a_rule_built_from_catalog_entries_is_accepted(
    client: httpx.AsyncClient, admin: Member
) -> None:
    catalog = await read_catalog(client, admin)
    fields = {item["path"]: item for item in catalog["fields"]}
    priority = fields["priority"]
    body = {
        "name": "退款高优先",
        "kind": catalog["kinds"][0],
        "on": catalog["events"][:1],
        "conditions": {
            "all": [
                {"field": "title", "op": "contains", "value": ["退款"]},
                {"any": [{"field": "priority", "op": "in", "value": priority["choices"][:2]}]},
            ]
        },
        "actions": [
            {"type": "add_tag", "tag": "售后"},
            {"type": "set_field", "field": "priority", "value": priority["choices"][-1]},
        ],
    }
    response = await client.post("/api/v1/rules", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text


async def test_catalog_needs_the_rules_permission(
    client: httpx.AsyncClient, runtime: Any, tenant: Any
) -> None:
    agent = await make_member(runtime, tenant, "agent", name="坐席")
    response = await client.get(CATALOG, headers=agent.headers)
    assert response.status_code == 403, response.text
    anonymous = await client.get(CATALOG)
    assert anonymous.status_code == 401, anonymous.text
