"""Slash commands the way a real server sends and shows them (docs/commands.md, docs/buttons-and-dialogs.md):
replies wear the persona's face, a command set to GET works, a private channel
the bot is not in is named as the problem, and a large roster is counted."""

from __future__ import annotations

from sqlalchemy import func, select

from db.models import RosterEntry, Team
from tests.harness import COMMAND_TOKEN


def test_replies_carry_the_personas_name(nippo, mattermost):
    alice = mattermost.add_user("alice")
    mattermost.add_channel_member(mattermost.channel["id"], alice["id"])
    body = nippo.command(alice, "help", "/report").json()
    assert body["username"] == "The Emperor"  # the default persona, which has no icon
    assert "icon_url" not in body
    refusal = nippo.command(alice, "2026-13-45 oops", "/report").json()
    assert refusal["username"] == "The Emperor"


def test_a_cached_status_reply_still_carries_the_personas_name(nippo, mattermost):
    boss = mattermost.add_user("boss")
    mattermost.add_channel_member(mattermost.channel["id"], boss["id"], scheme_admin=True)
    nippo.reply(boss, "at 09:00 persona polite", "/subscribe")
    first = nippo.command(boss, "", "/report-status").json()
    again = nippo.command(boss, "", "/report-status").json()
    assert nippo.services.status_cache.hits >= 1
    assert first["username"] == again["username"] == "Daily Report Reminder"
    assert again["text"] == first["text"]


def test_a_command_set_to_get_in_the_system_console_works(nippo, mattermost, database):
    alice = mattermost.add_user("alice")
    mattermost.add_channel_member(mattermost.channel["id"], alice["id"])
    form = mattermost.slash_command_form(alice, mattermost.channel, "/report", "fixed the GET bug", COMMAND_TOKEN)
    answer = mattermost.send_command(f"{nippo.url}/mattermost/command", form, method="G")
    assert answer.status_code == 200 and "2026-12-01" in answer.json()["text"]
    forged = mattermost.slash_command_form(alice, mattermost.channel, "/report", "sneaky", "wrong-token")
    assert mattermost.send_command(f"{nippo.url}/mattermost/command", forged, method="G").status_code == 401
    with database.read() as session:
        from db.models import Report

        assert session.scalars(select(Report.text)).all() == ["fixed the GET bug"]


def test_team_in_a_private_channel_the_bot_is_not_in_asks_to_invite_it(nippo, mattermost, database):
    hidden = mattermost.add_channel(mattermost.team["id"], "secret", type="P")
    boss, alice = mattermost.add_user("boss"), mattermost.add_user("alice")
    mattermost.add_channel_member(hidden["id"], boss["id"], scheme_admin=True)
    mattermost.add_channel_member(hidden["id"], alice["id"])
    for text in ("add @alice", "sync", "leader @alice", "off 2026-12-24"):
        reply = nippo.reply(boss, text, "/team", channel=hidden)
        assert "@nippo" in reply and "admin" not in reply, (text, reply)
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Team)) == 0


def test_team_list_of_a_large_roster_is_counted_never_cut(nippo, mattermost):
    boss = mattermost.add_user("boss")
    mattermost.add_channel_member(mattermost.channel["id"], boss["id"], scheme_admin=True)
    for n in range(120):
        user = mattermost.add_user(f"member{n:03d}-with-a-rather-long-username")
        mattermost.add_channel_member(mattermost.channel["id"], user["id"])
    nippo.reply(boss, "sync", "/team")
    text = nippo.reply(boss, "list", "/team")
    assert "121" in text and "120" in text
    assert "member000" not in text
    assert text.count("\n") < 5


def test_team_list_names_a_small_roster(nippo, mattermost, database):
    boss, alice = mattermost.add_user("boss"), mattermost.add_user("alice")
    for user in (boss, alice):
        mattermost.add_channel_member(mattermost.channel["id"], user["id"], scheme_admin=user is boss)
    nippo.reply(boss, "add @alice", "/team")
    text = nippo.reply(boss, "list", "/team")
    assert "boss" in text and "alice" in text
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(RosterEntry)) == 2


def test_dialog_labels_are_cut_in_utf8_bytes_never_inside_a_character():
    from commands.dialogs import fit

    assert fit("日報提出フォームです", 24) == "日報提出フォーム"  # 8 characters: 24 bytes
    assert fit("日報", 4) == "日"
    assert fit("Daily report", 24) == "Daily report"


def test_a_japanese_report_dialog_opens_on_the_server(nippo, mattermost):
    boss, alice = mattermost.add_user("boss"), mattermost.add_user("alice", locale="ja")
    for user in (boss, alice):
        mattermost.add_channel_member(mattermost.channel["id"], user["id"], scheme_admin=user is boss)
    nippo.reply(boss, "lang ja", "/subscribe")
    nippo.reply(alice, "", "/report")
    title = mattermost.dialogs[-1]["dialog"]["title"]
    assert title and len(title.encode()) <= 24 and not title.isascii()
