"""One scheduler tick: the function the scheduler thread and ``nippo remind`` share.

A tick plans the runs that are due (claimed and planned in one short write
transaction), delivers whatever the outbox owes at the tick's time (new
reminders, retries, snoozes coming due), then closes the runs that are done.
The tick's ``now`` drives all of it; only leases, and taking over or
dropping another process's work, go by the real clock (``TickTime``).
"""

from __future__ import annotations

import gc
import logging
from contextlib import contextmanager
from datetime import datetime, timedelta

from bot.reminders import snapshot
from bot.reminders.claim import due_runs
from bot.reminders.common import FAILED, TickTime, delivery_options, process_id
from bot.reminders.delivery import deliver
from bot.reminders.finish import finish_runs
from bot.reminders.planner import RunLine, plan_due, preview

log = logging.getLogger("nippo.tick")


def plan_tick(services, tick: TickTime, owner: str | None = None,
              only: frozenset[int] | None = None) -> list[RunLine]:
    """Claim and plan the runs due at the tick's time; sends nothing.
    ``only`` limits the tick to those subscriptions (``nippo remind --channel``)."""
    owner = owner or process_id()
    catchup = timedelta(minutes=services.settings.catchup_minutes)
    with collection_paused():
        with services.database.read() as session:
            dues, subs = due_runs(session, tick.now, catchup, only)
            stale = [s for s in snapshot.stale_claims(session, tick.real_now())  # claims whose lease ran out
                     if only is None or s.subscription_id in only]
        if not dues and not stale:
            return []  # most minutes: nothing to claim, and no write transaction
        return plan_due(services, tick, owner, dues, stale, subs, only)


@contextmanager
def collection_paused():
    """No cyclic garbage collection while a tick is planned. A big morning
    makes a million short-lived objects, and each of the collector's passes
    walks all of them: at 100,000 members that was half the planning time.
    Reference counting still frees them; cycles wait for the next pass."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_tick(services, now: datetime, *, dry_run: bool = False, should_stop=lambda: False,
             only: frozenset[int] | None = None) -> list[str]:
    """One tick as if the clock read ``now``; one line per run it touched."""
    return [str(line) for line in tick_lines(services, now, dry_run=dry_run, should_stop=should_stop, only=only)]


def tick_lines(services, now: datetime, *, dry_run: bool = False, should_stop=lambda: False,
               only: frozenset[int] | None = None) -> list[RunLine]:
    """``run_tick``, with the lines as values (``nippo remind`` explains them further)."""
    tick = TickTime(now, delivery_options(services).real_clock)
    if dry_run:
        catchup = timedelta(minutes=services.settings.catchup_minutes)
        with services.database.read() as session:
            dues, _subs = due_runs(session, now, catchup, only)
            return preview(services, session, tick, dues)
    owner = process_id()
    lines = plan_tick(services, tick, owner, only)
    finished: list[RunLine] = []
    if not should_stop():
        deliver(services, tick, owner, should_stop=should_stop)
        finished = finish_runs(services, tick)
        if any(line.status.startswith(FAILED) for line in finished) and not should_stop():
            deliver(services, tick, owner, should_stop=should_stop)  # tell the leaders now, not next tick
    by_run = {line.run_id: line for line in finished}
    for line in lines:
        done = by_run.pop(line.run_id, None)
        if done is not None:
            line.status = done.status
        elif line.status == "planned" and not should_stop():
            line.status = "sending (some messages wait for a retry)"
    lines += by_run.values()
    for line in lines:
        log.info("%s", line, extra={"run_id": line.run_id, "subscription_id": line.subscription_id})
    return lines


def make_tick(services):
    """The callable the scheduler thread runs every minute."""

    def tick(now: datetime, should_stop=lambda: False) -> list[str]:
        return run_tick(services, now, should_stop=should_stop)

    return tick
