"""Migration 0005 lets a transaction check the outbox's key to its run at
commit (a tick writes a run after its messages), on both databases, and
changes no data; without that asked, the key is checked at once, as before."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from db.migrate import upgrade
from tests.test_migration_0003 import at_0002_with_runs
from tests.test_migrations import NOW, blank_database, downgrade, run  # noqa: F401  (fixture)

RUNS = "SELECT id, CAST(local_date AS TEXT), state FROM reminder_runs ORDER BY id"
OUTBOX = "SELECT id, key, run_id FROM outbox ORDER BY id"


def at_0004_with_runs(database) -> None:
    at_0002_with_runs(database)
    upgrade(database, "0004")


def deferrable(database) -> bool | None:
    """PostgreSQL: whether the key may be checked at commit (None on SQLite, where any key may)."""
    if database.kind != "postgresql":
        return None
    return run(database, "SELECT condeferrable FROM pg_constraint WHERE conrelid = 'outbox'::regclass "
                         "AND confrelid = 'reminder_runs'::regclass")[0][0]


def message_before_its_run(database, *, checked_at_commit: bool) -> None:
    """One transaction: an outbox row naming run 3, then run 3."""
    with database.engine.begin() as connection:
        if checked_at_commit:
            connection.execute(text("SET CONSTRAINTS ALL DEFERRED" if database.kind == "postgresql"
                                    else "PRAGMA defer_foreign_keys = ON"))
        connection.execute(text("INSERT INTO outbox (id, key, run_id, kind, payload, state, attempts, not_before, "
                                "pending_post_id, created_at) VALUES (2, 'dm:carol:2026-12-01', 3, 'dm', '{}', "
                                "'pending', 0, :t, 'p2', :t)"), {"t": NOW})
        connection.execute(text("INSERT INTO reminder_runs (id, subscription_id, local_date, work_date, state, "
                                "scheduled_at, deadline, created_at) VALUES (3, 1, '2026-12-02', '2026-12-01', "
                                "'planned', :t, :t, :t)"), {"t": NOW})


def test_0005_keeps_every_run_and_message(blank_database):
    at_0004_with_runs(blank_database)
    before = [tuple(r) for r in run(blank_database, RUNS)], [tuple(m) for m in run(blank_database, OUTBOX)]
    upgrade(blank_database, "0005")
    assert ([tuple(r) for r in run(blank_database, RUNS)], [tuple(m) for m in run(blank_database, OUTBOX)]) == before
    assert deferrable(blank_database) in (True, None)


def test_0005_lets_a_transaction_write_a_message_before_its_run(blank_database):
    at_0004_with_runs(blank_database)
    upgrade(blank_database, "0005")
    message_before_its_run(blank_database, checked_at_commit=True)
    assert [tuple(m) for m in run(blank_database, OUTBOX)][-1] == (2, "dm:carol:2026-12-01", 3)


def test_0005_still_refuses_a_message_of_no_run_at_once_and_at_commit(blank_database):
    at_0004_with_runs(blank_database)
    upgrade(blank_database, "0005")
    with pytest.raises(IntegrityError):
        message_before_its_run(blank_database, checked_at_commit=False)
    with pytest.raises(IntegrityError):  # deferred, but its run never came
        with blank_database.engine.begin() as connection:
            connection.execute(text("SET CONSTRAINTS ALL DEFERRED" if blank_database.kind == "postgresql"
                                    else "PRAGMA defer_foreign_keys = ON"))
            connection.execute(text("INSERT INTO outbox (id, key, run_id, kind, payload, state, attempts, not_before,"
                                    " pending_post_id, created_at) VALUES (3, 'dm:dave:2026-12-01', 99, 'dm', '{}',"
                                    " 'pending', 0, :t, 'p3', :t)"), {"t": NOW})
    assert [m[0] for m in run(blank_database, OUTBOX)] == [1]


def test_0005_downgrades_to_a_key_checked_at_once(blank_database):
    at_0004_with_runs(blank_database)
    upgrade(blank_database, "0005")
    downgrade(blank_database, "0004")
    assert deferrable(blank_database) in (False, None)
    assert [m[0] for m in run(blank_database, OUTBOX)] == [1]
