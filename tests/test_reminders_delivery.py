"""Delivery through the outbox when Mattermost misbehaves (docs/reminders.md): every
message is posted exactly once, or given up on and the leaders told."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import update

from bot.sources import SourceUnavailable
from db.models import OutboxMessage, Subscription
from tests.reminder_helpers import TUESDAY_9AM, Scene, mentions_in

MONDAY = date(2026, 11, 30)
POSTS = r"/api/v4/posts"


@pytest.fixture
def scene(database, mattermost, clock):
    scene = Scene(database, mattermost, clock)
    scene.person("boss", leader=True)
    scene.person("alice")
    scene.report("boss", MONDAY)
    yield scene
    scene.close()


def test_5xx_is_retried_with_backoff_and_delivered_once(scene):
    scene.subscribe()
    scene.mattermost.fail("POST", POSTS, status=503, times=2)
    lines = scene.tick(TUESDAY_9AM)
    assert "wait for a retry" in lines[0] and scene.channel_posts() == []
    [message] = scene.outbox(kind="channel")
    assert message.state == "pending" and message.not_before > TUESDAY_9AM
    for _ in range(3):
        scene.later(minutes=1)
    assert len(scene.channel_posts()) == 1 and scene.post_calls() == 3
    assert [r.state for r in scene.runs()] == ["sent"]


def test_a_long_retry_after_is_honoured_on_the_tick_clock(scene):
    scene.subscribe()
    scene.mattermost.rate_limit_next("POST", POSTS, retry_after=120)
    scene.tick(TUESDAY_9AM)
    scene.later(minutes=1)
    assert scene.post_calls() == 1 and scene.channel_posts() == []
    scene.later(minutes=1)
    assert scene.post_calls() == 2 and len(scene.channel_posts()) == 1


def test_a_short_retry_after_pauses_every_worker_and_delivers_in_the_same_tick(scene):
    scene.person("bob")
    scene.subscribe(delivery="both")
    scene.mattermost.rate_limit_next("*", r"/api/v4/.*", times=1, retry_after=2)
    scene.tick(TUESDAY_9AM)
    assert len(scene.channel_posts()) == 1 and len(scene.dms("alice")) == 1 and len(scene.dms("bob")) == 1
    assert scene.time.slept and max(scene.time.slept) == pytest.approx(2)
    assert [r.state for r in scene.runs()] == ["sent"]


def test_x_ratelimit_reset_is_used_when_retry_after_is_missing(scene):
    scene.subscribe()
    scene.mattermost.rate_limit_next("POST", POSTS, retry_after=None, reset=90)
    scene.tick(TUESDAY_9AM)
    [message] = scene.outbox(kind="channel")
    assert message.not_before == TUESDAY_9AM + timedelta(seconds=90)


def searches(scene) -> int:
    return scene.mattermost.count("GET", f"/api/v4/channels/{scene.channel['id']}/posts")


def test_a_lost_answer_is_searched_for_at_once_instead_of_posting_again(scene):
    scene.subscribe()
    scene.mattermost.lose_answer("POST", POSTS, times=1)
    scene.tick(TUESDAY_9AM)
    assert len(scene.channel_posts()) == 1 and scene.post_calls() == 1 and searches(scene) == 1
    [message] = scene.outbox(kind="channel")
    assert message.state == "sent" and message.post_id == scene.channel_posts()[0]["id"]


def test_a_lost_answer_on_a_cluster_is_not_posted_again_by_another_node(scene):
    """Mattermost keeps the pending_post_id dedup per node: a repeat within its
    30 s that reaches another node would be a second post."""
    scene.mattermost.clustered()
    scene.subscribe()
    scene.mattermost.lose_answer("POST", POSTS, times=1)
    scene.tick(TUESDAY_9AM)
    [post] = scene.channel_posts()
    [message] = scene.outbox(kind="channel")
    assert message.state == "sent" and message.post_id == post["id"]


def test_an_answer_lost_twice_is_searched_for_by_the_next_tick(scene):
    scene.mattermost.clustered()
    scene.subscribe()
    scene.mattermost.lose_answer("GET", rf"/api/v4/channels/{scene.channel['id']}/posts", times=1)
    scene.mattermost.lose_answer("POST", POSTS, times=1)
    scene.tick(TUESDAY_9AM)
    [message] = scene.outbox(kind="channel")
    assert message.state == "pending" and message.unknown_since is not None
    scene.later(minutes=1)
    [post] = scene.channel_posts()
    assert scene.post_calls() == 1 and searches(scene) == 2
    assert [m.post_id for m in scene.outbox(kind="channel")] == [post["id"]]


def test_a_search_that_finds_nothing_sends_again(scene):
    scene.subscribe()
    scene.mattermost.cut("POST", POSTS, times=2)  # never processed
    scene.tick(TUESDAY_9AM)
    scene.later(minutes=1)
    assert len(scene.channel_posts()) == 1 and scene.post_calls() == 3


def test_a_request_cut_before_it_landed_is_delivered_once(scene):
    scene.subscribe()
    scene.mattermost.cut("POST", POSTS, times=1)
    scene.tick(TUESDAY_9AM)
    assert len(scene.channel_posts()) == 1


def test_a_sender_that_died_mid_send_is_taken_over_without_a_second_post(scene):
    scene.subscribe()
    from bot.reminders.common import TickTime, process_id
    from bot.tick import plan_tick

    plan_tick(scene.services, TickTime(TUESDAY_9AM), process_id())
    [message] = scene.outbox(kind="channel")
    # The dead sender's post made it to Mattermost; its record did not.
    scene.client.create_post(scene.channel["id"], "reminder", props={"nippo_outbox_id": str(message.id)},
                             pending_post_id=message.pending_post_id)
    with scene.database.write() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id)
                        .values(state="sending", leased_by="dead", lease_until=TUESDAY_9AM))
    scene.later(minutes=6)
    assert len(scene.channel_posts()) == 1 and scene.post_calls() == 1
    assert [m.state for m in scene.outbox(kind="channel")] == ["sent"]


def test_a_taken_over_message_is_found_even_below_a_page_of_newer_posts(scene):
    """A busy channel: 250 posts came after the dead sender's post. The search
    starts from the message's planning, not from the newest page."""

    from bot.reminders.common import TickTime, process_id
    from bot.tick import plan_tick

    # Mattermost's clock and the tick clock read the same, as in production.
    scene.mattermost.advance(TUESDAY_9AM.timestamp() - scene.mattermost.clock() + 1)
    scene.subscribe()
    plan_tick(scene.services, TickTime(TUESDAY_9AM), process_id())
    [message] = scene.outbox(kind="channel")
    scene.client.create_post(scene.channel["id"], "reminder", props={"nippo_outbox_id": str(message.id)},
                             pending_post_id=message.pending_post_id)
    for n in range(250):
        scene.client.create_post(scene.channel["id"], f"chatter {n}")
    with scene.database.write() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id)
                        .values(state="sending", leased_by="dead", lease_until=TUESDAY_9AM))
    scene.later(minutes=6)
    reminders = [p for p in scene.channel_posts() if not p["message"].startswith("chatter")]
    assert len(reminders) == 1
    assert [m.state for m in scene.outbox(kind="channel")] == ["sent"]


