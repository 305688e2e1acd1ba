"""Background jobs of the worker that run every N seconds: the timer sweeper, the analytics refresher
and scheduler, learning mode. Each runs on its own thread with its own asyncio loop and its own
``Runtime`` (an async ``Database`` built like the API's), so a slow job never holds up the outbox
dispatcher or another job. A failed run is logged and retried after ``max(interval, error_pause)``."""

from __future__ import annotations

import abc
import asyncio
import logging
import threading

from huiliu.runtime import Runtime
from huiliu.settings import Settings


class PeriodicJob(abc.ABC):
    """Calls ``run_once`` every ``interval`` seconds on a background thread between ``start`` and
    ``stop``. Subclasses name the thread and the log, and may ``prepare`` the runtime first."""

    name: str = "periodic-job"
    error_pause: float = 5.0

    def __init__(self, settings: Settings, interval: float, *, log: logging.Logger | None = None) -> None:
        self.settings = settings
        self.interval = interval
        self.log = log or logging.getLogger(f"huiliu.{self.name}")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    async def prepare(self, runtime: Runtime) -> None:  # noqa: B027 (an optional hook)
        """Set the runtime up before the first run (e.g. install the reactors); nothing by default."""

    @abc.abstractmethod
    async def run_once(self, runtime: Runtime) -> object:
        """One run of the job."""

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        runtime = Runtime.build(self.settings)
        await runtime.start()
        try:
            await self.prepare(runtime)
            self.log.info("%s started: every %.1fs", self.name, self.interval)
            while not self._stop.is_set():
                pause = self.interval
                try:
                    await self.run_once(runtime)
                except Exception:
                    self.log.exception("%s failed; trying again", self.name)
                    pause = max(self.interval, self.error_pause)
                await asyncio.to_thread(self._stop.wait, pause)
        finally:
            await runtime.stop()
            self.log.info("%s stopped", self.name)
