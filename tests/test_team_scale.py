"""/team add and /team sync at scale (docs/commands.md): a command naming 200
users and a channel of several pages cost a bounded number of Mattermost
calls and SQL statements, and nobody is missed. On SQLite and PostgreSQL."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from db.models import Member, RosterEntry

PAGE = 200  # Mattermost's largest page


@pytest.fixture
def boss(nippo, mattermost):
    """The channel admin, who leads the channel's subscribed team."""
    user = mattermost.add_user("boss")
    mattermost.add_team_member(mattermost.team["id"], user["id"])
    mattermost.add_channel_member(mattermost.channel["id"], user["id"], scheme_admin=True)
    assert "Asia/Tokyo" in nippo.reply(user, "at 09:00 tz Asia/Tokyo", "/subscribe")
    return user


def crowd(mattermost, count: int, *, prefix: str = "crowd", in_team: bool = True, in_channel: bool = False):
    users = []
    for n in range(count):
        user = mattermost.add_user(f"{prefix}{n:04d}")
        if in_team:
            mattermost.add_team_member(mattermost.team["id"], user["id"])
        if in_channel:
            mattermost.add_channel_member(mattermost.channel["id"], user["id"])
        users.append(user)
    return users


@contextmanager
def counted_statements(database):
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", count)


def api_calls(mattermost, since: int) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in mattermost.requests[since:] if r["path"].startswith("/api/v4/")]


def roster_size(database) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(RosterEntry).where(RosterEntry.removed_at.is_(None)))


@pytest.mark.parametrize("in_team", [True, False], ids=["mentions-resolved", "looked-up-by-name"])
def test_adding_200_names_costs_a_few_calls_and_statements(nippo, boss, mattermost, database, in_team):
    # Team members arrive resolved (user_mentions_ids); others are looked up by name.
    users = crowd(mattermost, 200, in_team=in_team)
    before = len(mattermost.requests)
    with counted_statements(database) as statements:
        text = nippo.reply(boss, "add " + " ".join("@" + u["username"] for u in users), "/team")
    assert "crowd0000" in text and "crowd0199" in text
    assert roster_size(database) == 201
    calls = api_calls(mattermost, before)
    lookups = [c for c in calls if c.startswith(("POST /api/v4/users/ids", "POST /api/v4/users/usernames"))]
    assert len(lookups) == 1 and len(calls) <= 5, calls
    assert len(statements) <= 30, len(statements)  # 200 names once cost over 1,000


def test_adding_names_again_tells_who_was_there_and_brings_back_the_removed(nippo, boss, mattermost, database):
    alice, bob, carol = crowd(mattermost, 3)
    nippo.reply(boss, f"add @{alice['username']} @{bob['username']}", "/team")
    nippo.reply(boss, f"remove @{bob['username']}", "/team")
    text = nippo.reply(boss, f"add @{alice['username']} @{bob['username']} @{carol['username']}", "/team")
    added, already = text.split("\n")
    assert bob["username"] in added and carol["username"] in added and alice["username"] not in added
    assert alice["username"] in already
    assert roster_size(database) == 4
    with database.read() as session:
        roles = session.execute(select(Member.username, RosterEntry.role)
                                .join(RosterEntry, RosterEntry.member_id == Member.id)).all()
    assert dict(roles) == {"boss": "leader", alice["username"]: "member", bob["username"]: "member",
                           carol["username"]: "member"}


def test_a_sync_of_several_pages_gets_everyone_with_one_call_per_page(nippo, boss, mattermost, database):
    everyone = crowd(mattermost, 2 * PAGE + 50, in_channel=True)
    mattermost.add_channel_member(mattermost.channel["id"], mattermost.add_user("robot", bot=True)["id"])
    mattermost.add_channel_member(mattermost.channel["id"], mattermost.add_user("ghost", active=False)["id"])
    before = len(mattermost.requests)
    with counted_statements(database) as statements:
        first = nippo.reply(boss, "sync", "/team")
        nippo.services.wait_for_background()
    [follow_up] = [r["response"]["text"] for r in mattermost.command_responses]
    assert first != follow_up and f"{len(everyone) + 1}" in follow_up  # the crowd and boss; no bot, no ghost
    assert roster_size(database) == len(everyone) + 1
    members = 1 + 1 + len(everyone) + 2  # the bot, boss, the crowd, robot and ghost
    pages = [c for c in api_calls(mattermost, before) if c == "GET /api/v4/users"]
    assert len(pages) == members // PAGE + 1
    assert not [c for c in api_calls(mattermost, before) if "/members" in c or c.startswith("POST /api/v4/users/")]
    assert len(statements) <= 40, len(statements)  # 454 members once cost over 2,700


def test_a_channel_of_one_full_page_is_synced_in_the_answer(nippo, boss, mattermost, database):
    crowd(mattermost, PAGE - 2, in_channel=True)  # with the bot and boss: exactly one page
    text = nippo.reply(boss, "sync", "/team")
    assert f"{PAGE - 1}" in text and not mattermost.command_responses
    assert roster_size(database) == PAGE - 1


def test_one_member_past_the_inline_limit_follows_up(nippo, boss, mattermost, database):
    crowd(mattermost, PAGE - 1, in_channel=True)  # with the bot and boss: 201
    first = nippo.reply(boss, "sync", "/team")
    nippo.services.wait_for_background()
    [follow_up] = [r["response"]["text"] for r in mattermost.command_responses]
    assert f"{PAGE}" in follow_up and f"{PAGE}" not in first
    assert roster_size(database) == PAGE


def test_a_sync_refreshes_known_members_and_keeps_what_mattermost_hides(nippo, boss, mattermost, database):
    [alice] = crowd(mattermost, 1, in_channel=True)
    nippo.reply(boss, f"add @{alice['username']}", "/team")
    mattermost.users[alice["id"]]["username"] = "alice_renamed"
    mattermost.show_email = False  # the bot no longer sees e-mail addresses
    nippo.reply(boss, "sync", "/team")
    with database.read() as session:
        member = session.scalars(select(Member).where(Member.user_id == alice["id"])).one()
    assert member.username == "alice_renamed" and member.email == alice["email"]
