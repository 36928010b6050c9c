"""Streaks: a member's consecutive work days with a report, counting back from
a work date, by one team's calendar. Absences neither count nor break a
streak; a work day with neither a report nor an absence ends it.

The one place streaks are computed: commands, reminders, digests and the web
pages all ask here. The calendar is passed in (``is_work_day``), so this
module needs nothing above ``db``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Absence, Report
from db.queries import counts_for

# How far back a streak is followed: past this it is simply "this long".
MAX_STREAK_DAYS = 3 * 366

IsWorkDay = Callable[[date], bool]


def streak_from(as_of: date, is_work_day: IsWorkDay, reported: set[date], absent: set[date]) -> int:
    """Work days in a row with a report, from ``as_of`` backwards."""
    count = 0
    day = as_of
    for _ in range(MAX_STREAK_DAYS):
        if is_work_day(day):
            if day in reported:
                count += 1
            elif day not in absent:
                break
        day -= timedelta(days=1)
    return count


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
    """Each member's streak as of ``as_of`` on this team's calendar, in two queries."""
    ids = list(member_ids)
    reported, absent = filed_dates(session, ids, team_id, as_of - timedelta(days=MAX_STREAK_DAYS), as_of)
    return {member_id: streak_from(as_of, is_work_day, reported[member_id], absent[member_id]) for member_id in ids}
