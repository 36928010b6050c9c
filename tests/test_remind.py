"""`nippo remind` says what it did and why not (docs/operations.md): one line
per subscription, the instant it used, one channel at a time, and a dry run
that shows every message in full."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from bot.remind import NoSuchChannel, channel_subscription, remind, tick_instant
from bot.reminders import schedule_snooze
from bot.tick import tick_lines
from tests.reminder_helpers import TUESDAY_9AM, ZWSP, Scene

MONDAY = date(2026, 11, 30)


@pytest.fixture
def scene(database, mattermost, clock):
    scene = Scene(database, mattermost, clock)
    yield scene
    scene.close()


def second_team(scene, name: str = "ops") -> tuple[dict, int]:
    channel = scene.mattermost.add_channel(scene.channel["team_id"], name)
    scene.mattermost.add_channel_member(channel["id"], scene.mattermost.bot["id"])
    return channel, scene.add_team(channel)


def lines_for(lines: list[str], channel: str) -> list[str]:
    return [line for line in lines if line.startswith(f"~{channel} ")]


def test_a_sent_run_says_sent_with_its_work_date(scene):
    scene.people("alice")
    sub = scene.subscribe()
    assert remind(scene.services, TUESDAY_9AM) == [
        f"~dev (subscription {sub}): sent (work date 2026-11-30, 1 missing)"]


@pytest.mark.parametrize("at, reason", [
    (datetime(2026, 12, 5, 0, 5, tzinfo=timezone.utc), "nothing due: not a work day (Saturday) on 2026-12-05"),
    (datetime(2026, 11, 23, 0, 5, tzinfo=timezone.utc), "nothing due: public holiday (Labor Thanksgiving Day)"),
    (datetime(2026, 11, 30, 23, 30, tzinfo=timezone.utc), "nothing due: not yet time: 09:00 Asia/Tokyo, in 30 minutes"),
])
def test_nothing_due_says_why(scene, at, reason):
    scene.people("alice")
    scene.subscribe(holidays="JP")
    [line] = remind(scene.services, at)
    assert reason in line
    assert scene.runs() == []


def test_a_team_day_off_says_so(scene):
    scene.people("alice")
    scene.subscribe()
    scene.day_off(date(2026, 12, 1))
    [line] = remind(scene.services, TUESDAY_9AM)
    assert "nothing due: team day off on 2026-12-01" in line


def test_a_second_tick_the_same_day_says_the_run_was_had(scene):
    scene.people("alice")
    scene.subscribe()
    remind(scene.services, TUESDAY_9AM)
    [line] = remind(scene.services, TUESDAY_9AM + timedelta(minutes=5))
    assert "nothing due: already had its run on 2026-12-01" in line


def test_a_late_run_says_by_how_many_minutes(scene):
    scene.people("alice")
    scene.subscribe()
    [line] = remind(scene.services, TUESDAY_9AM + timedelta(minutes=180 + 65))
    assert "skipped: too late by 65 minutes" in line and "180 minutes" in line
    assert [run.state for run in scene.runs()] == ["skipped"]


def test_with_no_subscription_the_output_is_never_empty(scene):
    assert remind(scene.services, TUESDAY_9AM) == [
        "no active subscription: nothing to do (a channel subscribes with /subscribe)"]


def test_channel_limits_the_tick_to_that_subscription_and_leaves_the_others_alone(scene):
    scene.people("alice")
    dev = scene.subscribe()
    channel, ops_team = second_team(scene)
    ops = scene.subscribe(team_id=ops_team)
    only = channel_subscription(scene.services, "~dev")
    assert only == dev
    late = TUESDAY_9AM + timedelta(hours=4)  # both runs are past their window
    lines = remind(scene.services, late, only=only)
    assert len(lines) == 1 and lines[0].startswith(f"~dev (subscription {dev}): skipped: too late")
    assert [run.subscription_id for run in scene.runs()] == [dev]
    # ops's morning is still there to play
    scene.person("bob", team_id=ops_team, channel=channel)
    [line] = remind(scene.services, TUESDAY_9AM + timedelta(minutes=5), only=ops)
    assert line.startswith(f"~ops (subscription {ops}): sent")


@pytest.mark.parametrize("name", ["nowhere", "~nowhere"])
def test_an_unknown_channel_is_refused_naming_the_subscribed_ones(scene, name):
    scene.subscribe()
    with pytest.raises(NoSuchChannel) as raised:
        channel_subscription(scene.services, name)
    assert "nowhere" in str(raised.value) and "~dev" in str(raised.value)


def test_a_dry_run_prints_every_message_in_full_and_sends_nothing(scene):
    scene.person("boss", leader=True)
    scene.people("alice", "bob")
    scene.report("boss", MONDAY)
    scene.subscribe(delivery="both")
    lines = remind(scene.services, TUESDAY_9AM, dry_run=True)
    text = "\n".join(lines)
    assert lines[0].startswith("~dev (subscription") and "would send (work date 2026-11-30, 2 missing)" in lines[0]
    assert "  → ~dev" in lines and "  → @alice (direct message)" in lines and "  → @bob (direct message)" in lines
    assert "/report 2026-11-30 what you did" in text
    assert "[Write report]" in text  # the DM's buttons
    assert f"@{ZWSP}" not in lines[0]
    assert scene.runs() == [] and scene.outbox() == [] and scene.post_calls() == 0


def test_at_without_an_offset_is_read_in_the_default_time_zone():
    now, line = tick_instant(datetime(2026, 12, 14, 9, 5), "Asia/Tokyo", datetime.now(timezone.utc))
    assert now == datetime(2026, 12, 14, 0, 5, tzinfo=timezone.utc)
    assert line.startswith("tick at 2026-12-14T09:05:00+09:00 Asia/Tokyo = 2026-12-14T00:05:00Z")
    assert "NIPPO_TIMEZONE=Asia/Tokyo" in line


def test_at_with_an_offset_is_that_instant():
    tokyo = timezone(timedelta(hours=9))
    now, line = tick_instant(datetime(2026, 12, 14, 9, 5, tzinfo=tokyo), "UTC", datetime.now(timezone.utc))
    assert now == datetime(2026, 12, 14, 0, 5, tzinfo=timezone.utc)
    assert line == "tick at 2026-12-14T09:05:00+09:00 = 2026-12-14T00:05:00Z (--at)"


def test_a_nudge_says_it_is_a_nudge(scene):
    scene.people("alice")
    sub = scene.subscribe(delivery="dm", again_times="13:00")
    remind(scene.services, TUESDAY_9AM)
    assert remind(scene.services, TUESDAY_9AM + timedelta(hours=4, minutes=5)) == [
        f"~dev (subscription {sub}): nudge 13:00: sent (work date 2026-11-30, 1 missing)"]


def test_the_weekly_digest_says_it_is_the_digest(scene):
    scene.people("alice")
    sub = scene.subscribe(digest_day=1, digest_time="17:00")
    remind(scene.services, TUESDAY_9AM)
    assert remind(scene.services, TUESDAY_9AM + timedelta(hours=8, minutes=5)) == [
        f"~dev (subscription {sub}): weekly digest: sent (up to work date 2026-11-30)"]


def test_a_digest_sent_by_the_tick_that_skips_a_late_morning_is_shown_too(scene):
    scene.people("alice")
    sub = scene.subscribe(digest_day=1, digest_time="17:00")
    lines = remind(scene.services, TUESDAY_9AM + timedelta(hours=8, minutes=5))
    assert lines[0].startswith(f"~dev (subscription {sub}): skipped: too late by 305 minutes")
    assert lines[1:] == [f"~dev (subscription {sub}): weekly digest: sent (up to work date 2026-11-30)"]


def buttons_of(post: dict) -> str:
    """A DM's buttons as a dry run prints them after its message ("" for a post without)."""
    actions = [action for attachment in post.get("props", {}).get("attachments") or []
               for action in attachment.get("actions") or []]
    return "\n" + "  ".join(f"[{action['name']}]" for action in actions) if actions else ""


