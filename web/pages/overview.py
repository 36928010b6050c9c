"""A team's reporting over its last work days, as plain numbers for the
overview page: the rate per work day, today's filed and missing members,
each member's streak, on-time rate and calendar.

A handful of queries whatever the roster's size (see ``db.history``); the
rendered page is kept until the data version or the day changes (``cache``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot import calendar
from bot.outlook import days_off, outlook, schedule_of, work_day_test
from commands.status import default_work_date
from db import history, queries
from db.streaks import streak_from, streaks

WINDOWS = (30, 90)  # work days shown
# Cell states of the calendar.
FILED, MISSING, OFF, NOT_WORK, NOT_YET = "filed", "missing", "off", "rest", "none"


@dataclass
class DayRate:
    day: date
    filed: int
    expected: int  # on the roster that day, and not off

    @property
    def rate(self) -> float | None:
        return self.filed / self.expected if self.expected else None


@dataclass
class MemberLine:
    member_id: int
    username: str
    role: str
    streak: int
    filed: int
    on_time: int
    expected: int
    missing: int
    off: int
    cells: list[str] = field(default_factory=list)  # one state per calendar day

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.expected if self.expected else None


@dataclass
class Overview:
    as_of: date  # the work date today's status is about
    days: list[date]  # the calendar: every day of the window, oldest first
    rates: list[DayRate]  # one per work day of the window, oldest first
    members: list[MemberLine]
    filed_today: list[str]
    missing_today: list[str]
    off_today: list[str]
    subscribed: bool

    @property
    def average(self) -> float | None:
        filed = sum(r.filed for r in self.rates)
        expected = sum(r.expected for r in self.rates)
        return filed / expected if expected else None


def build(db, team, settings, now: datetime, window: int) -> Overview:
    subscription = queries.subscription_of(db, team.id)
    opened = today_of(db, team.id, settings, now)
    as_of, running, is_work_day = opened.as_of, opened.running, opened.is_work_day
    work_days = _last_work_days(as_of, window, is_work_day)
    first = work_days[0] if work_days else as_of
    calendar_days = [first + timedelta(days=n) for n in range((as_of - first).days + 1)]

    roster = history.roster_rows(db, team.id)
    zone = ZoneInfo(subscription.timezone if subscription is not None else settings.timezone)
    check = subscription.check_day if subscription is not None else "previous"
    joined = {r.member_id: calendar.first_expected_day(r.added_at.astimezone(zone).date(), is_work_day, check)
              for r in roster}
    reported: dict[int, dict[date, datetime]] = defaultdict(dict)
    for member_id, day, filed_at in history.filings(db, team.id, first, as_of):
        reported[member_id][day] = filed_at
    absent: dict[int, set[date]] = defaultdict(set)
    for member_id, day in history.days_off_of(db, team.id, first, as_of):
        absent[member_id].add(day)
    deadlines = _deadlines(db, team, subscription, settings, work_days)
    known = (work_days[0], {m: set(days) for m, days in reported.items()}, absent) if work_days else None
    current = streaks_today(db, team.id, [r.member_id for r in roster], opened, known)

    rates = {day: DayRate(day, 0, 0) for day in work_days}
    work = set(work_days)
    members = []
    for row in roster:
        mine, off = reported[row.member_id], absent[row.member_id]
        line = MemberLine(row.member_id, row.username, row.role, current.get(row.member_id, 0), 0, 0, 0, 0, 0)
        for day in calendar_days:
            state = _state(day, day in work, day >= joined[row.member_id], mine, off)
            line.cells.append(state)
            if day not in work or day < joined[row.member_id]:
                continue  # only work days on the roster are expected
            if state == FILED:
                rates[day].filed += 1
                rates[day].expected += 1
                line.filed += 1
                line.expected += 1
                line.on_time += mine[day] <= deadlines[day]
            elif state == MISSING:
                rates[day].expected += 1
                line.expected += 1
                line.missing += 1
            elif state == OFF:
                line.off += 1
        members.append(line)

    latest = {line.username: line.cells[-1] if line.cells else NOT_YET for line in members}
    return Overview(
        as_of=as_of, days=calendar_days, rates=[rates[d] for d in work_days], members=members,
        filed_today=[n for n, s in latest.items() if s == FILED],
        missing_today=[n for n, s in latest.items() if s == MISSING],
        off_today=[n for n, s in latest.items() if s == OFF],
        subscribed=running is not None)


@dataclass(frozen=True)
class Today:
    as_of: date  # the work date today's status is about (as /report-status)
    running: object  # the subscription, if its reminders run
    still_open: bool  # its reminder has not gone out yet
    is_work_day: Callable[[date], bool]


def today_of(db, team_id: int, settings, now: datetime) -> Today:
    subscription = queries.subscription_of(db, team_id)
    running = subscription if subscription is not None and subscription.enabled and not subscription.paused else None
    as_of, _ = default_work_date(db, running, now, settings)
    still_open = running is not None and outlook(
        db, running, now, timedelta(minutes=settings.catchup_minutes)).todays_work_date is None
    return Today(as_of, running, still_open, work_day_test(db, team_id))


def streaks_today(db, team_id: int, member_ids: list[int], day: Today, known=None) -> dict[int, int]:
    """Streaks (db.streaks) up to the work day before today's date, then that
    date on top: a day whose reminder has not gone out yet is still open, and
    not having filed it yet breaks no streak.

    ``known`` is (first day, member -> dates filed, member -> dates off) already
    read for a window ending today: a streak broken inside it is counted from
    those, and only the members whose streak reaches further back are looked
    up in the database (a team's year is tens of thousands of rows)."""
    before = _last_work_days(day.as_of - timedelta(days=1), 1, day.is_work_day)
    until = before[0] if before else day.as_of
    base: dict[int, int] = {}
    lookup = list(member_ids)
    if known is not None:
        first, filed_on, off_on = known
        window = [d for d in _days_between(first, until) if day.is_work_day(d)]
        lookup = []
        for member_id in member_ids:
            mine, off = filed_on.get(member_id, set()), off_on.get(member_id, set())
            if all(d in mine or d in off for d in window):
                lookup.append(member_id)  # unbroken across the window: count from the whole history
            else:
                base[member_id] = streak_from(until, day.is_work_day, mine, off)
    if lookup:
        base.update(streaks(db, lookup, team_id, until, day.is_work_day))
    filed, off = queries.filed_and_off(db, member_ids, day.as_of, team_id)
    result = {}
    for member_id in member_ids:
        if member_id in filed:
            result[member_id] = base[member_id] + 1
        else:
            result[member_id] = base[member_id] if member_id in off or day.still_open else 0
    return result


def _days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _state(day: date, work: bool, on_roster: bool, reported: dict, off: set) -> str:
    if day in reported:
        return FILED  # a report wins over an absence, and counts on any day
    if not on_roster:
        return NOT_YET
    if not work:
        return NOT_WORK
    return OFF if day in off else MISSING


def _last_work_days(as_of: date, count: int, is_work_day) -> list[date]:
    """The last ``count`` work days up to ``as_of``, oldest first."""
    found: list[date] = []
    day = as_of
    for _ in range(count * 3 + 60):  # weekends, holidays and long breaks included
        if is_work_day(day):
            found.append(day)
            if len(found) == count:
                break
        day -= timedelta(days=1)
    return found[::-1]


def _deadlines(db, team, subscription, settings, work_days: list[date]) -> dict[date, datetime]:
    """By when each work date's report was on time: before the reminder that
    checked it went out (as recorded, else as the schedule says it would)."""
    sent = history.run_times(db, team.id, work_days[0], work_days[-1]) if work_days else {}
    if subscription is not None:
        schedule = schedule_of(subscription, days_off(db, team.id))
    else:
        schedule = calendar.Schedule(at=time(9, 0), timezone=settings.timezone, weekdays=frozenset(range(5)),
                                     holiday_country=None, days_off=days_off(db, team.id))
    return {day: sent.get(day) or _reminder_time(schedule, day) for day in work_days}


def _reminder_time(schedule: calendar.Schedule, work_date: date) -> datetime:
    run_day = work_date
    if schedule.check != "same-day":
        for _ in range(400):
            run_day += timedelta(days=1)
            if calendar.is_work_day(schedule, run_day):
                break
    return calendar.scheduled_at(schedule, run_day)
