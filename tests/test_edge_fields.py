"""Ids the database would refuse: a Mattermost field that cannot
be Mattermost's is a 400 that changes nothing; a bad argument in a command's
text gets the usage; never an apology for input."""

from __future__ import annotations

import io

import pytest
import requests
from sqlalchemy import func, select

from bot.config import Settings
from bot.services import build_services
from db.models import Member, Report, RosterEntry, Team
from web.app import create_app

BAD_IDS = ["x" * 65, "a\x00" + "b" * 24, "b" * 27, "b" * 25 + "-", ""]


def rows(database, model) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def alice(mattermost):
    user = mattermost.add_user("alice")
    mattermost.add_team_member(mattermost.team["id"], user["id"])
    mattermost.add_channel_member(mattermost.channel["id"], user["id"], scheme_admin=True)
    return user


def command(nippo, alice, text="fixed it", **fields):
    form = nippo.mattermost.slash_command_form(alice, nippo.mattermost.channel, "/report", text, "")
    form.update(fields)
    from tests.harness import COMMAND_TOKEN

    form["token"] = COMMAND_TOKEN
    return requests.post(f"{nippo.url}/mattermost/command", data=form, timeout=10)


@pytest.mark.parametrize("field, value", [(field, value) for field in ("user_id", "channel_id", "team_id")
                                          for value in BAD_IDS if (field, value) != ("team_id", "")])  # DMs have none
def test_a_command_with_an_id_mattermost_never_sends_is_400_and_changes_nothing(nippo, alice, database, field,
                                                                                 value):
    answer = command(nippo, alice, **{field: value})
    assert answer.status_code == 400
    assert rows(database, Report) == 0 and rows(database, Member) == 0


@pytest.mark.parametrize("field, value", [
    ("channel_name", "dev\x00"), ("channel_name", "c" * 65), ("user_name", "alice\x00"), ("team_domain", "\x00"),
    ("user_mentions_ids", "x" * 65), ("user_mentions", "bob\x00"), ("root_id", "r" * 64),
    ("response_url", "http://x/\x00"), ("trigger_id", "t" * 2000), ("command", "/report\x00"),
])
def test_a_command_with_a_malformed_field_is_400(nippo, alice, database, field, value):
    assert command(nippo, alice, **{field: value}).status_code == 400
    assert rows(database, Report) == 0


def test_a_team_created_from_a_command_keeps_mattermosts_names(nippo, alice, database):
    assert "alice" in command(nippo, alice, "add @alice", command="/team").json()["text"]
    with database.read() as session:
        assert session.scalar(select(Team.channel_name)) == nippo.mattermost.channel["name"]


@pytest.mark.parametrize("path, payload_change", [
    *[(path, change) for path in ("/mattermost/actions", "/mattermost/dialogs") for change in (
        {"user_id": "x" * 65}, {"user_id": "a\x00" + "b" * 24}, {"user_id": 7}, {"channel_id": "c" * 64},
        {"team_id": ["t"]})],
    ("/mattermost/actions", {"post_id": "\x00"}), ("/mattermost/actions", {"trigger_id": "t" * 2000}),
    ("/mattermost/dialogs", {"state": "s" * 5000}), ("/mattermost/dialogs", {"callback_id": "report\x00"}),
])
def test_a_click_or_dialog_with_a_malformed_field_is_400(nippo, alice, path, payload_change):
    payload = {"user_id": alice["id"], "channel_id": nippo.mattermost.channel["id"], "context": {},
               "type": "dialog_submission" if path.endswith("dialogs") else "button", "submission": {},
               **payload_change}
    assert requests.post(f"{nippo.url}{path}", json=payload, timeout=10).status_code == 400


@pytest.mark.parametrize("external_id", ["E\x001", "E" * 201, "E\u200b1"])
def test_team_link_with_an_id_that_cannot_be_stored_gets_the_usage(nippo, alice, database, external_id):
    command(nippo, alice, "add @alice", command="/team")
    text = command(nippo, alice, f"link @alice {external_id}", command="/team").json()["text"]
    assert "/team link" in text and "EXTERNAL_ID" in text
    with database.read() as session:
        assert session.scalar(select(RosterEntry.external_id)) is None


def console_app(database):
    settings = Settings.from_env({"NIPPO_DATABASE_URL": database.url})
    return create_app(services=build_services(settings, database=database, console_stream=io.StringIO()))


def test_console_mode_takes_names_for_ids(database):
    client = console_app(database).test_client()
    answer = client.post("/mattermost/command", data={
        "token": "any", "command": "/report", "text": "fixed it", "user_id": "alice.b-c_d", "user_name": "alice",
        "channel_id": "dev", "channel_name": "dev", "team_id": "acme"})
    assert answer.status_code == 200 and rows(database, Report) == 1


@pytest.mark.parametrize("value", ["al ice", "alice\x00", "a" * 65])
def test_console_mode_still_refuses_what_no_name_can_be(database, value):
    client = console_app(database).test_client()
    answer = client.post("/mattermost/command", data={
        "token": "any", "command": "/report", "text": "fixed it", "user_id": value, "channel_id": "dev"})
    assert answer.status_code == 400 and rows(database, Report) == 0
