"""A tick of more runs than SQLite takes parameters in one statement.

A stock SQLite build takes 32,766 bound parameters in a statement, and each
id of an ``IN`` list is one: a tick that claims, plans, takes over or closes
more runs than that must pass their ids as one value
(``db/idsets.py``). Here the limit is lowered to 40 and the tick has 60
subscriptions: a statement that bound an id per run, subscription or
message would fail in the morning (claim, plan, send, recheck, close) or in
taking over a dead replica's claims (of live or of switched-off
subscriptions)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from bot.reminders.snapshot import stale_claims
from db.models import ReminderRun
from tests.reminder_helpers import TUESDAY_9AM, Scene

TEAMS = 60
LIMIT = 40  # bound parameters a statement may have


@pytest.fixture
def scene(database, mattermost, clock):
    scene = Scene(database, mattermost, clock)
    subs = []
    for n in range(TEAMS):
        channel = mattermost.add_channel(scene.channel["team_id"], f"team-{n}")
        mattermost.add_channel_member(channel["id"], mattermost.bot["id"])
        team_id = scene.add_team(channel)
        scene.person(f"member{n}", team_id=team_id, channel=channel)
        subs.append(scene.subscribe(team_id=team_id))
    scene.subs = subs

    def lowered(dbapi_connection, _record, _proxy):
        dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, LIMIT)

    event.listen(database.engine, "checkout", lowered)
    yield scene
    event.remove(database.engine, "checkout", lowered)
    database.engine.dispose()  # no pooled connection keeps the lowered limit
    scene.close()


def runs(scene) -> list[ReminderRun]:
    with scene.database.read() as session:
        return list(session.scalars(select(ReminderRun).order_by(ReminderRun.id)))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_morning_of_more_runs_than_sqlites_parameter_limit_is_claimed_sent_and_closed(scene):
    lines = scene.tick(TUESDAY_9AM)
    assert len(lines) == TEAMS and all(line.endswith(": sent") for line in lines), lines[:3]
    assert sum(len(scene.channel_posts(channel)) for channel in scene.mattermost.channels.values()
               if channel["name"].startswith("team-")) == TEAMS
    assert {run.state for run in runs(scene)} == {"sent"}


def dead_claims(scene) -> None:
    """A replica claimed the whole morning and died before planning it."""
    now = scene.clock()
    with scene.database.write() as session:
        session.add_all(ReminderRun(subscription_id=sub_id, local_date=now.date(),
                                    work_date=now.date() - timedelta(days=1),
                                    state="claimed", claimed_by="dead", lease_until=now - timedelta(minutes=1),
                                    scheduled_at=now, deadline=now + timedelta(hours=2), created_at=now)
                        for sub_id in scene.subs)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_more_stale_claims_than_the_limit_are_taken_over(scene):
    dead_claims(scene)
    now = scene.clock()
    scene.real_clock_reads(now)
    with scene.database.read() as session:
        assert len(stale_claims(session, now)) == TEAMS
    lines = scene.tick(now + timedelta(minutes=1))
    assert len(lines) == TEAMS and all(line.endswith(": sent") for line in lines), lines[:3]
    assert {(run.state, run.claimed_by != "dead") for run in runs(scene)} == {("sent", True)}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_more_dead_claims_of_switched_off_subscriptions_than_the_limit_are_skipped(scene):
    dead_claims(scene)
    for sub_id in scene.subs:
        scene.change(sub_id, paused=True)
    now = scene.clock()
    scene.real_clock_reads(now)
    scene.tick(now + timedelta(minutes=1))
    assert {(run.state, run.reason) for run in runs(scene)} == {("skipped", "subscription off")}
    assert scene.post_calls() == 0
