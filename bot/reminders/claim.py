"""Which runs are due, and claiming them.

Inserting the ReminderRun row is the claim: the unique (subscription, local
date) lets exactly one process in, whatever the replicas, restarts or
mid-day changes to the subscription; a run recorded as skipped counts as had.
A claim holds a lease so a claimant that dies is taken over; leases are
judged by the real clock, so a tick played ahead of time never takes over a
claim that is still held.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import calendar
from bot.reminders import snapshot
from bot.reminders.bulk import insert_ignoring_conflicts
from bot.reminders.common import CLAIMED, RUN_LEASE, SKIPPED, TickTime
from bot.reminders.snapshot import Sub
from db.models import ReminderRun, Subscription

log = logging.getLogger("nippo.reminders")


@dataclass(frozen=True)
class Due:
    sub: Sub
    run: calendar.DueRun
    deadline: datetime


@dataclass(frozen=True)
class Claim:
    """A run this process holds and must plan (or record as waiting or failed)."""

    run_id: int
    sub: Sub
    local_date: date
    work_date: date
    deadline: datetime
    reason: str | None = None  # why an earlier try did not plan it


def due_runs(session: Session, now: datetime, catchup: timedelta,
             only: frozenset[int] | None = None) -> tuple[list[Due], dict[int, Sub]]:
    """Runs whose time has come and that no process has had yet: three queries.
    ``only``: these subscriptions' runs, no other (``nippo remind --channel``)."""
    subs = snapshot.active_subscriptions(session)
    if only is not None:
        subs = [sub for sub in subs if sub.id in only]
    off = snapshot.days_off(session, now.date() - snapshot.DAYS_OFF_LOOKBACK)
    candidates = []
    for sub in subs:
        try:
            schedule = sub.schedule(off.get(sub.team_id, frozenset()))
            run = calendar.due_run(schedule, now, catchup)
        except Exception:  # a setting the calendar refuses (only old rows): the others still run
            log.exception("subscription %s: cannot compute its schedule; skipped", sub.id)
            continue
        if run is not None:
            candidates.append(Due(sub, run, run.scheduled_at + catchup))
    had = snapshot.runs_on(session, {due.run.local_date for due in candidates})
    return [d for d in candidates if (d.sub.id, d.run.local_date) not in had], {s.id: s for s in subs}


def claim(session: Session, dues: list[Due], tick: TickTime, owner: str) -> tuple[list[Claim], list[Due]]:
    """Insert the runs: late ones as skipped, the rest claimed by ``owner``.
    Returns what this process won; another process's row makes ours vanish."""
    now = tick.now
    lease = tick.lease(RUN_LEASE)
    rows = [{
        "subscription_id": due.sub.id, "local_date": due.run.local_date, "work_date": due.run.work_date,
        "state": SKIPPED if due.run.late else CLAIMED, "reason": "late" if due.run.late else None,
        "claimed_by": owner, "lease_until": None if due.run.late else lease,
        "scheduled_at": due.run.scheduled_at, "deadline": due.deadline, "created_at": now,
        "finished_at": now if due.run.late else None,
    } for due in dues]
    won = dict(insert_ignoring_conflicts(session, ReminderRun, rows, returning=("subscription_id", "id")))
    claims, skipped = [], []
    for due in dues:
        run_id = won.get(due.sub.id)
        if run_id is None:
            continue
        if due.run.late:
            skipped.append(due)
        else:
            claims.append(Claim(run_id, due.sub, due.run.local_date, due.run.work_date, due.deadline))
    return claims, skipped


def take_over(session: Session, tick: TickTime, owner: str, subs: dict[int, Sub],
              only: frozenset[int] | None = None) -> list[Claim]:
    """Claimed runs whose lease ran out (a dead claimant, or a run waiting for
    the report source) become this process's."""
    real_now = tick.real_now()
    stale = snapshot.stale_claims(session, real_now)
    if only is not None:
        stale = [s for s in stale if s.subscription_id in only]
    if not stale:
        return []
    missing_subs = {s.subscription_id for s in stale} - set(subs)
    if missing_subs:  # ``subs`` holds the active ones; any other is disabled, paused or gone
        active = set(session.scalars(select(Subscription.id).where(
            Subscription.id.in_(sorted(missing_subs)), Subscription.enabled.is_(True),
            Subscription.paused.is_(False))))
        subs = {**subs, **snapshot.subscriptions_by_id(session, active)}
    off = [s.run_id for s in stale if s.subscription_id not in subs]
    if off:  # a run of a subscription switched off since it was claimed: never sent
        session.execute(update(ReminderRun)
                        .where(ReminderRun.id.in_(off), ReminderRun.state == CLAIMED,
                               ReminderRun.lease_until <= real_now)
                        .values(state=SKIPPED, reason="subscription off", lease_until=None, finished_at=tick.now)
                        .execution_options(synchronize_session=False))
    stale = [s for s in stale if s.subscription_id in subs]
    if not stale:
        return []
    taken = set(session.scalars(
        update(ReminderRun)
        .where(ReminderRun.id.in_([s.run_id for s in stale]), ReminderRun.state == CLAIMED,
               ReminderRun.lease_until <= real_now)
        .values(claimed_by=owner, lease_until=tick.lease(RUN_LEASE))
        .returning(ReminderRun.id)
        .execution_options(synchronize_session=False)
    ))
    return [Claim(s.run_id, subs[s.subscription_id], s.local_date, s.work_date, s.deadline, s.reason)
            for s in stale if s.run_id in taken and s.subscription_id in subs]
