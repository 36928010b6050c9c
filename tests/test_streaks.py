"""Streaks: consecutive work days with a report, by the team's calendar;
absences neither count nor break them."""

from __future__ import annotations

from datetime import date, datetime, timezone

from bot.outlook import work_day_test
from db import queries
from db.models import Member, RosterEntry, Subscription, Team, TeamDayOff
from db.streaks import streak_from, streaks

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
MON_FRI = {0, 1, 2, 3, 4}


def weekdays(day: date) -> bool:
    return day.weekday() in MON_FRI


def test_a_weekend_does_not_break_a_streak():
    reported = {date(2026, 11, 27), date(2026, 11, 30)}  # Friday, Monday
    assert streak_from(date(2026, 11, 30), weekdays, reported, set()) == 2


def test_an_absence_neither_counts_nor_breaks():
    reported = {date(2026, 11, 25), date(2026, 11, 27)}
    assert streak_from(date(2026, 11, 27), weekdays, reported, {date(2026, 11, 26)}) == 2


def test_a_missing_work_day_ends_the_streak():
    reported = {date(2026, 11, 25), date(2026, 11, 27)}
    assert streak_from(date(2026, 11, 27), weekdays, reported, set()) == 1


def test_nothing_filed_on_the_day_counted_from_is_no_streak():
    assert streak_from(date(2026, 11, 30), weekdays, {date(2026, 11, 27)}, set()) == 0


def seed(database, *, holidays=None):
    with database.write() as session:
        team = Team(channel_id="c1", channel_name="dev", created_at=NOW)
        other = Team(channel_id="c2", channel_name="ops", created_at=NOW)
        alice = Member(user_id="u1", username="alice")
        session.add_all([team, other, alice])
        session.flush()
        session.add(RosterEntry(team_id=team.id, member_id=alice.id, added_at=NOW))
        session.add(Subscription(team_id=team.id, timezone="Asia/Tokyo", persona="emperor", language="ja",
                                 holidays=holidays, created_at=NOW, updated_at=NOW))
        session.add(TeamDayOff(team_id=team.id, day=date(2026, 11, 20)))  # a company holiday, Friday
        return team.id, other.id, alice.id


def test_a_public_holiday_a_team_day_off_an_absence_and_a_late_report(database):
    team_id, other_id, alice = seed(database, holidays="JP")
    with database.write() as session:
        # 11-23 (Mon) is Labour Thanksgiving Day in Japan; 11-20 is the team's day off.
        for day in (date(2026, 11, 19), date(2026, 11, 24), date(2026, 11, 26), date(2026, 11, 27)):
            queries.save_report(session, alice, day, "did things", "command", NOW)
        queries.add_absences(session, alice, [date(2026, 11, 25)], "u1", NOW)  # her own
        # filed late, a week after the day: it counts all the same
        queries.save_report(session, alice, date(2026, 11, 30), "late", "command", datetime(2026, 12, 7, tzinfo=timezone.utc))
    with database.read() as session:
        is_work_day = work_day_test(session, team_id)
        found = streaks(session, [alice], team_id, date(2026, 11, 30), is_work_day)
    assert found == {alice: 5}  # 11-30, 27, 26, (25 off), 24, (23 holiday, 21-22 weekend, 20 day off), 19


def test_an_absence_another_team_set_breaks_nothing_and_counts_nothing_here(database):
    team_id, other_id, alice = seed(database)
    with database.write() as session:
        queries.save_report(session, alice, date(2026, 11, 26), "x", "command", NOW)
        queries.add_absences(session, alice, [date(2026, 11, 27)], "someone", NOW, team_id=other_id)
    with database.read() as session:
        here = streaks(session, [alice], team_id, date(2026, 11, 27), work_day_test(session, team_id))
        there = streaks(session, [alice], other_id, date(2026, 11, 27), work_day_test(session, other_id))
    assert here == {alice: 0} and there == {alice: 1}
