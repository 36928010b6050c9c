"""Nudges (`/subscribe again HH:MM`): one more DM later the same day to the
members still missing, each nudge a run of its own with the same
exactly-once guarantee as the morning run."""

from __future__ import annotations

import multiprocessing
from datetime import date, datetime, timedelta, timezone

import pytest

from bot.reminders import schedule_snooze
from db.models import MissingStreak
from tests.reminder_helpers import TUESDAY_9AM, Scene, tick_worker

MONDAY = date(2026, 11, 30)
TUESDAY_1PM = TUESDAY_9AM + timedelta(hours=4)  # 13:00 in Tokyo
TUESDAY_5PM = TUESDAY_9AM + timedelta(hours=8)


@pytest.fixture
def scene(database, mattermost, clock):
    scene = Scene(database, mattermost, clock)
    scene.person("boss", leader=True)
    scene.people("alice", "bob")
    scene.report("boss", MONDAY)
    yield scene
    scene.close()


def nudges(scene, username: str) -> list[str]:
    """The nudge DMs a member received (plain persona: every nudge says 'still')."""
    return [p["message"] for p in scene.dms(username) if "still" in p["message"].lower()]


def test_a_nudge_goes_to_the_member_still_missing_not_to_one_who_filed_since_the_morning(scene):
    scene.subscribe(delivery="dm", again_times="13:00")
    scene.tick(TUESDAY_9AM)
    assert len(scene.dms("alice")) == len(scene.dms("bob")) == 1
    scene.report("alice", MONDAY)  # filed at lunch
    scene.tick(TUESDAY_1PM)
    assert len(scene.dms("alice")) == 1
    [morning, nudge] = scene.dms("bob")
    assert "`/report 2026-11-30" in nudge["message"] and nudge["message"] != morning["message"]
    assert [b["id"] for b in nudge["props"]["attachments"][0]["actions"]] == ["write", "off", "snooze"]


def test_each_nudge_time_of_the_day_sends_its_own_dm(scene):
    scene.subscribe(delivery="dm", again_times="13:00,17:00")
    scene.tick(TUESDAY_9AM)
    scene.tick(TUESDAY_1PM)
    scene.report("bob", MONDAY)
    scene.tick(TUESDAY_5PM)
    assert len(scene.dms("alice")) == 3 and len(scene.dms("bob")) == 2


def test_an_old_row_repeating_a_nudge_time_makes_one_nudge_and_stops_no_tick(scene):
    """`/subscribe` refuses `again 13:00,13:00`, but a row written before
    (or by hand) may hold it: one run for the slot, not a tick that fails
    every minute on its own duplicate."""
    scene.subscribe(delivery="dm", again_times="13:00,13:00")
    scene.tick(TUESDAY_9AM)
    lines = scene.tick(TUESDAY_1PM)
    assert len(lines) == 1 and lines[0].endswith("missing 2: sent"), lines
    assert len(scene.dms("bob")) == 2
    assert [(r.slot, r.state) for r in scene.runs()] == [("", "sent"), ("again 13:00", "sent")]


def test_a_nudge_played_twice_sends_one_dm(scene):
    scene.subscribe(delivery="dm", again_times="13:00")
    scene.tick(TUESDAY_9AM)
    scene.tick(TUESDAY_1PM)
    scene.tick(TUESDAY_1PM)
    scene.tick(TUESDAY_1PM + timedelta(minutes=1))
    assert len(scene.dms("bob")) == 2
    assert [(r.slot, r.state) for r in scene.runs()] == [("", "sent"), ("again 13:00", "sent")]


def test_two_processes_playing_the_nudge_at_once_send_one_dm(scene, database, mattermost):
    scene.subscribe(delivery="dm", again_times="13:00")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    ticks = [TUESDAY_9AM, TUESDAY_1PM, TUESDAY_1PM + timedelta(minutes=1)]
    replicas = [context.Process(target=tick_worker, args=(database.url, mattermost.url, mattermost.bot_token,
                                                          barrier, ticks, seed)) for seed in range(2)]
    for replica in replicas:
        replica.start()
    for replica in replicas:
        replica.join(120)
    assert [r.exitcode for r in replicas] == [0, 0]
    assert len(scene.dms("alice")) == len(scene.dms("bob")) == 2
    nudge_posts = [p for p in mattermost.posts if p["user_id"] == mattermost.bot["id"]
                   and "still" in p["message"].lower()]
    assert len({p["props"]["nippo_outbox_id"] for p in nudge_posts}) == len(nudge_posts) == 2


