"""A run's DMs are planned as one step row; delivery makes each DM's row from
it (docs/reminders.md, the outbox)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.reminders.common import MESSAGE_LEASE, TickTime, process_id
from bot.reminders.outbox import lease
from bot.reminders.plan import dm_rows
from bot.reminders.planner import insert_messages
from bot.tick import plan_tick
from tests.reminder_helpers import TUESDAY_9AM, Scene

MONDAY = date(2026, 11, 30)


@pytest.fixture
def scene(database, mattermost, clock):
    scene = Scene(database, mattermost, clock)
    scene.person("boss", leader=True)
    scene.people("alice", "bob", "carol")
    scene.report("boss", MONDAY)
    yield scene
    scene.close()


def test_planning_writes_one_row_for_a_runs_dms_and_delivery_makes_each_dm_from_it(scene):
    scene.subscribe(delivery="dm")
    plan_tick(scene.services, TickTime(TUESDAY_9AM), process_id())
    assert sorted(m.kind for m in scene.outbox()) == ["dms", "summary"]
    [step] = scene.outbox(kind="dms")
    assert sorted(own["member"]["n"] for _key, own in step.payload["dms"]) == ["alice", "bob", "carol"]

    scene.tick(TUESDAY_9AM)
    [run] = scene.runs()
    assert run.state == "sent"
    assert scene.outbox(kind="dms")[0].state == "expanded"
    dms = scene.outbox(kind="dm")
    assert sorted(dm.recipient_user_id for dm in dms) == sorted(scene.users[n]["id"] for n in ("alice", "bob", "carol"))
    for dm in dms:
        assert dm.state == "sent" and dm.run_id == run.id and dm.work_date == MONDAY
        assert dm.key == f"dm:{dm.recipient_user_id}:2026-11-30"
        # seeded by the run itself (subscription, local date, slot), as a dry run seeds it
        assert dm.payload["seed"] == f"{run.subscription_id}:2026-12-01::{dm.key}"
        assert dm.payload["member"]["u"] == dm.recipient_user_id and dm.payload["text_key"] == "reminder.dm"
        assert dm.payload["leaders"] == [[scene.users["boss"]["id"], "boss"]] and "dms" not in dm.payload
    for name in ("alice", "bob", "carol"):
        [post] = scene.dms(name)
        assert "`/report 2026-11-30" in post["message"]


def test_a_step_planned_before_runs_carried_their_seed_seeds_its_dms_by_the_run_id(scene):
    scene.subscribe(delivery="dm")
    plan_tick(scene.services, TickTime(TUESDAY_9AM), process_id())
    [step] = scene.outbox(kind="dms")
    older = {name: value for name, value in step.payload.items() if name != "rs"}  # as an earlier nippo wrote it
    rows = dm_rows({"payload": older, "run_id": step.run_id, "work_date": step.work_date, "deadline": step.deadline},
                   TUESDAY_9AM)
    assert sorted(row["payload"]["seed"] for row in rows) == sorted(f"run{step.run_id}:{row['key']}" for row in rows)


def test_a_step_made_again_adds_no_dm_twice(scene):
    scene.subscribe(delivery="dm")
    plan_tick(scene.services, TickTime(TUESDAY_9AM), process_id())
    [step] = scene.outbox(kind="dms")
    row = {"payload": step.payload, "run_id": step.run_id, "work_date": step.work_date, "deadline": step.deadline}
    for _ in range(2):
        with scene.database.write() as session:
            insert_messages(session, dm_rows(row, TUESDAY_9AM))
    assert len(scene.outbox(kind="dm")) == 3


def test_a_step_whose_sender_died_is_made_by_the_next_and_each_dm_goes_out_once(scene):
    scene.subscribe(delivery="dm")
    tick = TickTime(TUESDAY_9AM, scene.mattermost.clock)
    plan_tick(scene.services, tick, "dead-replica")
    with scene.database.write() as session:  # leased, then its process died before it wrote anything
        assert {m["kind"] for m in lease(session, tick, "dead-replica", 10)} == {"dms", "summary"}
    scene.mattermost.advance(MESSAGE_LEASE.total_seconds() + 1)
    scene.tick(TUESDAY_9AM + timedelta(minutes=6))
    for name in ("alice", "bob", "carol"):
        assert len(scene.dms(name)) == 1
    assert [r.state for r in scene.runs()] == ["sent"]


def test_a_step_dropped_before_it_made_its_dms_counts_each_of_them_for_the_leaders(scene):
    scene.subscribe(delivery="dm")
    plan_tick(scene.services, TickTime(TUESDAY_9AM), process_id())  # then nothing delivers until too late
    scene.mattermost.advance(timedelta(minutes=181).total_seconds())
    lines = scene.tick(TUESDAY_9AM + timedelta(minutes=181))
    assert lines and "failed (dropped)" in lines[0]
    assert scene.outbox(kind="dm") == [] and scene.outbox(kind="dms")[0].state == "dropped"
    [notice] = scene.dms("boss")
    assert "4 undelivered messages dropped" in notice["message"]  # three DMs and the summary
    for name in ("alice", "bob", "carol"):
        assert scene.dms(name) == []
