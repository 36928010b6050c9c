"""The weekly digest (`/subscribe digest DAY HH:MM`): one channel post a week
summing up report rates, perfect records, streaks and long silences, with
the exactly-once guarantee of a run."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from sqlalchemy import update

from db.models import Absence, MissingStreak, RosterEntry
from tests.reminder_helpers import ZWSP, Scene, mentions_in

# 2026-11-23 (Mon) is Labour Thanksgiving Day in Japan; the team takes Wednesday off.
HOLIDAY, TUESDAY, DAY_OFF, THURSDAY, FRIDAY = (date(2026, 11, d) for d in (23, 24, 25, 26, 27))
MONDAY_9AM = datetime(2026, 11, 30, 0, 0, tzinfo=timezone.utc)  # 09:00 in Tokyo
# The team joined weeks before the week its digests sum up.
ON_THE_ROSTER_SINCE = datetime(2026, 11, 2, 0, 0, tzinfo=timezone.utc)


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


@pytest.fixture
def scene(database, mattermost, clock):
    clock.set(ON_THE_ROSTER_SINCE)
    scene = Scene(database, mattermost, clock)
    scene.person("boss", leader=True)
    scene.people("alice", "bob", "carol")
    scene.day_off(DAY_OFF)
    yield scene
    scene.close()


def week_of_reports(scene) -> None:
    for day in (TUESDAY, THURSDAY, FRIDAY):
        scene.report("alice", day)
        scene.report("boss", day)
    scene.report("bob", TUESDAY)
    scene.absent("bob", THURSDAY)  # off: excused, not missed
    scene.report("bob", FRIDAY)
    scene.report("carol", TUESDAY)


def digest_posts(scene) -> list[str]:
    return [p["message"] for p in scene.channel_posts()]


def day_lines_of(digest: str) -> list[str]:
    return [line for line in digest.splitlines() if line.startswith("- ")]


def perfect_line_of(digest: str) -> str:
    [perfect] = [line for line in digest.splitlines() if "every work day" in line.lower()]
    return perfect


def test_a_week_with_a_holiday_and_a_team_day_off_lists_its_work_days_only(scene):
    week_of_reports(scene)
    scene.subscribe(holidays="JP", digest_day=0, digest_time="09:00", delivery="dm")
    lines = scene.tick(MONDAY_9AM + timedelta(minutes=1))
    [digest] = digest_posts(scene)
    assert "2026-11-23" in digest and "2026-11-29" in digest  # the week it covers
    day_lines = day_lines_of(digest)
    assert day_lines == ["- Tue 2026-11-24: 4/4 (100%)", "- Thu 2026-11-26: 2/3 (67%)",
                         "- Fri 2026-11-27: 3/4 (75%)"]
    assert "9/11 reports (82%)" in digest or "9 of 11 reports filed (82%)" in digest
    assert any("weekly digest up to work date 2026-11-27: sent" in line for line in lines)


def test_the_digest_praises_who_filed_every_work_day_without_pinging_anyone(scene):
    week_of_reports(scene)
    scene.subscribe(holidays="JP", digest_day=0, digest_time="09:00", delivery="dm")
    scene.tick(MONDAY_9AM + timedelta(minutes=1))
    [digest] = digest_posts(scene)
    perfect = perfect_line_of(digest)
    assert f"@{ZWSP}alice" in perfect and f"@{ZWSP}boss" in perfect and f"@{ZWSP}bob" in perfect
    assert "carol" not in perfect
    assert mentions_in(digest) == set()


def test_the_digest_counts_the_outside_sources_reports_and_absences_from_this_team_alone(scene):
    class Source:  # the company's own work-report database knows carol's Thursday
        member_key = "username"

        def reported_keys(self, work_date):
            return {"Carol"} if work_date == THURSDAY else set()

    scene.services.source = Source()
    week_of_reports(scene)
    with scene.database.write() as session:  # off for this team only; alice filed anyway, and a report wins
        session.add_all(Absence(member_id=scene.member_id(name), team_id=scene.team_id, work_date=FRIDAY,
                                created_at=scene.clock()) for name in ("carol", "alice"))
    scene.subscribe(holidays="JP", digest_day=0, digest_time="09:00", delivery="dm")
    scene.tick(MONDAY_9AM + timedelta(minutes=1))
    [digest] = digest_posts(scene)
    day_lines = day_lines_of(digest)
    assert day_lines == ["- Tue 2026-11-24: 4/4 (100%)", "- Thu 2026-11-26: 3/3 (100%)",
                         "- Fri 2026-11-27: 3/3 (100%)"]
    perfect = perfect_line_of(digest)
    assert all(f"@{ZWSP}{name}" in perfect for name in ("alice", "boss", "bob", "carol"))


def test_the_digest_names_the_longest_streaks_and_the_long_missing_streaks(scene):
    week_of_reports(scene)
    sub_id = scene.subscribe(holidays="JP", digest_day=0, digest_time="09:00", delivery="dm", escalate=3)
    with scene.database.write() as session:
        session.add(MissingStreak(subscription_id=sub_id, member_id=scene.member_id("carol"), streak=4,
                                  leaders_told=True))
    scene.tick(MONDAY_9AM + timedelta(minutes=1))
    [digest] = digest_posts(scene)
    [streaks] = [line for line in digest.splitlines() if "streaks:" in line.lower() and "missing" not in line.lower()]
    # alice and boss: Fri, Thu, (Wed off), Tue = 3; bob was off Thursday: Fri, Tue = 2
    assert streaks.index("alice") < streaks.index("boss") < streaks.index("bob")
    assert f"@{ZWSP}alice (3)" in streaks and f"@{ZWSP}bob (2)" in streaks
    [missing] = [line for line in digest.splitlines() if "missing" in line.lower() and "carol" in line]
    assert f"@{ZWSP}carol" in missing and mentions_in(missing) == set()


def test_the_digest_goes_out_once_whatever_the_ticks(scene):
    week_of_reports(scene)
    scene.subscribe(holidays="JP", digest_day=0, digest_time="09:00", delivery="dm")
    for minutes in (0, 0, 1, 30):
        scene.tick(MONDAY_9AM + timedelta(minutes=minutes))
    [post] = scene.channel_posts()
    [message] = scene.outbox(kind="digest")
    assert post["props"]["nippo_outbox_id"] == str(message.id) and post["id"] == message.post_id
    assert post["pending_post_id"] == message.pending_post_id
    assert [(r.slot, r.state) for r in scene.runs() if r.slot == "digest"] == [("digest", "sent")]


def test_moving_the_digest_to_a_later_day_of_the_same_week_sends_no_second_one(scene):
    sub_id = scene.subscribe(digest_day=0, digest_time="09:00", delivery="dm")
    scene.tick(MONDAY_9AM)
    scene.change(sub_id, digest_day=4, digest_time="17:00")
    scene.tick(utc(2026, 12, 4, 8, 0))  # Friday 17:00 in Tokyo, four days later
    assert len(scene.channel_posts()) == 1
    scene.tick(utc(2026, 12, 11, 8, 0))  # the Friday after: a new week
    assert len(scene.channel_posts()) == 2


def test_a_week_without_a_work_day_has_no_digest(scene):
    for day in range(23, 30):
        if date(2026, 11, day) != DAY_OFF:
            scene.day_off(date(2026, 11, day))
    scene.subscribe(digest_day=0, digest_time="09:00", delivery="dm")
    lines = scene.tick(MONDAY_9AM)
    assert scene.channel_posts() == []
    assert [(r.slot, r.state, r.reason) for r in scene.runs() if r.slot == "digest"] == [
        ("digest", "skipped", "no work day")]
    assert any("digest" in line and "skipped (no work day)" in line for line in lines)


def test_with_check_same_day_the_week_ends_on_the_digest_day(scene):
    for day in (date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3), date(2026, 12, 4)):
        scene.report("alice", day)
    scene.subscribe(digest_day=4, digest_time="18:00", check_day="same-day", delivery="dm")
    scene.tick(utc(2026, 12, 4, 9, 0))  # Friday 18:00 in Tokyo
    [digest] = digest_posts(scene)
    assert "2026-11-28" in digest and "2026-12-04" in digest and "- Fri 2026-12-04" in digest


def test_the_emperor_sums_up_the_week_in_japanese(scene):
    week_of_reports(scene)
    scene.subscribe(holidays="JP", digest_day=0, digest_time="09:00", delivery="dm", persona="emperor",
                    language="ja")
    scene.tick(MONDAY_9AM)
    [digest] = digest_posts(scene)
    assert "2026-11-24（火）" in digest and "2026-11-23（月）" not in digest
    assert scene.channel_posts()[0]["props"]["override_username"] == "The Emperor"


def test_a_member_off_on_the_weeks_last_work_day_keeps_the_streak_before_it(scene):
    # Only members who filed or were off on the week's last work day are
    # looked up (anyone else's streak is 0): dave, off on Friday by his own
    # word, and erin, whom the team marked off, are two.
    week_of_reports(scene)
    scene.people("dave", "erin")
    for day in (date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20), TUESDAY, THURSDAY):
        scene.report("dave", day)
    for day in (date(2026, 11, 19), date(2026, 11, 20), TUESDAY, THURSDAY):
        scene.report("erin", day)
    scene.absent("dave", FRIDAY)
    with scene.database.write() as session:
        session.add(Absence(member_id=scene.member_id("erin"), team_id=scene.team_id, work_date=FRIDAY,
                            created_at=scene.clock()))
    scene.subscribe(holidays="JP", digest_day=0, digest_time="09:00", delivery="dm")
    scene.tick(MONDAY_9AM + timedelta(minutes=1))
    [digest] = digest_posts(scene)
    [streaks] = [line for line in digest.splitlines() if "streaks:" in line.lower() and "missing" not in line.lower()]
    # Thu, Tue and the Wed-Fri before (Fri off, Wed the team's day off, Mon a holiday): dave 5, erin 4
    assert f"@{ZWSP}dave (5)" in streaks and f"@{ZWSP}erin (4)" in streaks
    assert streaks.index("dave") < streaks.index("erin") < streaks.index("alice")


def joins(scene, username: str, at: datetime) -> None:
    scene.clock.set(at)
    scene.person(username)


def mondays_digest(scene, **options) -> str:
    """The digest of the week before MONDAY_9AM, for a subscription in Tokyo with Japan's holidays."""
    scene.subscribe(**{"holidays": "JP", "digest_day": 0, "digest_time": "09:00", "delivery": "dm", **options})
    scene.tick(MONDAY_9AM + timedelta(minutes=1))
    [digest] = digest_posts(scene)
    return digest


