"""``run_worker``: the worker process. Three kinds of threads share one outbox processor:

- the dispatcher claims due outbox rows (a lease each) every ``outbox_poll_seconds`` — sooner when a
  fan-out just created work — and enqueues one Huey task per row, keeping the queue about one batch
  deep so leases do not run out while tasks wait;
- the sweeper frees rows whose lease ran out every ``outbox_sweep_seconds`` (a worker died mid-row);
- the Huey consumer's worker threads (``worker_threads``) run the tasks: fan-out and delivery.

SIGINT and SIGTERM stop it cleanly: no new claims, deliveries in flight finish (bounded by the webhook
timeout), then the process exits. Rows claimed but not started keep their lease in the queue: the
next worker runs them, or the sweeper frees them when the lease runs out."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import httpx
from huey import Huey
from huey.api import TaskWrapper
from huey.consumer import Consumer

from huiliu.analytics.alerts.tasks import AnalyticsScheduler
from huiliu.analytics.tasks import RollupRefresher
from huiliu.core.netguard import GuardedTransport, outbound_policy
from huiliu.db import registry as _registry  # noqa: F401  (every table known to the ORM)
from huiliu.db.engine import make_sync_engine
from huiliu.intelligence.learning import LearningScheduler
from huiliu.settings import Settings
from huiliu.worker.collector import tune_collector
from huiliu.worker.processor import BATCH_KINDS, HANDLED_KINDS, SINGLE_KINDS, OutboxProcessor
from huiliu.worker.queue import make_huey
from huiliu.worker.tasks import register_batch_task, register_tasks
from huiliu.worker.timers import TimerSweeper

log = logging.getLogger("huiliu.worker")

# After an unexpected error (database unreachable …) a loop waits this long before trying again.
ERROR_PAUSE_SECONDS = 1.0


class Dispatcher:
    """Claims due rows and enqueues tasks, keeping the queue short: a claimed row's lease runs while
    it waits in the queue, so the queue holds about two tasks per worker thread and is topped up when
    it falls to one per thread (woken by every finished task, or the poll). Webhooks and channel
    messages go one row per task; notification rows (fan-outs and deliveries) in batches of up to
    ``notification_batch_size``."""

    def __init__(
        self,
        processor: OutboxProcessor,
        huey: Huey,
        task: TaskWrapper,
        settings: Settings,
        threads: int,
        batch_task: TaskWrapper | None = None,
    ) -> None:
        self.processor = processor
        self.huey = huey
        self.task = task
        self.batch_task = batch_task
        self.threads = threads
        self.low_water = threads
        self.high_water = min(2 * threads, settings.outbox_batch_size)
        self.batch_size = max(1, settings.notification_batch_size)

    def dispatch_once(self) -> int:
        queued = self.huey.pending_count()
        if queued > self.low_water:
            return 0
        room = self.high_water - queued
        kinds = SINGLE_KINDS if self.batch_task is not None else HANDLED_KINDS
        claims = self.processor.claim(room, kinds=kinds)
        for claim in claims:
            self.task(str(claim.row_id), claim.lease.isoformat())
        batched = 0
        if self.batch_task is not None:
            batch = self.processor.claim(self.batch_size * room, kinds=BATCH_KINDS)
            # Tasks of at most batch_size rows, never split smaller: a steady trickle would otherwise
            # become one-row tasks, each paying a task's fixed transactions. Threads still overlap:
            # the next dispatch claims what arrived while earlier tasks run.
            for start in range(0, len(batch), self.batch_size):
                chunk = batch[start : start + self.batch_size]
                self.batch_task(",".join(str(c.row_id) for c in chunk), chunk[0].lease.isoformat())
            batched = len(batch)
        if claims or batched:
            log.debug("dispatched %d outbox row(s) and %d notification row(s)", len(claims), batched)
        return len(claims) + batched


def _loop(
    name: str, step: Callable[[], Any], interval: float, stop: threading.Event, wake: threading.Event
) -> None:
    while not stop.is_set():
        pause = interval
        try:
            step()
        except Exception:
            log.exception("%s failed; trying again", name)
            pause = max(interval, ERROR_PAUSE_SECONDS)
        wake.wait(pause)
        wake.clear()


class _Consumer(Consumer):  # type: ignore[misc]
    """Huey's consumer with SIGINT and SIGTERM both graceful, telling the loops to stop first."""

    def __init__(self, huey: Huey, *, on_signal: Callable[[], None], **options: Any) -> None:
        super().__init__(huey, **options)
        self._signal_actions[self._interrupt_sig] = (False, True)
        self._on_signal = on_signal

    def _handle_signal(self, signum: int, frame: FrameType | None) -> None:
        self._on_signal()
        super()._handle_signal(signum, frame)