def test_no_nudge_to_a_member_who_is_off_or_has_a_snooze_pending(scene):
    scene.subscribe(delivery="dm", again_times="13:00")
    scene.tick(TUESDAY_9AM)
    scene.absent("alice", MONDAY)
    with scene.database.write() as session:  # bob asked to be reminded at 13:30
        schedule_snooze(session, scene.services, scene.users["bob"]["id"], MONDAY,
                        TUESDAY_1PM + timedelta(minutes=30))
    scene.tick(TUESDAY_1PM)
    assert len(scene.dms("alice")) == 1 and len(scene.dms("bob")) == 1
    scene.tick(TUESDAY_1PM + timedelta(minutes=30))
    assert len(scene.dms("bob")) == 2  # the snooze, not a nudge as well


def test_nudges_never_go_out_in_channel_mode(scene):
    scene.subscribe(delivery="channel", again_times="13:00")
    scene.tick(TUESDAY_9AM)
    scene.tick(TUESDAY_1PM)
    assert len(scene.channel_posts()) == 1 and scene.dms("bob") == []
    assert [r.slot for r in scene.runs()] == [""]


def test_in_both_modes_a_nudge_is_a_dm_and_never_a_second_channel_post(scene):
    scene.subscribe(delivery="both", again_times="13:00")
    scene.tick(TUESDAY_9AM)
    scene.tick(TUESDAY_1PM)
    assert len(scene.channel_posts()) == 1
    assert len(nudges(scene, "alice")) == len(nudges(scene, "bob")) == 1


def test_a_nudge_to_a_member_on_an_escalated_streak_is_stern(scene):
    scene.subscribe(delivery="dm", again_times="13:00", escalate=1)
    scene.report("bob", MONDAY)
    scene.tick(TUESDAY_9AM)
    scene.tick(TUESDAY_1PM)
    [_morning, nudge] = scene.dms("alice")
    assert "1 reminders in a row" in nudge["message"] or "1 missed reminders in a row" in nudge["message"]


def test_a_day_with_nudges_is_one_miss_for_escalation(scene):
    sub_id = scene.subscribe(delivery="dm", again_times="13:00,17:00", escalate=2)
    scene.report("bob", MONDAY)
    scene.tick(TUESDAY_9AM)
    scene.tick(TUESDAY_1PM)
    scene.tick(TUESDAY_5PM)
    with scene.database.read() as session:
        streak = session.get(MissingStreak, (sub_id, scene.member_id("alice")))
    assert (streak.streak, streak.leaders_told) == (1, False)
    assert [p["message"] for p in scene.dms("boss") if "in a row" in p["message"]] == []


def test_no_nudge_after_a_morning_run_that_was_skipped(scene):
    scene.subscribe(delivery="dm", again_times="13:00")
    lines = scene.tick(TUESDAY_1PM)  # nippo was down all morning: 09:00 is past the 3-hour catch-up window
    assert "skipped (late)" in lines[0]
    lines = scene.tick(TUESDAY_1PM + timedelta(minutes=1))
    assert scene.dms("bob") == []
    assert [(r.slot, r.state, r.reason) for r in scene.runs()] == [
        ("", "skipped", "late"), ("again 13:00", "skipped", "no morning reminder")]
    assert any("nudge 13:00" in line and "no morning reminder" in line for line in lines)


def test_nippo_remind_says_which_lines_are_nudges(scene):
    scene.subscribe(delivery="dm", again_times="13:00")
    scene.tick(TUESDAY_9AM)
    [line] = scene.tick(TUESDAY_1PM)
    assert "nudge 13:00 work date 2026-11-30 missing 2: sent" in line


def test_a_late_evening_nudge_goes_out_after_midnight(scene):
    scene.subscribe(delivery="dm", at_time="22:00", again_times="23:30", check_day="same-day")
    tuesday = datetime(2026, 12, 1, 13, 0, tzinfo=timezone.utc)  # 22:00 Tuesday in Tokyo
    scene.tick(tuesday)
    scene.tick(tuesday + timedelta(hours=2, minutes=10))  # 00:10 Wednesday
    assert len(scene.dms("bob")) == 2
    assert [(r.local_date, r.slot) for r in scene.runs()] == [(date(2026, 12, 1), ""),
                                                               (date(2026, 12, 1), "again 23:30")]
