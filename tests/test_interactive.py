"""Buttons on the reminder DM and the report dialog (docs/buttons-and-dialogs.md),
end to end: the tick posts the DM to the stand-in, the stand-in posts the
click to nippo as Mattermost does, and we read what the member would read."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import func, select

from db.models import Absence, Report

TOKYO_0905 = datetime(2026, 12, 1, 0, 5, tzinfo=timezone.utc)  # Tuesday 09:05 in Tokyo
WORK_DATE = date(2026, 11, 30)


@pytest.fixture
def team(mattermost, nippo):
    """boss (leader) and alice on a `to dm` subscription; the morning DM sent."""
    users = {}
    for username in ("boss", "alice", "bob"):
        user = mattermost.add_user(username)
        mattermost.add_channel_member(mattermost.channel["id"], user["id"], scheme_admin=username == "boss")
        users[username] = user
    assert "Asia/Tokyo" in nippo.reply(users["boss"], "at 09:00 tz Asia/Tokyo to dm", "/subscribe")
    nippo.reply(users["boss"], "add @alice @bob", "/team")
    nippo.reply(users["boss"], "2026-11-30 planned the sprint", "/report")
    nippo.tick(TOKYO_0905)
    return users


def reminder_dm(mattermost, user):
    posts = [p for p in mattermost.dm_posts_to(user["id"]) if p["props"].get("attachments")]
    assert posts, "no DM with buttons"
    return posts[-1]


def buttons(post):
    return [a["id"] for att in post["props"].get("attachments", []) for a in att.get("actions", [])]


def status_line(post):
    return "\n".join(att.get("text", "") for att in post["props"].get("attachments", []))


def count(database, model):
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_the_dm_has_three_buttons_and_the_command(team, mattermost):
    post = reminder_dm(mattermost, team["alice"])
    assert buttons(post) == ["write", "off", "snooze"]
    assert "/report 2026-11-30" in post["message"]


def test_i_was_off_records_an_absence_and_updates_the_dm(team, mattermost, database):
    post = reminder_dm(mattermost, team["alice"])
    answer = mattermost.click(post["id"], "off", team["alice"])
    assert answer.status_code == 200
    assert count(database, Absence) == 1
    updated = mattermost.posts_by_id[post["id"]]
    assert buttons(updated) == []
    assert updated["message"] == post["message"]  # never edited: past PostEditTimeLimit that is refused
    assert "2026-11-30" in status_line(updated)  # what happened, said in an attachment


def test_write_report_opens_the_dialog_and_submitting_files_and_updates_the_dm(team, mattermost, database):
    post = reminder_dm(mattermost, team["alice"])
    answer = mattermost.click(post["id"], "write", team["alice"])
    assert answer.status_code == 200
    assert buttons(mattermost.posts_by_id[post["id"]]) == ["write", "off", "snooze"]  # stays until filed
    opened = mattermost.dialogs[-1]
    assert opened["dialog"]["elements"][0]["default"] == "2026-11-30"
    result = mattermost.submit_dialog(opened, team["alice"], {"work_date": "2026-11-30", "text": "wrote the tests"})
    assert result.status_code == 200
    with database.read() as session:
        texts = session.scalars(select(Report.text).where(Report.work_date == WORK_DATE)).all()
    assert "wrote the tests" in texts
    assert buttons(mattermost.posts_by_id[post["id"]]) == []


@pytest.mark.parametrize("submission, field", [
    ({"work_date": "2026-11-30", "text": "   "}, "text"),
    ({"work_date": "2026-11-30", "text": "x" * 3001}, "text"),
    ({"work_date": "2026-13-45", "text": "ok"}, "work_date"),
    ({"work_date": "someday", "text": "ok"}, "work_date"),
])
def test_bad_dialog_input_is_answered_with_field_errors(team, mattermost, database, submission, field):
    post = reminder_dm(mattermost, team["alice"])
    mattermost.click(post["id"], "write", team["alice"])
    answer = mattermost.submit_dialog(mattermost.dialogs[-1], team["alice"], submission)
    assert answer.status_code == 200
    errors = answer.json()["errors"]
    assert field in errors and errors[field]
    assert count(database, Report) == 1  # only the leader's


def test_snooze_sends_the_dm_again_an_hour_later_once(team, mattermost, nippo, clock):
    post = reminder_dm(mattermost, team["alice"])
    clock.set(TOKYO_0905 + timedelta(minutes=1))
    assert mattermost.click(post["id"], "snooze", team["alice"]).status_code == 200
    assert buttons(mattermost.posts_by_id[post["id"]]) == ["write", "off"]
    before = len(mattermost.dm_posts_to(team["alice"]["id"]))
    nippo.tick(TOKYO_0905 + timedelta(minutes=30))
    assert len(mattermost.dm_posts_to(team["alice"]["id"])) == before
    nippo.tick(TOKYO_0905 + timedelta(minutes=62))
    assert len(mattermost.dm_posts_to(team["alice"]["id"])) == before + 1
    nippo.tick(TOKYO_0905 + timedelta(minutes=63))
    nippo.tick(TOKYO_0905 + timedelta(minutes=125))
    assert len(mattermost.dm_posts_to(team["alice"]["id"])) == before + 1


def test_a_snooze_is_dropped_once_the_date_is_filed(team, mattermost, nippo, clock):
    post = reminder_dm(mattermost, team["alice"])
    mattermost.click(post["id"], "snooze", team["alice"])
    nippo.reply(team["alice"], "2026-11-30 done after all", "/report")
    before = len(mattermost.dm_posts_to(team["alice"]["id"]))
    nippo.tick(TOKYO_0905 + timedelta(minutes=70))
    assert len(mattermost.dm_posts_to(team["alice"]["id"])) == before


def _raw_click(nippo, post, user, context):
    body = {"user_id": user["id"], "user_name": user["username"], "channel_id": post["channel_id"],
            "post_id": post["id"], "trigger_id": "", "type": "button", "context": context}
    return requests.post(f"{nippo.url}/mattermost/actions", json=body, timeout=10)


def _stored_context(mattermost, post, action):
    stored = mattermost.posts_by_id[post["id"]]
    for attachment in stored["props"]["attachments"]:
        for button in attachment["actions"]:
            if button["id"] == action:
                return dict(button["integration"]["context"])
    raise AssertionError(action)


def test_a_forged_or_altered_context_is_403_and_changes_nothing(team, mattermost, nippo, database):
    post = reminder_dm(mattermost, team["alice"])
    context = _stored_context(mattermost, post, "off")
    altered = {**context, "d": "2026-11-27"}
    forged = {"a": "off", "u": team["alice"]["id"], "d": "2026-11-30", "e": 4102444800, "sig": "0" * 64}
    for bad in (altered, forged, {}, {"a": "off"}):
        assert _raw_click(nippo, post, team["alice"], bad).status_code == 403
    assert count(database, Absence) == 0


def test_a_click_by_someone_else_is_403(team, mattermost, nippo, database):
    post = reminder_dm(mattermost, team["alice"])
    context = _stored_context(mattermost, post, "off")
    assert _raw_click(nippo, post, team["bob"], context).status_code == 403
    assert count(database, Absence) == 0


def test_an_expired_button_answers_200_and_removes_the_buttons(team, mattermost, nippo, clock, database):
    post = reminder_dm(mattermost, team["alice"])
    clock.set(TOKYO_0905 + timedelta(days=7, minutes=1))
    answer = mattermost.click(post["id"], "off", team["alice"])
    assert answer.status_code == 200
    body = answer.json()
    assert body["ephemeral_text"] and buttons(body["update"]) == []
    assert buttons(mattermost.posts_by_id[post["id"]]) == []
    assert count(database, Absence) == 0


def test_a_forged_dialog_state_is_403(team, mattermost, nippo, database):
    post = reminder_dm(mattermost, team["alice"])
    mattermost.click(post["id"], "write", team["alice"])
    opened = mattermost.dialogs[-1]
    state = json.loads(opened["dialog"]["state"])
    state["d"] = "2026-11-20"
    body = {"type": "dialog_submission", "callback_id": "report", "state": json.dumps(state),
            "user_id": team["alice"]["id"], "channel_id": post["channel_id"], "team_id": "",
            "submission": {"work_date": "2026-11-30", "text": "x"}, "cancelled": False}
    assert requests.post(f"{nippo.url}/mattermost/dialogs", json=body, timeout=10).status_code == 403
    body["state"] = opened["dialog"]["state"]
    body["user_id"] = team["bob"]["id"]
    assert requests.post(f"{nippo.url}/mattermost/dialogs", json=body, timeout=10).status_code == 403
    assert count(database, Report) == 1


@pytest.mark.parametrize("body, content_type", [
    ('{"type": "refresh"}', "application/json"),
    ("not json", "application/json"),
    ("type=dialog_submission", "application/x-www-form-urlencoded"),
    ("[1, 2]", "application/json"),
])
def test_a_request_that_is_no_dialog_submission_is_400(nippo, body, content_type):
    answer = requests.post(f"{nippo.url}/mattermost/dialogs", data=body, headers={"Content-Type": content_type},
                           timeout=10)
    assert answer.status_code == 400


def test_report_without_text_dialog_confirms_through_response_url(nippo, mattermost, database):
    alice = mattermost.add_user("alice")
    mattermost.add_channel_member(mattermost.channel["id"], alice["id"])
    nippo.reply(alice, "", "/report")
    opened = mattermost.dialogs[-1]
    answer = mattermost.submit_dialog(opened, alice, {"work_date": "2026-11-30", "text": "via the dialog"})
    assert answer.status_code == 200
    assert count(database, Report) == 1
    assert any("2026-11-30" in r["response"].get("text", "") for r in mattermost.command_responses)


def test_the_snoozed_dm_can_be_snoozed_again_but_a_stale_copy_cannot_double_it(team, mattermost, nippo, clock):
    alice = team["alice"]
    first = reminder_dm(mattermost, alice)
    clock.set(TOKYO_0905)
    stale_context = _stored_context(mattermost, first, "snooze")
    mattermost.click(first["id"], "snooze", alice)
    # The same click replayed (Mattermost no longer offers the button): nothing more is scheduled.
    assert _raw_click(nippo, first, alice, stale_context).status_code == 200
    nippo.tick(TOKYO_0905 + timedelta(minutes=61))
    snoozed = reminder_dm(mattermost, alice)
    assert snoozed["id"] != first["id"]
    count_after_first = len(mattermost.dm_posts_to(alice["id"]))
    clock.set(TOKYO_0905 + timedelta(minutes=62))
    mattermost.click(snoozed["id"], "snooze", alice)
    nippo.tick(TOKYO_0905 + timedelta(minutes=123))
    assert len(mattermost.dm_posts_to(alice["id"])) == count_after_first + 1
