"""The worker's analytics scheduler: every ``analytics_alert_seconds`` it evaluates the alert rules
whose bucket has completed (``alerts.service.evaluate_due``) and sends the weekly reports that are
due (``analytics.reports.send_due``). Each rule is evaluated once per bucket and each report once
per week however often it looks, so the interval only bounds the delay. Like the timer sweeper it
runs on its own thread with its own event loop and async ``Database``."""

from __future__ import annotations

import logging

from huiliu.analytics import reports
from huiliu.analytics.alerts.service import evaluate_due
from huiliu.core.clock import utcnow
from huiliu.periodic import PeriodicJob
from huiliu.runtime import Runtime
from huiliu.settings import Settings

log = logging.getLogger("huiliu.analytics.alerts")

ERROR_PAUSE_SECONDS = 5.0


class AnalyticsScheduler(PeriodicJob):
    """Evaluates alert rules and sends scheduled reports on a background thread until ``stop``."""

    name = "analytics-scheduler"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, max(1.0, settings.analytics_alert_seconds), log=log)

    async def run_once(self, runtime: Runtime) -> None:
        now = utcnow()
        evaluated = await evaluate_due(runtime.db, now, public_url=self.settings.public_url)
        fired = sum(1 for result in evaluated if result.fired)
        if fired:
            log.info("analytics alerts: %d rule(s) evaluated, %d fired", len(evaluated), fired)
        sent = await reports.send_due(runtime.db, self.settings, now)
        if sent:
            log.info("analytics reports: %d sent", len(sent))
