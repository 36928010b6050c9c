"""``nippo remind``: one tick, explained.

The scheduler's tick says what it did to the runs it touched; a person who
plays a morning by hand also wants to know why the other subscriptions did
nothing. So before the tick this reads, without writing, what each active
subscription looks like at the tick's time (due, not a work day, not yet
time, already had its run...), then runs the tick (limited to one channel
with ``--channel``) and prints one line per subscription.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot import calendar
from bot.reminders import snapshot
from bot.reminders.common import DIGEST_SLOT, nudge_time
from bot.reminders.planner import RunLine
from bot.reminders.snapshot import Sub
from bot.tick import tick_lines
from bot.reminders.common import DIGEST_SLOT, nudge_time
from db.models import MORNING


class NoSuchChannel(Exception):
    """``--channel`` names no active subscription, or more than one."""


@dataclass(frozen=True)
class Considered:
    sub: Sub
    run: calendar.DueRun | None
    reason: str  # why nothing goes out; "" when the run is due


def tick_instant(at: datetime | None, zone: str, now: datetime) -> tuple[datetime, str]:
    """The tick's aware instant and a line saying which one it is: ``--at``
    without a UTC offset is wall-clock time in ``zone`` (NIPPO_TIMEZONE)."""
    if at is not None and at.tzinfo is not None:  # an instant as given: shown as given
        utc = at.astimezone(timezone.utc)
        return utc, f"tick at {at.isoformat(timespec='seconds')} = {utc:%Y-%m-%dT%H:%M:%SZ} (--at)"
    if at is None:
        instant, how = now, "now"
    else:
        instant, how = at.replace(tzinfo=ZoneInfo(zone)), f"--at read in NIPPO_TIMEZONE={zone}"
    local = instant.astimezone(ZoneInfo(zone))
    utc = instant.astimezone(timezone.utc)
    return utc, f"tick at {local.isoformat(timespec='seconds')} {zone} = {utc:%Y-%m-%dT%H:%M:%SZ} ({how})"


def channel_subscription(services, channel: str) -> int:
    """The id of the one active subscription of ``channel`` (a name or a channel id)."""
    with services.database.read() as session:
        return _the_channel(snapshot.active_subscriptions(session), channel).id


def remind(services, now: datetime, *, dry_run: bool = False, only: int | None = None) -> list[str]:
    """The tick at ``now`` and one line (or more) per subscription it considered;
    ``only``: that subscription's, leaving every other alone."""
    catchup = timedelta(minutes=services.settings.catchup_minutes)
    with services.database.read() as session:
        subs = [sub for sub in snapshot.active_subscriptions(session) if only in (None, sub.id)]
        considered = _consider(session, subs, now, catchup)
    lines = tick_lines(services, now, dry_run=dry_run, only=None if only is None else frozenset({only}))
    if only is not None:
        lines = [line for line in lines if line.subscription_id == only]
    if not considered and not lines:
        return ["no active subscription: nothing to do (a channel subscribes with /subscribe)"]

    by_sub: dict[int, list[RunLine]] = {}
    for line in lines:
        by_sub.setdefault(line.subscription_id, []).append(line)
    out: list[str] = []
    for item in considered:
        head = f"~{item.sub.channel_name} (subscription {item.sub.id})"
        touched = by_sub.pop(item.sub.id, [])
        if item.run is not None and item.run.late:
            late = int((now - item.run.scheduled_at - catchup).total_seconds() // 60)
            due_at = item.run.scheduled_at.astimezone(ZoneInfo(item.sub.timezone))
            verb = "would be skipped" if dry_run else "skipped"
            out.append(f"{head}: {verb}: too late by {late} minutes (due {due_at:%Y-%m-%d %H:%M} "
                       f"{item.sub.timezone}; a run may be up to {services.settings.catchup_minutes} minutes late)")
            touched = [t for t in touched if t.slot != MORNING or t.work_date != item.run.work_date]
        elif touched:
            pass  # the lines below say what happened (a nudge, the digest, a run an earlier tick left waiting)
        elif item.reason:
            out.append(f"{head}: nothing due: {item.reason}")
        else:
            out.append(f"{head}: due, but another process claimed it first")
        for line in touched:
            out += _run_lines(head, line)
    for rest in by_sub.values():  # runs of earlier ticks that this one finished
        for line in rest:
            out += _run_lines(f"~{line.channel_name} (subscription {line.subscription_id})", line)
    return out


def _the_channel(subs: list[Sub], channel: str) -> Sub:
    wanted = channel.removeprefix("~")
    found = [sub for sub in subs if wanted in (sub.channel_name, sub.channel_id)]
    if len(found) == 1:
        return found[0]
    if found:
        ids = ", ".join(sub.channel_id for sub in found)
        raise NoSuchChannel(f"--channel {channel}: several subscribed channels are called {wanted} "
                            f"(give the channel id instead: {ids})")
    known = ", ".join(f"~{sub.channel_name}" for sub in subs) or "none"
    raise NoSuchChannel(f"--channel {channel}: no active subscription in a channel called {wanted} "
                        f"(subscribed: {known})")


def _consider(session, subs: list[Sub], now: datetime, catchup: timedelta) -> list[Considered]:
    off = snapshot.days_off(session, now.date() - snapshot.DAYS_OFF_LOOKBACK)
    found = []
    for sub in subs:
        try:
            schedule = sub.schedule(off.get(sub.team_id, frozenset()))
            run = calendar.due_run(schedule, now, catchup)
        except Exception as error:  # a setting the calendar refuses: say so, the others still run
            found.append(Considered(sub, None, f"its schedule cannot be computed ({error})"))
            continue
        reason = "" if run is not None else calendar.why_not_due(schedule, now, catchup)
        found.append(Considered(sub, run, reason))
    had = snapshot.runs_on(session, {c.run.local_date for c in found if c.run is not None})
    return [Considered(c.sub, None, f"already had its run on {c.run.local_date.isoformat()} (local date)")
            if c.run is not None and (c.sub.id, c.run.local_date, MORNING) in had else c for c in found]


def _run_lines(head: str, line: RunLine) -> list[str]:
    """What one run did; a nudge and the weekly digest say which they are."""
    status = "would send" if line.status == "dry-run" else line.status.removeprefix("dry-run: ")
    if line.slot == DIGEST_SLOT:
        out = [f"{head}: weekly digest: {status} (up to work date {line.work_date.isoformat()})"]
    else:
        what = "" if line.slot == MORNING else f"nudge {nudge_time(line.slot)}: "
        missing = "" if line.missing is None else f", {line.missing} missing"
        out = [f"{head}: {what}{status} (work date {line.work_date.isoformat()}{missing})"]
    for target, text in line.messages:
        out.append(f"  → {target}")
        out += [f"    {row}" for row in text.splitlines()]
    return out
