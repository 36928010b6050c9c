"""The scheduler thread: one per process, a `schedule` job every minute.

Each tick calls the same function as ``nippo remind --at``, with the tick's
time passed in. A tick that raises is logged and the thread goes on; stopping
lets an in-flight tick finish first.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

import schedule

from bot import metrics
from bot.clock import Clock, utc_now
from bot.memory import release_free_memory

log = logging.getLogger("nippo.scheduler")


class SchedulerThread(threading.Thread):
    def __init__(self, tick: Callable, clock: Clock = utc_now, interval_seconds: int = 60,
                 poll_seconds: float = 1.0):
        super().__init__(name="nippo-scheduler", daemon=True)
        self._tick = tick
        self._clock = clock
        self._stop_event = threading.Event()
        self._poll_seconds = poll_seconds
        self._scheduler = schedule.Scheduler()
        self._scheduler.every(interval_seconds).seconds.do(self.run_tick)
        self.ticks = 0

    def run_tick(self) -> None:
        now = self._clock()
        try:
            self._tick(now, should_stop=self._stop_event.is_set)
            metrics.scheduler_ticked(self._clock().timestamp())
        except Exception:
            metrics.scheduler_tick_failed()
            log.exception("scheduler tick at %s failed; the next tick will try again", now.isoformat())
        finally:
            self.ticks += 1
            release_free_memory()  # what the tick allocated and freed, lest the process stay at its peak

    def run(self) -> None:
        log.info("scheduler started")
        self.run_tick()  # do not wait a minute after start-up for the first look
        while not self._stop_event.wait(self._poll_seconds):
            self._scheduler.run_pending()
        log.info("scheduler stopped")

    @property
    def stopping(self) -> bool:
        return self._stop_event.is_set()

    def stop(self, timeout: float | None = 60) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)
