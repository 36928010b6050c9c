"""Closing runs: the escalation streaks a pass over many runs leaves, and a
plan for finding the finished runs that does not walk the outbox's state
index once per run."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import event, insert, select, text, update

from bot.reminders.common import TickTime, new_post_id
from bot.reminders.finish import finish_runs
from db.models import MissingStreak, OutboxMessage, ReminderRun
from tests.reminder_helpers import TUESDAY_9AM, Scene

MONDAY, TUESDAY, WEDNESDAY = date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)


@pytest.fixture
def scene(database, mattermost, clock):
    scene = Scene(database, mattermost, clock)
    scene.person("boss", leader=True)
    scene.people("alice", "bob", "carol", "dave")
    yield scene
    scene.close()


def sent_run(scene, sub_id: int, work_date: date, missing: list[str]) -> int:
    """A planned run whose one channel post is sent: the next pass closes it."""
    now = scene.clock()
    with scene.database.write() as session:
        run = ReminderRun(subscription_id=sub_id, local_date=work_date + timedelta(days=1), work_date=work_date,
                          state="planned", scheduled_at=now, deadline=now + timedelta(hours=2), created_at=now,
                          missing=[scene.member_id(name) for name in missing])
        session.add(run)
        session.flush()
        session.add(OutboxMessage(key=f"channel:{run.id}:0", run_id=run.id, kind="channel", channel_id="c",
                                  work_date=work_date, payload={}, state="sent", attempts=1, not_before=now,
                                  deadline=now, pending_post_id=new_post_id(), created_at=now))
        return run.id


def streaks(scene, sub_id: int) -> dict[str, tuple[int, bool]]:
    names = {scene.member_id(name): name for name in scene.users}
    with scene.database.read() as session:
        return {names[row.member_id]: (row.streak, row.leaders_told) for row in session.scalars(
            select(MissingStreak).where(MissingStreak.subscription_id == sub_id))}


def test_one_pass_over_several_runs_of_a_subscription_counts_each_in_turn(scene):
    ops = scene.add_team(scene.mattermost.add_channel(scene.channel["team_id"], "ops"))
    scene.person("alice", team_id=ops)
    sub_id, other = scene.subscribe(), scene.subscribe(team_id=ops)
    with scene.database.write() as session:  # dave's streak of 2, told to the leaders
        session.add(MissingStreak(subscription_id=sub_id, member_id=scene.member_id("dave"), streak=2,
                                  leaders_told=True, last_run_id=None))
    scene.report("bob", TUESDAY)  # bob filed Tuesday after all: Tuesday's miss does not count
    scene.absent("carol", TUESDAY)  # carol's absence neither counts nor ends her streak
    scene.report("dave", MONDAY)  # dave filed Monday: his streak ends
    sent_run(scene, sub_id, MONDAY, ["alice", "bob", "carol"])
    sent_run(scene, sub_id, TUESDAY, ["alice", "bob", "carol", "dave"])
    sent_run(scene, sub_id, WEDNESDAY, ["alice", "carol", "dave"])
    sent_run(scene, other, TUESDAY, ["alice"])

    lines = finish_runs(scene.services, TickTime(TUESDAY_9AM + timedelta(days=2)))

    assert [line.status for line in lines] == ["sent"] * 4
    # alice: three misses; bob: Monday, then Tuesday's report ends it; carol:
    # Monday, Tuesday off (no change), Wednesday; dave: Monday filed (0, no
    # longer told), Tuesday and Wednesday missed.
    assert streaks(scene, sub_id) == {"alice": (3, False), "bob": (0, False), "carol": (2, False),
                                      "dave": (2, False)}
    assert streaks(scene, other) == {"alice": (1, False)}
    # A second pass finds nothing to close and changes nothing.
    assert finish_runs(scene.services, TickTime(TUESDAY_9AM + timedelta(days=2))) == []
    assert streaks(scene, sub_id)["alice"] == (3, False)


def test_finished_runs_are_found_by_run_id_even_with_the_state_index_full_of_a_mornings_old_versions(scene):
    if scene.database.kind != "postgresql":
        pytest.skip("PostgreSQL's planner: SQLite takes the run id index as it is")
    sub_id = scene.subscribe()
    now = scene.clock()
    with scene.database.write() as session:  # weeks of sent messages, then statistics of that quiet outbox
        session.execute(insert(OutboxMessage), [
            {"key": f"old:{n}", "kind": "dm", "work_date": MONDAY, "payload": {}, "state": "sent", "attempts": 1,
             "not_before": now, "deadline": now, "pending_post_id": new_post_id(), "created_at": now}
            for n in range(20_000)])
    with scene.database.write() as session:
        session.execute(text("ANALYZE"))
    # A morning: runs with their messages written pending, then sent (each
    # update leaves the row's pending version in the state index until vacuum).
    run_ids = [sent_run(scene, sub_id, MONDAY - timedelta(days=n), ["alice"]) for n in range(40)]
    with scene.database.write() as session:
        session.execute(update(OutboxMessage).values(state="pending"))
        session.add_all(OutboxMessage(key=f"dm:{run_id}:{n}", run_id=run_id, kind="dm", work_date=MONDAY,
                                      payload={}, state="pending", attempts=0, not_before=now, deadline=now,
                                      pending_post_id=new_post_id(), created_at=now) for run_id in run_ids for n in range(50))
    with scene.database.write() as session:
        session.execute(update(OutboxMessage).values(state="sent"))
    asked = []

    def catch(connection, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("SELECT reminder_runs.id") and not asked:
            asked.append((statement, parameters))

    event.listen(scene.database.engine, "before_cursor_execute", catch)
    try:
        lines = finish_runs(scene.services, TickTime(now))
    finally:
        event.remove(scene.database.engine, "before_cursor_execute", catch)
    assert len(lines) == 40
    [(statement, parameters)] = asked
    with scene.database.engine.connect() as connection:
        plan = "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters))
    assert "ix_outbox_due" not in plan and "ix_outbox_run" in plan, plan
