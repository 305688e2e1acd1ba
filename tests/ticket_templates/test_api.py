"""The ticket templates API and the ticket write path with templates: draft → publish → versions,
tickets pinning their version, defaults, per-field 422 problems that change nothing, role rules,
tenant isolation, presets, and the H5 form built from an entry point's template."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from huiliu.core.outbox import OutboxRow
from huiliu.ticket_templates.presets import PRESETS
from huiliu.tickets.models import Ticket, TicketEvent
from tests.channels.helpers import create_entry_point, public_client
from tests.factories import make_member, make_team, make_tenant

BASE = "/api/v1/templates"

CAKE_FIELDS: list[dict[str, Any]] = [
    {
        "key": "cake_size",
        "type": "select",
        "label": {"zh-CN": "蛋糕尺寸", "en": "Cake size"},
        "required": True,
        "options": [{"value": "6inch", "label": "6 寸"}, {"value": "8inch", "label": "8 寸"}],
    },
    {
        "key": "delivery_slot",
        "type": "select",
        "label": {"zh-CN": "配送时段", "en": "Delivery slot"},
        "required": True,
        "options": [{"value": "morning", "label": "上午"}, {"value": "pickup", "label": "自提"}],
    },
    {
        "key": "address",
        "type": "text",
        "label": {"zh-CN": "配送地址", "en": "Address"},
        "visible_when": {"all": [{"field": "delivery_slot", "op": "ne", "value": "pickup"}]},
        "required_when": {"all": [{"field": "delivery_slot", "op": "ne", "value": "pickup"}]},
    },
    {"key": "deposit", "type": "money", "label": "定金", "validation": {"min": 0}},
    {
        "key": "qa_note",
        "type": "textarea",
        "label": "质检意见",
        "roles": {"agent": "read_only"},
        "channels": ["console"],
    },
    {"key": "special_notes", "type": "textarea", "label": {"zh-CN": "特殊备注", "en": "Special notes"}},
]


def template_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": "cake_order",
        "name": "定制蛋糕",
        "scenario": "sales",
        "fields": CAKE_FIELDS,
        "defaults": {"priority": "high", "tags": ["定制蛋糕"], "category": "蛋糕"},
    }
    body.update(changes)
    return body


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    return problem


async def published_template(client: httpx.AsyncClient, admin: Any, **changes: Any) -> dict[str, Any]:
    created = await client.post(BASE, json=template_body(**changes), headers=admin.headers)
    assert created.status_code == 201, created.text
    published = await client.post(f"{BASE}/{created.json()['id']}:publish", headers=admin.headers)
    assert published.status_code == 201, published.text
    return created.json()


async def ticket_count(runtime: Any, tenant_id: Any) -> int:
    async with runtime.db.read(tenant_id) as session:
        return int((await session.execute(select(func.count()).select_from(Ticket))).scalar_one())


async def test_draft_publish_edit_makes_new_version_and_old_stays(client, runtime):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    created = await client.post(BASE, json=template_body(), headers=admin.headers)
    assert created.status_code == 201, created.text
    template = created.json()
    assert template["status"] == "draft" and template["current_version"] is None
    first = await client.post(f"{BASE}/{template['id']}:publish", headers=admin.headers)
    assert first.status_code == 201 and first.json()["version"] == 1
    again = await client.post(f"{BASE}/{template['id']}:publish", headers=admin.headers)
    assert_problem(again, 409)

    edited = await client.patch(
        f"{BASE}/{template['id']}",
        json={"fields": [*CAKE_FIELDS, {"key": "candles", "type": "number", "label": "蜡烛数"}]},
        headers=admin.headers,
    )
    assert edited.status_code == 200 and edited.json()["has_draft_changes"] is True
    assert edited.json()["current_version"] == 1
    second = await client.post(f"{BASE}/{template['id']}:publish", headers=admin.headers)
    assert second.json()["version"] == 2
    versions = (await client.get(f"{BASE}/{template['id']}/versions", headers=admin.headers)).json()["items"]
    assert [v["version"] for v in versions] == [2, 1]
    v1 = (await client.get(f"{BASE}/{template['id']}/versions/1", headers=admin.headers)).json()
    assert [f["key"] for f in v1["fields"]] == [f["key"] for f in CAKE_FIELDS]

    listed = (await client.get(BASE, headers=admin.headers)).json()["items"]
    assert [(t["key"], t["status"], t["current_version"]) for t in listed] == [("cake_order", "published", 2)]


async def test_bad_schema_is_422_with_paths_and_nothing_saved(client, runtime):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    fields = [
        {"key": "a", "type": "select", "label": "A", "options": [{"value": "x"}], "default": "y"},
        {"key": "a", "type": "text", "label": "A2"},
        {
            "key": "b",
            "type": "text",
            "label": "B",
            "visible_when": {"all": [{"field": "c", "op": "eq", "value": 1}]},
        },
        {"key": "c", "type": "text", "label": "C", "validation": {"pattern": "(unclosed"}},
        {"key": "d", "type": "hologram", "label": "D"},
    ]
    problem = assert_problem(
        await client.post(BASE, json=template_body(fields=fields), headers=admin.headers), 422
    )
    paths = {error["field"] for error in problem["errors"]}
    assert {
        "fields[0].default",
        "fields[1].key",
        "fields[2].visible_when",
        "fields[3].validation.pattern",
    } <= paths
    assert "fields[4].type" in paths
    assert (await client.get(BASE, headers=admin.headers)).json()["items"] == []
    duplicate = await client.post(BASE, json=template_body(), headers=admin.headers)
    assert duplicate.status_code == 201
    assert_problem(await client.post(BASE, json=template_body(), headers=admin.headers), 409)
    assert_problem(await client.post(BASE, json=template_body(key="Bad Key"), headers=admin.headers), 422)


async def test_agents_read_but_cannot_write_templates(client, runtime):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    agent = await make_member(runtime, tenant, "agent")
    template = await published_template(client, admin)
    assert (await client.get(f"{BASE}/{template['id']}", headers=agent.headers)).status_code == 200
    assert_problem(await client.post(BASE, json=template_body(key="other"), headers=agent.headers), 403)
    assert_problem(await client.post(f"{BASE}/{template['id']}:archive", headers=agent.headers), 403)
    assert_problem(await client.get(f"{BASE}/presets", headers=agent.headers), 403)


async def test_tenants_never_see_each_others_templates(client, runtime):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    other_admin = await make_member(runtime, await make_tenant(runtime, "别家"))
    template = await published_template(client, admin)
    assert_problem(await client.get(f"{BASE}/{template['id']}", headers=other_admin.headers), 404)
    assert_problem(
        await client.patch(f"{BASE}/{template['id']}", json={"name": "x"}, headers=other_admin.headers), 404
    )
    assert (await client.get(BASE, headers=other_admin.headers)).json()["items"] == []
    ticket = await client.post(
        "/api/v1/tickets",
        json={"title": "蛋糕", "template_id": template["id"], "fields": {}},
        headers=other_admin.headers,
    )
    assert_problem(ticket, 422)


async def test_ticket_from_template_pins_version_applies_defaults_and_tells_workflows(client, runtime):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    team = await make_team(runtime, tenant, "裱花组")
    workflow_id = "3f0a3c43-5d4e-4c1b-9a55-0b7f5d0c9a11"
    template = await published_template(
        client,
        admin,
        workflow_id=workflow_id,
        defaults={"priority": "high", "tags": ["定制蛋糕"], "category": "蛋糕", "team_id": str(team.id)},
    )
    response = await client.post(
        "/api/v1/tickets",
        json={
            "title": "生日蛋糕",
            "template_id": template["id"],
            "fields": {
                "cake_size": "8inch",
                "delivery_slot": "morning",
                "address": "南京西路 1 号",
                "deposit": 50,
            },
        },
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["fields"] == {
        "cake_size": "8inch",
        "delivery_slot": "morning",
        "address": "南京西路 1 号",
        "deposit": "50.00",
    }
    assert (ticket["priority"], ticket["category"], ticket["tags"], ticket["scenario"]) == (
        "high",
        "蛋糕",
        ["定制蛋糕"],
        "sales",
    )
    assert ticket["team_id"] == str(team.id)
    version_1 = ticket["template_version_id"]
    assert version_1 is not None
    async with runtime.db.read(tenant.id) as session:
        event = (
            await session.execute(select(OutboxRow).where(OutboxRow.event_type == "ticket.created"))
        ).scalar_one()
    data = event.payload["data"]
    assert (data["template_id"], data["template_version"], data["workflow_id"]) == (
        template["id"],
        1,
        workflow_id,
    )

    # The template moves on; the ticket keeps version 1 and is checked against it.
    await client.patch(
        f"{BASE}/{template['id']}",
        json={"fields": [{"key": "only_new", "type": "text", "label": "新字段", "required": True}]},
        headers=admin.headers,
    )
    await client.post(f"{BASE}/{template['id']}:publish", headers=admin.headers)
    edited = await client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"fields": {**ticket["fields"], "delivery_slot": "pickup", "special_notes": "少糖"}},
        headers=admin.headers,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["template_version_id"] == version_1
    # Picking up in store hides the address: its value is dropped.
    assert edited.json()["fields"] == {
        "cake_size": "8inch",
        "delivery_slot": "pickup",
        "deposit": "50.00",
        "special_notes": "少糖",
    }
    bad = await client.patch(
        f"/api/v1/tickets/{ticket['id']}", json={"fields": {"cake_size": "20inch"}}, headers=admin.headers
    )
    problem = assert_problem(bad, 422)
    assert {e["field"] for e in problem["errors"]} >= {"cake_size"}
    new_ticket = await client.post(
        "/api/v1/tickets",
        json={"title": "新版", "template_id": template["id"], "fields": {"only_new": "x"}},
        headers=admin.headers,
    )
    assert new_ticket.status_code == 201 and new_ticket.json()["template_version_id"] != version_1


async def test_invalid_template_values_are_per_field_422_and_write_nothing(client, runtime):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    template = await published_template(client, admin)
    before = await ticket_count(runtime, tenant.id)
    response = await client.post(
        "/api/v1/tickets",
        json={
            "title": "蛋糕",
            "template_id": template["id"],
            "fields": {"cake_size": "20inch", "delivery_slot": "morning", "deposit": "1.005", "ghost": 1},
        },
        headers=admin.headers,
    )
    problem = assert_problem(response, 422)
    by_field = {error["field"]: error for error in problem["errors"]}
    assert set(by_field) == {"cake_size", "address", "deposit", "ghost"}
    assert by_field["address"]["code"] == "required"
    assert by_field["cake_size"]["messages"]["zh-CN"].startswith("蛋糕尺寸")
    assert await ticket_count(runtime, tenant.id) == before


async def test_read_only_field_cannot_be_changed_by_that_role(client, runtime):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    agent = await make_member(runtime, tenant, "agent")
    template = await published_template(client, admin)
    ticket = (
        await client.post(
            "/api/v1/tickets",
            json={
                "title": "t",
                "template_id": template["id"],
                "assignee_id": str(agent.user.id),
                "fields": {"cake_size": "6inch", "delivery_slot": "pickup"},
            },
            headers=admin.headers,
        )
    ).json()
    by_agent = await client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"fields": {**ticket["fields"], "qa_note": "通过"}},
        headers=agent.headers,
    )
    problem = assert_problem(by_agent, 422)
    assert problem["errors"][0]["code"] == "read_only"
    by_admin = await client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"fields": {**ticket["fields"], "qa_note": "通过"}},
        headers=admin.headers,
    )
    assert by_admin.status_code == 200 and by_admin.json()["fields"]["qa_note"] == "通过"


async def test_draft_and_archived_templates_make_no_tickets(client, runtime):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    draft = (await client.post(BASE, json=template_body(), headers=admin.headers)).json()
    body = {
        "title": "t",
        "template_id": draft["id"],
        "fields": {"cake_size": "6inch", "delivery_slot": "pickup"},
    }
    assert_problem(await client.post("/api/v1/tickets", json=body, headers=admin.headers), 422)
    await client.post(f"{BASE}/{draft['id']}:publish", headers=admin.headers)
    assert (await client.post("/api/v1/tickets", json=body, headers=admin.headers)).status_code == 201
    archived = await client.post(f"{BASE}/{draft['id']}:archive", headers=admin.headers)
    assert archived.json()["status"] == "archived"
    assert_problem(await client.post("/api/v1/tickets", json=body, headers=admin.headers), 422)
    assert_problem(
        await client.patch(f"{BASE}/{draft['id']}", json={"name": "x"}, headers=admin.headers), 409
    )


async def test_validate_endpoint_previews_values_for_channel_and_role(client, runtime):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    template = (await client.post(BASE, json=template_body(), headers=admin.headers)).json()
    checked = await client.post(
        f"{BASE}/{template['id']}:validate",
        json={"values": {"cake_size": "6inch", "delivery_slot": "pickup"}, "channel": "h5_form"},
        headers=admin.headers,
    )
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert body["ok"] is True
    assert body["visible"] == ["cake_size", "delivery_slot", "deposit", "special_notes"]
    unsaved = await client.post(
        f"{BASE}/{template['id']}:validate",
        json={"values": {}, "fields": [{"key": "x", "type": "email", "label": "邮箱", "required": True}]},
        headers=admin.headers,
    )
    assert unsaved.json()["ok"] is False and unsaved.json()["errors"][0]["field"] == "x"


async def test_every_preset_installs_once_and_makes_tickets(client, runtime):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    presets = (await client.get(f"{BASE}/presets", headers=admin.headers)).json()["items"]
    assert len(presets) >= 8 and all(p["installed_template_id"] is None for p in presets)
    for key in PRESETS:
        installed = await client.post(f"{BASE}/presets/{key}:install", headers=admin.headers)
        assert installed.status_code == 201, installed.text
        assert installed.json()["status"] == "published" and installed.json()["current_version"] == 1
    assert_problem(await client.post(f"{BASE}/presets/custom_cake_order:install", headers=admin.headers), 409)
    assert_problem(await client.post(f"{BASE}/presets/nope:install", headers=admin.headers), 404)
    cake = next(
        p
        for p in (await client.get(f"{BASE}/presets", headers=admin.headers)).json()["items"]
        if p["key"] == "custom_cake_order"
    )
    response = await client.post(
        "/api/v1/tickets",
        json={
            "title": "生日蛋糕",
            "template_id": str(cake["installed_template_id"]),
            "fields": {
                "delivery_date": "2026-12-24",
                "delivery_slot": "pickup",
                "contact_phone": "138 0013 8000",
                "flavors": ["mango"],
                "special_notes": "写上“生日快乐”",
            },
        },
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["fields"]["cake_size"] == "8inch"  # the preset's default
    assert response.json()["fields"]["contact_phone"] == "13800138000"


async def test_h5_form_renders_template_and_validates_submission(client, runtime, app):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    template = await published_template(client, admin)
    form = await create_entry_point(client, admin, "h5_form", default_template_id=template["id"])
    async with public_client(app) as public:
        definition = (await public.get(f"/api/v1/public/forms/{form['public_key']}")).json()
        keys = [field["key"] for field in definition["template"]["fields"]]
        # qa_note is asked in the console only.
        assert keys == ["cake_size", "delivery_slot", "address", "deposit", "special_notes"]
        assert "roles" not in definition["template"]["fields"][0]
        before = await ticket_count(runtime, tenant.id)
        refused = await public.post(
            f"/api/v1/public/forms/{form['public_key']}/submissions",
            json={"description": "想订个蛋糕", "fields": {"cake_size": "6inch", "delivery_slot": "morning"}},
        )
        problem = assert_problem(refused, 422)
        assert [e["field"] for e in problem["errors"]] == ["address"]
        assert await ticket_count(runtime, tenant.id) == before
        accepted = await public.post(
            f"/api/v1/public/forms/{form['public_key']}/submissions",
            json={
                "description": "想订个蛋糕",
                "fields": {
                    "cake_size": "6inch",
                    "delivery_slot": "morning",
                    "address": "人民路 8 号",
                    "deposit": "20",
                },
            },
        )
        assert accepted.status_code == 201, accepted.text
    async with runtime.db.read(tenant.id) as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
        created = (
            await session.execute(select(OutboxRow).where(OutboxRow.event_type == "ticket.created"))
        ).scalar_one()
        audit = (
            await session.execute(select(TicketEvent).where(TicketEvent.type == "ticket.created"))
        ).scalar_one()
    assert ticket.fields["deposit"] == "20.00" and ticket.fields["address"] == "人民路 8 号"
    assert ticket.template_version_id is not None
    assert created.payload["data"]["template_id"] == template["id"]
    assert audit.ticket_id == ticket.id

    # Archived: the form falls back to its plain fields; customers are not refused.
    await client.post(f"{BASE}/{template['id']}:archive", headers=admin.headers)
    async with public_client(app) as public:
        definition = (await public.get(f"/api/v1/public/forms/{form['public_key']}")).json()
        assert definition["template"] is None
        plain = await public.post(
            f"/api/v1/public/forms/{form['public_key']}/submissions",
            json={"description": "另一个问题", "contact": {"phone": "13900139000"}},
        )
        assert plain.status_code == 201, plain.text
