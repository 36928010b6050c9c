"""Leases are real time: a sender posts only while it holds a
message's lease, its waits for a rate limit end well inside it, and a tick
played ahead of time (``nippo remind --at`` tomorrow) takes, drops and sends
nothing of another process's runs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import update

from bot.reminders.common import DELIVERED, EXPANDED, LEASE_MARGIN, MESSAGE_LEASE, PENDING, TickTime
from bot.reminders.delivery import deliver
from bot.reminders.outbox import Outcome, lease, record_all
from bot.reminders.plan import dm_rows
from bot.tick import plan_tick
from db.models import OutboxMessage
from tests.reminder_helpers import TUESDAY_9AM, Scene

MONDAY = date(2026, 11, 30)
WEDNESDAY_9AM = TUESDAY_9AM + timedelta(days=1)
POSTS = r"/api/v4/posts"


@pytest.fixture
def scene(database, mattermost, clock):
    scene = Scene(database, mattermost, clock)
    scene.person("boss", leader=True)
    scene.person("alice")
    scene.report("boss", MONDAY)
    yield scene
    scene.close()


def posts_of(scene, message_ids) -> list[dict]:
    wanted = {str(i) for i in message_ids}
    return [p for p in scene.mattermost.posts if (p["props"] or {}).get("nippo_outbox_id") in wanted]


def test_a_send_that_outlasts_its_lease_is_posted_once(scene):
    """The first sender's wait for Mattermost outlasts the message's lease, so
    another process takes the message over and posts it. The first sender,
    going on after Mattermost's 30-s dedup has passed, must not post it too."""
    scene.subscribe()
    scene.mattermost.rate_limit_next("POST", POSTS, times=1, retry_after=1)
    other = scene.replica()

    def meanwhile() -> None:
        scene.time.on_sleep = None
        scene.mattermost.advance(MESSAGE_LEASE.total_seconds())  # the wait took five minutes
        deliver(other, TickTime(TUESDAY_9AM + timedelta(minutes=6), scene.mattermost.clock), "other-process")
        scene.mattermost.advance(31)

    scene.time.on_sleep = meanwhile
    scene.tick(TUESDAY_9AM)
    [message] = scene.outbox(kind="channel")
    [post] = posts_of(scene, [message.id])
    assert message.state == "sent" and message.post_id == post["id"]


def test_waits_for_a_rate_limit_end_well_inside_the_lease(scene):
    scene.subscribe()
    scene.mattermost.rate_limit_next("POST", POSTS, times=100, retry_after=10)
    scene.tick(TUESDAY_9AM)
    [message] = scene.outbox(kind="channel")
    assert scene.channel_posts() == [] and message.state == "pending"
    assert sum(scene.time.slept) <= MESSAGE_LEASE.total_seconds() - LEASE_MARGIN
    assert message.not_before == TUESDAY_9AM + timedelta(seconds=10)  # Retry-After, on the tick's clock


def test_a_tick_played_ahead_takes_drops_and_sends_nothing_of_another_process(scene):
    scene.real_clock_reads(TUESDAY_9AM)
    scene.person("bob")
    scene.subscribe(delivery="both")
    plan_tick(scene.services, TickTime(TUESDAY_9AM, scene.mattermost.clock), "other-process")
    theirs = {m.id: m.kind for m in scene.outbox()}
    with scene.database.write() as session:  # one message being sent, the rest waiting for a retry
        session.execute(update(OutboxMessage).where(OutboxMessage.kind == "channel")
                        .values(state="sending", leased_by="other-process",
                                lease_until=TUESDAY_9AM + timedelta(minutes=5)))
        session.execute(update(OutboxMessage).where(OutboxMessage.kind != "channel")
                        .values(not_before=TUESDAY_9AM + timedelta(minutes=1)))
    lines = scene.tick(WEDNESDAY_9AM)  # `nippo remind --at` tomorrow morning
    after = {m.id: m for m in scene.outbox() if m.id in theirs}
    assert {(m.kind, m.state, m.leased_by) for m in after.values() if m.kind == "channel"} == {
        ("channel", "sending", "other-process")}
    assert {m.state for m in after.values() if m.kind != "channel"} == {"pending"}
    assert posts_of(scene, theirs) == []
    assert lines[0].endswith(": sent")  # its own run, on its own clock


def test_a_tick_played_ahead_retries_its_own_messages_on_its_own_clock(scene):
    scene.real_clock_reads(TUESDAY_9AM)
    scene.subscribe()
    scene.mattermost.fail("POST", POSTS, status=503, times=1)
    scene.tick(WEDNESDAY_9AM)
    scene.tick(WEDNESDAY_9AM)
    assert scene.channel_posts() == []
    scene.tick(WEDNESDAY_9AM + timedelta(minutes=1))
    assert len(scene.channel_posts()) == 1
    assert [r.state for r in scene.runs()] == ["sent"]


def test_results_whose_lease_passed_to_another_process_are_counted_as_lost(scene):
    scene.people("bob", "carol", "dave", "erin")
    scene.subscribe(delivery="dm")
    tick = TickTime(TUESDAY_9AM, scene.mattermost.clock)
    plan_tick(scene.services, tick, "first")
    with scene.database.write() as session:  # the run's step makes its DM rows, as delivery does first
        [step] = [m for m in lease(session, tick, "first", 10) if m["kind"] == "dms"]
        assert record_all(session, [(step, Outcome(EXPANDED, new_rows=dm_rows(step, TUESDAY_9AM)))], "first",
                          TUESDAY_9AM) == 0
    with scene.database.write() as session:
        batch = lease(session, tick, "first", 10)
    assert len(batch) >= 4 and {m["kind"] for m in batch} == {"dm"}
    held, taken = batch[:1], batch[1:4]
    with scene.database.write() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_([m["id"] for m in taken]))
                        .values(leased_by="second"))
    results = [(m, Outcome(DELIVERED, post_id=f"post{m['id']}", channel_id="c")) for m in held + taken[:2]]
    results.append((taken[2], Outcome(PENDING, error="503", not_before=TUESDAY_9AM)))
    with scene.database.write() as session:
        assert record_all(session, results, "first", TUESDAY_9AM) == 3
    states = {m.id: (m.state, m.leased_by) for m in scene.outbox()}
    assert states[held[0]["id"]] == ("sent", "first")
    assert {states[m["id"]] for m in taken} == {("sending", "second")}
