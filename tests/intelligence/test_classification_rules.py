"""Rules branch on what the classifier said (``classification.*`` facts read from
``ticket_classifications``), the dry run explains it, and the tenant's category taxonomy restricts the
classifier's category (settings, validation, the categories list)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from huiliu.automation.domain import ClassificationFacts, TicketFacts
from huiliu.automation.domain.facts import facts_values
from huiliu.intelligence.learning import corrections_to_examples
from huiliu.intelligence.models import ClassificationCorrection, TicketClassification
from huiliu.tickets.models import Ticket, TicketEvent
from tests.factories import make_member, make_team, make_tenant
from tests.tickets.test_api import assert_problem

URGENT = "你们的热水器漏电了，我家孩子被电了一下！马上派人来处理，不然我就打12315投诉"
SETTINGS = "/api/v1/intelligence/settings"
CATEGORIES = "/api/v1/intelligence/categories"
RULES = "/api/v1/rules"


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


def settings_body(threshold: float = 0.0, categories: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "enabled": True,
        "thresholds": {"scenario": threshold, "category": threshold, "priority": threshold},
        "urgent_confidence": 1.0,
    }
    if categories is not None:
        body["categories"] = categories
    return body


def category(key: str, zh: str, en: str) -> dict[str, Any]:
    return {"key": key, "names": {"zh-CN": zh, "en": en}}


async def put_settings(client: Any, admin: Any, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.put(SETTINGS, headers=admin.headers, json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def create(
    client: Any, member: Any, title: str = "热水器漏电", description: str = URGENT
) -> dict[str, Any]:
    payload = {"title": title, "description": description}
    response = await client.post("/api/v1/tickets", headers=member.headers, json=payload)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def add_rule(client: Any, admin: Any, rule: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(RULES, json=rule, headers=admin.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def stored(runtime: Any, tenant: Any, ticket_id: str) -> tuple[Ticket, TicketClassification]:
    async with runtime.db.read(tenant.id) as session:
        ticket = await session.get(Ticket, uuid.UUID(ticket_id))
        row = await session.get(TicketClassification, uuid.UUID(ticket_id))
    assert ticket is not None and row is not None
    return ticket, row


def complaint_routing(team_id: uuid.UUID) -> dict[str, Any]:
    return {
        "kind": "trigger",
        "on": ["ticket.created"],
        "name": "有把握的投诉 → 投诉组",
        "conditions": {
            "all": [
                {"field": "classification.scenario", "op": "eq", "value": "complaint"},
                {"field": "classification.scenario_confidence", "op": "gte", "value": 0.5},
            ]
        },
        "actions": [{"type": "assign", "team": str(team_id)}, {"type": "add_tag", "tag": "投诉"}],
    }


async def test_a_rule_on_created_routes_on_scenario_and_confidence_and_the_dry_run_explains_it(
    client: Any, runtime: Any, tenant: Any, admin: Any
) -> None:
    team = await make_team(runtime, tenant, "投诉组")
    await put_settings(client, admin, settings_body())
    rule = await add_rule(client, admin, complaint_routing(team.id))

    ticket = await create(client, admin)
    row, classification = await stored(runtime, tenant, ticket["id"])
    assert classification.labels["scenario"] == "complaint"
    assert classification.confidence["scenario"] >= 0.5
    assert row.team_id == team.id and "投诉" in row.tags
    async with runtime.db.read(tenant.id) as session:
        reasons = await session.scalars(
            select(TicketEvent.reason).where(
                TicketEvent.ticket_id == row.id, TicketEvent.type == "ticket.assigned"
            )
        )
        assert any("有把握的投诉" in (reason or "") for reason in reasons)

    response = await client.post(f"{RULES}/dry-run", json={"ticket_id": ticket["id"]}, headers=admin.headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["fired"] == [rule["id"]]
    facts = report["facts"]
    assert facts["classification.scenario"] == "complaint"
    assert facts["classification.scenario_confidence"] == classification.confidence["scenario"]
    assert facts["classification.category"] == classification.labels["category"]
    assert facts["classification.label"] == classification.labels["category"]
    assert facts["classification.confidence"] == classification.confidence["category"]
    assert facts["classification.needs_triage"] is False
    (outcome,) = report["outcomes"]
    explained = str(outcome["explanation"])
    assert "classification.scenario" in explained and "classification.scenario_confidence" in explained

    # An unsure scenario (a confidence the rule asks more of) does not route.
    stricter = complaint_routing(team.id)
    stricter["conditions"]["all"][1]["value"] = 1.0
    response = await client.patch(f"{RULES}/{rule['id']}", json=stricter, headers=admin.headers)
    assert response.status_code == 200, response.text
    other = await create(client, admin)
    assert (await stored(runtime, tenant, other["id"]))[0].team_id is None
    dry = (
        await client.post(f"{RULES}/dry-run", json={"ticket_id": other["id"]}, headers=admin.headers)
    ).json()
    assert dry["fired"] == [] and dry["outcomes"][0]["outcome"] == "not_matched"


async def test_the_classification_facts_cost_no_statement_on_create_and_one_on_update(
    client: Any, runtime: Any, tenant: Any, admin: Any
) -> None:
    team = await make_team(runtime, tenant, "投诉组")
    await put_settings(client, admin, settings_body())
    await add_rule(client, admin, complaint_routing(team.id))
    await add_rule(
        client,
        admin,
        {
            "kind": "trigger",
            "on": ["ticket.updated"],
            "name": "更新时看分类",
            "conditions": {"all": [{"field": "classification.category", "op": "is_set"}]},
            "actions": [{"type": "add_tag", "tag": "已分类"}],
        },
    )
    engine = runtime.db.engine.sync_engine
    reads: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        flat = " ".join(statement.split())
        if flat.startswith("SELECT") and "FROM ticket_classifications" in flat:
            reads.append(flat)

    event.listen(engine, "before_cursor_execute", record)
    try:
        ticket = await create(client, admin)
        assert reads == []
        assert (await stored(runtime, tenant, ticket["id"]))[0].team_id == team.id
        reads.clear()
        response = await client.patch(
            f"/api/v1/tickets/{ticket['id']}", headers=admin.headers, json={"title": "热水器漏电（更新）"}
        )
        assert response.status_code == 200, response.text
    finally:
        event.remove(engine, "before_cursor_execute", record)
    # The ticket the update loaded: its classification is read once for the whole unit of work.
    assert len(reads) == 1, reads
    assert "已分类" in (await stored(runtime, tenant, ticket["id"]))[0].tags


async def test_the_triage_state_is_a_fact_rules_test(
    client: Any, runtime: Any, tenant: Any, admin: Any
) -> None:
    # A threshold of 1 is never reached: the ticket waits in 待分类 with every target low.
    await put_settings(client, admin, settings_body(threshold=1.0))
    await add_rule(
        client,
        admin,
        {
            "kind": "trigger",
            "on": ["ticket.created"],
            "name": "待分类打标签",
            "conditions": {
                "all": [
                    {"field": "classification.needs_triage", "op": "eq", "value": True},
                    {"field": "classification.low_confidence", "op": "contains", "value": ["category"]},
                ]
            },
            "actions": [{"type": "add_tag", "tag": "待分类"}],
        },
    )
    ticket = await create(client, admin, "问一下", "这款空调有现货吗？想买两台")
    row, classification = await stored(runtime, tenant, ticket["id"])
    assert classification.needs_triage and "待分类" in row.tags

    # Confirmed in triage: the ticket is no longer waiting, and a rule on updated sees it.
    await add_rule(
        client,
        admin,
        {
            "kind": "trigger",
            "on": ["ticket.updated"],
            "name": "已分类",
            "conditions": {"all": [{"field": "classification.needs_triage", "op": "eq", "value": False}]},
            "actions": [{"type": "add_tag", "tag": "已分类"}],
        },
    )
    decided = await client.post(
        f"/api/v1/triage/{ticket['id']}",
        headers=admin.headers,
        json={"scenario": "presales", "category": "consultation", "priority": "low"},
    )
    assert decided.status_code == 200, decided.text
    row, classification = await stored(runtime, tenant, ticket["id"])
    assert not classification.needs_triage and "已分类" in row.tags


async def test_a_rule_on_updated_reads_the_classification_of_an_existing_ticket(
    client: Any, runtime: Any, tenant: Any, admin: Any
) -> None:
    await put_settings(client, admin, settings_body())
    ticket = await create(client, admin)
    classification = (await stored(runtime, tenant, ticket["id"]))[1]
    await add_rule(
        client,
        admin,
        {
            "kind": "trigger",
            "on": ["ticket.updated"],
            "name": "模型说紧急",
            "conditions": {"all": [{"field": "classification.priority", "op": "gte", "value": "high"}]},
            "actions": [{"type": "add_tag", "tag": "模型紧急"}],
        },
    )
    assert classification.labels["priority"] == "urgent"
    response = await client.patch(
        f"/api/v1/tickets/{ticket['id']}", headers=admin.headers, json={"title": "热水器漏电（已联系）"}
    )
    assert response.status_code == 200, response.text
    assert "模型紧急" in (await stored(runtime, tenant, ticket["id"]))[0].tags


async def test_an_unclassified_ticket_has_no_classification_facts(client: Any, admin: Any) -> None:
    ticket = await create(client, admin)
    await add_rule(
        client,
        admin,
        {
            "kind": "trigger",
            "on": ["ticket.created"],
            "name": "无",
            "conditions": {"all": [{"field": "classification.scenario", "op": "is_set"}]},
            "actions": [{"type": "add_tag", "tag": "x"}],
        },
    )
    dry = (
        await client.post(f"{RULES}/dry-run", json={"ticket_id": ticket["id"]}, headers=admin.headers)
    ).json()
    assert dry["fired"] == []
    assert dry["facts"]["classification.scenario"] is None
    assert dry["facts"]["classification.needs_triage"] is None


def test_label_and_confidence_are_the_category() -> None:
    found = ClassificationFacts(
        labels={
            "scenario": "aftersales",
            "category": "logistics",
            "priority": "high",
            "sentiment": "negative",
        },
        confidence={"scenario": 0.9, "category": 0.7, "priority": 0.6, "sentiment": 0.8},
        low=frozenset({"priority"}),
        needs_triage=True,
    )
    values = facts_values(TicketFacts(classification=found))
    assert values["classification.label"] == "logistics" and values["classification.confidence"] == 0.7
    assert values["classification.scenario"] == "aftersales"
    assert values["classification.priority_confidence"] == 0.6
    assert values["classification.low_confidence"] == frozenset({"priority"})
    # Callers that only know a label and a confidence (bench, older tests) keep them.
    legacy = facts_values(TicketFacts(classification_label="退款", classification_confidence=0.8))
    assert (legacy["classification.label"], legacy["classification.confidence"]) == ("退款", 0.8)
    assert legacy["classification.scenario"] is None


async def test_the_category_is_restricted_to_the_tenant_taxonomy(
    client: Any, runtime: Any, tenant: Any, admin: Any
) -> None:
    default = (await client.get(SETTINGS, headers=admin.headers)).json()["categories"]
    assert len(default) == 12 and default[1] == category("logistics", "物流", "Logistics")

    await put_settings(client, admin, settings_body(categories=[category("billing", "费用", "Fees")]))
    ticket = await create(client, admin)
    row, classification = await stored(runtime, tenant, ticket["id"])
    assert classification.labels["category"] == "billing"
    assert [guess[0] for guess in classification.guesses["category"]] == ["billing"]
    assert row.category in (None, "billing")

    # A taxonomy the model knows nothing of: no category, and the ticket waits in triage.
    await put_settings(client, admin, settings_body(categories=[category("parking", "停车", "Parking")]))
    ticket = await create(client, admin)
    row, classification = await stored(runtime, tenant, ticket["id"])
    assert classification.labels["category"] is None and classification.confidence["category"] == 0.0
    assert classification.guesses["category"] == []
    assert "category" in classification.low and classification.needs_triage and row.category is None

    # Leaving categories out of a settings change keeps them; agents read them with their names.
    await put_settings(client, admin, settings_body())
    agent = await make_member(runtime, tenant, "agent", name="客服小李")
    listed = await client.get(CATEGORIES, headers=agent.headers)
    assert listed.status_code == 200, listed.text
    assert listed.json() == {"items": [category("parking", "停车", "Parking")]}
    assert_problem(await client.put(SETTINGS, headers=agent.headers, json=settings_body()), 403)


@pytest.mark.parametrize(
    "categories",
    [
        [],
        [category("a", "甲", "A"), category("A", "乙", "B")],
        [category(" a", "甲", "A")],
        [category("", "甲", "A")],
        [{"key": "a", "names": {"zh-CN": "甲"}}],
        [{"key": "a", "names": {"zh-CN": "甲", "en": "A", "ja": "甲"}}],
        [category("a", "甲" * 41, "A")],
        [category("a\u200b", "甲", "A")],
        [{"key": "a", "names": {"zh-CN": "甲", "en": "A"}, "colour": "red"}],
        [category(f"k{i}", "甲", "A") for i in range(101)],
    ],
)
async def test_a_bad_taxonomy_is_refused_and_changes_nothing(
    client: Any, admin: Any, categories: list[dict[str, Any]]
) -> None:
    before = (await client.get(SETTINGS, headers=admin.headers)).json()
    response = await client.put(SETTINGS, headers=admin.headers, json=settings_body(categories=categories))
    assert_problem(response, 422)
    assert (await client.get(SETTINGS, headers=admin.headers)).json() == before


async def test_the_classify_api_answers_in_the_tenant_taxonomy(client: Any, admin: Any) -> None:
    text = {"text": "亲，快递三天没动了，订单号 2026113012345678"}
    shipped = await client.post("/api/v1/classify", headers=admin.headers, json=text)
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["category"] == "logistics"

    await put_settings(client, admin, settings_body(categories=[category("billing", "费用", "Fees")]))
    restricted = await client.post("/api/v1/classify", headers=admin.headers, json=text)
    assert restricted.json()["category"] == "billing"
    assert restricted.json()["confidence"]["category"] < shipped.json()["confidence"]["category"]
    assert "category" in restricted.headers["Huiliu-Low-Confidence"].split(",")

    await put_settings(client, admin, settings_body(categories=[category("parking", "停车", "Parking")]))
    unknown = (await client.post("/api/v1/classify", headers=admin.headers, json=text)).json()
    assert unknown["category"] is None and unknown["confidence"]["category"] == 0.0
    assert unknown["scenario"] == shipped.json()["scenario"]


def test_a_null_category_is_not_learned_as_a_label() -> None:
    ticket_id = uuid.uuid4()
    correction = ClassificationCorrection(
        tenant_id=uuid.uuid4(),
        ticket_id=ticket_id,
        target="scenario",
        predicted="presales",
        corrected="aftersales",
        ticket_text="车位被占了",
        created_at=datetime.now(UTC),
    )
    predicted = {"scenario": "presales", "category": None, "priority": "normal", "sentiment": "negative"}
    # Nobody answered the category and the model had none in the taxonomy: no example.
    assert corrections_to_examples([correction], {ticket_id: predicted}) == []
    answered = ClassificationCorrection(
        tenant_id=correction.tenant_id,
        ticket_id=ticket_id,
        target="category",
        predicted=None,
        corrected="parking",
        ticket_text="车位被占了",
        created_at=datetime.now(UTC),
    )
    (example,) = corrections_to_examples([correction, answered], {ticket_id: predicted})
    assert (example.scenario, example.category) == ("aftersales", "parking")
