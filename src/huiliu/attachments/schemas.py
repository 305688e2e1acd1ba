"""Response models of the attachment routes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class AttachmentCreated(BaseModel):
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str


class AttachmentMeta(AttachmentCreated):
    ticket_id: uuid.UUID | None
    message_id: uuid.UUID | None
    uploaded_by_id: uuid.UUID | None
    created_at: datetime