def test_bot_removed_from_channel_fails_tells_leaders_and_pauses_after_three_runs(scene):
    sub_id = scene.subscribe()
    scene.mattermost.remove_channel_member(scene.channel["id"], scene.mattermost.bot["id"])
    for day in range(3):
        scene.report("boss", MONDAY + timedelta(days=day + 1))
        lines = scene.tick(TUESDAY_9AM + timedelta(days=day))
        assert "failed (undeliverable)" in lines[0]
    told = [p["message"] for p in scene.dms("boss")]
    assert len(told) == 4  # each failed post, then the pause
    assert all("~dev" in m and "permission" in m for m in told[:3])
    assert "paused" in told[3] and "3" in told[3]
    with scene.database.read() as session:
        sub = session.get(Subscription, sub_id)
        assert (sub.paused, sub.failure_streak) == (True, 3)
    scene.tick(TUESDAY_9AM + timedelta(days=3))
    assert len(scene.runs()) == 3
    assert [m.state for m in scene.outbox(kind="channel")] == ["failed"] * 3
    assert scene.outbox(kind="channel")[0].attempts == 1  # never retried


def test_a_400_or_401_fails_the_run_but_never_pauses_the_subscription(scene):
    sub_id = scene.subscribe()
    for day, (status, error_id) in enumerate([(400, "api.post.create_post.bug.app_error"),
                                              (401, "api.context.session_expired.app_error"),
                                              (400, "api.post.create_post.bug.app_error")]):
        scene.report("boss", MONDAY + timedelta(days=day + 1))
        scene.mattermost.fail("POST", POSTS, status=status, error_id=error_id, times=1)
        lines = scene.tick(TUESDAY_9AM + timedelta(days=day))
        assert lines[0].endswith("failed (error)")
    with scene.database.read() as session:
        sub = session.get(Subscription, sub_id)
        assert (sub.paused, sub.failure_streak) == (False, 0)
    assert len(scene.dms("boss")) == 3  # each failure told, no pause notice


