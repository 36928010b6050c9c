"""Cheap denial of service: permission is checked before any user a
command names is looked up, and a command names at most 200 @users."""

from __future__ import annotations

import pytest

LOOKUPS = ("/api/v4/users/usernames", "/api/v4/users/ids", "/api/v4/users/username/")


@pytest.fixture
def people(nippo, mattermost):
    """boss (channel admin) leads the channel's roster; alice and bob are plain members."""
    made = {}
    for username in ("boss", "alice", "bob"):
        user = made[username] = mattermost.add_user(username)
        mattermost.add_team_member(mattermost.team["id"], user["id"])
        mattermost.add_channel_member(mattermost.channel["id"], user["id"], scheme_admin=username == "boss")
    assert "alice" in nippo.reply(made["boss"], "add @alice", "/team")
    return made


def user_lookups(mattermost) -> int:
    return sum(1 for r in mattermost.requests if r["path"].startswith(LOOKUPS))


def names(count: int) -> str:
    return " ".join(f"@user{n:05d}" for n in range(count))


def test_a_plain_members_37000_name_team_add_is_refused_without_any_user_lookup(nippo, people, mattermost):
    before = user_lookups(mattermost)
    text = nippo.reply(people["alice"], f"add {names(37_000)}", "/team")
    assert "37000" in text and "200" in text and "/team add" in text  # the limit, then the usage
    assert user_lookups(mattermost) == before


def test_201_names_get_the_limit_message_and_the_usage(nippo, people, mattermost):
    before = user_lookups(mattermost)
    text = nippo.reply(people["boss"], f"add {names(201)}", "/team")
    assert "201" in text and "200" in text and "/team sync" in text and "/team add" in text
    assert user_lookups(mattermost) == before


def test_200_names_are_looked_up(nippo, people, mattermost):
    text = nippo.reply(people["boss"], f"add {names(199)} @bob", "/team")
    assert "user00000" in text  # unknown users are named: the 200 were looked up


def test_a_name_typed_twice_counts_once(nippo, people, mattermost):
    text = nippo.reply(people["boss"], "add " + " ".join(["@bob"] * 300), "/team")
    assert "bob" in text and "200" not in text


@pytest.mark.parametrize("verb", ["add @bob", "remove @alice", "leader @bob"])
def test_a_plain_member_is_refused_before_any_user_is_looked_up(nippo, people, mattermost, verb):
    before = user_lookups(mattermost)
    text = nippo.reply(people["alice"], verb, "/team")
    assert "leader" in text.lower() and "/team add" in text
    assert user_lookups(mattermost) == before
