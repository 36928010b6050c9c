"""Work-day calendar: when a subscription's reminder runs and which work date it checks.

Pure functions of a `Schedule` and a clock; nothing here reads the time or
touches the database, so the scheduler, `nippo remind --at` and the tests share
one code path (docs/reminders.md: work dates, when a run is due).
"""
from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from holidays.registry import EntityLoader

from bot.holiday_calendars import load_countries_lazily

load_countries_lazily()  # before any calendar is built: only the countries asked for are loaded

CHECKS = ("previous", "same-day")
DEFAULT_CATCHUP = timedelta(minutes=180)

# How far the calendar walks before concluding there is no such day.
_LOOKBACK_DAYS = 366
_LOOKAHEAD_DAYS = 400


@dataclass(frozen=True)
class Schedule:
    at: dt.time  # local wall-clock time of the reminder
    timezone: str  # IANA name
    weekdays: frozenset[int]  # Mon=0 … Sun=6
    holiday_country: str | None  # e.g. 'JP'; None = no public holidays
    days_off: frozenset[date]  # team days off (company holidays)
    check: str = "previous"  # 'previous' | 'same-day'

    def __post_init__(self) -> None:
        if self.check not in CHECKS:
            raise ValueError(f"check must be one of {', '.join(CHECKS)}, not {self.check!r}")
        if any(not 0 <= d <= 6 for d in self.weekdays):
            raise ValueError(f"weekdays must be 0 (Mon) to 6 (Sun): {sorted(self.weekdays)}")
        _zone(self.timezone)
        if self.holiday_country is not None:
            _normalize_country(self.holiday_country)

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone)


@dataclass(frozen=True)
class DueRun:
    local_date: date
    work_date: date
    scheduled_at: datetime  # aware, UTC
    late: bool  # past the catch-up window: record as skipped, never send


# --- public holidays -------------------------------------------------------

# Building a `holidays` calendar is slow, and ticks ask about the same few
# (country, year) pairs all day long, from the scheduler and web threads.
_holiday_cache: dict[tuple[str, int], frozenset[date]] = {}
_holiday_lock = threading.Lock()
_supported: frozenset[str] | None = None


def supported_countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes accepted by `/subscribe holidays CC`."""
    global _supported
    if _supported is None:
        _supported = frozenset(country_codes(include_aliases=False))
    return _supported


def country_codes(*, include_aliases: bool) -> list[str]:
    """The codes of the countries the `holidays` package has calendars for,
    read from its registry. ``holidays.list_supported_countries`` gives the
    same codes but imports every country's module to list its subdivisions,
    which a process then holds for good (some 8 MiB): only the calendars a
    subscription names need loading."""
    return list(EntityLoader.get_country_codes(include_aliases=include_aliases))


def _normalize_country(country: str) -> str:
    code = country.strip().upper()
    if code not in supported_countries():
        raise ValueError(f"unknown public-holiday country {country!r} (use an ISO code such as JP, or none)")
    return code


def public_holidays(country: str | None, year: int) -> frozenset[date]:
    """The country's public holidays in `year`, substitute holidays included."""
    if country is None:
        return frozenset()
    code = _normalize_country(country)
    key = (code, year)
    cached = _holiday_cache.get(key)
    if cached is not None:
        return cached
    with _holiday_lock:
        cached = _holiday_cache.get(key)
        if cached is None:
            # A frozenset, not the library's lazily-expanding dict, so threads
            # share nothing mutable.
            cached = frozenset(holidays.country_holidays(code, years=year).keys())
            _holiday_cache[key] = cached
        return cached


# --- work days and work dates ----------------------------------------------

def is_work_day(schedule: Schedule, day: date) -> bool:
    return (
        day.weekday() in schedule.weekdays
        and day not in schedule.days_off
        and day not in public_holidays(schedule.holiday_country, day.year)
    )


def work_date_for(schedule: Schedule, local_date: date) -> date | None:
    """The work date a run on `local_date` checks; None when no run happens that day."""
    if not is_work_day(schedule, local_date):
        return None
    if schedule.check == "same-day":
        return local_date
    for back in range(1, _LOOKBACK_DAYS + 1):
        day = local_date - timedelta(days=back)
        if is_work_day(schedule, day):
            return day
    return None


def recent_work_dates(schedule: Schedule, before: date, count: int) -> list[date]:
    """The last `count` work dates strictly before `before`, newest first."""
    found: list[date] = []
    day, idle = before, 0
    while len(found) < count and idle < _LOOKBACK_DAYS:
        day -= timedelta(days=1)
        if is_work_day(schedule, day):
            found.append(day)
            idle = 0
        else:
            idle += 1
    return found


