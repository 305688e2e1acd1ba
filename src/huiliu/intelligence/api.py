"""``POST /api/v1/classify``: scenario, category, priority and sentiment of a text with confidences,
and the entities in it. Any signed-in user or API key with ``ticket.read``. Predictions whose
confidence is below ``classifier_low_confidence`` are named in the ``Huiliu-Low-Confidence`` header
(comma-separated targets), so the body keeps its fixed shape."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.core.errors import ValidationFailed
from huiliu.intelligence import service
from huiliu.intelligence.store import store_for

router = APIRouter(prefix="/api/v1", tags=["intelligence"])

MAX_TEXT_CHARS = 5000
LOW_CONFIDENCE_HEADER = "Huiliu-Low-Confidence"


class ClassifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)


class ClassifyConfidence(BaseModel):
    scenario: float
    category: float
    priority: float
    sentiment: float


class ClassifyEntities(BaseModel):
    order_no: list[str]
    phone: list[str]
    email: list[str]
    tracking_no: list[str]
    amount: list[str]
    device_sn: list[str]


class ClassifyOut(BaseModel):
    scenario: str
    category: str
    priority: str
    sentiment: str
    confidence: ClassifyConfidence
    entities: ClassifyEntities


@router.post(
    "/classify", response_model=ClassifyOut, summary="Classify a customer message and extract entities"
)
async def classify(
    body: ClassifyIn, actor: ActorDep, runtime: RuntimeDep, response: Response
) -> dict[str, Any]:
    actor.require("ticket.read")
    if not body.text.strip():
        raise ValidationFailed("text must not be blank.")
    settings = runtime.settings
    store = store_for(settings.classifier_model_path, settings.classifier_dataset_dir)
    # The first call of a process loads (or trains) the model: off the event loop.
    classifier = await asyncio.to_thread(store.get)
    result = service.classify(classifier, body.text, settings.classifier_low_confidence)
    if result.low_confidence:
        response.headers[LOW_CONFIDENCE_HEADER] = ",".join(result.low_confidence)
    return result.body
