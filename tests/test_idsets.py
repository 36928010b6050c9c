"""Sets of ids as one bound value (db/idsets.py): the reads that narrow a
table to thousands of members keep exactly those members' rows, on both
databases, whatever the ids' number or order."""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import insert, select

from db.idsets import id_parameter, keep_ids
from db.models import Member, Report

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
DAYS = (date(2026, 11, 27), date(2026, 11, 30))


def seed(database, members: int) -> None:
    """``members`` members, each with a report on both DAYS."""
    with database.write() as session:
        session.execute(insert(Member), [{"id": m, "user_id": f"u{m}", "username": f"m{m}"}
                                         for m in range(1, members + 1)])
        session.execute(insert(Report), [{"member_id": m, "work_date": day, "text": "x", "created_at": NOW,
                                          "updated_at": NOW} for m in range(1, members + 1) for day in DAYS])


def kept(database, ids, *, on: date | None = None) -> list[tuple[int, date]]:
    with database.read() as session:
        query = select(Report.member_id, Report.work_date)
        if on is not None:
            query = query.where(Report.work_date == on)
        return sorted(session.execute(keep_ids(session, query, Report.member_id, ids, "members")).all())


def test_keep_ids_keeps_each_asked_members_rows_once_and_no_others(database):
    seed(database, 3000)
    asked = set(range(2999, 0, -3)) | {5000, 7000}  # unordered, and two ids with no member
    rows = kept(database, asked)
    assert rows == sorted((m, day) for m in asked if m <= 3000 for day in DAYS)
    assert kept(database, asked, on=DAYS[1]) == sorted((m, DAYS[1]) for m in asked if m <= 3000)


def test_keep_ids_takes_a_set_written_out_once_for_several_reads(database):
    seed(database, 10)
    with database.read() as session:
        ids = id_parameter(session, [4, 2, 2, 9])  # repeated ids count once
    assert kept(database, ids) == [(m, day) for m in (2, 4, 9) for day in DAYS]


def test_keep_ids_of_no_id_keeps_nothing(database):
    seed(database, 10)
    assert kept(database, set()) == []