def first_expected_day(joined: date, is_work_day, check: str) -> date:
    """A roster member's first expected work day: the one the reminders of the
    first work day on or after the day they joined check, whatever the hour
    they joined (with `check previous` the last work day before that day, with
    `same-day` the day itself). Days before it are not counted for them — not
    in a digest's rates, not on the team's web page. ``is_work_day``: the
    team's calendar, a date test; ``check``: the subscription's."""
    first_work_day = _work_day_from(joined, is_work_day, step=1)
    if first_work_day is None:
        return joined
    if check == "same-day":
        return first_work_day
    return _work_day_from(first_work_day - timedelta(days=1), is_work_day, step=-1) or first_work_day


def _work_day_from(day: date, is_work_day, *, step: int) -> date | None:
    """The first work day from ``day`` on (``step`` 1) or back (-1), within
    two months: weekends, holidays and long breaks included."""
    for _ in range(63):
        if is_work_day(day):
            return day
        day += timedelta(days=step)
    return None


def last_weekday_before(day: date) -> date:
    """The previous Monday–Friday day (for /report-status without a subscription)."""
    day -= timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


# --- clock -----------------------------------------------------------------

def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)  # ZoneInfo caches instances itself
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a folder such as "America"
        raise ValueError(f"unknown time zone {name!r}") from exc


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")


def local_date_at(schedule: Schedule, now: datetime) -> date:
    _require_aware(now)
    return now.astimezone(schedule.zone).date()


def scheduled_at(schedule: Schedule, local_date: date) -> datetime:
    """The aware UTC instant of the run on `local_date`.

    An ambiguous wall time (fall back) means its first occurrence (fold=0). A
    wall time that does not exist (spring forward) means the first instant
    after the gap, i.e. the transition itself.
    """
    zone = schedule.zone
    wall = datetime.combine(local_date, schedule.at.replace(tzinfo=None, fold=0))
    first = wall.replace(tzinfo=zone).astimezone(timezone.utc)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # In a gap, fold=0 reads the wall time with the offset from before the
    # transition and fold=1 with the one after; the transition lies between.
    return _transition_between(
        wall.replace(tzinfo=zone, fold=1).astimezone(timezone.utc), first, zone
    )


def _transition_between(lo: datetime, hi: datetime, zone: ZoneInfo) -> datetime:
    """The earliest UTC instant in (lo, hi] whose offset is hi's (whole seconds)."""
    if lo > hi:
        lo, hi = hi, lo
    target = hi.astimezone(zone).utcoffset()
    lo_s, hi_s = int(lo.timestamp()), int(hi.timestamp())
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == target:
            hi_s = mid
        else:
            lo_s = mid
    return datetime.fromtimestamp(hi_s, timezone.utc)


def due_run(schedule: Schedule, now: datetime, catchup: timedelta) -> DueRun | None:
    """Today's run if its time has come: today is local to the schedule's zone.

    Whether a run already exists for that local date is the caller's (the
    database's) business; a late run is returned so it can be recorded as
    skipped.
    """
    today = local_date_at(schedule, now)
    todays = _run_on(schedule, today, now, catchup)
    if todays is not None:
        return todays
    # A late evening run whose catch-up window reaches past local midnight is
    # still yesterday's run: without this, a tick at 00:10 would lose a 23:30 run.
    yesterdays = _run_on(schedule, today - timedelta(days=1), now, catchup)
    if yesterdays is not None and not yesterdays.late:
        return yesterdays
    return None


def _run_on(schedule: Schedule, local_date: date, now: datetime, catchup: timedelta) -> DueRun | None:
    work_date = work_date_for(schedule, local_date)
    if work_date is None:
        return None
    at = scheduled_at(schedule, local_date)
    if at > now:
        return None
    return DueRun(local_date, work_date, at, late=now - at > catchup)


def next_run_at(
    schedule: Schedule,
    now: datetime,
    *,
    had_run_today: bool,
    catchup: timedelta = DEFAULT_CATCHUP,
) -> datetime | None:
    """When the next reminder will go out, for replies such as /subscribe's.

    An aware UTC datetime; `now` itself when today's run is due, not yet had
    and still within the catch-up window: the next tick sends it.
    """
    if not schedule.weekdays:
        return None
    today = local_date_at(schedule, now)
    if not had_run_today and work_date_for(schedule, today) is not None:
        at = scheduled_at(schedule, today)
        if at > now:
            return at
        if now - at <= catchup:
            return now.astimezone(timezone.utc)
    for ahead in range(1, _LOOKAHEAD_DAYS + 1):
        day = today + timedelta(days=ahead)
        if work_date_for(schedule, day) is not None:
            return scheduled_at(schedule, day)
    return None