def _configure_logging(settings: Settings) -> None:
    level = settings.log_level.upper()
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if level != "DEBUG":
        # One line per task and per request drowns what matters; our own log says what failed.
        logging.getLogger("huey").setLevel(logging.WARNING)
        logging.getLogger("httpx").setLevel(logging.WARNING)


def run_worker(settings: Settings) -> None:
    """Run the worker until SIGINT or SIGTERM (blocking; call from the main thread)."""
    _configure_logging(settings)
    threads = max(1, settings.worker_threads)
    engine = make_sync_engine(settings.database_url, pool_size=threads + 2, max_overflow=threads)
    # Tenants choose most destinations (webhooks, robots, entry points' API base URLs): public only.
    transport = GuardedTransport(outbound_policy(settings))
    http = httpx.Client(timeout=settings.webhook_timeout_seconds, follow_redirects=False, transport=transport)
    huey = make_huey(settings)
    stop = threading.Event()
    dispatcher_wake = threading.Event()
    sweeper_wake = threading.Event()
    processor = OutboxProcessor(settings, engine, http, on_new_work=dispatcher_wake.set)
    task = register_tasks(huey, processor, after_each=dispatcher_wake.set)
    batch_task = register_batch_task(huey, processor, after_each=dispatcher_wake.set)
    dispatcher = Dispatcher(processor, huey, task, settings, threads, batch_task)

    def sweep() -> None:
        if processor.sweep():
            dispatcher_wake.set()

    def stop_loops() -> None:
        stop.set()
        dispatcher_wake.set()
        sweeper_wake.set()

    loops = [
        threading.Thread(
            target=_loop,
            args=(
                "dispatcher",
                dispatcher.dispatch_once,
                settings.outbox_poll_seconds,
                stop,
                dispatcher_wake,
            ),
            name="outbox-dispatcher",
            daemon=True,
        ),
        threading.Thread(
            target=_loop,
            args=("sweeper", sweep, settings.outbox_sweep_seconds, stop, sweeper_wake),
            name="outbox-sweeper",
            daemon=True,
        ),
    ]
    consumer = _Consumer(
        huey,
        on_signal=stop_loops,
        workers=threads,
        worker_type="thread",
        periodic=False,
        initial_delay=0.05,
        backoff=1.5,
        # SQLite storage is polled: keep the idle poll short so a claimed row starts promptly.
        max_delay=settings.outbox_poll_seconds,
        shutdown_timeout=settings.webhook_timeout_seconds + 5,
    )
    log.info(
        "worker starting: %d thread(s), queue %s, lease %.1fs",
        threads,
        "redis" if settings.redis_url else settings.huey_sqlite_path,
        settings.outbox_lease_seconds,
    )
    # Ticket timers (SLA, time rules) on their own thread and event loop (huiliu.worker.timers).
    timer_sweeper = TimerSweeper(settings)
    # Analytics facts from the audit events (huiliu.analytics.tasks), likewise on their own thread.
    rollup_refresher = RollupRefresher(settings)
    analytics_scheduler = AnalyticsScheduler(settings)
    # Learning mode: tenants with new classification corrections are retrained (docs/intelligence.md).
    learning_scheduler = LearningScheduler(settings)
    # Start-up objects out of the collector's reach, a larger young generation (decision 0044).
    tune_collector()
    for thread in loops:
        thread.start()
    timer_sweeper.start()
    rollup_refresher.start()
    analytics_scheduler.start()
    learning_scheduler.start()
    try:
        consumer.run()
    finally:
        stop_loops()
        timer_sweeper.stop(timeout=settings.webhook_timeout_seconds + 5)
        rollup_refresher.stop(timeout=settings.webhook_timeout_seconds + 5)
        analytics_scheduler.stop(timeout=settings.webhook_timeout_seconds + 5)
        learning_scheduler.stop(timeout=settings.webhook_timeout_seconds + 5)
        for thread in loops:
            thread.join(timeout=settings.webhook_timeout_seconds + 5)
        processor.close()
        http.close()
        engine.dispose()
        log.info("worker stopped")
