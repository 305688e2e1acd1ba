"""The worker process's garbage-collector settings (docs/decisions/0044).

The timer sweep allocates many short-lived containers per due ticket (ORM rows, event payloads,
JSON documents). With CPython's default young-generation threshold (700) a sweep of 5,000 tickets
ran ~300 collections, and the survivors a batch still held were promoted until full collections
walked every object start-up had built (~240,000: modules, mappers, schemas) — 12–25 % of the
sweeper's CPU. Start-up objects are frozen out of the collector, as the API does (``app.py``), and
the young generation may grow to ``YOUNG_THRESHOLD`` objects: most of a batch's objects are freed by
reference counting before a collection sees them."""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000


def tune_collector() -> None:
    """Freeze what the process built so far and raise the young generation's threshold; call once,
    after start-up, in the worker process (the timer sweep's benchmark calls it too)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
