"""Learning mode: corrections teaching a new category make the retrained model learn it and it is
promoted; corrections that would make it miss urgent tickets are not promoted; the tenant run writes
the model card the console shows, and the worker's job finds the tenants that are due."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from huiliu.intelligence import learning, store
from huiliu.intelligence import model as model_module
from huiliu.intelligence import serving as serving_module
from huiliu.intelligence.dataset import Example
from huiliu.intelligence.learning import decide, model_format, read_card, retrain, retrain_tenant, tenants_due
from huiliu.intelligence.store import serving_path
from huiliu.intelligence.triage import classifier_for, tenant_model_path, tenant_models
from tests.factories import make_member, make_tenant

ITEMS = ("地下车库", "小区", "商场", "写字楼", "医院", "4S店", "门店", "学校", "园区", "公寓")
ASKS = (
    "{item}的停车月卡怎么办理",
    "{item}道闸识别不了我的车牌，进不去",
    "{item}的固定车位租金多少一个月",
    "{item}停车费能用微信缴吗",
    "{item}访客临时停车怎么登记",
)


def parking_examples() -> list[Example]:
    """A property-management tenant's own category, which the shipped taxonomy does not have."""
    return [
        Example(ask.format(item=item), "aftersales", "parking", "normal", "neutral", "tenant")
        for ask, item in itertools.product(ASKS, ITEMS)
    ]


def test_corrections_teach_a_new_category(dataset: list[Example]) -> None:
    result = retrain(dataset, parking_examples())
    assert result.decision.promoted, result.decision.reason
    assert result.classifier is not None
    assert result.decision.candidate["category_macro_f1"] > result.decision.baseline["category_macro_f1"]
    prediction = result.classifier.predict("访客车辆怎么进小区停车")
    assert prediction.labels["category"] == "parking"
    assert result.card["data"]["corrections"] == len(parking_examples())
    assert result.card["promoted"] is True and result.card["model_version"]


def test_a_model_taught_to_miss_urgent_tickets_is_not_promoted(dataset: list[Example]) -> None:
    # Agents (wrongly) mark the urgent messages low: the candidate misses urgent tickets it caught.
    wrong = [
        Example(e.text, e.scenario, e.category, "low", e.sentiment, "tenant")
        for e in dataset
        if e.priority == "urgent"
    ]
    result = retrain(dataset, wrong)
    assert not result.decision.promoted
    assert result.classifier is None
    assert "lower than the baseline" in result.decision.reason
    assert result.card["promoted"] is False


def test_decision_rule() -> None:
    base = {"macro_f1": 0.8, "urgent_recall": 0.9}
    assert decide(base, {"macro_f1": 0.8, "urgent_recall": 0.9}, 3).promoted
    assert not decide(base, {"macro_f1": 0.79, "urgent_recall": 1.0}, 3).promoted
    assert not decide(base, {"macro_f1": 0.9, "urgent_recall": 0.89}, 3).promoted
    assert not decide(base, {"macro_f1": 0.9, "urgent_recall": 1.0}, 0).promoted


