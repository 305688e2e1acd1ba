"""``POST /api/v1/classify``: scenario, category, priority and sentiment of a text with confidences,
and the entities in it. Any signed-in user or API key with ``ticket.read``. The caller's tenant's
model answers (its learning-mode model once promoted, else the shipped one) and the category is one
of the tenant's taxonomy (null when the model knows none of it). Predictions whose
confidence is below ``classifier_low_confidence`` are named in the ``Huiliu-Low-Confidence`` header
(comma-separated targets), so the body keeps its fixed shape."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.core.errors import ValidationFailed
from huiliu.intelligence import service
from huiliu.intelligence.store import store_for
from huiliu.intelligence.triage import (
    ClassificationReactor,
    TenantClassification,
    classifier_for,
    read_config,
)
from huiliu.runtime import Runtime

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
    category: str | None = Field(description="one of the tenant's taxonomy; null when none scored")
    priority: str
    sentiment: str
    confidence: ClassifyConfidence
    entities: ClassifyEntities


async def _tenant_config(runtime: Runtime, tenant_id: uuid.UUID) -> TenantClassification:
    """The tenant's classification settings: from the classification reactor's cache (2 s) when the
    app has one, else read."""
    for reactor in runtime.db.reactors:
        if isinstance(reactor, ClassificationReactor):
            return await reactor.config(runtime.db, tenant_id)
    async with runtime.db.read(None, system=True) as session:
        return await read_config(session, tenant_id)


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
    tenant_id = actor.tenant_id
    config = await _tenant_config(runtime, tenant_id) if tenant_id is not None else TenantClassification()
    # The first call of a process loads (or trains) the model: off the event loop.
    if tenant_id is not None:
        classifier = await asyncio.to_thread(classifier_for, settings, tenant_id)
    else:
        classifier = await asyncio.to_thread(
            store_for(settings.classifier_model_path, settings.classifier_dataset_dir).serving
        )
    result = service.classify(classifier, body.text, settings.classifier_low_confidence, config.category_keys)
    if result.low_confidence:
        response.headers[LOW_CONFIDENCE_HEADER] = ",".join(result.low_confidence)
    return result.body
