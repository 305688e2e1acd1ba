"""``POST /api/v1/classify``: the fixed response contract, entity normalisation, permissions and the
4xx cases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from huiliu.intelligence.api import LOW_CONFIDENCE_HEADER, MAX_TEXT_CHARS
from huiliu.intelligence.service import ENTITY_KEYS, entities
from tests.auth.conftest import bearer, create_key
from tests.factories import make_member, make_tenant
from tests.tickets.test_api import assert_problem

URL = "/api/v1/classify"


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("classifier") / "classifier.joblib"


@pytest.fixture(autouse=True)
def configured(runtime: Any, model_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(runtime.settings, "classifier_model_path", model_path)
    monkeypatch.setattr(runtime.settings, "classifier_low_confidence", 0.5)
    yield


@pytest.fixture
async def admin(runtime: Any) -> Any:
    return await make_member(runtime, await make_tenant(runtime), "admin")


async def test_contract_and_entities(client: Any, admin: Any) -> None:
    text = (
        "亲，订单号 2026113012345678 的吹风机插头冒火花了！我付了 ¥1,299 ，电话 +86 139-1234-5678，"
        "邮箱 li.lei@example.com，顺丰单号 SF1234567890123，序列号 SN:GR3582K0019，不处理就打12315投诉"
    )
    response = await client.post(URL, headers=admin.headers, json={"text": text})
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["scenario", "category", "priority", "sentiment", "confidence", "entities"]
    assert list(body["confidence"]) == ["scenario", "category", "priority", "sentiment"]
    assert list(body["entities"]) == list(ENTITY_KEYS)
    assert body["priority"] == "urgent" and body["sentiment"] in ("negative", "neutral", "positive")
    assert body["scenario"] in ("presales", "aftersales", "complaint")
    assert all(0 < value <= 1 for value in body["confidence"].values())
    assert body["entities"] == {
        "order_no": ["2026113012345678"],
        "phone": ["13912345678"],
        "email": ["li.lei@example.com"],
        "tracking_no": ["SF1234567890123"],
        "amount": ["1299.00"],
        "device_sn": ["GR3582K0019"],
    }


async def test_empty_entities_and_presales(client: Any, admin: Any) -> None:
    response = await client.post(URL, headers=admin.headers, json={"text": "这款空调有现货吗？想买两台"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scenario"] == "presales"
    assert body["entities"] == {key: [] for key in ENTITY_KEYS}


def test_entity_normalisation() -> None:
    found = entities(
        "客服热线 0755-8888 6666 转 123，座机(010)12345678，退我三百元和 RMB 25.5，还有两千五百块钱"
    )
    assert found["phone"] == ["075588886666123", "01012345678"]
    assert found["amount"] == ["300.00", "25.50", "2500.00"]
    assert entities("手机13800138000，再说一遍13800138000")["phone"] == ["13800138000"]
    assert entities("2026年11月30日下午3点，3块蛋糕")["phone"] == []


async def test_low_confidence_is_reported_in_a_header(
    client: Any, admin: Any, runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime.settings, "classifier_low_confidence", 1.01)
    response = await client.post(URL, headers=admin.headers, json={"text": "嗯"})
    assert response.status_code == 200
    assert response.headers[LOW_CONFIDENCE_HEADER] == "scenario,category,priority,sentiment"
    monkeypatch.setattr(runtime.settings, "classifier_low_confidence", 0.0)
    response = await client.post(URL, headers=admin.headers, json={"text": "嗯"})
    assert LOW_CONFIDENCE_HEADER not in response.headers


@pytest.mark.parametrize(
    "payload",
    [
        {"text": ""},
        {"text": "   \n "},
        {"text": "字" * (MAX_TEXT_CHARS + 1)},
        {},
        {"text": 12},
        {"text": "hi", "extra": 1},
    ],
)
async def test_invalid_text_is_422(client: Any, admin: Any, payload: dict[str, Any]) -> None:
    response = await client.post(URL, headers=admin.headers, json=payload)
    assert_problem(response, 422)


async def test_longest_text_is_accepted(client: Any, admin: Any) -> None:
    response = await client.post(URL, headers=admin.headers, json={"text": "退款" * (MAX_TEXT_CHARS // 2)})
    assert response.status_code == 200


async def test_needs_a_signed_in_user_or_a_key_with_ticket_read(client: Any, admin: Any) -> None:
    assert_problem(await client.post(URL, json={"text": "在吗"}), 401)
    reader = bearer(await create_key(client, admin, "tickets:read"))
    assert (await client.post(URL, headers=reader, json={"text": "在吗"})).status_code == 200
    writer_only = bearer(await create_key(client, admin, "tickets:write"))
    response = await client.post(URL, headers=writer_only, json={"text": "在吗"})
    if response.status_code != 200:
        assert_problem(response, 403)