# --- why nothing is due (``nippo remind`` explains itself) -------------------

_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def holiday_name(country: str | None, day: date) -> str | None:
    """The public holiday's name on ``day`` (in English), or None."""
    if country is None or day not in public_holidays(country, day.year):
        return None
    return holidays.country_holidays(_normalize_country(country), years=day.year).get(day) or "public holiday"


def why_not_work_day(schedule: Schedule, day: date) -> str:
    if day.weekday() not in schedule.weekdays:
        return f"not a work day ({_WEEKDAY_NAMES[day.weekday()]})"
    if day in schedule.days_off:
        return "team day off"
    name = holiday_name(schedule.holiday_country, day)
    if name is not None:
        return f"public holiday ({name})"
    return "no work date to check"


def why_not_due(schedule: Schedule, now: datetime, catchup: timedelta) -> str:
    """Why ``due_run`` found no run at ``now``, in words for the person who asked."""
    today = local_date_at(schedule, now)
    if work_date_for(schedule, today) is None:
        return f"{why_not_work_day(schedule, today)} on {today.isoformat()} in {schedule.timezone}"
    at = scheduled_at(schedule, today)
    if at > now:
        minutes = -(-int((at - now).total_seconds()) // 60)  # rounded up: "in 0 minutes" would be wrong
        return (f"not yet time: {at.astimezone(schedule.zone):%H:%M} {schedule.timezone}, "
                f"in {minutes} minute{'s' if minutes != 1 else ''}")
    return "not due"  # due_run would have returned the run: nothing to explain


# --- nudges and the weekly digest --------------------------------------------

def due_nudge(schedule: Schedule, at: dt.time, now: datetime, catchup: timedelta) -> DueRun | None:
    """A nudge (`again HH:MM`) due at ``now``: the day's run as if it were at
    ``at``, so it has the same local date and work date as the morning run."""
    return due_run(replace(schedule, at=at), now, catchup)


def digest_window(schedule: Schedule, local_date: date) -> tuple[date, date]:
    """The seven days a digest on ``local_date`` sums up, first and last. They
    end with the last day it can judge: with `check previous` a day's reports
    are due the next morning, so the day before; with `same-day`, the day itself."""
    return digest_window_by_check(schedule.check, local_date)


def digest_window_by_check(check: str, local_date: date) -> tuple[date, date]:
    """``digest_window`` of a schedule whose `check` is ``check``: nothing else of it counts."""
    last = local_date if check == "same-day" else local_date - timedelta(days=1)
    return last - timedelta(days=6), last


def work_days_between(schedule: Schedule, first: date, last: date) -> list[date]:
    """Work days from ``first`` to ``last``, both included, oldest first."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)
            if is_work_day(schedule, first + timedelta(days=n))]


def due_digest(schedule: Schedule, weekday: int, at: dt.time, now: datetime,
               catchup: timedelta) -> DueRun | None:
    """This week's digest if its time has come. ``work_date`` is the last work
    day it covers (the window's last day when it covers none: then it is skipped)."""
    weekly = replace(schedule, at=at)
    today = local_date_at(weekly, now)
    for local_date in (today, today - timedelta(days=1)):  # a late evening digest reaches past midnight
        if local_date.weekday() != weekday:
            continue
        scheduled = scheduled_at(weekly, local_date)
        if scheduled > now:
            return None
        late = now - scheduled > catchup
        if local_date != today and late:
            return None
        first, last = digest_window(schedule, local_date)
        days = work_days_between(schedule, first, last)
        return DueRun(local_date, days[-1] if days else last, scheduled, late=late)
    return None


DIGEST_GAP = timedelta(days=7)  # at most one digest in any seven days, whatever changes to its day


def next_weekly_at(schedule: Schedule, weekday: int, at: dt.time, now: datetime, *, last: date | None,
                   catchup: timedelta = DEFAULT_CATCHUP) -> datetime:
    """When the next weekly post (the digest) at ``at`` on ``weekday`` goes
    out, given the local date of the ``last`` one; ``now`` itself when it is
    due and not yet had, as next_run_at says."""
    weekly = replace(schedule, at=at)
    today = local_date_at(weekly, now)
    for ahead in range(15):
        day = today + timedelta(days=ahead)
        if day.weekday() != weekday or (last is not None and day - last < DIGEST_GAP):
            continue
        at_day = scheduled_at(weekly, day)
        if at_day > now:
            return at_day
        if now - at_day <= catchup:
            return now.astimezone(timezone.utc)
    return scheduled_at(weekly, today + timedelta(days=14))