def weekdays_before(day: date, count: int) -> list[date]:
    days, day = [], day - timedelta(days=1)
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days


@pytest.mark.parametrize("delivery", ["channel", "dm", "both"])
def test_a_dry_run_words_every_message_as_the_run_then_sends_it(scene, delivery):
    # The emperor has five wordings of a DM and of a channel reminder, three
    # of the colder one for a miss that ends a long streak: each message must
    # be previewed with the variant the real run picks.
    scene.person("boss", leader=True)
    scene.people("alice", "bob", "carol", "dave", "erin")
    for day in weekdays_before(MONDAY, 12):  # alice's Monday miss ends a streak of twelve
        scene.report("alice", day)
    scene.subscribe(delivery=delivery, persona="emperor", escalate=0)
    previewed = [message for line in tick_lines(scene.services, TUESDAY_9AM, dry_run=True)
                 for message in line.messages]
    assert scene.runs() == [] and scene.post_calls() == 0

    scene.tick(TUESDAY_9AM)
    sent_to_channel = [post["message"] for post in scene.channel_posts()]
    dms = {name: [post["message"] + buttons_of(post) for post in scene.dms(name)] for name in scene.users}
    compared = 0
    for to, text in previewed:
        if to.startswith("~"):
            if text.startswith("(each missing member"):
                continue  # channel mode's note on who Mattermost will say is outside the channel
            assert text in sent_to_channel
        else:
            assert text in dms[to.split()[0].removeprefix("@")]
        compared += 1
    assert compared == len(sent_to_channel) + sum(len(posts) for posts in dms.values())
    if delivery != "channel":
        [broken] = [text for to, text in previewed if to.startswith("@alice")]
        assert "12" in broken  # the streak her miss ends, as the colder wording says it


