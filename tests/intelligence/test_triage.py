"""Classification on tickets: fields filled on create (priority only raised), low confidence sent to
the 待分类 triage view (within the caller's scope), one-call confirm / correct recorded as learning-mode
corrections, corrections from the ticket page, the tenant settings and their 4xx cases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from huiliu.intelligence.models import ClassificationCorrection, TicketClassification
from tests.factories import make_member, make_tenant
from tests.tickets.test_api import assert_problem

URGENT = "你们的热水器漏电了，我家孩子被电了一下！马上派人来处理，不然我就打12315投诉"
SETTINGS = "/api/v1/intelligence/settings"


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("classifier") / "classifier.joblib"


@pytest.fixture(autouse=True)
def configured(
    runtime: Any, model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setattr(runtime.settings, "classifier_model_path", model_path)
    monkeypatch.setattr(runtime.settings, "files_dir", tmp_path / "files")
    yield


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Any, tenant: Any) -> Any:
    return await make_member(runtime, tenant, "admin")


def settings_body(enabled: bool = True, threshold: float = 0.0, urgent: float = 0.5) -> dict[str, Any]:
    thresholds = {"scenario": threshold, "category": threshold, "priority": threshold}
    return {"enabled": enabled, "thresholds": thresholds, "urgent_confidence": urgent}


async def enable(client: Any, admin: Any, **kwargs: Any) -> None:
    response = await client.put(SETTINGS, headers=admin.headers, json=settings_body(**kwargs))
    assert response.status_code == 200, response.text


async def create(client: Any, member: Any, **fields: Any) -> dict[str, Any]:
    payload = {"title": "热水器漏电", "description": URGENT, "priority": "normal"}
    payload.update(fields)
    response = await client.post("/api/v1/tickets", headers=member.headers, json=payload)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def corrections(runtime: Any, tenant: Any) -> list[ClassificationCorrection]:
    async with runtime.db.read(tenant.id) as session:
        rows = await session.scalars(
            select(ClassificationCorrection).order_by(ClassificationCorrection.created_at)
        )
        return list(rows)


async def test_create_fills_fields_and_raises_priority(client: Any, admin: Any) -> None:
    await enable(client, admin)
    ticket = await create(client, admin)
    detail = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=admin.headers)).json()
    assert detail["priority"] == "urgent"
    assert detail["scenario"] == "complaint"
    assert detail["category"]
    response = await client.get(f"/api/v1/tickets/{ticket['id']}/classification", headers=admin.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["labels"]["priority"] == "urgent" and body["needs_triage"] is False
    assert body["model_version"] and set(body["guesses"]) >= {"scenario", "category", "priority"}
    assert body["guesses"]["scenario"][0][0] == body["labels"]["scenario"]


async def test_request_values_win_and_priority_is_never_lowered(client: Any, admin: Any) -> None:
    await enable(client, admin)
    ticket = await create(
        client,
        admin,
        title="咨询",
        description="这款空调有现货吗？想买两台",
        priority="high",
        scenario="aftersales",
        category="自定义分类",
    )
    detail = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=admin.headers)).json()
    assert (detail["priority"], detail["scenario"], detail["category"]) == (
        "high",
        "aftersales",
        "自定义分类",
    )


async def test_tenant_without_classification_is_untouched(client: Any, admin: Any) -> None:
    ticket = await create(client, admin)
    detail = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=admin.headers)).json()
    assert detail["priority"] == "normal" and detail["scenario"] is None
    response = await client.get(f"/api/v1/tickets/{ticket['id']}/classification", headers=admin.headers)
    assert response.status_code == 204 and response.content == b""
    missing = await client.get(f"/api/v1/tickets/{uuid.uuid4()}/classification", headers=admin.headers)
    assert_problem(missing, 404)


async def test_low_confidence_goes_to_triage_and_one_call_corrects(
    client: Any, runtime: Any, tenant: Any, admin: Any
) -> None:
    # A threshold of 1 is never reached: every ticket goes to triage and nothing is guessed.
    await enable(client, admin, threshold=1.0, urgent=1.0)
    ticket = await create(client, admin, title="问一下", description="这款空调有现货吗？想买两台")
    detail = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=admin.headers)).json()
    assert detail["scenario"] is None and detail["category"] is None and detail["priority"] == "normal"

    listed = (await client.get("/api/v1/triage", headers=admin.headers)).json()["items"]
    assert [item["ticket"]["id"] for item in listed] == [ticket["id"]]
    assert listed[0]["low"] == ["scenario", "category", "priority"]
    assert len(listed[0]["guesses"]["scenario"]) == 3

    # An agent who does not see the ticket (own / team scope, unassigned) neither lists nor decides it.
    agent = await make_member(runtime, tenant, "agent", name="客服小李")
    assert (await client.get("/api/v1/triage", headers=agent.headers)).json()["items"] == []
    refused = await client.post(
        f"/api/v1/triage/{ticket['id']}", headers=agent.headers, json={"scenario": "presales"}
    )
    assert_problem(refused, 404)

    bad = await client.post(
        f"/api/v1/triage/{ticket['id']}", headers=admin.headers, json={"scenario": "nonsense"}
    )
    assert_problem(bad, 422)
    # A category outside the tenant's taxonomy is refused until an admin adds it.
    unknown = {"scenario": "presales", "category": "库存咨询", "priority": "normal"}
    assert_problem(
        await client.post(f"/api/v1/triage/{ticket['id']}", headers=admin.headers, json=unknown), 422
    )
    assert await corrections(runtime, tenant) == []
    body = settings_body(threshold=1.0, urgent=1.0)
    body["categories"] = [
        *(await client.get(SETTINGS, headers=admin.headers)).json()["categories"],
        {"key": "库存咨询", "names": {"zh-CN": "库存咨询", "en": "Stock enquiry"}},
    ]
    assert (await client.put(SETTINGS, headers=admin.headers, json=body)).status_code == 200

    response = await client.post(
        f"/api/v1/triage/{ticket['id']}",
        headers=admin.headers,
        json={"scenario": "presales", "category": "库存咨询", "priority": "normal"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["needs_triage"] is False
    detail = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=admin.headers)).json()
    assert (detail["scenario"], detail["category"]) == ("presales", "库存咨询")
    recorded = {(c.target, c.corrected) for c in await corrections(runtime, tenant)}
    assert recorded == {("scenario", "presales"), ("category", "库存咨询"), ("priority", "normal")}
    assert all(c.created_by == admin.user.id for c in await corrections(runtime, tenant))
    assert (await client.get("/api/v1/triage", headers=admin.headers)).json()["items"] == []


async def test_ticket_page_changes_are_corrections(
    client: Any, runtime: Any, tenant: Any, admin: Any
) -> None:
    await enable(client, admin)
    ticket = await create(client, admin)
    response = await client.patch(
        f"/api/v1/tickets/{ticket['id']}", headers=admin.headers, json={"scenario": "aftersales"}
    )
    assert response.status_code == 200, response.text
    (correction,) = await corrections(runtime, tenant)
    assert (correction.target, correction.predicted, correction.corrected) == (
        "scenario",
        "complaint",
        "aftersales",
    )
    assert "漏电" in correction.ticket_text
    async with runtime.db.read(tenant.id) as session:
        row = await session.get(TicketClassification, correction.ticket_id)
    assert row is not None and row.labels["scenario"] == "complaint"


async def test_settings_validation_and_permissions(
    client: Any, runtime: Any, tenant: Any, admin: Any
) -> None:
    default = (await client.get(SETTINGS, headers=admin.headers)).json()
    assert default["enabled"] is False
    bad = settings_body(threshold=1.5)
    assert_problem(await client.put(SETTINGS, headers=admin.headers, json=bad), 422)
    unknown = settings_body()
    unknown["thresholds"]["sentiment"] = 0.5
    assert_problem(await client.put(SETTINGS, headers=admin.headers, json=unknown), 422)
    assert (await client.get(SETTINGS, headers=admin.headers)).json() == default
    agent = await make_member(runtime, tenant, "agent", name="客服小李")
    assert_problem(await client.get(SETTINGS, headers=agent.headers), 403)
    assert_problem(await client.put(SETTINGS, headers=agent.headers, json=settings_body()), 403)
    await enable(client, admin, threshold=0.7)
    saved = (await client.get(SETTINGS, headers=admin.headers)).json()
    assert saved["enabled"] is True and saved["thresholds"]["scenario"] == 0.7


async def test_a_rule_on_created_branches_on_what_the_classifier_set(client: Any, admin: Any) -> None:
    await enable(client, admin)
    rule = {
        "kind": "trigger",
        "on": ["ticket.created"],
        "name": "投诉打标签",
        "conditions": {"all": [{"field": "scenario", "op": "eq", "value": "complaint"}]},
        "actions": [{"type": "add_tag", "tag": "投诉"}],
    }
    response = await client.post("/api/v1/rules", json=rule, headers=admin.headers)
    assert response.status_code == 201, response.text
    ticket = await create(client, admin)
    detail = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=admin.headers)).json()
    assert detail["scenario"] == "complaint"
    assert "投诉" in detail["tags"]
