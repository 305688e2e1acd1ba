"""Worker tasks, thin: each calls the outbox processor."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from huey import Huey
from huey.api import TaskWrapper

from huiliu.worker.processor import OutboxProcessor

PROCESS_OUTBOX_ROW = "outbox.process_row"
PROCESS_NOTIFICATION_ROWS = "outbox.process_notifications"


def register_tasks(
    huey: Huey, processor: OutboxProcessor, *, after_each: Callable[[], None] | None = None
) -> TaskWrapper:
    """Register the outbox task on ``huey``; returns it (calling it enqueues). Arguments are plain
    strings so the queue holds no pickled objects of ours. ``after_each`` runs after every task (the
    worker wakes its dispatcher to top up the queue)."""

    def process_outbox_row(row_id: str, lease: str) -> None:
        try:
            processor.process(uuid.UUID(row_id), datetime.fromisoformat(lease))
        finally:
            if after_each is not None:
                after_each()

    wrapper: TaskWrapper = huey.task(name=PROCESS_OUTBOX_ROW)(process_outbox_row)
    return wrapper


def register_batch_task(
    huey: Huey, processor: OutboxProcessor, *, after_each: Callable[[], None] | None = None
) -> TaskWrapper:
    """Register the notification batch task on ``huey``: row ids (comma-separated) claimed together
    under one lease."""

    def process_notification_rows(row_ids: str, lease: str) -> None:
        try:
            ids = [uuid.UUID(row_id) for row_id in row_ids.split(",") if row_id]
            processor.process_notifications(ids, datetime.fromisoformat(lease))
        finally:
            if after_each is not None:
                after_each()

    wrapper: TaskWrapper = huey.task(name=PROCESS_NOTIFICATION_ROWS)(process_notification_rows)
    return wrapper
