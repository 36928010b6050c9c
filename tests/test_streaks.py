"""Streaks: consecutive work days with a report, by the team's calendar;
absences neither count nor break them."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import insert

from bot.outlook import work_day_test
from db import queries
from db.models import Absence, Member, Report, RosterEntry, Subscription, Team, TeamDayOff
from db.streaks import MAX_STREAK_DAYS, Ask, streak_from, streaks, streaks_for

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


def file_work_days(database, member_id: int, last: date, count: int) -> None:
    """Reports on the ``count`` Monday–Friday days up to ``last``."""
    day = last
    with database.write() as session:
        while count:
            if weekdays(day):
                queries.save_report(session, member_id, day, "x", "command", NOW)
                count -= 1
            day -= timedelta(days=1)


def test_a_streak_longer_than_the_first_look_back_is_counted_in_full(database):
    team_id, other_id, alice = seed(database)
    file_work_days(database, alice, date(2026, 11, 27), 130)  # half a year, no gap
    with database.read() as session:
        found = streaks(session, [alice], other_id, date(2026, 11, 27), weekdays)
    assert found == {alice: 130}


def test_a_capped_look_back_stops_counting_at_its_end(database):
    team_id, other_id, alice = seed(database)
    file_work_days(database, alice, date(2026, 11, 27), 130)
    with database.read() as session:
        found = streaks_for(session, [Ask(alice, other_id, date(2026, 11, 27))], {other_id: weekdays}, max_days=28)
    assert found == {Ask(alice, other_id, date(2026, 11, 27)): 20}  # four weeks of work days


def test_many_streaks_on_their_own_teams_calendars_at_once(database):
    team_id, other_id, alice = seed(database)
    with database.write() as session:
        bob = Member(user_id="u2", username="bob")
        session.add(bob)
        session.flush()
        bob = bob.id
    file_work_days(database, alice, date(2026, 11, 19), 40)
    file_work_days(database, bob, date(2026, 11, 27), 3)
    with database.write() as session:  # 11-20 is a day off for the first team only
        queries.save_report(session, alice, date(2026, 11, 23), "x", "command", NOW)
    asks = [Ask(alice, team_id, date(2026, 11, 23)), Ask(alice, other_id, date(2026, 11, 23)),
            Ask(bob, other_id, date(2026, 11, 27)), Ask(bob, None, date(2026, 11, 26))]
    with database.read() as session:
        calendars = {team_id: work_day_test(session, team_id), other_id: weekdays, None: weekdays}
        found = streaks_for(session, asks, calendars)
    assert [found[ask] for ask in asks] == [41, 1, 3, 2]


def test_many_streaks_at_once_agree_with_walking_each_day_by_day(database):
    """Random years of reports and absences, asked for together (several
    teams' calendars, dates and look-back caps in one call), against the
    plain walk from the day asked about back, one day at a time."""
    rng = random.Random(530000)
    team_id, other_id, _alice = seed(database)
    with database.write() as session:
        members = [Member(user_id=f"r{n}", username=f"r{n}") for n in range(30)]
        session.add_all(members)
        session.flush()
        ids = [m.id for m in members]
    last = date(2026, 11, 27)
    reported: dict[int, set] = {m: set() for m in ids}
    off: dict[tuple, set] = {}
    reports, absences = [], []
    for member_id in ids:
        habit = rng.choice((0.5, 0.9, 0.99, 1.0))  # some never miss: streaks past every look back
        for n in range(500):
            day = last - timedelta(days=n)
            if rng.random() < habit:
                reported[member_id].add(day)
                reports.append({"member_id": member_id, "work_date": day, "text": "x", "source": "command",
                                "created_at": NOW, "updated_at": NOW})
            elif rng.random() < 0.3:
                team = rng.choice((None, team_id, other_id))
                off.setdefault((member_id, team), set()).add(day)
                absences.append({"member_id": member_id, "team_id": team, "work_date": day, "created_at": NOW})
    with database.write() as session:
        session.execute(insert(Report), reports)
        session.execute(insert(Absence), absences)
        calendars = {team_id: work_day_test(session, team_id), other_id: weekdays, None: weekdays}
    asks = {Ask(m, rng.choice((None, team_id, other_id)), last - timedelta(days=rng.randrange(0, 9))) for m in ids}
    for max_days in (62, 400, MAX_STREAK_DAYS):
        with database.read() as session:
            found = streaks_for(session, asks, calendars, max_days=max_days)
        for ask in asks:
            own = off.get((ask.member_id, None), set())
            here = off.get((ask.member_id, ask.team_id), set()) if ask.team_id is not None else set()
            expected = _walked(ask.as_of, max_days, calendars[ask.team_id], reported[ask.member_id], own | here)
            assert found[ask] == expected, (ask, max_days)
    assert any(found[ask] > 100 for ask in asks)  # the long looks back were taken


def _walked(as_of: date, max_days: int, is_work_day, reported: set, absent: set) -> int:
    count = 0
    for n in range(max_days):
        day = as_of - timedelta(days=n)
        if not is_work_day(day):
            continue
        if day in reported:
            count += 1
        elif day not in absent:
            break
    return count
