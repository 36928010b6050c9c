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

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from db.idsets import id_parameter, in_ids
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
_NONE: frozenset[date] = frozenset()


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
    morning, looks two months back; the rest three years)."""
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
        looked_at: dict[tuple, list[str]] = {}  # (team, as of) -> this look's work days: a run's members share them
        for ask in pending:
            off = absent.get((ask.member_id, None), _NONE)
            if ask.team_id is not None and (ask.member_id, ask.team_id) in absent:
                off = off | absent[(ask.member_id, ask.team_id)]
            days = looked_at.get((ask.team_id, ask.as_of))
            if days is None:
                days = looked_at[(ask.team_id, ask.as_of)] = work_days.between(
                    ask.team_id, ask.as_of - timedelta(days=window - 1), ask.as_of - timedelta(days=done))
            dated = reported.get(ask.member_id)
            if dated is None and not off and days:
                continue  # nothing filed at all: the first work day ends it (most of a morning's asks)
            count, unbroken = _count(days, dated or _NONE, off)
            counts[ask] += count
            if unbroken and window < max_days:
                further.append(ask)
        pending = further
        done, window = window, window * WIDER
    return counts


def _count(days: list[str], reported, absent) -> tuple[int, bool]:
    """(reports in a row through ``days``, work days newest first; whether it got through all of them unbroken)."""
    count = 0
    for day in days:
        if day in reported:
            count += 1
        elif day not in absent:
            return count, False
    return count, True


class _WorkDays:
    """Each team's work days in a stretch of dates, newest first, worked out once for all its members."""

    def __init__(self, calendars: dict[int | None, IsWorkDay]) -> None:
        self._calendars = calendars
        self._known: dict[tuple, list[date]] = {}

    def between(self, team_id: int | None, first: date, last: date) -> list[str]:
        """ISO dates, as the reports come."""
        is_work_day = self._calendars[team_id]
        key = (is_work_day, first, last)  # teams that share a calendar share the work out
        if key not in self._known:
            self._known[key] = [(last - timedelta(days=n)).isoformat() for n in range((last - first).days + 1)
                                if is_work_day(last - timedelta(days=n))]
        return self._known[key]


def _filed_for_teams(session: Session, asks: set[Ask], since: date, until: date) -> tuple[dict, dict]:
    """(member -> ISO dates with a report, (member, team or None) -> ISO dates off).

    Years of reports can be hundreds of thousands of rows: the database
    hands them over as one string of dates per member, and the walk compares
    ISO strings, so no row becomes a Python date."""
    members = id_parameter(session, {ask.member_id for ask in asks})  # written out once for both queries
    teams = {ask.team_id for ask in asks if ask.team_id is not None}
    if session.get_bind().dialect.name == "postgresql":
        dates = func.string_agg(func.to_char(Report.work_date, "YYYY-MM-DD"), ",")  # whatever the DateStyle
    else:
        dates = func.group_concat(Report.work_date, ",")
    connection = session.connection()
    reported = {member_id: set(listed.split(",")) for member_id, listed in connection.execute(
        select(Report.member_id, dates)
        .where(in_ids(session, Report.member_id, members, "members"), Report.work_date >= since,
               Report.work_date <= until)
        .group_by(Report.member_id))}
    absent: dict[tuple, set[str]] = defaultdict(set)
    for member_id, work_date, team_id in connection.execute(
            select(Absence.member_id, Absence.work_date, Absence.team_id)
            .where(in_ids(session, Absence.member_id, members, "members"), Absence.work_date >= since,
                   Absence.work_date <= until,
                   or_(Absence.team_id.is_(None), in_ids(session, Absence.team_id, teams, "teams")))):
        absent[(member_id, team_id)].add(work_date.isoformat())
    return reported, absent