@pytest.fixture(autouse=True)
def configured(
    runtime: Any, tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setattr(runtime.settings, "classifier_model_path", tmp_path / "model" / "classifier.joblib")
    monkeypatch.setattr(runtime.settings, "classifier_dataset_dir", tiny_dir)
    monkeypatch.setattr(runtime.settings, "files_dir", tmp_path / "files")
    yield


async def _enable_with_parking(client: Any, admin: Any) -> None:
    """The admin switches classification on and adds the tenant's own category to its taxonomy, so
    triage may choose it."""
    thresholds = {"scenario": 1.0, "category": 1.0, "priority": 1.0}
    body: dict[str, Any] = {"enabled": True, "thresholds": thresholds, "urgent_confidence": 1.0}
    assert (
        await client.put("/api/v1/intelligence/settings", headers=admin.headers, json=body)
    ).status_code == 200
    body["categories"] = [
        *(await client.get("/api/v1/intelligence/settings", headers=admin.headers)).json()["categories"],
        {"key": "parking", "names": {"zh-CN": "停车", "en": "Parking"}},
    ]
    assert (
        await client.put("/api/v1/intelligence/settings", headers=admin.headers, json=body)
    ).status_code == 200


async def _teach_parking(client: Any, admin: Any) -> None:
    """Agents file parking tickets and answer triage with the tenant's category."""
    for example in parking_examples():
        created = await client.post(
            "/api/v1/tickets", headers=admin.headers, json={"title": "停车", "description": example.text}
        )
        assert created.status_code == 201, created.text
        decided = await client.post(
            f"/api/v1/triage/{created.json()['id']}",
            headers=admin.headers,
            json={"scenario": "aftersales", "category": "parking", "priority": "normal"},
        )
        assert decided.status_code == 200, decided.text


async def test_tenant_run_writes_the_card_and_serves_the_promoted_model(client: Any, runtime: Any) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    await _enable_with_parking(client, admin)
    cards = (await client.get("/api/v1/intelligence/model", headers=admin.headers)).json()
    assert cards["tenant"] is None and cards["serving"] == "shipped" and cards["shipped"]["examples"] > 0
    # Other tests' tenants share the database: only this tenant is looked at.
    assert tenant.id not in await tenants_due(runtime.db, runtime.settings, datetime.now(UTC))

    await _teach_parking(client, admin)
    assert tenant.id in await tenants_due(runtime.db, runtime.settings, datetime.now(UTC))
    card = await retrain_tenant(runtime.db, runtime.settings, tenant.id)
    assert card["data"]["corrections"] == len(parking_examples())
    assert read_card(runtime.settings, tenant.id) == card
    cards = (await client.get("/api/v1/intelligence/model", headers=admin.headers)).json()
    assert cards["tenant"] == card
    assert card["promoted"] is True, card["reason"]
    assert tenant_model_path(runtime.settings, tenant.id).is_file() and cards["serving"] == "tenant"
    assert "parking" in classifier_for(runtime.settings, tenant.id).classes("category")
    # Trained just now: not due again until the period has passed and there are newer corrections.
    assert tenant.id not in await tenants_due(
        runtime.db, runtime.settings, datetime.now(UTC) + timedelta(hours=1)
    )

    agent = await make_member(runtime, tenant, "agent", name="客服小李")
    assert (await client.get("/api/v1/intelligence/model", headers=agent.headers)).status_code == 403


async def _tenant_with_parking_model(client: Any, runtime: Any) -> Any:
    """A tenant whose agents taught it the parking category, retrained and promoted."""
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    await _enable_with_parking(client, admin)
    await _teach_parking(client, admin)
    card = await retrain_tenant(runtime.db, runtime.settings, tenant.id)
    assert card["promoted"] is True, card["reason"]
    assert card["format"] == model_format()
    return tenant


def _upgrade(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new Huiliu whose model and serving formats moved on: files written before cannot be read."""
    monkeypatch.setattr(model_module, "FORMAT_VERSION", model_module.FORMAT_VERSION + 1)
    monkeypatch.setattr(serving_module, "SERVING_FORMAT", serving_module.SERVING_FORMAT + 1)
    monkeypatch.setattr(store, "SERVING_FORMAT", serving_module.SERVING_FORMAT)
    tenant_models._loaded.clear()


async def test_a_model_an_upgrade_cannot_read_is_retrained_at_once(
    client: Any, runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an upgrade the tenant's promoted model is unreadable, so the shipped model answers; the
    worker's job retrains that tenant at the next check — no new corrections, no waiting a period —
    and the tenant's category is served again."""
    tenant = await _tenant_with_parking_model(client, runtime)
    soon = datetime.now(UTC) + timedelta(hours=1)
    assert tenant.id not in await tenants_due(runtime.db, runtime.settings, soon)

    _upgrade(monkeypatch)
    assert "parking" not in classifier_for(runtime.settings, tenant.id).classes("category")
    assert tenant.id in await tenants_due(runtime.db, runtime.settings, soon)
    card = await retrain_tenant(runtime.db, runtime.settings, tenant.id)
    assert card["promoted"] is True and card["format"] == model_format()
    assert "parking" in classifier_for(runtime.settings, tenant.id).classes("category")
    assert tenant.id not in await tenants_due(runtime.db, runtime.settings, soon)


async def test_an_unreadable_model_that_is_not_promoted_again_is_removed(
    client: Any, runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retrained after an upgrade, the candidate is not better this time: the old file, which this
    version cannot serve, is removed (the card no longer names it) and the tenant is not due again."""
    tenant = await _tenant_with_parking_model(client, runtime)
    _upgrade(monkeypatch)
    real_decide = learning.decide
    monkeypatch.setattr(
        learning, "decide", lambda *args: dataclasses.replace(real_decide(*args), promoted=False)
    )
    card = await retrain_tenant(runtime.db, runtime.settings, tenant.id)
    assert card["promoted"] is False and card["model_version"] is None
    path = tenant_model_path(runtime.settings, tenant.id)
    assert not path.exists() and not serving_path(path).exists()
    soon = datetime.now(UTC) + timedelta(hours=1)
    assert tenant.id not in await tenants_due(runtime.db, runtime.settings, soon)