def test_who_joined_during_the_week_is_counted_from_their_first_expected_day(scene):
    """The day the first morning after joining checks (the last work day
    before), as the team page counts it: not the days before, filed or not."""
    week_of_reports(scene)
    joins(scene, "dave", utc(2026, 11, 27, 1, 0))  # Friday 10:00 in Tokyo: first expected Thursday
    joins(scene, "erin", utc(2026, 11, 29, 23, 0))  # Monday 08:00 in Tokyo, before the digest: first expected Friday
    scene.report("dave", TUESDAY)  # before dave was expected: not counted
    scene.report("dave", THURSDAY)
    scene.report("dave", FRIDAY)
    scene.report("erin", FRIDAY)
    digest = mondays_digest(scene)
    # Tuesday: the four of the week before; Thursday: dave too; Friday: dave and erin too
    assert day_lines_of(digest) == ["- Tue 2026-11-24: 4/4 (100%)", "- Thu 2026-11-26: 3/4 (75%)",
                         "- Fri 2026-11-27: 5/6 (83%)"]
    assert f"@{ZWSP}dave" in perfect_line_of(digest) and f"@{ZWSP}erin" in perfect_line_of(digest)


def test_who_joined_and_missed_their_first_expected_day_is_not_perfect(scene):
    week_of_reports(scene)
    # Friday 08:00 in Tokyo, still Thursday in UTC: the team's day counts, first expected Thursday (not Tuesday)
    joins(scene, "dave", utc(2026, 11, 26, 23, 0))
    scene.report("dave", FRIDAY)
    digest = mondays_digest(scene)
    assert day_lines_of(digest) == ["- Tue 2026-11-24: 4/4 (100%)", "- Thu 2026-11-26: 2/4 (50%)",
                         "- Fri 2026-11-27: 4/5 (80%)"]
    assert "dave" not in perfect_line_of(digest)


