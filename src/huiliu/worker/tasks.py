"""Worker tasks, thin: each calls the outbox processor."""

from __future__ import annotations

import uuid
from datetime import datetime

from huey import Huey
from huey.api import TaskWrapper

from huiliu.worker.processor import OutboxProcessor

PROCESS_OUTBOX_ROW = "outbox.process_row"


def register_tasks(huey: Huey, processor: OutboxProcessor) -> TaskWrapper:
    """Register the outbox task on ``huey``; returns it (calling it enqueues). Arguments are plain
    strings so the queue holds no pickled objects of ours."""

    @huey.task(name=PROCESS_OUTBOX_ROW)
    def process_outbox_row(row_id: str, lease: str) -> None:
        processor.process(uuid.UUID(row_id), datetime.fromisoformat(lease))

    return process_outbox_row
