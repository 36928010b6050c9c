"""`to dm` and `both` reminders, snoozes and escalation (SPEC §3, §4, §5.1)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.reminders import schedule_snooze
from tests.reminder_helpers import TUESDAY_9AM, ZWSP, Scene, mentions_in

MONDAY = date(2026, 11, 30)


@pytest.fixture
def scene(database, mattermost, clock):
    scene = Scene(database, mattermost, clock)
    yield scene
    scene.close()


def buttons(post) -> list[dict]:
    [attachment] = post["props"]["attachments"]
    return attachment["actions"]


def stored_buttons(scene, post) -> list[dict]:
    """The buttons as Mattermost keeps them: with the integration nippo sent."""
    return scene.mattermost.posts_by_id[post["id"]]["props"]["attachments"][0]["actions"]


def test_dm_mode_sends_each_missing_member_a_dm_with_three_buttons(scene):
    scene.person("boss", leader=True)
    scene.people("alice", "bob")
    scene.report("boss", MONDAY)
    scene.subscribe(delivery="dm")
    scene.tick(TUESDAY_9AM)

    assert scene.channel_posts() == []
    [_summary] = scene.dms("boss")  # the boss filed: only the leaders' summary
    for name in ("alice", "bob"):
        [dm] = scene.dms(name)
        assert "`/report 2026-11-30" in dm["message"]
        assert [b["id"] for b in buttons(dm)] == ["write", "off", "snooze"]
        assert [b["name"] for b in buttons(dm)] == ["Write report", "I was off", "Remind me in 1 hour"]
        for button in stored_buttons(scene, dm):
            integration = button["integration"]
            assert integration["url"] == "http://nippo.test/mattermost/actions"
            fields = scene.services.signer.verify(integration["context"])
            assert fields == {"a": button["id"], "u": scene.users[name]["id"], "d": "2026-11-30",
                              "e": int((TUESDAY_9AM + timedelta(days=7)).timestamp())}


def test_leaders_get_a_one_line_summary(scene):
    scene.person("boss", leader=True)
    scene.people("alice", "bob")
    scene.report("boss", MONDAY)
    scene.subscribe(delivery="dm")
    scene.tick(TUESDAY_9AM)
    [summary] = scene.dms("boss")
    assert f"@{ZWSP}alice" in summary["message"] and f"@{ZWSP}bob" in summary["message"]
    assert not mentions_in(summary["message"]) and "\n" not in summary["message"].strip()


def test_leaders_get_the_praise_when_nobody_is_missing(scene):
    scene.person("boss", leader=True)
    scene.person("alice")
    scene.report("boss", MONDAY)
    scene.report("alice", MONDAY)
    scene.subscribe(delivery="dm")
    scene.tick(TUESDAY_9AM)
    [praise] = scene.dms("boss")
    assert "filed" in praise["message"] and scene.dms("alice") == []


def test_a_member_on_two_rosters_gets_one_dm_per_work_date(scene):
    other_channel = scene.mattermost.add_channel(scene.channel["team_id"], "ops")
    scene.mattermost.add_channel_member(other_channel["id"], scene.mattermost.bot["id"])
    other_team = scene.add_team(other_channel)
    scene.person("alice")
    scene.person("alice", team_id=other_team, channel=other_channel)
    scene.person("remote", in_channel=False)
    scene.person("remote", team_id=other_team, channel=other_channel, in_channel=False)
    scene.subscribe(delivery="dm")
    scene.subscribe(team_id=other_team, delivery="both")
    scene.tick(TUESDAY_9AM)
    assert len(scene.dms("alice")) == 1 and len(scene.dms("remote")) == 1
    assert [r.state for r in scene.runs()] == ["sent", "sent"]


def test_both_sends_the_channel_post_and_the_dms(scene):
    scene.people("alice", "bob")
    scene.report("alice", MONDAY)
    scene.subscribe(delivery="both")
    scene.tick(TUESDAY_9AM)
    [post] = scene.channel_posts()
    assert mentions_in(post["message"]) == {"bob"}
    assert len(scene.dms("bob")) == 1 and scene.dms("alice") == []


def test_a_snooze_comes_an_hour_later_once(scene):
    scene.person("alice")
    scene.subscribe(delivery="dm")
    scene.tick(TUESDAY_9AM)
    alice = scene.users["alice"]["id"]
    clicked = TUESDAY_9AM + timedelta(minutes=10)
    with scene.database.write() as session:
        assert schedule_snooze(session, scene.services, alice, MONDAY, clicked + timedelta(hours=1)) is True
    with scene.database.write() as session:
        assert schedule_snooze(session, scene.services, alice, MONDAY, clicked + timedelta(hours=1)) is False
    scene.tick(clicked + timedelta(minutes=59))
    assert len(scene.dms("alice")) == 1
    scene.tick(clicked + timedelta(hours=1))
    first, snoozed = scene.dms("alice")
    assert "`/report 2026-11-30" in snoozed["message"] and snoozed["message"] != first["message"]
    assert [b["id"] for b in buttons(snoozed)] == ["write", "off", "snooze"]
    scene.tick(clicked + timedelta(hours=2))
    assert len(scene.dms("alice")) == 2


def test_a_snooze_is_dropped_once_its_date_is_filed(scene):
    scene.person("alice")
    scene.subscribe(delivery="dm")
    scene.tick(TUESDAY_9AM)
    with scene.database.write() as session:
        schedule_snooze(session, scene.services, scene.users["alice"]["id"], MONDAY, TUESDAY_9AM + timedelta(hours=1))
    scene.report("alice", MONDAY)
    scene.tick(TUESDAY_9AM + timedelta(hours=1))
    assert len(scene.dms("alice")) == 1
    [snooze] = scene.outbox(kind="snooze")
    assert snooze.state == "cancelled"


def test_escalation_after_n_sent_runs_in_a_row_and_leaders_told_once(scene):
    scene.person("boss", leader=True)
    scene.people("alice", "bob")
    scene.subscribe(escalate=2, delivery="both")
    days = [TUESDAY_9AM + timedelta(days=n) for n in range(4)]  # Tue..Fri
    for day in days[:-1]:
        scene.report("boss", (day - timedelta(days=1)).date())
    scene.report("bob", days[0].date() - timedelta(days=1))  # bob filed Monday only
    scene.absent("alice", date(2026, 12, 1))  # an absence neither counts nor breaks the streak

    scene.tick(days[0])  # checks Mon: alice 1, bob filed
    scene.tick(days[1])  # checks Tue: alice absent (still 1), bob 1
    scene.tick(days[2])  # checks Wed: alice 2 -> stern, bob 2 -> stern
    scene.tick(days[3])  # checks Thu: still stern; leaders not told again

    stern_dms = [p["message"] for p in scene.dms("alice")]
    assert len(stern_dms) == 3
    assert "in a row" not in stern_dms[0] and "in a row" in stern_dms[1] + stern_dms[2]
    escalations = [p for p in scene.dms("boss") if "row" in p["message"] and "alice" in p["message"]]
    assert len(escalations) == 1 and f"@{ZWSP}bob" in escalations[0]["message"]
    posts = scene.channel_posts()
    assert len(posts) == 4 and "2" in posts[2]["message"] and "row" in posts[2]["message"]


def test_a_report_ends_the_streak(scene):
    scene.person("alice")
    sub_id = scene.subscribe(escalate=1)
    scene.tick(TUESDAY_9AM)  # escalate 1: the first miss is already stern
    scene.report("alice", date(2026, 12, 1))
    scene.tick(TUESDAY_9AM + timedelta(days=1))  # praise
    scene.tick(TUESDAY_9AM + timedelta(days=2))
    from db.models import MissingStreak

    with scene.database.read() as session:
        streak = session.get(MissingStreak, (sub_id, scene.member_id("alice")))
    assert (streak.streak, streak.leaders_told) == (1, True)
    assert len(scene.channel_posts()) == 3


def test_leaders_are_not_told_about_someone_who_filed_before_it_was_sent(scene):
    from bot.reminders.common import TickTime, process_id
    from bot.tick import plan_tick

    scene.person("boss", leader=True)
    scene.people("alice", "bob")
    scene.report("boss", MONDAY)
    scene.subscribe(escalate=1, delivery="dm")
    plan_tick(scene.services, TickTime(TUESDAY_9AM), process_id())
    scene.report("alice", MONDAY)
    scene.tick(TUESDAY_9AM)
    told = [p["message"] for p in scene.dms("boss") if "row" in p["message"]]
    assert len(told) == 1 and "bob" in told[0] and "alice" not in told[0]
    assert scene.dms("alice") == []
