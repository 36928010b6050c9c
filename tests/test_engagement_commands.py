"""Streaks in `/report` and `/report-status`, and the `again` and `digest`
options of `/subscribe`, end to end through Mattermost's form."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from commands.grammar import Subscribe, UsageError, parse_subscribe
from db.models import Subscription
from tests.test_commands import ZWSP, count, people, subscribed  # noqa: F401  (fixture)


def file(nippo, user, *days: str) -> str:
    reply = ""
    for day in days:
        reply = nippo.reply(user, f"{day} did things", "/report")
    return reply


def variants(nippo, key: str, **params) -> set[str]:
    return {v.format(**params) for v in nippo.services.personas.get("emperor").variants(key, "en")}


def subscription(database) -> Subscription:
    with database.read() as session:
        return session.scalars(select(Subscription)).one()


# --- streaks in /report ---------------------------------------------------------------

def test_report_confirms_with_the_members_streak(nippo, people):
    subscribed(nippo, people)
    nippo.reply(people["boss"], "add @alice", "/team")
    reply = file(nippo, people["alice"], "2026-11-26", "2026-11-27", "2026-11-30")
    assert reply.splitlines()[1] in variants(nippo, "report.streak", streak=3)


def test_a_report_filed_late_joins_the_streak_on_both_sides_of_the_gap(nippo, people):
    subscribed(nippo, people)
    nippo.reply(people["boss"], "add @alice", "/team")
    file(nippo, people["alice"], "2026-11-25", "2026-11-27", "2026-11-30")
    reply = file(nippo, people["alice"], "2026-11-26")
    assert reply.splitlines()[1] in variants(nippo, "report.streak", streak=4)


def test_the_first_day_of_a_streak_is_a_beginning(nippo, people):
    subscribed(nippo, people)
    nippo.reply(people["boss"], "add @alice", "/team")
    reply = file(nippo, people["alice"], "2026-11-30")
    assert reply.splitlines()[1] in variants(nippo, "report.streak_start", streak=1)


def test_the_emperors_respect_grows_with_a_long_streak(nippo, people):
    subscribed(nippo, people)
    nippo.reply(people["boss"], "add @alice", "/team")
    days = [date(2026, 11, 30) - timedelta(days=n) for n in range(18)]  # 2026-11-13..30: 12 work days
    reply = file(nippo, people["alice"], *[d.isoformat() for d in reversed(days) if d.weekday() < 5])
    assert reply.splitlines()[1] in variants(nippo, "report.streak_long", streak=12)


def test_a_report_on_a_day_off_of_the_team_says_no_streak(nippo, people):
    subscribed(nippo, people)
    nippo.reply(people["boss"], "add @alice", "/team")
    reply = file(nippo, people["alice"], "2026-11-29")  # a Sunday, nothing before it
    assert len(reply.splitlines()) == 1


# --- streaks in /report-status --------------------------------------------------------

def test_status_lists_the_longest_current_streaks_after_the_missing_members(nippo, people):
    subscribed(nippo, people)
    nippo.reply(people["boss"], "add @alice @bob @carol", "/team")
    file(nippo, people["alice"], "2026-11-25", "2026-11-26", "2026-11-27", "2026-11-30")
    file(nippo, people["bob"], "2026-11-27", "2026-11-30")
    file(nippo, people["boss"], "2026-11-30")
    lines = nippo.reply(people["carol"], "2026-11-30", "/report-status").splitlines()
    [missing] = [i for i, line in enumerate(lines) if f"@{ZWSP}carol" in line]
    [streaks] = [i for i, line in enumerate(lines) if f"@{ZWSP}alice (4)" in line]
    assert streaks == missing + 1
    assert f"@{ZWSP}bob (2)" in lines[streaks] and "boss" not in lines[streaks]  # one day is no streak yet


# --- /subscribe again, digest ---------------------------------------------------------

def test_subscribe_shows_again_and_digest(nippo, people):
    subscribed(nippo, people, "at 09:00 tz Asia/Tokyo to dm again 13:00,17:00 digest fri 17:00")
    shown = nippo.reply(people["boss"], "", "/subscribe")
    assert "again 13:00,17:00" in shown and "digest fri 17:00" in shown


def test_a_new_subscription_has_no_nudges_and_no_digest(nippo, people):
    subscribed(nippo, people)
    shown = nippo.reply(people["boss"], "", "/subscribe")
    assert "again off" in shown and "digest off" in shown


def test_the_next_reminder_line_includes_the_nudges_and_the_digest(nippo, people):
    # Tuesday 09:00 in Tokyo: today's run is due now
    reply = subscribed(nippo, people, "at 09:00 tz Asia/Tokyo to both again 13:00, 17:30 digest fri 17:00")
    assert "→ 2026-11-30, again 13:00, 17:30" in reply
    assert "digest 2026-12-04 (Fri) 17:00" in reply


def test_nudges_still_to_come_today_are_in_the_next_reminder_line(nippo, people, database):
    from db.models import ReminderRun

    subscribed(nippo, people, "at 08:00 tz Asia/Tokyo to dm")
    with database.write() as session:  # today's run went out at 08:00
        now = nippo.services.clock()
        session.add(ReminderRun(subscription_id=subscription(database).id, local_date=date(2026, 12, 1),
                                work_date=date(2026, 11, 30), state="sent", scheduled_at=now, deadline=now,
                                created_at=now))
    reply = nippo.reply(people["boss"], "again 08:30,13:00", "/subscribe")
    assert "again 13:00 → 2026-11-30; 2026-12-02 (Wed) 08:00" in reply


def test_again_in_channel_mode_says_nudges_are_dms(nippo, people):
    reply = subscribed(nippo, people, "at 09:00 tz Asia/Tokyo again 13:00")
    assert any(v in reply for v in variants(nippo, "subscribe.again_channel_note"))
    assert ", again" not in reply  # no nudge goes out in channel mode


def test_again_off_and_digest_off_remove_them(nippo, people, database):
    subscribed(nippo, people, "at 09:00 tz Asia/Tokyo to dm again 13:00 digest mon 09:30")
    nippo.reply(people["boss"], "again off digest off", "/subscribe")
    sub = subscription(database)
    assert (sub.again_times, sub.digest_day, sub.digest_time) == ("", None, None)


def test_a_nudge_not_after_at_is_refused_and_nothing_is_written(nippo, people, database):
    text = nippo.reply(people["boss"], "at 09:00 tz Asia/Tokyo to dm again 13:00,08:30", "/subscribe")
    assert "08:30" in text and "09:00" in text and "/subscribe [at HH:MM]" in text
    assert count(database, Subscription) == 0


def test_moving_at_past_a_nudge_is_refused_with_a_clear_message(nippo, people, database):
    subscribed(nippo, people, "at 09:00 tz Asia/Tokyo to dm again 13:00")
    text = nippo.reply(people["boss"], "at 14:00 persona plain", "/subscribe")
    assert "13:00" in text and "14:00" in text and "again off" in text
    sub = subscription(database)
    assert (sub.at_time, sub.persona, sub.again_times) == ("09:00", "emperor", "13:00")
    nippo.reply(people["boss"], "at 14:00 again 15:00", "/subscribe")
    assert (subscription(database).at_time, subscription(database).again_times) == ("14:00", "15:00")


def test_help_and_usage_name_again_and_digest(nippo, people):
    text = nippo.reply(people["boss"], "help", "/subscribe")
    assert "again HH:MM" in text and "digest DAY HH:MM" in text
    usage = nippo.reply(people["boss"], "again", "/subscribe")
    assert "[again HH:MM[,HH:MM...] | again off]" in usage and "[digest DAY HH:MM | digest off]" in usage


@pytest.mark.parametrize("text, options", [
    ("again 13:00", {"again": (time(13, 0),)}),
    ("again 17:00,13:00", {"again": (time(13, 0), time(17, 0))}),
    ("again 13:00, 15:00, 17:00", {"again": (time(13, 0), time(15, 0), time(17, 0))}),
    ("again OFF", {"again": ()}),
    ("digest fri 17:00", {"digest": (4, time(17, 0))}),
    ("digest Monday 9:30", {"digest": (0, time(9, 30))}),
    ("digest 金 17:00", {"digest": (4, time(17, 0))}),
    ("digest off at 8:00", {"digest": None, "at": time(8, 0)}),
])
def test_again_and_digest_options(text, options):
    assert parse_subscribe(text) == Subscribe(options)


@pytest.mark.parametrize("text, option", [
    ("again 13:00,14:00,15:00,16:00", "again"),  # at most three
    ("again 13:00,13:00", "again"),
    ("again 25:00", "again"),
    ("again", "again"),
    ("digest fri", "digest"),
    ("digest 17:00", "digest"),
    ("digest mon-fri 17:00", "digest"),
    ("digest fri,mon 17:00", "digest"),
    ("digest someday 17:00", "digest"),
])
def test_bad_again_and_digest_values_are_errors_naming_the_option(text, option):
    error = parse_subscribe(text)
    assert isinstance(error, UsageError) and error.key == "error.bad_value" and error.params["option"] == option


@pytest.mark.parametrize("text, option", [
    ("again 13:00 again 14:00", "again"),
    ("digest fri 17:00 digest off", "digest"),
])
def test_again_or_digest_given_twice_says_so(text, option):
    error = parse_subscribe(text)
    assert isinstance(error, UsageError) and error.key == "error.given_twice" and error.params["option"] == option
