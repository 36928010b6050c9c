"""Migration 0003 (nudges and digests) carries existing runs and subscriptions
over, on both databases: runs become morning runs, subscriptions have no
nudges and no digest."""

from __future__ import annotations

import pytest

from db.migrate import upgrade
from tests.test_migrations import NOW, blank_database, downgrade, run, seed_0001  # noqa: F401  (fixture)


def seed_runs(database) -> None:
    """~dev subscribed, with two morning runs and one message of the first."""
    run(database, "INSERT INTO subscriptions (id, team_id, enabled, paused, at_time, timezone, weekdays, delivery, "
                  "persona, language, check_day, escalate, mention, failure_streak, created_at, updated_at) "
                  "VALUES (1, 1, true, false, '09:00', 'Asia/Tokyo', '0,1,2,3,4', 'dm', 'emperor', 'en', "
                  "'previous', 3, true, 0, :t, :t)", t=NOW)
    for run_id, local_date, work_date in ((1, "2026-11-30", "2026-11-27"), (2, "2026-12-01", "2026-11-30")):
        run(database, "INSERT INTO reminder_runs (id, subscription_id, local_date, work_date, state, scheduled_at, "
                      "deadline, created_at) VALUES (:i, 1, :l, :w, 'sent', :t, :t, :t)",
            i=run_id, l=local_date, w=work_date, t=NOW)
    run(database, "INSERT INTO outbox (id, key, run_id, kind, payload, state, attempts, not_before, pending_post_id, "
                  "created_at) VALUES (1, 'dm:bob:2026-11-27', 1, 'dm', '{}', 'sent', 1, :t, 'p1', :t)", t=NOW)


def at_0002_with_runs(database) -> None:
    upgrade(database, "0001")
    seed_0001(database)
    upgrade(database, "0002")
    seed_runs(database)


def add_run(database, run_id: int, local_date: str, slot: str) -> None:
    run(database, "INSERT INTO reminder_runs (id, subscription_id, local_date, slot, work_date, state, scheduled_at, "
                  "deadline, created_at) VALUES (:i, 1, :l, :s, '2026-11-30', 'sent', :t, :t, :t)",
        i=run_id, l=local_date, s=slot, t=NOW)


def test_0003_keeps_every_run_as_a_morning_run(blank_database):
    at_0002_with_runs(blank_database)
    upgrade(blank_database, "0003")
    runs = run(blank_database, "SELECT id, CAST(local_date AS TEXT), slot, state FROM reminder_runs ORDER BY id")
    assert [tuple(r) for r in runs] == [(1, "2026-11-30", "", "sent"), (2, "2026-12-01", "", "sent")]
    assert [tuple(m) for m in run(blank_database, "SELECT id, run_id FROM outbox")] == [(1, 1)]


def test_0003_gives_subscriptions_no_nudges_and_no_digest(blank_database):
    at_0002_with_runs(blank_database)
    upgrade(blank_database, "0003")
    rows = run(blank_database, "SELECT at_time, delivery, again_times, digest_day, digest_time FROM subscriptions")
    assert [tuple(r) for r in rows] == [("09:00", "dm", "", None, None)]


def test_0003_allows_one_run_per_slot_and_local_date(blank_database):
    at_0002_with_runs(blank_database)
    upgrade(blank_database, "0003")
    add_run(blank_database, 3, "2026-12-01", "again 13:00")
    add_run(blank_database, 4, "2026-12-01", "digest")
    with pytest.raises(Exception):
        add_run(blank_database, 5, "2026-12-01", "again 13:00")
    with pytest.raises(Exception):
        add_run(blank_database, 6, "2026-12-01", "")


def test_0003_downgrades_to_morning_runs_only(blank_database):
    at_0002_with_runs(blank_database)
    upgrade(blank_database, "0003")
    add_run(blank_database, 3, "2026-12-01", "again 13:00")
    run(blank_database, "INSERT INTO outbox (id, key, run_id, kind, payload, state, attempts, not_before, "
                        "pending_post_id, created_at) VALUES (2, 'again:bob', 3, 'dm', '{}', 'sent', 1, :t, 'p2', :t)",
        t=NOW)
    downgrade(blank_database, "0002")
    assert [r[0] for r in run(blank_database, "SELECT id FROM reminder_runs ORDER BY id")] == [1, 2]
    assert [r[0] for r in run(blank_database, "SELECT id FROM outbox")] == [1]
    with pytest.raises(Exception):  # one run per (subscription, local date) again
        run(blank_database, "INSERT INTO reminder_runs (id, subscription_id, local_date, work_date, state, "
                            "scheduled_at, deadline, created_at) VALUES (9, 1, '2026-12-01', '2026-11-30', 'sent', "
                            ":t, :t, :t)", t=NOW)