def test_an_archived_channel_fails_for_good(scene):
    scene.subscribe()
    scene.mattermost.archive_channel(scene.channel["id"])
    scene.tick(TUESDAY_9AM)
    scene.later(minutes=5)
    assert scene.post_calls() == 2  # the channel post once, the leader's notice once
    assert any("~dev" in p["message"] for p in scene.dms("boss"))


def test_a_member_with_dms_restricted_does_not_fail_the_run(scene):
    scene.person("bob")
    scene.subscribe(delivery="both")
    scene.mattermost.restrict_dms_with(scene.users["alice"]["id"])
    lines = scene.tick(TUESDAY_9AM)
    assert lines[0].endswith(": sent")
    assert len(scene.dms("bob")) == 1
    assert any("alice" in p["message"] for p in scene.dms("boss"))


def test_messages_undelivered_when_the_window_closes_are_dropped_and_leaders_told(scene):
    scene.person("bob")
    scene.subscribe(delivery="both")
    scene.mattermost.fail("POST", POSTS, status=503, times=1000)
    scene.tick(TUESDAY_9AM)
    scene.later(minutes=90)
    scene.mattermost.clear_faults()
    lines = scene.tick(TUESDAY_9AM + timedelta(minutes=181))
    assert lines and "failed (dropped)" in lines[0]
    assert scene.channel_posts() == [] and scene.dms("alice") == []
    [notice] = scene.dms("boss")
    assert "3" in notice["message"]
    assert {m.state for m in scene.outbox(run_id=scene.runs()[0].id) if m.kind not in ("notice", "dms")} == {"dropped"}


class Unreachable:
    member_key = "username"

    def __init__(self) -> None:
        self.calls = 0

    def reported_keys(self, work_date):
        self.calls += 1
        raise SourceUnavailable("connection refused")


def test_an_unreachable_source_makes_the_run_wait_then_tells_the_leaders(scene):
    scene.services.source = Unreachable()
    scene.subscribe()
    lines = scene.tick(TUESDAY_9AM)
    assert lines[0].endswith("waiting (source unreachable)")
    assert scene.later(minutes=1)[0].endswith("waiting (source unreachable)")
    assert [r.state for r in scene.runs()] == ["claimed"] and scene.channel_posts() == []
    lines = scene.later(minutes=180)  # the waiting claim's lease runs out on the real clock too
    assert lines[0].endswith("failed (source unreachable)")
    assert scene.channel_posts() == []
    [told] = scene.dms("boss")
    assert "2026-11-30" in told["message"]
    assert scene.services.source.calls == 2


class Broken:
    member_key = "username"

    def reported_keys(self, work_date):
        raise RuntimeError("a bug in the source")


