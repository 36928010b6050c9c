"""Exactly once under concurrency: four replicas (processes, each with its own
database engine and Mattermost client) tick the same simulated minute for 30
work days and five subscriptions. Every run happens once and every message
is posted once, counted in the stand-in."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select, text

from bot.clock import FrozenClock
from bot.reminders.common import TickTime
from bot.reminders.planner import PLANNING_LOCK_ID
from bot.tick import plan_tick
from db.models import OutboxMessage, ReminderRun
from tests.reminder_helpers import TUESDAY_9AM, Scene, tick_worker

REPLICAS = 4
DAYS = 30


def test_every_run_and_every_message_exactly_once_with_four_replicas(database, mattermost):
    scene = Scene(database, mattermost, FrozenClock(TUESDAY_9AM))
    channels = [scene.channel] + [mattermost.add_channel(scene.channel["team_id"], f"team{n}") for n in range(1, 5)]
    teams = [scene.team_id] + [scene.add_team(channel) for channel in channels[1:]]
    for channel in channels[1:]:
        mattermost.add_channel_member(channel["id"], mattermost.bot["id"])
    modes = [("channel", True), ("dm", True), ("both", True), ("channel", False), ("dm", True)]
    for n, (team_id, channel, (delivery, mention)) in enumerate(zip(teams, channels, modes)):
        for i in range(6):
            # Some people are on two rosters; one in each team is not in the channel.
            username = f"u{(n * 4 + i) % 18}"
            scene.person(username, team_id=team_id, channel=channel, in_channel=i != 5, leader=i == 0)
        scene.subscribe(team_id=team_id, delivery=delivery, mention=mention, weekdays="0,1,2,3,4,5,6",
                        escalate=2 if n == 4 else 3)
    days = [TUESDAY_9AM + timedelta(days=d) for d in range(DAYS)]
    # Each day also a tick two minutes later, as the scheduler would: it
    # retries whatever a slow moment of this busy machine made wait.
    ticks = [moment for day in days for moment in (day, day + timedelta(minutes=2))]
    for d, day in enumerate(days):  # a varying third of the people file each day
        for i in range(18):
            if (i + d) % 3 == 0 and f"u{i}" in scene.users:
                scene.report(f"u{i}", (day - timedelta(days=1)).date())
    scene.close()

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(REPLICAS)
    replicas = [context.Process(target=tick_worker, args=(database.url, mattermost.url, mattermost.bot_token,
                                                          barrier, ticks, seed)) for seed in range(REPLICAS)]
    for replica in replicas:
        replica.start()
    for replica in replicas:
        replica.join(180)
    assert [r.exitcode for r in replicas] == [0] * REPLICAS

    with database.read() as session:
        runs = Counter(session.execute(select(ReminderRun.state)).scalars())
        trouble = session.execute(select(OutboxMessage.kind, OutboxMessage.state, OutboxMessage.last_error)
                                  .where(OutboxMessage.state.not_in(("sent", "cancelled", "expanded")))).all()
        assert runs == {"sent": 5 * DAYS}, trouble
        states = dict(session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all())
        claimants = set(session.scalars(select(ReminderRun.claimed_by)))
        senders = set(session.scalars(select(OutboxMessage.leased_by).where(OutboxMessage.state == "sent")))
        sent = dict(session.execute(select(OutboxMessage.id, OutboxMessage.post_id)
                                    .where(OutboxMessage.state == "sent", OutboxMessage.kind != "membership")).all())
    assert set(states) <= {"sent", "cancelled", "expanded"}
    assert len(claimants) > 1 and len(senders) > 1, "the replicas did not actually compete"
    posts = [p for p in mattermost.posts if p["user_id"] == mattermost.bot["id"]]
    outbox_ids = Counter(p["props"].get("nippo_outbox_id") for p in posts)
    assert len(posts) == len(sent) > 5 * DAYS
    assert outbox_ids == Counter({str(message_id): 1 for message_id in sent})
    assert {p["id"] for p in posts} == set(sent.values())


def sessions_waiting_for_the_lock(database, planner: threading.Thread) -> int:
    """Once the planner's session asks for the planning lock, how many sessions
    wait for an advisory lock: a poll of pg_locks while the planner's thread
    reads its due runs, however slow the machine (not a sleep)."""
    waiting, deadline = 0, time.monotonic() + 60
    while not waiting and planner.is_alive() and time.monotonic() < deadline:
        with database.engine.connect() as probe:
            waiting = probe.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                                         " AND NOT granted")).scalar()
    return waiting


def test_a_replica_writes_its_plan_only_while_no_other_replica_is_writing_one(database, mattermost):
    """Planning streams the outbox rows in as they are made, in no order two
    replicas could agree on; on PostgreSQL two plans writing the same DM keys
    at once could deadlock, so each waits for the planning lock."""
    if database.kind != "postgresql":
        pytest.skip("SQLite has one writer at a time already (BEGIN IMMEDIATE)")
    scene = Scene(database, mattermost, FrozenClock(TUESDAY_9AM))
    scene.people("ann", "bob")
    scene.subscribe(delivery="dm")
    scene.close()
    holder = database.engine.connect()
    holder.begin()
    holder.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": PLANNING_LOCK_ID})
    planner = threading.Thread(target=plan_tick, args=(scene.services, TickTime(TUESDAY_9AM), "replica-b"))
    planner.start()
    try:
        assert sessions_waiting_for_the_lock(database, planner) == 1, "the planner did not wait for the planning lock"
        with database.read() as session:  # nor claimed any run: claiming takes the lock too
            assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
            assert session.scalar(select(func.count()).select_from(ReminderRun)) == 0
    finally:
        holder.rollback()
        holder.close()
        planner.join(30)
    assert not planner.is_alive()
    [step] = scene.outbox(kind="dms")  # the run's DMs, made into rows of their own by delivery
    assert sorted(own["member"]["u"] for _key, own in step.payload["dms"]) == sorted(
        scene.users[name]["id"] for name in ("ann", "bob"))


def test_a_replica_that_waited_for_the_turn_claims_nothing_the_other_wrote_meanwhile(database, mattermost):
    """The runs a replica found due before its turn may be had by the replica
    that held it: under the lock it looks again, claims none of them, and
    its tick ends without error."""
    if database.kind != "postgresql":
        pytest.skip("SQLite has one writer at a time already (BEGIN IMMEDIATE)")
    scene = Scene(database, mattermost, FrozenClock(TUESDAY_9AM))
    scene.people("ann", "bob")
    sub_id = scene.subscribe(delivery="dm")
    scene.close()
    holder = database.engine.connect()
    holder.begin()
    holder.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": PLANNING_LOCK_ID})
    failures = []

    def replica_b():
        try:
            plan_tick(scene.services, TickTime(TUESDAY_9AM), "replica-b")
        except Exception as error:  # the assertion below names it
            failures.append(error)
        else:
            failures.append(None)

    planner = threading.Thread(target=replica_b)
    planner.start()
    try:
        assert sessions_waiting_for_the_lock(database, planner) == 1, "the planner did not wait for the planning lock"
        # replica A plans the same morning run meanwhile, and lets go of the turn
        holder.execute(insert(ReminderRun).values(
            subscription_id=sub_id, local_date=TUESDAY_9AM.date(), slot="",
            work_date=TUESDAY_9AM.date() - timedelta(days=1),
            state="planned", claimed_by="replica-a", scheduled_at=TUESDAY_9AM, deadline=TUESDAY_9AM,
            created_at=TUESDAY_9AM, missing=[]))
        holder.commit()
    finally:
        if holder.in_transaction():
            holder.rollback()
        holder.close()
        planner.join(30)
    assert not planner.is_alive() and failures == [None]
    with database.read() as session:
        assert list(session.execute(select(ReminderRun.claimed_by))) == [("replica-a",)]
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
