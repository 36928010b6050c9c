"""Streaks in the morning reminder: the DM that would end a long streak is
colder."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from db.streaks import LONG_STREAK
from tests.reminder_helpers import TUESDAY_9AM, Scene

MONDAY = date(2026, 11, 30)


@pytest.fixture
def scene(database, mattermost, clock):
    scene = Scene(database, mattermost, clock)
    scene.person("boss", leader=True)
    scene.people("alice", "bob")
    scene.report("boss", MONDAY)
    yield scene
    scene.close()


def file_work_days_before(scene, username: str, count: int) -> None:
    day = MONDAY
    while count:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            scene.report(username, day)
            count -= 1


def variants(scene, key: str, **params) -> set[str]:
    return {v.format(**params) for v in scene.services.personas.get("plain").variants(key, "en")}


def test_the_dm_that_would_end_a_long_streak_is_colder(scene):
    file_work_days_before(scene, "alice", 12)
    file_work_days_before(scene, "bob", LONG_STREAK - 1)
    scene.subscribe(delivery="dm")
    scene.tick(TUESDAY_9AM)
    [alice] = scene.dms("alice")
    [bob] = scene.dms("bob")
    command = "/report 2026-11-30 what you did"
    assert alice["message"] in variants(scene, "reminder.broken", date="2026-11-30", command=command, streak=12)
    assert bob["message"] in variants(scene, "reminder.dm", date="2026-11-30", command=command)


def test_an_escalated_member_gets_the_stern_text_whatever_streak_came_before(scene):
    file_work_days_before(scene, "alice", 12)
    scene.subscribe(delivery="dm", escalate=1)
    scene.tick(TUESDAY_9AM)
    [alice] = scene.dms("alice")
    assert alice["message"] in variants(scene, "reminder.stern", date="2026-11-30",
                                        command="/report 2026-11-30 what you did", streak=1)


def test_a_streak_across_a_team_day_off_and_an_absence_is_still_long(scene):
    file_work_days_before(scene, "alice", 12)
    with scene.database.write() as session:  # Friday becomes a team day off, Thursday an absence
        from db.models import Report

        session.query(Report).filter(Report.work_date.in_([date(2026, 11, 26), date(2026, 11, 27)])).delete()
    scene.day_off(date(2026, 11, 27))
    scene.absent("alice", date(2026, 11, 26))
    scene.subscribe(delivery="dm")
    scene.tick(TUESDAY_9AM)
    [alice] = scene.dms("alice")
    assert alice["message"] in variants(scene, "reminder.broken", date="2026-11-30",
                                        command="/report 2026-11-30 what you did", streak=10)
