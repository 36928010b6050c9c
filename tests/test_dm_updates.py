"""What the reminder DM looks like after clicks and dialogs, against a
stand-in that updates posts as Mattermost does (docs/buttons-and-dialogs.md): every update
replaces the props whole, a server's PostEditTimeLimit refuses message edits,
and a response_url dies after 30 minutes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from db.models import Absence, Report
from persona.loader import BUILTIN_DIR
from tests.harness import start_nippo
from tests.test_interactive import TOKYO_0905, buttons, reminder_dm, status_line

ICON = "https://example.com/iconic.png"
PERSONA_PROPS = {"from_webhook": "true", "override_username": "Iconic", "override_icon_url": ICON}


@pytest.fixture
def iconic(tmp_path):
    """A persona with a name and an icon: the plain one, renamed."""
    text = (BUILTIN_DIR / "plain.toml").read_text()
    text = text.replace('name = "plain"', 'name = "iconic"', 1)
    text = text.replace('display_name = "nippo"', f'display_name = "Iconic"\nicon_url = "{ICON}"', 1)
    (tmp_path / "iconic.toml").write_text(text)
    return tmp_path


@pytest.fixture
def nippo(database, mattermost, clock, iconic):
    running = start_nippo(database, mattermost, clock, NIPPO_PERSONA_DIR=str(iconic), NIPPO_PERSONA="iconic")
    yield running
    running.stop()


@pytest.fixture
def team(mattermost, nippo):
    users = {}
    for username in ("boss", "alice", "bob"):
        user = mattermost.add_user(username)
        mattermost.add_channel_member(mattermost.channel["id"], user["id"], scheme_admin=username == "boss")
        users[username] = user
    nippo.reply(users["boss"], "at 09:00 tz Asia/Tokyo to dm", "/subscribe")
    nippo.reply(users["boss"], "add @alice @bob", "/team")
    nippo.reply(users["boss"], "2026-11-30 planned the sprint", "/report")
    nippo.tick(TOKYO_0905)
    return users


def wears_the_persona(post) -> bool:
    props = post["props"]
    return all(props.get(k) == v for k, v in PERSONA_PROPS.items()) and props.get("nippo_outbox_id")


def reports(database):
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(Report))


def test_the_dm_keeps_its_persona_and_outbox_id_through_every_button_and_the_dialog(team, mattermost, clock):
    alice, bob = team["alice"], team["bob"]
    post = reminder_dm(mattermost, alice)
    outbox_id = post["props"]["nippo_outbox_id"]
    assert wears_the_persona(post)
    clock.set(TOKYO_0905 + timedelta(minutes=1))
    mattermost.click(post["id"], "snooze", alice)
    assert wears_the_persona(mattermost.posts_by_id[post["id"]])
    mattermost.click(post["id"], "write", alice)
    mattermost.submit_dialog(mattermost.dialogs[-1], alice, {"work_date": "2026-11-30", "text": "done"})
    stored = mattermost.posts_by_id[post["id"]]
    assert wears_the_persona(stored) and stored["props"]["nippo_outbox_id"] == outbox_id
    assert buttons(stored) == [] and "2026-11-30" in status_line(stored)
    mattermost.click(reminder_dm(mattermost, bob)["id"], "off", bob)
    assert wears_the_persona(mattermost.posts_by_id[reminder_dm(mattermost, bob)["id"]])


def test_an_expired_button_keeps_the_persona(team, mattermost, clock):
    post = reminder_dm(mattermost, team["alice"])
    clock.set(TOKYO_0905 + timedelta(days=7, minutes=1))
    mattermost.click(post["id"], "off", team["alice"])
    assert wears_the_persona(mattermost.posts_by_id[post["id"]])
    assert mattermost.ephemerals[-1]["props"]["override_icon_url"] == ICON


def test_past_the_edit_time_limit_the_dialog_still_confirms_in_the_dm(team, mattermost):
    mattermost.post_edit_time_limit = 300
    post = reminder_dm(mattermost, team["alice"])
    mattermost.advance(301)
    mattermost.click(post["id"], "write", team["alice"])
    mattermost.submit_dialog(mattermost.dialogs[-1], team["alice"], {"work_date": "2026-11-30", "text": "done"})
    stored = mattermost.posts_by_id[post["id"]]
    assert stored["message"] == post["message"]
    assert buttons(stored) == [] and "2026-11-30" in status_line(stored)


def test_where_no_patch_is_allowed_the_dialog_confirms_by_a_new_dm_and_the_old_buttons_say_filed(
        team, mattermost, database):
    mattermost.post_edit_time_limit = 300
    mattermost.edit_time_limit_applies_to = "any"
    alice = team["alice"]
    post = reminder_dm(mattermost, alice)
    mattermost.advance(301)
    mattermost.click(post["id"], "write", alice)
    mattermost.submit_dialog(mattermost.dialogs[-1], alice, {"work_date": "2026-11-30", "text": "done"})
    newest = mattermost.dm_posts_to(alice["id"])[-1]
    assert newest["id"] != post["id"] and "2026-11-30" in newest["message"]
    assert all(newest["props"].get(k) == v for k, v in PERSONA_PROPS.items())
    mattermost.click(post["id"], "off", alice)
    assert "2026-11-30" in mattermost.ephemerals[-1]["message"]
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Absence)) == 0


def test_a_dialog_for_another_date_keeps_write_report_until_the_dms_own_date_is_filed(team, mattermost):
    alice = team["alice"]
    post = reminder_dm(mattermost, alice)
    mattermost.click(post["id"], "write", alice)
    mattermost.submit_dialog(mattermost.dialogs[-1], alice, {"work_date": "2026-11-27", "text": "last friday"})
    stored = mattermost.posts_by_id[post["id"]]
    assert buttons(stored) == ["write", "off", "snooze"]
    assert "2026-11-27" in status_line(stored) and wears_the_persona(stored)
    mattermost.click(post["id"], "write", alice)
    mattermost.submit_dialog(mattermost.dialogs[-1], alice, {"work_date": "2026-11-30", "text": "monday"})
    assert buttons(mattermost.posts_by_id[post["id"]]) == []


def test_a_dialog_submitted_31_minutes_after_report_confirms_by_dm(nippo, mattermost, clock, database):
    alice = mattermost.add_user("alice")
    mattermost.add_channel_member(mattermost.channel["id"], alice["id"])
    nippo.reply(alice, "", "/report")
    mattermost.advance(31 * 60)
    clock.set(clock() + timedelta(minutes=31))
    answer = mattermost.submit_dialog(mattermost.dialogs[-1], alice, {"work_date": "2026-11-30", "text": "late"})
    assert answer.status_code == 200 and reports(database) == 1
    assert mattermost.command_responses == []
    [confirmation] = mattermost.dm_posts_to(alice["id"])
    assert "2026-11-30" in confirmation["message"]
    assert all(confirmation["props"].get(k) == v for k, v in PERSONA_PROPS.items())


def test_a_used_up_response_url_falls_back_to_a_dm(nippo, mattermost, database):
    alice = mattermost.add_user("alice")
    mattermost.add_channel_member(mattermost.channel["id"], alice["id"])
    nippo.reply(alice, "", "/report")
    opened = mattermost.dialogs[-1]
    response_url = json.loads(opened["dialog"]["state"])["r"]
    for n in range(5):  # Mattermost takes 5 posts per response_url
        assert requests.post(response_url, json={"text": f"use {n}"}, timeout=5).status_code == 200
    mattermost.submit_dialog(opened, alice, {"work_date": "2026-11-30", "text": "fine"})
    assert reports(database) == 1
    assert "2026-11-30" in mattermost.dm_posts_to(alice["id"])[-1]["message"]


def test_a_confirmation_through_response_url_wears_the_persona(nippo, mattermost):
    alice = mattermost.add_user("alice")
    mattermost.add_channel_member(mattermost.channel["id"], alice["id"])
    nippo.reply(alice, "", "/report")
    mattermost.submit_dialog(mattermost.dialogs[-1], alice, {"work_date": "2026-11-30", "text": "quick"})
    assert mattermost.ephemerals[-1]["props"]["override_username"] == "Iconic"
    assert mattermost.ephemerals[-1]["props"]["override_icon_url"] == ICON
