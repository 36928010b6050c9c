"""Calendar words of the grammar (docs/commands.md): DATE, DATE..DATE, and the time,
zone, weekday and holiday-country values of /subscribe.

DATE readers return a UsageError value for a token shaped like a date that is
no real date, and None for a token that is not date-shaped at all (it may be
report TEXT). The /subscribe value readers raise ValueError, which
`parse_subscribe` turns into a UsageError naming the option.
"""
from __future__ import annotations

import functools
import re
import zoneinfo
from dataclasses import dataclass
from datetime import date, time, timedelta

from commands.tokens import UsageError, usage_error

MAX_SPAN_DAYS = 366

_FULL = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_SHORT = re.compile(r"([0-9]{2})-([0-9]{2})")
_RELATIVE = {"today": 0, "yesterday": -1}


@dataclass(frozen=True)
class DateSpan:
    """Inclusive run of days, `start` <= `end`."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"DateSpan starts after it ends: {self.start} > {self.end}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def each_day(self):
        for offset in range(self.days):
            yield self.start + timedelta(days=offset)


def is_date_shaped(token: str) -> bool:
    return (token.lower() in _RELATIVE
            or _FULL.fullmatch(token) is not None
            or _SHORT.fullmatch(token) is not None)


def is_span_shaped(token: str) -> bool:
    """A DATE or a DATE..DATE, real or not."""
    left, dots, right = token.partition("..")
    if not dots:
        return is_date_shaped(token)
    return is_date_shaped(left) and is_date_shaped(right)


def days_ahead(day: date, today: date) -> int:
    return (day - today).days


def parse_date(token: str, today: date, *, command: str = "") -> date | UsageError | None:
    """`today`, `yesterday`, `YYYY-MM-DD` or `MM-DD` (the nearest one at most a day ahead)."""
    bad = usage_error(command, "error.bad_date", token=token)
    if token.lower() in _RELATIVE:
        return _shift(today, _RELATIVE[token.lower()]) or bad
    if match := _FULL.fullmatch(token):
        try:
            return date(*map(int, match.groups()))
        except ValueError:
            return bad
    if match := _SHORT.fullmatch(token):
        month, day = map(int, match.groups())
        limit = _shift(today, 1) or today
        return _first_on_or_before(month, day, limit) or bad
    return None


def parse_span(token: str, today: date, *, command: str = "") -> DateSpan | UsageError | None:
    """`DATE..DATE` (inclusive) or a single DATE as a one-day span; None if not date-shaped."""
    left, dots, right = token.partition("..")
    if not dots:
        single = parse_date(token, today, command=command)
        return DateSpan(single, single) if isinstance(single, date) else single
    if not (is_date_shaped(left) and is_date_shaped(right)):
        return None
    start = parse_date(left, today, command=command)
    if not isinstance(start, date):
        return start
    end = parse_date(right, today, command=command)
    if not isinstance(end, date):
        return end
    if end < start:
        return usage_error(command, "error.range_backwards", token=token)
    span = DateSpan(start, end)
    if span.days > MAX_SPAN_DAYS:
        return usage_error(command, "error.range_too_long", days=span.days, limit=MAX_SPAN_DAYS)
    return span


def _shift(day: date, days: int) -> date | None:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return None


# Eight years is the longest gap between two 29 Februarys (e.g. 2096 -> 2104).
def _first_on_or_before(month: int, day: int, limit: date) -> date | None:
    for year in range(limit.year, limit.year - 9, -1):
        candidate = _real(year, month, day)
        if candidate is not None and candidate <= limit:
            return candidate
    return None


def _real(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


# --- /subscribe values ------------------------------------------------------

_CLOCK = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")


def read_clock(value: str) -> time:
    """`H:MM` or `HH:MM`, 00:00-23:59."""
    match = _CLOCK.fullmatch(value)
    if not match:
        raise ValueError(value)
    return time(int(match.group(1)), int(match.group(2)))


# Names in the tz database that are not zones a team lives in.
_NOT_ZONES = {"localtime", "posixrules", "Factory"}


@functools.cache
def _zones() -> dict[str, str]:
    names = zoneinfo.available_timezones() - _NOT_ZONES
    return {name.lower(): name for name in names | {"UTC"}}


def read_zone(value: str) -> str:
    """An IANA zone name, matched case-insensitively and returned as the database spells it.

    Only names listed by the tz database are looked up, so nothing the user
    types ever reaches the file system as a path.
    """
    name = _zones().get(value.lower())
    if name is None:
        raise ValueError(value)
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(value) from exc
    return name


_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_KANJI = "月火水木金土日"
_DAY_NAMES = {
    **{name: i for i, name in enumerate(_WEEKDAYS)},
    **{name[:3]: i for i, name in enumerate(_WEEKDAYS)},
    **{k: i for i, k in enumerate(_KANJI)},
    **{k + "曜日": i for i, k in enumerate(_KANJI)},
}


def read_weekdays(value: str) -> frozenset[int]:
    """`mon-fri`, `mon,wed,fri`, `mon-wed,fri`; a range may wrap (`sat-mon`). Monday is 0."""
    days: set[int] = set()
    for item in value.lower().split(","):
        first, dash, last = item.partition("-")
        if first not in _DAY_NAMES or (dash and last not in _DAY_NAMES):
            raise ValueError(value)
        start = _DAY_NAMES[first]
        length = (_DAY_NAMES[last] - start) % 7 + 1 if dash else 1
        days.update((start + k) % 7 for k in range(length))
    return frozenset(days)


MAX_NUDGES = 3


def read_again(value: str) -> tuple[time, ...]:
    """`13:00` or `13:00,17:00` (at most three distinct times, returned in
    order), or `off`: no nudges. Whether each is after `at` is the handler's
    to judge: it knows the subscription's `at`."""
    if value.lower() == "off":
        return ()
    times = [read_clock(item) for item in value.split(",")]
    if len(times) > MAX_NUDGES or len(set(times)) != len(times):
        raise ValueError(value)
    return tuple(sorted(times))


def read_digest(value: str) -> tuple[int, time] | None:
    """`fri 17:00` (one day, named as `days` names them, and a time), or `off`: None."""
    if value.lower() == "off":
        return None
    day, _space, clock = value.partition(" ")
    days = read_weekdays(day)
    if len(days) != 1 or "-" in day or "," in day:
        raise ValueError(value)
    return next(iter(days)), read_clock(clock)


@functools.cache
def _countries() -> frozenset[str]:
    # Loading the holidays package costs tens of ms; only /subscribe needs it.
    from holidays.registry import EntityLoader

    # Its registry, not list_supported_countries(), which would import every country's calendar for good.
    return frozenset(code for code in EntityLoader.get_country_codes(include_aliases=True) if len(code) == 2)


_COUNTRY = re.compile(r"[A-Za-z]{2}")


def read_country(value: str) -> str | None:
    """A two-letter code the `holidays` package knows (upper-cased), or None for `none`."""
    if value.lower() == "none":
        return None
    # Checked before upper-casing: 'ß'.upper() is 'SS', which is South Sudan.
    if not _COUNTRY.fullmatch(value) or value.upper() not in _countries():
        raise ValueError(value)
    return value.upper()
