"""Which runs are due, and claiming them.

A run's row is written once, already planned, by the transaction that plans
it (bot/reminders/planner.py); the unique (subscription, local date, slot)
lets exactly one process have it, whatever the replicas, restarts or
mid-day changes to the subscription, and a run recorded as skipped counts as
had. Only one process plans at a time (PostgreSQL: an advisory lock; SQLite:
its one writer), and it looks again at what was had once it holds that turn
(``still_due``): the runs found due before then may have been had since. A
run left claimed (waiting for the report source, or its planning failed)
holds a lease, so another process takes it over when that runs out; leases
are judged by the real clock, so a tick played ahead of time never takes
over a claim that is still held.

Besides the morning run (slot ``''``) a day may have nudges (``'again
HH:MM'``, in dm and both modes, after a morning run that was sent) and a week
its digest (``'digest'``, at most one in any seven days). They are found in
the same few queries as the morning runs, whatever the number of subscriptions.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from bot import calendar
from bot.reminders import snapshot
from bot.reminders.common import CLAIMED, DIGEST_SLOT, FAILED, RUN_LEASE, SENT, SKIPPED, TickTime, nudge_slot
from bot.reminders.snapshot import Sub
from db.idsets import in_ids
from db.models import MORNING, ReminderRun, Subscription

log = logging.getLogger("nippo.reminders")


class Due(NamedTuple):
    """A run whose time has come (a tuple, as each of the tick's many are)."""

    sub: Sub
    run: calendar.DueRun
    deadline: datetime
    slot: str = MORNING
    skip: str | None = None  # recorded as skipped for this reason, never sent

    @property
    def skip_reason(self) -> str | None:
        return "late" if self.run.late else self.skip


class Claim(NamedTuple):
    """A run this process holds and must plan (or record as waiting or failed)."""

    run_id: int
    sub: Sub
    local_date: date
    work_date: date
    deadline: datetime
    reason: str | None = None  # why an earlier try did not plan it (a new run: why it is skipped)
    slot: str = MORNING
    # A new run's; its row is written with its plan. None: a run taken over, whose row is there.
    scheduled_at: datetime | None = None


def due_runs(session: Session, now: datetime, catchup: timedelta,
             only: frozenset[int] | None = None) -> tuple[list[Due], dict[int, Sub]]:
    """Runs whose time has come and that no process has had yet: three queries.
    ``only``: these subscriptions' runs, no other (``nippo remind --channel``)."""
    subs = snapshot.active_subscriptions(session)
    if only is not None:
        subs = [sub for sub in subs if sub.id in only]
    off = snapshot.days_off(session, now.date() - snapshot.DAYS_OFF_LOOKBACK)
    candidates, timings = [], {}
    for sub in subs:
        try:
            candidates += _candidates(sub, sub.schedule(off.get(sub.team_id, frozenset())), now, catchup, timings)
        except Exception:  # a setting the calendar refuses (only old rows): the others still run
            log.exception("subscription %s: cannot compute its schedule; skipped", sub.id)
    return still_due(session, candidates), {s.id: s for s in subs}


def still_due(session: Session, dues: list[Due]) -> list[Due]:
    """The runs no process has had: one query, whatever their number."""
    dates = {due.run.local_date for due in dues}
    # A digest looks back a week: one in the six days before means this week had it.
    digest_dates = {due.run.local_date for due in dues if due.slot == DIGEST_SLOT}
    dates |= {day - timedelta(days=n) for day in digest_dates for n in range(1, calendar.DIGEST_GAP.days)}
    had = snapshot.runs_on(session, dates)
    digests: dict[int, list[date]] = {}  # subscription -> the days it had a digest (a few, if any)
    for sub_id, local_date, slot in had:
        if slot == DIGEST_SLOT:
            digests.setdefault(sub_id, []).append(local_date)
    return [d for d in (_judged(d, had, digests) for d in dues) if d is not None]


def _candidates(sub: Sub, schedule: calendar.Schedule, now: datetime, catchup: timedelta,
                timings: dict) -> list[Due]:
    """The runs of one subscription whose time has come, had or not.
    ``timings`` keeps what each distinct schedule gave: thousands of
    subscriptions share a handful, and each is worked out once a tick."""
    key = (schedule, sub.nudges(), sub.digest())
    found = timings.get(key)
    if found is None:
        found = timings[key] = _timings(schedule, key[1], key[2], now, catchup)
    return [Due(sub, run, deadline, slot, skip) for run, deadline, slot, skip in found]


def _timings(schedule: calendar.Schedule, nudges: tuple, weekly: tuple | None, now: datetime,
             catchup: timedelta) -> list[tuple]:
    """(run, deadline, slot, why skipped) of each run of ``schedule`` whose time has come."""
    found = []
    run = calendar.due_run(schedule, now, catchup)
    if run is not None:
        found.append((run, run.scheduled_at + catchup, MORNING, None))
    for at in nudges:
        nudge = calendar.due_nudge(schedule, at, now, catchup)
        if nudge is not None:
            found.append((nudge, nudge.scheduled_at + catchup, nudge_slot(at), None))
    if weekly is not None:
        digest = calendar.due_digest(schedule, *weekly, now, catchup)
        if digest is not None:
            # its work date is the last work day of its week, or no work day when the week had none
            skip = None if calendar.is_work_day(schedule, digest.work_date) else "no work day"
            found.append((digest, digest.scheduled_at + catchup, DIGEST_SLOT, skip))
    return found


def _judged(due: Due, had: dict, digests: dict[int, list[date]]) -> Due | None:
    """The candidate if no process has had it: a nudge follows a morning run
    that went out (and waits while that one is still on its way); a digest
    comes at most once in seven days (``digests``: the days each subscription had one)."""
    sub_id, local_date = due.sub.id, due.run.local_date
    if (sub_id, local_date, due.slot) in had:
        return None
    if due.slot == DIGEST_SLOT:
        recent = any(timedelta(0) < local_date - day < calendar.DIGEST_GAP for day in digests.get(sub_id, ()))
        return None if recent else due
    if due.slot != MORNING:
        morning = had.get((sub_id, local_date, MORNING))
        if morning in (SKIPPED, FAILED):
            return due._replace(skip="no morning reminder")
        if morning != SENT and not due.run.late:
            return None  # no morning run yet, or it is still on its way: later
    return due


def claim(session: Session, dues: list[Due]) -> tuple[list[Claim], list[Claim]]:
    """The runs to plan and those to record as skipped, each with the id its
    row will have; nothing is written yet (the planner writes each row with
    its plan). To be called in the transaction that writes them, once no
    other process can (see ``still_due``)."""
    claims, skipped = [], []
    # One run per subscription, local date and slot, whatever an old row's settings repeat ('13:00,13:00'):
    # the runs are written without a conflict clause.
    firsts: dict[tuple, Due] = {}
    for due in dues:
        firsts.setdefault((due.sub.id, due.run.local_date, due.slot), due)
    dues = list(firsts.values())
    for run_id, due in zip(new_run_ids(session, len(dues)), dues):
        (skipped if due.skip_reason else claims).append(claim_of(due, run_id))
    return claims, skipped


def claim_of(due: Due, run_id: int) -> Claim:
    """A due run as the new run ``run_id`` (a skipped one's reason is why)."""
    return Claim(run_id, due.sub, due.run.local_date, due.run.work_date, due.deadline, due.skip_reason, due.slot,
                 due.run.scheduled_at)


def claim_of_stale(stale: snapshot.Stale, sub: Sub) -> Claim:
    """A claimed run whose lease ran out, as this process's claim of it."""
    return Claim(stale.run_id, sub, stale.local_date, stale.work_date, stale.deadline, stale.reason, stale.slot)


def new_run_ids(session: Session, count: int) -> list[int]:
    """``count`` ids no other run has or will be given: the outbox rows name
    their run before its row is written."""
    if not count:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return list(session.scalars(text("SELECT nextval(pg_get_serial_sequence('reminder_runs', 'id'))"
                                         " FROM generate_series(1, :count)"), {"count": count}))
    # SQLite: this transaction is its one writer until it ends, and the ids follow the highest there is
    highest = session.scalar(select(func.max(ReminderRun.id))) or 0
    return list(range(highest + 1, highest + count + 1))


def take_over(session: Session, tick: TickTime, owner: str, subs: dict[int, Sub],
              only: frozenset[int] | None = None, among: set[int] | None = None) -> list[Claim]:
    """Claimed runs whose lease ran out (a dead claimant, or a run waiting for
    the report source) become this process's; ``among``: these runs' only."""
    real_now = tick.real_now()
    stale = snapshot.stale_claims(session, real_now)
    if only is not None:
        stale = [s for s in stale if s.subscription_id in only]
    if among is not None:
        stale = [s for s in stale if s.run_id in among]
    if not stale:
        return []
    missing_subs = {s.subscription_id for s in stale} - set(subs)
    if missing_subs:  # ``subs`` holds the active ones; any other is disabled, paused or gone
        active = set(session.scalars(select(Subscription.id).where(
            in_ids(session, Subscription.id, missing_subs, "subs"), Subscription.enabled.is_(True),
            Subscription.paused.is_(False))))
        subs = {**subs, **snapshot.subscriptions_by_id(session, active)}
    off = [s.run_id for s in stale if s.subscription_id not in subs]
    if off:  # a run of a subscription switched off since it was claimed: never sent
        session.execute(update(ReminderRun)
                        .where(in_ids(session, ReminderRun.id, off, "runs"), ReminderRun.state == CLAIMED,
                               ReminderRun.lease_until <= real_now)
                        .values(state=SKIPPED, reason="subscription off", lease_until=None, finished_at=tick.now)
                        .execution_options(synchronize_session=False))
    stale = [s for s in stale if s.subscription_id in subs]
    if not stale:
        return []
    taken = set(session.scalars(
        update(ReminderRun)
        .where(in_ids(session, ReminderRun.id, [s.run_id for s in stale], "runs"), ReminderRun.state == CLAIMED,
               ReminderRun.lease_until <= real_now)
        .values(claimed_by=owner, lease_until=tick.lease(RUN_LEASE))
        .returning(ReminderRun.id)
        .execution_options(synchronize_session=False)
    ))
    return [claim_of_stale(s, subs[s.subscription_id])
            for s in stale if s.run_id in taken and s.subscription_id in subs]
