"""`to dm` and `both` reminders, snoozes and escalation (docs/reminders.md)."""

from __future__ import annotations

import re

from datetime import date, timedelta

import pytest

from bot.reminders import schedule_snooze
from bot.reminders.common import POST_LIMIT
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


def test_a_leaders_summary_never_names_the_leader_it_goes_to(scene):
    scene.person("boss", leader=True)
    scene.person("alice")
    scene.subscribe(delivery="dm")
    scene.tick(TUESDAY_9AM)
    dms = [dm["message"] for dm in scene.dms("boss")]
    summary = next(text for text in dms if f"@{ZWSP}alice" in text)
    assert "boss" not in summary
    assert len(dms) == 2  # boss's own reminder, and the summary naming alice alone


def test_a_leader_who_alone_is_missing_gets_their_reminder_and_no_summary(scene):
    scene.person("boss", leader=True)
    scene.person("alice")
    scene.report("alice", MONDAY)
    scene.subscribe(delivery="dm")
    scene.tick(TUESDAY_9AM)
    [reminder] = scene.dms("boss")
    assert "/report 2026-11-30" in reminder["message"] and reminder["props"]["attachments"]


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


def test_a_dm_the_first_roster_could_not_deliver_is_sent_by_the_second(scene):
    other_channel = scene.mattermost.add_channel(scene.channel["team_id"], "ops")
    scene.mattermost.add_channel_member(other_channel["id"], scene.mattermost.bot["id"])
    other_team = scene.add_team(other_channel)
    scene.person("alice")
    scene.person("alice", team_id=other_team, channel=other_channel)
    scene.subscribe(delivery="dm")  # 09:00 Tokyo
    scene.subscribe(team_id=other_team, delivery="dm", at_time="13:00")
    scene.mattermost.fail("POST", r"/api/v4/posts", status=503, times=10000)
    scene.tick(TUESDAY_9AM)
    scene.tick(TUESDAY_9AM + timedelta(minutes=181))  # the first run's window closed: its DM is dropped
    assert [m.state for m in scene.outbox(kind="dm")] == ["dropped"]
    scene.mattermost.clear_faults()
    scene.tick(TUESDAY_9AM + timedelta(hours=4))
    [dm] = scene.outbox(kind="dm")
    assert dm.state == "sent" and dm.run_id == scene.runs()[1].id
    assert len(scene.dms("alice")) == 1
    scene.tick(TUESDAY_9AM + timedelta(hours=4, minutes=1))
    assert len(scene.dms("alice")) == 1  # one delivered DM per work date, still


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


def test_a_snooze_waits_while_the_report_source_is_down(scene):
    from bot.sources import SourceUnavailable

    class Flaky:
        member_key = "username"
        down = False

        def reported_keys(self, work_date):
            if self.down:
                raise SourceUnavailable("connection refused")
            return frozenset()

    scene.services.source = source = Flaky()
    scene.person("alice")
    scene.subscribe(delivery="dm")
    scene.tick(TUESDAY_9AM)
    alice = scene.users["alice"]["id"]
    with scene.database.write() as session:
        schedule_snooze(session, scene.services, alice, MONDAY, TUESDAY_9AM + timedelta(hours=1))
    source.down = True
    scene.tick(TUESDAY_9AM + timedelta(hours=1))
    assert len(scene.dms("alice")) == 1
    [snooze] = scene.outbox(kind="snooze")
    assert snooze.state == "pending"
    source.down = False
    scene.tick(TUESDAY_9AM + timedelta(hours=1, minutes=1))
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


def test_an_escalation_notice_for_a_huge_team_stays_within_the_post_limit(scene):
    scene.person("boss", leader=True)
    scene.report("boss", MONDAY)
    scene.people(*[f"member-{i:04d}" for i in range(900)])  # one list of 900 names: past the limit
    scene.subscribe(persona="emperor", escalate=1)
    scene.tick(TUESDAY_9AM)
    notices = scene.outbox(kind="notice")
    assert [m.state for m in notices] == ["sent"]
    [told] = [p["message"] for p in scene.dms("boss")]
    assert len(told) <= POST_LIMIT and re.search(r"\(1\) \(\+\d+\)", told)  # whole names, the rest counted


def test_a_report_ends_the_streak(scene):
    scene.person("boss", leader=True)  # leaders_told is recorded when an escalation reaches one
    for day in (MONDAY, date(2026, 12, 1), date(2026, 12, 2)):
        scene.report("boss", day)
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


def test_leaders_are_told_once_even_when_the_run_failed(scene):
    from db.models import MissingStreak

    scene.person("boss", leader=True)
    scene.person("alice")
    sub_id = scene.subscribe(escalate=1)
    scene.mattermost.remove_channel_member(scene.channel["id"], scene.mattermost.bot["id"])
    for day in range(2):
        scene.report("boss", MONDAY + timedelta(days=day))
        scene.tick(TUESDAY_9AM + timedelta(days=day))
    assert [r.state for r in scene.runs()] == ["failed", "failed"]
    told = [m for m in scene.outbox(kind="notice") if m.key.startswith("escalation:") and m.state == "sent"]
    assert len(told) == 1
    with scene.database.read() as session:
        assert session.get(MissingStreak, (sub_id, scene.member_id("alice"))).leaders_told


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
