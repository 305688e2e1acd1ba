"""Stored responses for ``Idempotency-Key``: a repeated create returns the first answer unchanged."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from huiliu.core.clock import utcnow
from huiliu.db.base import Base, TenantScoped


class IdempotencyRecord(TenantScoped, Base):
    __tablename__ = "idempotency_keys"

    principal_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def request_fingerprint(payload: Any) -> str:
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()