def test_a_dry_run_of_a_nudge_words_it_as_the_nudge_then_sent(scene):
    scene.person("boss", leader=True)
    scene.people("alice", "bob", "carol", "dave")
    scene.subscribe(delivery="dm", persona="emperor", again_times="13:00")
    scene.tick(TUESDAY_9AM)
    one_pm = TUESDAY_9AM + timedelta(hours=4)
    scene.clock.set(one_pm)
    scene.real_clock_reads(one_pm)
    with scene.database.write() as session:  # bob asked to be reminded at 13:30: no nudge for him
        schedule_snooze(session, scene.services, scene.users["bob"]["id"], MONDAY, one_pm + timedelta(minutes=30))
    previewed = [message for line in tick_lines(scene.services, one_pm, dry_run=True) for message in line.messages]
    assert sorted(to.split()[0] for to, _text in previewed) == ["@alice", "@boss", "@carol", "@dave"]
    scene.tick(one_pm)
    assert len(scene.dms("bob")) == 1
    for to, text in previewed:
        *_morning, nudge = scene.dms(to.split()[0].removeprefix("@"))
        assert text == nudge["message"] + buttons_of(nudge)


def test_a_dry_run_of_the_weekly_digest_words_it_as_the_digest_then_posted(scene):
    scene.person("boss", leader=True)
    scene.people("alice", "bob")
    for day in weekdays_before(MONDAY + timedelta(days=1), 5):  # alice: the whole week, and a streak
        scene.report("alice", day)
    scene.report("bob", MONDAY)
    scene.subscribe(digest_day=1, digest_time="17:00", persona="emperor")
    scene.tick(TUESDAY_9AM)
    five_pm = TUESDAY_9AM + timedelta(hours=8, minutes=5)
    [line] = [line for line in tick_lines(scene.services, five_pm, dry_run=True) if line.slot == "digest"]
    [(to, previewed)] = line.messages
    assert to == "~dev" and "2026-11-30" in previewed and f"@{ZWSP}alice" in previewed
    assert not [run for run in scene.runs() if run.slot == "digest"]  # nothing written
    scene.tick(five_pm)
    [*_morning, digest] = scene.channel_posts()
    assert previewed == digest["message"]


def test_a_dry_run_shows_a_member_on_two_rosters_the_one_dm_the_tick_sends(scene):
    scene.people("alice", "bob")
    ops, ops_team = second_team(scene)
    scene.person("alice", team_id=ops_team, channel=ops)
    scene.subscribe(delivery="dm", persona="emperor")
    scene.subscribe(team_id=ops_team, delivery="dm", persona="emperor")
    previewed = [message for line in tick_lines(scene.services, TUESDAY_9AM, dry_run=True)
                 for message in line.messages if message[0].startswith("@alice")]
    scene.tick(TUESDAY_9AM)
    [dm] = scene.dms("alice")
    assert [text for _to, text in previewed] == [dm["message"] + buttons_of(dm)]


def test_a_dry_run_tells_no_leader_about_themselves(scene):
    scene.person("boss", leader=True)
    scene.people("alice")
    scene.report("alice", MONDAY)
    scene.subscribe(delivery="dm", persona="emperor")
    previewed = [message for line in tick_lines(scene.services, TUESDAY_9AM, dry_run=True)
                 for message in line.messages]
    assert [to for to, _text in previewed] == ["@boss (direct message)"]  # their reminder, no summary
    scene.tick(TUESDAY_9AM)
    assert len(scene.dms("boss")) == 1
