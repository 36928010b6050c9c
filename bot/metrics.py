"""What nippo counts, for Prometheus.

Two kinds of figures:

* per process, kept in memory: the Mattermost calls this process made and
  when its scheduler last ticked. These are module-level objects in the
  library's default registry, created once.
* shared, read from the database at scrape time by ``DatabaseCollector``:
  reminder runs and outbox messages by state. Every replica answers the
  same, whichever of them did the work.

Label values come from small fixed sets (route templates, status classes,
states, kinds): never a user, channel or team id, never a token.
"""

from __future__ import annotations

import logging
import threading
import time
from importlib import metadata
from typing import Callable

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, Info, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select

from db.models import OutboxMessage, ReminderRun

log = logging.getLogger("nippo.metrics")

# A `_created` series beside every counter doubles what is stored and says nothing an operator asks.
disable_created_metrics()

MATTERMOST_REQUESTS = Counter(
    "nippo_mattermost_requests", "Calls to the Mattermost API by route template and answer status class",
    ["route", "status"])
MATTERMOST_DURATION = Histogram(
    "nippo_mattermost_request_duration_seconds", "Time to Mattermost's answer, by route template", ["route"])
SCHEDULER_LAST_TICK = Gauge(
    "nippo_scheduler_last_tick_timestamp_seconds", "When this process's scheduler last finished a tick (0: never)")
SCHEDULER_TICK_FAILURES = Counter(
    "nippo_scheduler_tick_failures", "Scheduler ticks of this process that raised")
BUILD_INFO = Info("nippo_build", "The nippo version this process runs")


def _version() -> str:
    try:
        return metadata.version("nippo")
    except metadata.PackageNotFoundError:
        return "unknown"


BUILD_INFO.info({"version": _version()})

# Finished runs only ever grow: a counter. Open runs (claimed, planned) come and go.
FINISHED_RUN_STATES = ("sent", "skipped", "failed")
OPEN_RUN_STATES = ("claimed", "planned")
OPEN_OUTBOX_STATES = ("pending", "sending")
FINISHED_OUTBOX_STATES = ("sent", "failed", "dropped", "cancelled")
# How long counts read from the database are reused. The open states (the
# backlog) are few rows on an index and stay fresh; the finished ones grow
# with every morning (an index-only scan: about 130 ms for 2 million outbox
# rows on PostgreSQL) and only feed per-day charts, so a minute's lag is fine.
OPEN_MAX_AGE = 5.0  # seconds
FINISHED_MAX_AGE = 60.0


def status_class(status: int | None) -> str:
    """``2xx``, ``4xx``…, or ``none`` for a call that got no HTTP answer."""
    return "none" if status is None else f"{status // 100}xx"


def count_mattermost_call(route: str, status: int | None, seconds: float) -> None:
    """``route`` is the template ("GET /users/{user_id}"), never the formatted path."""
    MATTERMOST_REQUESTS.labels(route=route, status=status_class(status)).inc()
    MATTERMOST_DURATION.labels(route=route).observe(seconds)


def scheduler_ticked(when: float) -> None:
    SCHEDULER_LAST_TICK.set(when)


def scheduler_tick_failed() -> None:
    SCHEDULER_TICK_FAILURES.inc()


class DatabaseCollector:
    """Runs and outbox messages by state, counted in the database when scraped.

    ``GROUP BY state`` over the indexed state columns, the open states and
    the finished ones apart (see ``OPEN_MAX_AGE``). A database that does not
    answer leaves these families out of the scrape rather than failing it.
    """

    def __init__(self, database, monotonic: Callable[[], float] = time.monotonic):
        self._database = database
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, dict, dict]] = {}

    def describe(self):
        return self._families({}, {})

    def collect(self):
        try:
            with self._lock:  # concurrent scrapes share one answer
                open_runs, open_messages = self._counts(OPEN_RUN_STATES, OPEN_OUTBOX_STATES, OPEN_MAX_AGE)
                runs, messages = self._counts(FINISHED_RUN_STATES, FINISHED_OUTBOX_STATES, FINISHED_MAX_AGE)
        except Exception as error:  # a scrape must not fail because the database is away
            log.warning("metrics: cannot count runs and messages (%s)", type(error).__name__)
            return []
        return self._families({**open_runs, **runs}, {**open_messages, **messages})

    def _counts(self, run_states: tuple, outbox_states: tuple, max_age: float) -> tuple[dict, dict]:
        now = self._monotonic()
        cached = self._cache.get(run_states)
        if cached is not None and now - cached[0] < max_age:
            return cached[1], cached[2]
        with self._database.read() as session:
            runs = dict(session.execute(select(ReminderRun.state, func.count())
                                        .where(ReminderRun.state.in_(run_states)).group_by(ReminderRun.state)).all())
            messages = dict(session.execute(select(OutboxMessage.state, func.count())
                                            .where(OutboxMessage.state.in_(outbox_states))
                                            .group_by(OutboxMessage.state)).all())
        self._cache[run_states] = (now, runs, messages)
        return runs, messages

    @staticmethod
    def _families(runs: dict, messages: dict):
        finished = CounterMetricFamily("nippo_reminder_runs", "Reminder runs finished, by outcome (all replicas)",
                                       labels=["state"])
        for state in FINISHED_RUN_STATES:
            finished.add_metric([state], runs.get(state, 0))
        open_runs = GaugeMetricFamily("nippo_reminder_runs_open", "Reminder runs under way, by state (all replicas)",
                                      labels=["state"])
        for state in OPEN_RUN_STATES:
            open_runs.add_metric([state], runs.get(state, 0))
        outbox = GaugeMetricFamily("nippo_outbox_messages", "Outbox messages by state (all replicas)",
                                   labels=["state"])
        for state in OPEN_OUTBOX_STATES + FINISHED_OUTBOX_STATES:
            outbox.add_metric([state], messages.get(state, 0))
        return [finished, open_runs, outbox]


class _ProcessMetrics:
    """The library's default registry (this module's figures, the process's own) as one collector."""

    def collect(self):
        return REGISTRY.collect()


def registry_for(database) -> CollectorRegistry:
    """What ``/metrics`` shows for a process using ``database``."""
    registry = CollectorRegistry()
    registry.register(_ProcessMetrics())
    registry.register(DatabaseCollector(database))
    return registry
