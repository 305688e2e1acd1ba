"""The worker's analytics scheduler: every ``analytics_alert_seconds`` it evaluates the alert rules
whose bucket has completed (``alerts.service.evaluate_due``) and sends the weekly reports that are
due (``analytics.reports.send_due``). Each rule is evaluated once per bucket and each report once
per week however often it looks, so the interval only bounds the delay. Like the timer sweeper it
runs on its own thread with its own event loop and async ``Database``."""

from __future__ import annotations

import asyncio
import logging
import threading

from huiliu.analytics import reports
from huiliu.analytics.alerts.service import evaluate_due
from huiliu.core.clock import utcnow
from huiliu.runtime import Runtime
from huiliu.settings import Settings

log = logging.getLogger("huiliu.analytics.alerts")

ERROR_PAUSE_SECONDS = 5.0


class AnalyticsScheduler:
    """Evaluates alert rules and sends scheduled reports on a background thread until ``stop``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.interval = max(1.0, settings.analytics_alert_seconds)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="analytics-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def run_once(self, runtime: Runtime) -> None:
        now = utcnow()
        evaluated = await evaluate_due(runtime.db, now, public_url=self.settings.public_url)
        fired = sum(1 for result in evaluated if result.fired)
        if fired:
            log.info("analytics alerts: %d rule(s) evaluated, %d fired", len(evaluated), fired)
        sent = await reports.send_due(runtime.db, self.settings, now)
        if sent:
            log.info("analytics reports: %d sent", len(sent))

    async def _main(self) -> None:
        runtime = Runtime.build(self.settings)
        await runtime.start()
        log.info("analytics scheduler started: every %.1fs", self.interval)
        try:
            while not self._stop.is_set():
                pause = self.interval
                try:
                    await self.run_once(runtime)
                except Exception:
                    log.exception("analytics scheduler failed; trying again")
                    pause = max(self.interval, ERROR_PAUSE_SECONDS)
                await asyncio.to_thread(self._stop.wait, pause)
        finally:
            await runtime.stop()
            log.info("analytics scheduler stopped")
