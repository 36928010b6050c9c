"""When runs happen and which work date they check (docs/reminders.md), through
the tick: one run per subscription and local date, ever."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from tests.reminder_helpers import TUESDAY_9AM, Scene, mentions_in


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


@pytest.fixture
def scene(database, mattermost, clock):
    scene = Scene(database, mattermost, clock)
    scene.people("alice", "bob")
    yield scene
    scene.close()


def run_dates(scene) -> list[tuple[date, date, str]]:
    return [(r.local_date, r.work_date, r.state) for r in scene.runs()]


def test_monday_checks_friday(scene):
    scene.subscribe()
    scene.tick(utc(2026, 11, 30, 0, 0))  # Monday 09:00 in Tokyo
    assert run_dates(scene) == [(date(2026, 11, 30), date(2026, 11, 27), "sent")]
    assert "2026-11-27" in scene.channel_posts()[0]["message"]


def test_no_run_on_a_weekend(scene):
    scene.subscribe()
    for day in (5, 6):  # Saturday, Sunday
        scene.tick(utc(2026, 12, day, 1, 0))
    assert scene.runs() == [] and scene.channel_posts() == []


def test_public_holidays_and_the_jp_substitute_holiday_are_skipped(scene):
    scene.subscribe(holidays="JP")
    scene.tick(utc(2026, 5, 6, 0, 0))  # Wednesday: substitute holiday for Constitution Day
    assert scene.runs() == []
    scene.tick(utc(2026, 5, 7, 0, 0))  # Thursday checks the Friday before Golden Week
    assert run_dates(scene) == [(date(2026, 5, 7), date(2026, 5, 1), "sent")]


def test_team_days_off_are_not_work_days(scene):
    scene.day_off(date(2026, 11, 30))
    scene.day_off(date(2026, 12, 2))
    scene.subscribe()
    scene.tick(TUESDAY_9AM)  # Monday was off: Tuesday checks Friday
    scene.tick(utc(2026, 12, 2, 0, 0))  # no run on a team day off
    scene.tick(utc(2026, 12, 3, 0, 0))  # Thursday checks Tuesday
    assert run_dates(scene) == [(date(2026, 12, 1), date(2026, 11, 27), "sent"),
                                (date(2026, 12, 3), date(2026, 12, 1), "sent")]


def test_same_day_check(scene):
    scene.subscribe(check_day="same-day", at_time="18:00")
    scene.tick(utc(2026, 12, 1, 9, 0))
    assert run_dates(scene) == [(date(2026, 12, 1), date(2026, 12, 1), "sent")]


@pytest.mark.parametrize("at_time, start", [
    ("02:30", utc(2026, 3, 8, 5, 0)),  # spring forward: 02:30 does not exist that night
    ("01:30", utc(2026, 11, 1, 4, 0)),  # fall back: 01:30 happens twice
])
def test_a_dst_day_fires_once(scene, at_time, start):
    scene.subscribe(timezone="America/New_York", at_time=at_time, weekdays="0,1,2,3,4,5,6")
    for minutes in range(0, 6 * 60, 15):
        scene.tick(start + timedelta(minutes=minutes))
    assert len(scene.runs()) == 1 and len(scene.channel_posts()) == 1


def test_a_run_within_the_catch_up_window_is_still_sent(scene):
    scene.subscribe()
    scene.tick(TUESDAY_9AM + timedelta(minutes=179))
    assert [r.state for r in scene.runs()] == ["sent"] and len(scene.channel_posts()) == 1


def test_a_run_later_than_the_catch_up_window_is_skipped_and_never_sent(scene):
    sub_id = scene.subscribe()
    lines = scene.tick(TUESDAY_9AM + timedelta(minutes=181))
    assert lines == [f"subscription {sub_id} ~dev work date 2026-11-30 missing -: skipped (late)"]
    scene.tick(TUESDAY_9AM + timedelta(minutes=182))
    scene.change(sub_id, at_time="12:30")  # a skipped run counts as had
    scene.tick(utc(2026, 12, 1, 3, 30))
    assert [(r.state, r.reason) for r in scene.runs()] == [("skipped", "late")]
    assert scene.channel_posts() == []


def test_catch_up_window_follows_the_setting(database, mattermost, clock):
    scene = Scene(database, mattermost, clock, NIPPO_CATCHUP_MINUTES="30")
    scene.people("alice")
    scene.subscribe()
    scene.tick(TUESDAY_9AM + timedelta(minutes=31))
    assert [r.state for r in scene.runs()] == ["skipped"]
    scene.close()


def test_changing_the_time_mid_day_never_runs_twice(scene):
    sub_id = scene.subscribe()
    scene.tick(TUESDAY_9AM)
    scene.change(sub_id, at_time="10:00")
    scene.tick(TUESDAY_9AM + timedelta(hours=1))
    scene.change(sub_id, check_day="same-day", delivery="both")
    scene.tick(TUESDAY_9AM + timedelta(hours=1, minutes=1))
    assert len(scene.runs()) == 1 and len(scene.channel_posts()) == 1


def test_a_new_subscription_sends_todays_run_at_the_next_tick(scene):
    scene.tick(TUESDAY_9AM)
    scene.subscribe()
    scene.tick(TUESDAY_9AM + timedelta(minutes=5))
    [post] = scene.channel_posts()
    assert mentions_in(post["message"]) == {"alice", "bob"}


def test_paused_and_disabled_subscriptions_do_not_run(scene):
    sub_id = scene.subscribe(enabled=False)
    scene.tick(TUESDAY_9AM)
    scene.change(sub_id, enabled=True, paused=True)
    scene.tick(TUESDAY_9AM + timedelta(minutes=1))
    assert scene.runs() == []
    scene.change(sub_id, paused=False)
    scene.tick(TUESDAY_9AM + timedelta(minutes=2))
    assert len(scene.runs()) == 1


def test_a_claim_whose_claimant_died_is_taken_over_when_its_lease_runs_out(scene):
    from db.models import ReminderRun

    sub_id = scene.subscribe()
    lease_until = datetime.fromtimestamp(scene.mattermost.clock(), timezone.utc) + timedelta(minutes=5)  # real time
    with scene.database.write() as session:
        session.add(ReminderRun(subscription_id=sub_id, local_date=date(2026, 12, 1), work_date=date(2026, 11, 30),
                                state="claimed", claimed_by="dead-replica",
                                lease_until=lease_until, scheduled_at=TUESDAY_9AM,
                                deadline=TUESDAY_9AM + timedelta(hours=3), created_at=TUESDAY_9AM))
    scene.tick(TUESDAY_9AM + timedelta(minutes=1))
    assert [r.state for r in scene.runs()] == ["claimed"] and scene.channel_posts() == []
    lines = scene.later(minutes=5)
    assert lines[0].endswith("missing 2: sent")
    [run] = scene.runs()
    assert run.state == "sent" and run.claimed_by != "dead-replica"
    assert len(scene.channel_posts()) == 1


def ops_team(scene) -> tuple[dict, int]:
    """A second team, ~ops, with carol on it: (its channel, its team id)."""
    channel = scene.mattermost.add_channel(scene.channel["team_id"], "ops")
    scene.mattermost.add_channel_member(channel["id"], scene.mattermost.bot["id"])
    team_id = scene.add_team(channel)
    scene.person("carol", team_id=team_id, channel=channel)
    return channel, team_id


def test_a_subscription_with_a_broken_setting_does_not_stop_the_others(scene, caplog):
    other_channel, other_team = ops_team(scene)
    scene.subscribe(timezone="Nowhere/Atlantis")  # an old row the calendar refuses
    good = scene.subscribe(team_id=other_team)
    scene.tick(TUESDAY_9AM)
    assert [r.subscription_id for r in scene.runs()] == [good]
    assert len(scene.channel_posts(other_channel)) == 1
    assert any("cannot compute its schedule" in r.getMessage() for r in caplog.records)


def test_a_claim_nobody_planned_in_time_fails_and_tells_the_leaders(scene):
    from db.models import ReminderRun

    scene.person("boss", leader=True)
    sub_id = scene.subscribe()
    with scene.database.write() as session:
        session.add(ReminderRun(subscription_id=sub_id, local_date=date(2026, 12, 1), work_date=date(2026, 11, 30),
                                state="claimed", claimed_by="dead-replica", lease_until=TUESDAY_9AM,
                                scheduled_at=TUESDAY_9AM, deadline=TUESDAY_9AM + timedelta(hours=3),
                                created_at=TUESDAY_9AM))
    lines = scene.tick(TUESDAY_9AM + timedelta(hours=3, minutes=1))
    assert lines[0].endswith("failed (not planned in time)")
    assert scene.channel_posts() == []
    [told] = scene.dms("boss")
    assert "1" in told["message"]


@pytest.mark.parametrize("off", [{"enabled": False}, {"paused": True}])
def test_a_claim_of_a_subscription_switched_off_since_is_not_taken_over(scene, off):
    from db.models import ReminderRun

    sub_id = scene.subscribe()
    with scene.database.write() as session:
        session.add(ReminderRun(subscription_id=sub_id, local_date=date(2026, 12, 1), work_date=date(2026, 11, 30),
                                state="claimed", claimed_by="dead-replica", lease_until=TUESDAY_9AM,
                                scheduled_at=TUESDAY_9AM, deadline=TUESDAY_9AM + timedelta(hours=3),
                                created_at=TUESDAY_9AM))
    scene.change(sub_id, **off)
    scene.tick(TUESDAY_9AM + timedelta(minutes=6))
    assert [(r.state, r.reason) for r in scene.runs()] == [("skipped", "subscription off")]
    assert scene.channel_posts() == [] and scene.outbox() == []


def test_console_mode_prints_the_reminder(database, clock):
    import io

    from bot.config import Settings
    from bot.mattermost import ConsoleClient
    from bot.services import build_services
    from bot.tick import run_tick
    from db.models import Member, RosterEntry, Subscription, Team

    stream = io.StringIO()
    services = build_services(Settings.from_env({"NIPPO_DATABASE_URL": database.url}), database=database,
                              mattermost=ConsoleClient(stream=stream), clock=clock)
    with database.write() as session:
        team = Team(channel_id="console-channel", channel_name="dev", created_at=TUESDAY_9AM)
        member = Member(user_id="alice", username="alice")
        session.add_all([team, member])
        session.flush()
        session.add(RosterEntry(team_id=team.id, member_id=member.id, role="leader", added_at=TUESDAY_9AM))
        session.add(Subscription(team_id=team.id, timezone="Asia/Tokyo", persona="plain", language="en",
                                 created_at=TUESDAY_9AM, updated_at=TUESDAY_9AM))
    lines = run_tick(services, TUESDAY_9AM)
    assert lines[0].endswith("missing 1: sent")
    assert stream.getvalue().count("/report 2026-11-30") == 1  # the channel post, no DM


def test_the_scheduler_thread_runs_the_same_tick(scene):
    from bot.tick import make_tick

    scene.subscribe()
    tick = make_tick(scene.services)
    assert tick(TUESDAY_9AM, should_stop=lambda: False)[0].endswith("missing 2: sent")
    assert tick(TUESDAY_9AM + timedelta(minutes=1)) == []
    assert len(scene.channel_posts()) == 1


def test_a_tick_whose_writing_fails_leaves_no_run_and_the_next_tick_plans_it(scene):
    """The runs are claimed and planned in one transaction: a database error
    on the way rolls back the claim too, so nothing waits for a lease."""
    from sqlalchemy import event

    scene.subscribe(delivery="both")

    def refuse_the_outbox(connection, cursor, statement, parameters, context, executemany):
        if "outbox" in statement and statement.lstrip().upper().startswith(("INSERT", "COPY")):
            raise RuntimeError("disk full")

    event.listen(scene.database.engine, "before_cursor_execute", refuse_the_outbox)
    try:
        with pytest.raises(Exception, match="disk full"):
            scene.tick(TUESDAY_9AM)
    finally:
        event.remove(scene.database.engine, "before_cursor_execute", refuse_the_outbox)
    assert scene.runs() == [] and scene.outbox() == [] and scene.channel_posts() == []
    lines = scene.later(minutes=1)
    assert lines[0].endswith("missing 2: sent")
    assert [r.state for r in scene.runs()] == ["sent"] and len(scene.channel_posts()) == 1


def test_a_run_another_process_had_after_this_one_read_it_is_not_planned_twice(scene, monkeypatch):
    """Between reading which runs are due and its turn to write, another
    replica claimed the morning: the tick looks again once it holds the turn."""
    from bot.reminders import claim as claiming
    from db.models import ReminderRun

    sub_id = scene.subscribe()
    read_due = claiming.due_runs

    def due_then_had_elsewhere(session, now, catchup, only=None):
        found = read_due(session, now, catchup, only)
        with scene.database.write() as other:
            other.add(ReminderRun(subscription_id=sub_id, local_date=date(2026, 12, 1), work_date=date(2026, 11, 30),
                                  state="planned", claimed_by="other-replica", scheduled_at=TUESDAY_9AM,
                                  deadline=TUESDAY_9AM + timedelta(hours=3), created_at=TUESDAY_9AM, missing=[]))
        return found

    monkeypatch.setattr("bot.tick.due_runs", due_then_had_elsewhere)
    scene.tick(TUESDAY_9AM)  # closes the other replica's run too: it had nothing to send
    assert [(r.claimed_by, r.missing) for r in scene.runs()] == [("other-replica", [])]
    assert scene.outbox() == [] and scene.channel_posts() == []


def one_of_two_fails_to_plan(scene, monkeypatch):
    """~dev's subscription and ~ops' (carol's), ~dev's planning raising a
    bug: (~dev's subscription, ~ops' channel, the real plan_run to put back)."""
    from bot.reminders import planner

    other_channel, other_team = ops_team(scene)
    broken = scene.subscribe()
    scene.subscribe(team_id=other_team)
    plan_run = planner.plan_run

    def fails_for_one(services, run_id, sub, *args, **kwargs):
        if sub.id == broken:
            raise ValueError("a bug in one subscription's planning")
        return plan_run(services, run_id, sub, *args, **kwargs)

    monkeypatch.setattr(planner, "plan_run", fails_for_one)
    return broken, other_channel, plan_run


def test_a_run_whose_planning_fails_is_recorded_as_claimed_and_planned_when_its_lease_runs_out(scene, monkeypatch,
                                                                                                caplog):
    """One subscription's planning raises: the others are planned and sent,
    its run is recorded as claimed with a lease, and a later tick plans it."""
    broken, other_channel, plan_run = one_of_two_fails_to_plan(scene, monkeypatch)
    lines = scene.tick(TUESDAY_9AM)
    assert sorted(line.split(": ", 1)[1] for line in lines) == [
        "error (planning failed; retried when its claim expires)", "sent"]
    assert {r.subscription_id: r.state for r in scene.runs()}[broken] == "claimed"
    assert scene.channel_posts() == [] and len(scene.channel_posts(other_channel)) == 1
    assert any("planning run" in r.getMessage() for r in caplog.records)
    monkeypatch.setattr("bot.reminders.planner.plan_run", plan_run)  # mended
    assert scene.later(minutes=1) == []  # its lease is still held
    lines = scene.later(minutes=5)
    assert lines == [f"subscription {broken} ~dev work date 2026-11-30 missing 2: sent"]
    assert len(scene.channel_posts()) == 1 and len(scene.channel_posts(other_channel)) == 1


def test_a_run_whose_planning_always_fails_fails_at_its_deadline_and_stops_no_other_run(scene, monkeypatch):
    """Past its catch-up window a claim is failed, and what it would have sent
    is counted for the leaders by planning it: a run whose planning always
    raises must not make that, and so every tick of every subscription, fail."""
    broken, other_channel, _plan_run = one_of_two_fails_to_plan(scene, monkeypatch)
    scene.tick(TUESDAY_9AM)
    lines = scene.later(hours=3, minutes=6)  # its lease and its catch-up window have both run out
    assert lines == [f"subscription {broken} ~dev work date 2026-11-30 missing -: failed (not planned in time)"]
    assert {r.subscription_id: (r.state, r.reason) for r in scene.runs()}[broken] == ("failed",
                                                                                    "not planned in time")
    lines = scene.tick(TUESDAY_9AM + timedelta(days=1))  # the next morning: the other team is reminded
    assert sorted(line.split(": ", 1)[1] for line in lines) == [
        "error (planning failed; retried when its claim expires)", "sent"]
    assert len(scene.channel_posts(other_channel)) == 2
