"""The worker's timer sweeper: every ``timer_sweep_seconds`` it hands due ticket timers (SLA
warnings and breaches, time-based rules) to their handlers (``huiliu.timers.service.sweep``).

It runs on its own thread with its own asyncio loop and its own async ``Database`` (built like the
API's, see ``huiliu.runtime``), with the same reactors as the API so that what a handler changes is
reacted to in the same unit of work (docs/decisions/0015, 0016)."""

from __future__ import annotations

import asyncio
import logging
import threading

from huiliu.core.clock import utcnow
from huiliu.reactions import install_reactors
from huiliu.runtime import Runtime
from huiliu.settings import Settings
from huiliu.timers.service import SweepResult, sweep

log = logging.getLogger("huiliu.worker.timers")

# After a failed sweep (database unreachable …) the next one waits at least this long.
ERROR_PAUSE_SECONDS = 1.0


class TimerSweeper:
    """Sweeps due timers on a background thread until ``stop``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.interval = max(0.1, settings.timer_sweep_seconds)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last: SweepResult | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="timer-sweeper", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        runtime = Runtime.build(self.settings)
        await runtime.start()
        install_reactors(runtime.db, runtime.settings)
        log.info("timer sweeper started: every %.1fs", self.interval)
        try:
            while not self._stop.is_set():
                pause = self.interval
                try:
                    self.last = await sweep(runtime.db, utcnow())
                    if self.last.claimed:
                        log.info(
                            "timers: %d handled, %d failed, %d without handler",
                            self.last.handled,
                            self.last.failed,
                            self.last.unhandled,
                        )
                except Exception:
                    log.exception("timer sweep failed; trying again")
                    pause = max(self.interval, ERROR_PAUSE_SECONDS)
                await asyncio.to_thread(self._stop.wait, pause)
        finally:
            await runtime.stop()
            log.info("timer sweeper stopped")