def test_with_check_same_day_who_joined_is_expected_from_the_day_they_joined(scene):
    week_of_reports(scene)
    joins(scene, "dave", utc(2026, 11, 25, 23, 0))  # Thursday 08:00 in Tokyo: Thursday's reminder checks Thursday
    scene.report("dave", THURSDAY)
    scene.report("dave", FRIDAY)
    scene.subscribe(holidays="JP", digest_day=4, digest_time="18:00", check_day="same-day", delivery="dm")
    scene.tick(utc(2026, 11, 27, 9, 0))  # Friday 18:00 in Tokyo: the week up to Friday itself
    [digest] = digest_posts(scene)
    day_lines = day_lines_of(digest)
    # not expected on Tuesday (with `check previous` he would be: the work day before Thursday)
    assert day_lines == ["- Tue 2026-11-24: 4/4 (100%)", "- Thu 2026-11-26: 3/4 (75%)",
                         "- Fri 2026-11-27: 4/5 (80%)"]
    perfect = perfect_line_of(digest)
    assert f"@{ZWSP}dave" in perfect


def test_a_join_is_dated_in_the_subscriptions_time_zone_behind_utc_too(scene):
    week_of_reports(scene)
    joins(scene, "erin", utc(2026, 11, 27, 2, 0))  # Thursday 18:00 in Los Angeles, Friday in UTC
    scene.report("erin", THURSDAY)
    scene.report("erin", FRIDAY)
    scene.subscribe(timezone="America/Los_Angeles", digest_day=0, digest_time="09:00", delivery="dm")
    scene.tick(utc(2026, 11, 30, 17, 1))  # Monday 09:01 in Los Angeles
    [digest] = digest_posts(scene)
    day_lines = day_lines_of(digest)
    # Thursday in Los Angeles: expected from Tuesday, the work day before (Wednesday is the team's day off)
    assert day_lines == ["- Mon 2026-11-23: 0/4 (0%)", "- Tue 2026-11-24: 4/5 (80%)",
                         "- Thu 2026-11-26: 3/4 (75%)", "- Fri 2026-11-27: 4/5 (80%)"]


def test_who_left_the_roster_and_came_back_is_counted_from_their_return(scene):
    """Coming back sets a new join time (tests/test_commands.py: `/team add`
    and `/team leader` of a removed member)."""
    week_of_reports(scene)
    with scene.database.write() as session:
        session.execute(update(RosterEntry).where(RosterEntry.member_id == scene.member_id("carol"))
                        .values(added_at=utc(2026, 11, 27, 1, 0)))  # back on Friday: first expected Thursday
    assert day_lines_of(mondays_digest(scene)) == ["- Tue 2026-11-24: 3/3 (100%)", "- Thu 2026-11-26: 2/3 (67%)",
                         "- Fri 2026-11-27: 3/4 (75%)"]
