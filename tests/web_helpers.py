"""Helpers for the web pages' tests: people in a channel, a sign-in through a
fresh ``/team web`` link, and a browser (Flask's test client on the very app
the running nippo serves, so it shares its database, clock and stand-in)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from db.models import Team

LINK = re.compile(r"(https?://\S+?/web/login/[A-Za-z0-9_-]+)")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def people(mattermost):
    """In ~dev: boss (channel admin, the leader to be), alice and bob (members
    to be), mallory (in the channel, on no roster) and ada (a channel admin on
    no roster)."""
    team, channel = mattermost.team, mattermost.channel
    made = {}
    for username, admin in (("boss", True), ("alice", False), ("bob", False), ("mallory", False), ("ada", True)):
        user = mattermost.add_user(username, timezone="Asia/Tokyo")
        mattermost.add_team_member(team["id"], user["id"])
        mattermost.add_channel_member(channel["id"], user["id"], scheme_admin=admin)
        made[username] = user
    return made


@pytest.fixture
def team_id(nippo, people, database) -> int:
    """~dev subscribed by boss at 09:00 Tokyo, with alice and bob on its roster."""
    assert "Asia/Tokyo" in nippo.reply(people["boss"], "at 09:00 tz Asia/Tokyo", "/subscribe")
    nippo.reply(people["boss"], "add @alice @bob", "/team")
    with database.read() as session:
        return session.scalar(select(Team.id).where(Team.channel_id == nippo.mattermost.channel["id"]))


def link_url(nippo, user, channel=None) -> str:
    text = nippo.reply(user, "web", "/team", channel)
    match = LINK.search(text)
    assert match, text
    return match.group(1)


def browser(nippo):
    return nippo.server.app.test_client()


def sign_in(nippo, user, channel=None):
    """A browser signed in as ``user`` through a fresh link."""
    client = browser(nippo)
    response = client.get(urlsplit(link_url(nippo, user, channel)).path)
    assert response.status_code == 303, response.status_code
    return client


def form_token(client, path: str = "/web/") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return CSRF.search(page.get_data(as_text=True)).group(1)


def text_of(response) -> str:
    return response.get_data(as_text=True)
