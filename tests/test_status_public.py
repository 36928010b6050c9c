"""`/report-status public`: the status is an outbox message like
every post nippo makes, sent at once from background work, searched for
after a lost answer, and retried by the scheduler when Mattermost fails."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from db.models import OutboxMessage

POSTS = r"/api/v4/posts"


@pytest.fixture
def team(nippo, mattermost):
    """A roster of two in the stand-in's channel, made by its channel admin."""
    users = {}
    for username in ("boss", "alice"):
        user = users[username] = mattermost.add_user(username)
        mattermost.add_team_member(mattermost.team["id"], user["id"])
        mattermost.add_channel_member(mattermost.channel["id"], user["id"], scheme_admin=username == "boss")
    assert "alice" in nippo.reply(users["boss"], "add @alice", "/team")
    return users


def ask_public_status(nippo, team) -> str:
    ack = nippo.reply(team["boss"], "public", "/report-status")
    nippo.services.wait_for_background()
    return ack


def status_messages(database) -> list[OutboxMessage]:
    with database.read() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "status")))


def bot_posts(mattermost) -> list[dict]:
    return [p for p in mattermost.posts_in(mattermost.channel["id"]) if p["user_id"] == mattermost.bot["id"]]


def test_public_status_is_posted_as_an_outbox_message(nippo, team, mattermost, database):
    ack = ask_public_status(nippo, team)
    [post] = bot_posts(mattermost)
    [message] = status_messages(database)
    assert ack and "@alice" not in ack and "alice" in post["message"]
    assert message.state == "sent" and message.post_id == post["id"]
    assert post["props"]["nippo_outbox_id"] == str(message.id)
    [request] = [r for r in mattermost.requests if r["method"] == "POST" and r["path"] == POSTS]
    assert request["json"]["pending_post_id"] == message.pending_post_id


def test_public_status_whose_answer_was_lost_on_a_cluster_is_posted_once(nippo, team, mattermost, database):
    mattermost.clustered()
    mattermost.lose_answer("POST", POSTS, times=1)
    ask_public_status(nippo, team)
    [post] = bot_posts(mattermost)
    assert [m.post_id for m in status_messages(database)] == [post["id"]]


def test_public_status_that_failed_is_retried_by_the_scheduler(nippo, team, mattermost, database, clock):
    mattermost.fail("POST", POSTS, status=503, times=1)
    ask_public_status(nippo, team)
    assert bot_posts(mattermost) == [] and [m.state for m in status_messages(database)] == ["pending"]
    nippo.tick(clock() + timedelta(minutes=2))
    [post] = bot_posts(mattermost)
    assert [m.post_id for m in status_messages(database)] == [post["id"]]


def test_public_status_where_the_bot_may_not_post_tells_the_member(nippo, team, mattermost, database):
    mattermost.remove_channel_member(mattermost.channel["id"], mattermost.bot["id"])
    ask_public_status(nippo, team)
    assert bot_posts(mattermost) == [] and [m.state for m in status_messages(database)] == ["failed"]
    [told] = [r["response"]["text"] for r in mattermost.command_responses]
    assert "@nippo" in told and "invite" in told.lower()
