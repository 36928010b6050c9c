"""Streaks: a member's consecutive work days with a report, counting back from
a work date, by one team's calendar. Absences neither count nor break a
streak; a work day with neither a report nor an absence ends it.

The one place streaks are computed: commands, reminders, digests and the web
pages all ask here. The calendar is passed in (``is_work_day``), so this
module needs nothing above ``db``.

Many streaks are read in a few queries whatever their number: the reports and
absences of the last few weeks first, then further back only for the streaks
that reach that far (most do not), so a team's history of years is not read
to learn that someone's streak is 3.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Callable, Iterable, NamedTuple

from sqlalchemy import BigInteger, Date, Integer, bindparam, cast, func, literal, or_, select, type_coerce
from sqlalchemy.orm import Session

from db.idsets import IdParameter, id_parameter, in_ids, keep_ids
from db.models import Absence, Report
from db.queries import counts_for

# How far back a streak is followed: past this it is simply "this long".
MAX_STREAK_DAYS = 3 * 366
# The first look back, in days; each further look is this many times longer.
FIRST_WINDOW = 35
WIDER = 4
# From this many work days in a row a streak is long: the personas respect it
# (and a reminder that would end it is colder).
LONG_STREAK = 10

IsWorkDay = Callable[[date], bool]


class Ask(NamedTuple):
    """One streak wanted: a member's, as of a date, on a team's calendar
    (``team_id`` None: Monday to Friday and the member's own absences only).
    A tuple: a morning asks for tens of thousands, and tuples hash in C."""

    member_id: int
    team_id: int | None
    as_of: date


def streak_from(as_of: date, is_work_day: IsWorkDay, reported: set[date], absent: set[date]) -> int:
    """Work days in a row with a report, from ``as_of`` backwards."""
    return _walk(as_of, as_of - timedelta(days=MAX_STREAK_DAYS - 1), is_work_day, reported, absent)[0]


def _walk(as_of: date, since: date, is_work_day: IsWorkDay, reported: set[date],
          absent: set[date]) -> tuple[int, bool]:
    """(the streak from ``as_of`` back to ``since`` at most, whether it reached ``since`` unbroken)."""
    count = 0
    day = as_of
    while day >= since:
        if is_work_day(day):
            if day in reported:
                count += 1
            elif day not in absent:
                return count, False
        day -= timedelta(days=1)
    return count, True


def filed_dates(session: Session, member_ids: Iterable[int], team_id: int | None, since: date,
                until: date) -> tuple[dict[int, set[date]], dict[int, set[date]]]:
    """(member -> dates with a report, member -> dates off) between ``since``
    and ``until``; off counts the member's own absences and ``team_id``'s."""
    ids = sorted(set(member_ids))
    reported: dict[int, set[date]] = defaultdict(set)
    absent: dict[int, set[date]] = defaultdict(set)
    if not ids:
        return reported, absent
    for member_id, work_date in session.execute(
            select(Report.member_id, Report.work_date)
            .where(Report.member_id.in_(ids), Report.work_date >= since, Report.work_date <= until)):
        reported[member_id].add(work_date)
    for member_id, work_date in session.execute(
            select(Absence.member_id, Absence.work_date)
            .where(Absence.member_id.in_(ids), Absence.work_date >= since, Absence.work_date <= until,
                   counts_for(team_id))):
        absent[member_id].add(work_date)
    return reported, absent


def streaks(session: Session, member_ids: Iterable[int], team_id: int | None, as_of: date,
            is_work_day: IsWorkDay) -> dict[int, int]:
    """Each member's streak as of ``as_of`` on this team's calendar."""
    asks = {member_id: Ask(member_id, team_id, as_of) for member_id in member_ids}
    found = streaks_for(session, asks.values(), {team_id: is_work_day})
    return {member_id: found[ask] for member_id, ask in asks.items()}


def streaks_for(session: Session, asks: Iterable[Ask], calendars: dict[int | None, IsWorkDay], *,
                max_days: int = MAX_STREAK_DAYS) -> dict[Ask, int]:
    """Many streaks at once, each on its team's calendar (``calendars`` by
    team id), in two queries per look back: a few looks at most, each
    reading only days the looks before did not. A streak is followed
    ``max_days`` back at most (the reminder, which asks for thousands each
    morning, looks two months back; the rest three years).

    Days are bits of one integer, newest lowest: a streak is the reports
    below the lowest work day with neither a report nor an absence, found
    in a few operations on integers however long the look, not a set
    lookup per day of it (docs/operations.md: report history)."""
    counts = dict.fromkeys(asks, 0)
    pending = list(counts)
    work_days = _WorkDays(calendars)
    done, window = 0, min(FIRST_WINDOW, max_days)
    while pending:
        window = min(window, max_days)
        until = max(ask.as_of for ask in pending) - timedelta(days=done)
        since = min(ask.as_of for ask in pending) - timedelta(days=window - 1)
        reported, absent = _filed_for_teams(session, set(pending), since, until)
        further = []
        looked_at: dict[tuple, tuple[int, int]] = {}  # (team, as of) -> (work days, shift): a run's members share them
        for ask in pending:
            filed, off = reported.get(ask.member_id), absent.get((ask.member_id, None))
            if ask.team_id is not None and (ask.member_id, ask.team_id) in absent:
                off = (off or 0) | absent[(ask.member_id, ask.team_id)]
            look = looked_at.get((ask.team_id, ask.as_of))
            if look is None:
                newest = ask.as_of - timedelta(days=done)  # this look's first day: bit 0, older days higher
                look = looked_at[(ask.team_id, ask.as_of)] = (
                    work_days.between(ask.team_id, ask.as_of - timedelta(days=window - 1), newest),
                    (until - newest).days)
            days, shift = look
            if filed is None and off is None and days:
                continue  # nothing filed at all: the first work day ends it (most of a morning's asks)
            filed = ((filed or 0) >> shift) & days
            unfiled = days & ~(filed | ((off or 0) >> shift))
            if unfiled:  # the lowest such day ends the streak
                counts[ask] += (filed & ((unfiled & -unfiled) - 1)).bit_count()
            else:
                counts[ask] += filed.bit_count()
                if window < max_days:
                    further.append(ask)
        pending = further
        done, window = window, window * WIDER
    return counts


class _WorkDays:
    """Each team's work days in a stretch of dates, worked out once for all its members."""

    def __init__(self, calendars: dict[int | None, IsWorkDay]) -> None:
        self._calendars = calendars
        self._known: dict[tuple, int] = {}

    def between(self, team_id: int | None, first: date, last: date) -> int:
        """Bit n set: ``last`` minus n days is a work day."""
        is_work_day = self._calendars[team_id]
        key = (is_work_day, first, last)  # teams that share a calendar share the work out
        if key not in self._known:
            self._known[key] = sum(1 << n for n in range((last - first).days + 1)
                                   if is_work_day(last - timedelta(days=n)))
        return self._known[key]