def test_a_source_failing_in_any_way_counts_as_unreachable_and_the_tick_goes_on(scene, caplog):
    scene.subscribe()
    scene.tick(TUESDAY_9AM - timedelta(days=1))  # Monday's run is sent; its outbox is done
    scene.services.source = Broken()
    lines = scene.tick(TUESDAY_9AM)
    assert lines[0].endswith("waiting (source unreachable)")
    assert any(r.exc_info for r in caplog.records if "report source failed" in r.getMessage())


class Outside:
    member_key = "email"

    def reported_keys(self, work_date):
        return frozenset({"ALICE@example.com"})


def test_an_outside_source_counts_case_insensitively(scene):
    scene.person("bob")
    scene.services.source = Outside()
    scene.subscribe()
    scene.tick(TUESDAY_9AM)
    [post] = scene.channel_posts()
    assert mentions_in(post["message"]) == {"bob"}


def test_stopping_finishes_the_send_in_flight_and_hands_back_the_rest(scene):
    scene.people("bob", "carol")
    scene.subscribe(delivery="dm")
    scene.services.delivery.workers = 1
    stop = lambda: len(scene.mattermost.posts) >= 1  # noqa: E731  (SIGTERM after the first post)
    scene.tick(TUESDAY_9AM, should_stop=stop)
    assert len(scene.mattermost.posts) == 1
    assert {m.state for m in scene.outbox() if m.kind != "dms"} == {"sent", "pending"}
    scene.tick(TUESDAY_9AM + timedelta(minutes=1))
    assert len(scene.mattermost.posts) == 4  # three DMs and the leader's summary, once each
    assert [r.state for r in scene.runs()] == ["sent"]


def test_mattermost_down_stops_the_pass_early(scene):
    scene.people(*[f"m{i}" for i in range(20)])
    scene.subscribe(delivery="dm")
    with scene.mattermost.down():
        scene.tick(TUESDAY_9AM)
    assert scene.mattermost.count("POST") == 0
    # Not one failed try per message (22). Until the breaker has counted its failures in a
    # row, workers that failed fast may start one more each: at most one per worker in
    # flight plus the failures before it opened. How many is up to the thread scheduler.
    from bot.reminders.limiter import Breaker

    attempts = sum(m.attempts for m in scene.outbox())
    bound = scene.services.delivery.workers + Breaker().threshold - 1
    assert attempts <= bound < len(scene.outbox())
    scene.later(minutes=5)
    assert len(scene.mattermost.posts) == 22


def test_one_clock_drives_retries(scene):
    """A 503 is retried on the tick's clock: another tick at the same time does not retry early."""
    scene.subscribe()
    scene.mattermost.fail("POST", POSTS, status=503, times=1)
    scene.tick(TUESDAY_9AM)
    scene.tick(TUESDAY_9AM)
    assert scene.post_calls() == 1
    scene.tick(TUESDAY_9AM + timedelta(minutes=1))
    assert scene.post_calls() == 2 and len(scene.channel_posts()) == 1


def test_the_shared_gate_learns_the_rate_limit_and_keeps_close_to_the_floor():
    """600 calls against Mattermost's GCRA (10/s, burst 100) on a fake clock:
    near the floor of 50 s, and few calls wasted on 429s."""
    import math

    from bot.reminders.limiter import RateGate
    from tests.standin.faults import Gcra

    now = [0.0]
    gate = RateGate(lambda: now[0], lambda seconds: now.__setitem__(0, now[0] + seconds))
    server = Gcra(10, 100, lambda: now[0])
    passed = refused = 0
    while passed < 600:
        gate.wait()
        now[0] += 0.005  # the call's own latency
        limited, headers = server.take()
        if limited:
            refused += 1
            gate.pause(float(headers.get("Retry-After", math.ceil(float(headers["X-RateLimit-Reset"])))))
        else:
            passed += 1
            gate.passed()
    assert now[0] <= 1.1 * (600 - 100) / 10
    assert refused < 60
