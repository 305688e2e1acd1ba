"""The worker's timer sweeper: every ``timer_sweep_seconds`` it hands due ticket timers (SLA
warnings and breaches, time-based rules) to their handlers (``huiliu.timers.service.sweep``).

It runs on its own thread with its own asyncio loop and its own async ``Database`` (built like the
API's, see ``huiliu.runtime``), with the same reactors as the API so that what a handler changes is
reacted to in the same unit of work (docs/decisions/0015, 0016)."""

from __future__ import annotations

import logging

from huiliu.core.clock import utcnow
from huiliu.periodic import PeriodicJob
from huiliu.reactions import install_reactors
from huiliu.runtime import Runtime
from huiliu.settings import Settings
from huiliu.timers.service import SweepResult, sweep

log = logging.getLogger("huiliu.worker.timers")

# After a failed sweep (database unreachable …) the next one waits at least this long.
ERROR_PAUSE_SECONDS = 1.0


class TimerSweeper(PeriodicJob):
    """Sweeps due timers on a background thread until ``stop``."""

    name = "timer-sweeper"
    error_pause = ERROR_PAUSE_SECONDS

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, max(0.1, settings.timer_sweep_seconds), log=log)
        self.last: SweepResult | None = None

    async def prepare(self, runtime: Runtime) -> None:
        install_reactors(runtime.db, runtime.settings)

    async def run_once(self, runtime: Runtime) -> None:
        self.last = await sweep(runtime.db, utcnow())
        if self.last.claimed:
            log.info(
                "timers: %d handled, %d failed, %d without handler",
                self.last.handled,
                self.last.failed,
                self.last.unhandled,
            )