# A member's filed days come as integers of this many bits, each a day (it
# fits a signed 64-bit integer, which both databases sum).
_BITS = 62


def _filed_for_teams(session: Session, asks: set[Ask], since: date, until: date) -> tuple[dict, dict]:
    """(member -> days with a report, (member, team or None) -> days off),
    each an integer whose bit n is the day ``until`` minus n days.

    Years of reports can be hundreds of thousands of rows: none becomes a
    Python date. PostgreSQL sums each member's into a few integers itself;
    SQLite hands over each member's ISO dates as one string (its julianday
    on text made the summing query three times slower than that)."""
    members = id_parameter(session, {ask.member_id for ask in asks})  # written out once for both queries
    teams = {ask.team_id for ask in asks if ask.team_id is not None}
    reported = _day_bits(session, Report, [], members, (Report.work_date >= since, Report.work_date <= until),
                         since, until)
    absent = _day_bits(session, Absence, [Absence.team_id], members,
                       (Absence.work_date >= since, Absence.work_date <= until,
                        or_(Absence.team_id.is_(None), in_ids(session, Absence.team_id, teams, "teams"))), since, until)
    return {member_id: bits for (member_id,), bits in reported.items()}, absent


def _day_bits(session: Session, model, also: list, members: IdParameter, conditions: tuple, since: date,
              until: date) -> dict[tuple, int]:
    """(member id, *``also``) -> the bits of its rows' work dates, for the
    rows of ``members`` that meet ``conditions``; each row is one (member,
    date) of its group, as the tables' unique keys make it."""
    grouped = [model.member_id, *also]
    found: dict[tuple, int] = {}
    if session.get_bind().dialect.name == "postgresql":  # the server sums the bits, 62 days to an integer
        back = type_coerce(bindparam("until", until, type_=Date) - model.work_date, Integer)
        rows = keep_ids(session, select(*grouped, back.label("back")).where(*conditions), model.member_id, members,
                        "members").subquery()
        grouped = [rows.c[column.name] for column in grouped]
        bits = cast(func.sum(cast(literal(1), BigInteger).op("<<")(rows.c.back % _BITS)), BigInteger)
        for *group, part, value in session.connection().execute(
                select(*grouped, (rows.c.back // _BITS).label("part"), bits).group_by(*grouped, "part")):
            key = tuple(group)
            found[key] = found.get(key, 0) | (value << (part * _BITS))
        return found
    # each ISO date of the string SQLite joined becomes its bit here
    bit_of = {(until - timedelta(days=n)).isoformat(): 1 << n for n in range((until - since).days + 1)}
    for *group, listed in session.connection().execute(
            keep_ids(session, select(*grouped, func.group_concat(model.work_date, ",")).where(*conditions),
                     model.member_id, members, "members").group_by(*grouped)):
        found[tuple(group)] = sum(map(bit_of.__getitem__, listed.split(",")))
    return found
