"""What planning reads beyond rosters and filed dates, for the runs that need
it: the team calendars, report streaks (the long one a morning's miss would
end; a digest's longest), the work days a digest covers and the snoozes a
nudge must not cross. A few queries per tick, whatever the number of runs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot import calendar
from bot.reminders import snapshot
from bot.reminders.claim import Claim
from bot.reminders.common import DIGEST_SLOT
from bot.reminders.plan import Filed, who_is_missing
from db.models import MORNING
from db.streaks import MAX_STREAK_DAYS, Ask, streaks_for

# How far back a morning looks for the streak a miss would end: thousands of
# members are asked every morning, and two months tell a long streak.
KEPT_LOOKBACK_DAYS = 62


@dataclass
class Inputs:
    kept: dict[int, dict[int, int]] = field(default_factory=dict)  # run -> member -> streak before its work date
    digest_days: dict[int, list[date]] = field(default_factory=dict)  # run -> work days it covers
    digest_streaks: dict[int, dict[int, int]] = field(default_factory=dict)  # run -> member -> current streak
    # run -> member -> first expected work day, for members who joined during the digest's week
    digest_joined: dict[int, dict[int, date]] = field(default_factory=dict)
    snoozed: set = field(default_factory=set)  # (user id, work date) with a snoozed DM to come


def dates_of(claim: Claim) -> frozenset[date]:
    """The work dates a run is about (a digest: every day of its week). A
    tick asks this of each of its runs several times: the sets are shared."""
    if claim.slot != DIGEST_SLOT:
        return _day(claim.work_date)
    return _week(claim.sub.check_day, claim.local_date)


@functools.lru_cache(maxsize=1024)
def _day(work_date: date) -> frozenset[date]:
    return frozenset((work_date,))


@functools.lru_cache(maxsize=1024)
def _week(check_day: str, local_date: date) -> frozenset[date]:
    """A digest's dates: thousands of digests share a few weeks, each worked out once."""
    first, last = calendar.digest_window_by_check(check_day, local_date)
    return frozenset(first + timedelta(days=n) for n in range((last - first).days + 1))


def gather(session: Session, claims: list[Claim], rosters: dict, filed: Filed) -> Inputs:
    inputs = Inputs()
    mornings = [c for c in claims if c.slot == MORNING and c.sub.delivery in ("dm", "both")]
    digests = [c for c in claims if c.slot == DIGEST_SLOT]
    nudges = [c for c in claims if c.slot not in (MORNING, DIGEST_SLOT)]
    if nudges:
        inputs.snoozed = snapshot.snoozes_pending(session, {c.work_date for c in nudges})
    if not mornings and not digests:
        return inputs
    oldest = min(min(dates_of(c)) for c in mornings + digests)
    off = snapshot.days_off(session, oldest - timedelta(days=MAX_STREAK_DAYS))
    schedules = {c.sub.team_id: c.sub.schedule(off.get(c.sub.team_id, frozenset())) for c in mornings + digests}
    # One function per distinct calendar: most teams share theirs, and streaks work each out once.
    tests = {schedule: (lambda day, s=schedule: calendar.is_work_day(s, day)) for schedule in set(schedules.values())}
    calendars = {team_id: tests[schedule] for team_id, schedule in schedules.items()}

    kept_asks: dict[int, list[Ask]] = {}
    for c in mornings:
        missing, _expected = who_is_missing(rosters.get(c.sub.team_id, []), c.sub.team_id, c.work_date, filed)
        # streak_from skips the days off before the work date: as of the day before is the work day before
        kept_asks[c.run_id] = [Ask(m.member_id, c.sub.team_id, c.work_date - timedelta(days=1)) for m in missing]
    found = streaks_for(session, {a for asks in kept_asks.values() for a in asks}, calendars,
                        max_days=KEPT_LOOKBACK_DAYS) if kept_asks else {}
    inputs.kept = {run_id: {a.member_id: found[a] for a in asks} for run_id, asks in kept_asks.items()}

    digest_asks: dict[int, list[Ask]] = {}
    weeks: dict[tuple, list[date]] = {}  # (schedule, local date) -> work days: most digests share a few
    for c in digests:
        schedule = schedules[c.sub.team_id]
        if (schedule, c.local_date) not in weeks:
            weeks[(schedule, c.local_date)] = calendar.work_days_between(
                schedule, *calendar.digest_window(schedule, c.local_date))
        days = inputs.digest_days[c.run_id] = weeks[(schedule, c.local_date)]
        if days:
            # A member who neither filed nor was off on the week's last work
            # day has no streak: only the others are looked up (a digest lists
            # streaks of two and more).
            roster = rosters.get(c.sub.team_id, [])
            reported, off = filed.day(days[-1]).split(roster, frozenset(m.member_id for m in roster), c.sub.team_id)
            digest_asks[c.run_id] = [Ask(member_id, c.sub.team_id, days[-1]) for member_id in reported | off]
    found = streaks_for(session, {a for asks in digest_asks.values() for a in asks}, calendars) if digest_asks else {}
    inputs.digest_streaks = {run_id: {a.member_id: found[a] for a in asks} for run_id, asks in digest_asks.items()}
    inputs.digest_joined = _joined_during(session, digests, inputs.digest_days, calendars)
    return inputs


def _joined_during(session: Session, digests: list[Claim], digest_days: dict[int, list[date]],
                   calendars: dict) -> dict[int, dict[int, date]]:
    """run -> member -> first expected work day, for the members who joined
    the roster too late to be expected on the first work day of the digest's
    week (``calendar.first_expected_day``, the team page's rule)."""
    weeks = [(c, digest_days[c.run_id]) for c in digests if digest_days.get(c.run_id)]
    if not weeks:
        return {}
    # Only who joined on the week's second day or later is expected later
    # than its first work day: from that first day's midnight in UTC, every
    # time zone is covered.
    oldest = min(days[0] for _c, days in weeks)
    since = datetime.combine(oldest, time(0), timezone.utc)
    joins = snapshot.joined_since(session, {c.sub.team_id for c, _days in weeks}, since)
    found: dict[int, dict[int, date]] = {}
    # (calendar, time zone, check, second joined) -> first expected day: a team synced at once joined in one second
    firsts: dict[tuple, date] = {}
    for c, days in weeks:
        team_joins = joins.get(c.sub.team_id)
        if not team_joins:
            continue
        is_work_day = calendars[c.sub.team_id]
        late = {}
        for member_id, seconds in team_joins.items():
            key = (is_work_day, c.sub.timezone, c.sub.check_day, seconds)
            first = firsts.get(key)
            if first is None:
                joined = datetime.fromtimestamp(seconds, ZoneInfo(c.sub.timezone)).date()
                first = firsts[key] = calendar.first_expected_day(joined, is_work_day, c.sub.check_day)
            if first > days[0]:
                late[member_id] = first
        if late:
            found[c.run_id] = late
    return found
