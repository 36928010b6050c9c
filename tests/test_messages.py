"""What the first hour with nippo reads like: grammar errors that say what
was wrong, code spans shown as typed, Japanese that reads as Japanese, and
notices that make sense to whoever gets them (docs/commands.md)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from db.models import Member, ReminderRun, Subscription

ZWSP = "\u200b"
USAGE = "**Usage**"
TRIGGERS = ("/report", "/report-status", "/subscribe", "/unsubscribe", "/team")


@pytest.fixture
def people(mattermost):
    made = {}
    for username in ("boss", "alice", "bob", "carol"):
        user = mattermost.add_user(username)
        mattermost.add_team_member(mattermost.team["id"], user["id"])
        mattermost.add_channel_member(mattermost.channel["id"], user["id"], scheme_admin=username == "boss")
        made[username] = user
    return made


def code_spans(text: str) -> list[str]:
    return re.findall(r"`([^`]*)`", text)


@pytest.mark.parametrize("options, option", [
    ("at 09:00 at 10:00", "at"),
    ("tz UTC tz UTC", "tz"),
    ("lang en persona plain lang ja", "lang"),
])
def test_an_option_given_twice_says_it_was_given_twice(nippo, people, database, options, option):
    text = nippo.reply(people["boss"], options, "/subscribe")
    first_line = text.split("\n")[0]
    assert f"`{option}`" in first_line and "twice" in first_line
    assert "will not do" not in first_line and "I expect" not in first_line  # not "a bad value"
    assert USAGE in text
    with database.read() as session:
        assert session.scalars(select(Subscription)).first() is None  # nothing written


def test_an_unknown_trigger_names_the_five_real_ones_without_another_commands_usage(nippo, people):
    text = nippo.reply(people["alice"], "did things", "/reprot")
    assert "/reprot" in text
    for trigger in TRIGGERS:
        assert trigger in text
    assert USAGE not in text and "[DATE]" not in text


def test_team_leader_with_two_users_says_leader_takes_one(nippo, people):
    text = nippo.reply(people["boss"], "leader @bob @carol", "/team")
    first_line = text.split("\n")[0]
    assert "`/team leader`" in first_line and "one" in first_line and "carol" in first_line
    assert "no such option" not in text and "know of no" not in text


@pytest.mark.parametrize("command, text", [
    ("/team", "link @bob"),
    ("/team", "link"),
    ("/subscribe", "days weekdays"),
    ("/subscribe", "at 25:00"),
])
def test_code_spans_hold_no_escapes_or_zero_width_spaces(nippo, people, command, text):
    reply = nippo.reply(people["boss"], text, command)
    spans = code_spans(reply)
    assert spans
    for span in spans:
        assert ZWSP not in span and "\\" not in span, span
    if text.startswith("link"):
        assert "`@user EXTERNAL_ID`" in reply


def test_japanese_replies_use_japanese_weekday_names(nippo, people):
    text = nippo.reply(people["boss"], "at 09:00 tz Asia/Tokyo lang ja", "/subscribe")
    assert re.search(r"\d{4}-\d{2}-\d{2} \([月火水木金土日]\) 09:00", text), text
    assert not re.search(r"\((Mon|Tue|Wed|Thu|Fri|Sat|Sun)\)", text)
    english = nippo.reply(people["boss"], "lang en", "/subscribe")
    assert re.search(r"\((Mon|Tue|Wed|Thu|Fri|Sat|Sun)\)", english)


def chased(database, username: str, *work_dates: date) -> None:
    """Runs that listed ``username`` as missing for each work date, as a tick would have left them."""
    with database.write() as session:
        member = session.scalars(select(Member).where(Member.username == username)).one()
        subscription = session.scalars(select(Subscription)).one()
        now = datetime(2026, 12, 1, tzinfo=timezone.utc)
        for work_date in work_dates:
            session.add(ReminderRun(subscription_id=subscription.id, local_date=work_date + timedelta(days=1),
                                    work_date=work_date, state="sent", missing=[member.id],
                                    scheduled_at=now, deadline=now, created_at=now))


def test_japanese_lists_dates_with_the_ideographic_comma(nippo, people, database):
    nippo.reply(people["boss"], "tz Asia/Tokyo lang ja persona plain", "/subscribe")
    nippo.reply(people["boss"], "add @alice", "/team")
    chased(database, "alice", date(2026, 11, 26), date(2026, 11, 27))
    text = nippo.reply(people["alice"], "2026-11-30 did things", "/report")
    assert "2026-11-27、2026-11-26" in text and "2026-11-27, " not in text


def test_report_never_suggests_a_date_it_would_refuse_as_future(nippo, people, database):
    """Mornings played ahead of the clock (`nippo remind --at` next week) chased future dates."""
    nippo.reply(people["boss"], "tz Asia/Tokyo persona plain", "/subscribe")
    nippo.reply(people["boss"], "add @alice", "/team")
    chased(database, "alice", date(2026, 11, 27), date(2026, 12, 11))  # today is 2026-12-01
    text = nippo.reply(people["alice"], "2026-11-30 did things", "/report")
    assert "2026-11-27" in text and "2026-12-11" not in text
    refused = nippo.reply(people["alice"], "2026-12-11 did things", "/report")
    assert USAGE in refused  # what it would have suggested is indeed refused


def test_report_with_only_future_chased_dates_suggests_nothing(nippo, people, database):
    nippo.reply(people["boss"], "tz Asia/Tokyo persona plain", "/subscribe")
    nippo.reply(people["boss"], "add @alice", "/team")
    chased(database, "alice", date(2026, 12, 11))
    text = nippo.reply(people["alice"], "2026-11-30 did things", "/report")
    assert "/report 2026-12-11" not in text and not any("/report" in line for line in text.split("\n"))


# --- the report dialog ---------------------------------------------------------


def open_dialog(nippo, mattermost, user) -> dict:
    nippo.reply(user, "", "/report")
    return mattermost.dialogs[-1]


def test_the_dialog_says_a_future_date_is_in_the_future(nippo, mattermost, people, database):
    opened = open_dialog(nippo, mattermost, people["alice"])  # today is 2026-12-01
    answer = mattermost.submit_dialog(opened, people["alice"], {"work_date": "2026-12-09", "text": "ahead"})
    assert answer.status_code == 200
    error = answer.json()["errors"]["work_date"]
    assert "2026-12-09" in error and "future" in error and "not a date" not in error


def test_an_expired_dialog_does_not_call_itself_a_button(nippo, mattermost, people, clock):
    opened = open_dialog(nippo, mattermost, people["alice"])
    clock.advance(hours=25)  # dialogs live 24 hours
    answer = mattermost.submit_dialog(opened, people["alice"], {"work_date": "2026-12-01", "text": "late"})
    assert answer.status_code == 200
    error = answer.json()["error"]
    assert "button" not in error.lower() and "form" in error.lower()
    assert "/report 2026-12-01" in error  # what to do instead, for the dialog's own date


# --- the leaders' escalation notice -------------------------------------------------


@pytest.fixture
def scene(database, mattermost, clock):
    from tests.reminder_helpers import Scene

    scene = Scene(database, mattermost, clock)
    yield scene
    scene.close()


def test_the_escalation_is_one_message_listing_every_member(scene):
    from tests.reminder_helpers import TUESDAY_9AM

    scene.person("boss", leader=True)
    scene.report("boss", date(2026, 11, 30))
    scene.people("alice", "bob", "carol")
    scene.subscribe(escalate=1, persona="plain")
    scene.tick(TUESDAY_9AM)
    [told] = [p["message"] for p in scene.dms("boss")]
    for username in ("alice", "bob", "carol"):
        assert f"@{ZWSP}{username}" in told
    assert "\n" not in told


def test_a_leader_is_never_told_about_themselves_in_the_third_person(scene):
    from tests.reminder_helpers import TUESDAY_9AM

    scene.person("boss", leader=True)
    scene.person("deputy", leader=True)
    scene.people("alice")
    scene.subscribe(escalate=1, persona="plain")  # boss, deputy and alice all missed Monday
    scene.tick(TUESDAY_9AM)
    [to_boss] = [p["message"] for p in scene.dms("boss")]
    [to_deputy] = [p["message"] for p in scene.dms("deputy")]
    assert f"@{ZWSP}boss" not in to_boss and f"@{ZWSP}deputy" in to_boss and f"@{ZWSP}alice" in to_boss
    assert f"@{ZWSP}deputy" not in to_deputy and f"@{ZWSP}boss" in to_deputy


def test_a_lone_leader_gets_no_notice_about_only_themselves(scene):
    from tests.reminder_helpers import TUESDAY_9AM

    scene.person("boss", leader=True)
    scene.subscribe(escalate=1, persona="plain")
    scene.tick(TUESDAY_9AM)
    assert scene.dms("boss") == []  # the channel post already chases them
    assert len(scene.channel_posts()) == 1
