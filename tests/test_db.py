"""The database layer: migrations, URLs, and concurrent writers on both databases."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from db.migrate import current_revision, head_revision, upgrade
from db.models import Member, Report
from db.session import SQLITE_CACHED_STATEMENTS, Database, normalize_url

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


def test_postgresql_url_as_users_write_it_uses_psycopg2():
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg2"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg2"
    assert normalize_url("postgresql+psycopg2://u@h/db").drivername == "postgresql+psycopg2"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"


def test_upgrade_twice_is_harmless(database):
    upgrade(database)
    upgrade(database)
    assert current_revision(database) == head_revision()


def test_sqlite_runs_in_wal_mode(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/wal.db")
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    database.dispose()


def test_each_sqlite_connection_keeps_a_bounded_number_of_prepared_statements(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/statements.db")
    asked = {}
    event.listen(database.engine, "do_connect", lambda _dialect, _record, _args, params: asked.update(params))
    with database.engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
    database.dispose()
    assert asked["cached_statements"] == SQLITE_CACHED_STATEMENTS < 128  # Python's default


def test_datetimes_come_back_aware_utc(database):
    with database.write() as session:
        session.add(Member(user_id="u1", username="alice", updated_at=NOW))
    with database.read() as session:
        member = session.scalars(select(Member)).one()
        assert member.updated_at == NOW and member.updated_at.tzinfo is not None


def test_one_report_per_member_and_work_date(database):
    with database.write() as session:
        member = Member(user_id="u1", username="alice")
        session.add(member)
        session.flush()
        session.add(Report(member_id=member.id, work_date=date(2026, 11, 30), text="a", created_at=NOW, updated_at=NOW))
    with pytest.raises(IntegrityError):
        with database.write() as session:
            session.add(Report(member_id=member.id, work_date=date(2026, 11, 30), text="b", created_at=NOW, updated_at=NOW))


def _bump_counter(url: str, worker: int, rounds: int) -> None:
    database = Database(url)
    for i in range(rounds):
        with database.write() as session:
            # read-then-write: the pattern that fails with "database is locked"
            # under SQLite's deferred transactions
            count = session.scalar(select(func.count()).select_from(Member))
            session.add(Member(user_id=f"w{worker}-{i}", username=f"n{count}"))
    database.dispose()


def test_concurrent_threads_and_processes_write_without_lock_errors(database):
    url = database.url
    rounds = 15
    errors: list[BaseException] = []

    def thread_worker(n):
        try:
            _bump_counter(url, n, rounds)
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_bump_counter, args=(url, 100 + n, rounds)) for n in range(3)]
    threads = [threading.Thread(target=thread_worker, args=(n,)) for n in range(4)]
    for worker in processes + threads:
        worker.start()
    for worker in processes + threads:
        worker.join(120)
    assert not errors
    assert all(p.exitcode == 0 for p in processes)
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Member)) == rounds * 7


def _migrate(url: str) -> None:
    database = Database(url)
    upgrade(database)
    database.dispose()


def test_several_replicas_migrating_at_once(tmp_path, postgres_url):
    """Fresh databases migrated by four processes at the same moment."""
    from tests.conftest import ensure_postgres_database

    from tests.conftest import drop_postgres_database

    scratch = normalize_url(postgres_url)
    scratch = scratch.set(database=scratch.database + "_migrate")
    pg_url = scratch.render_as_string(hide_password=False)
    drop_postgres_database(pg_url)
    ensure_postgres_database(pg_url)
    urls = [f"sqlite:///{tmp_path / 'fresh.db'}", pg_url]
    context = multiprocessing.get_context("spawn")
    for url in urls:
        processes = [context.Process(target=_migrate, args=(url,)) for _ in range(4)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(120)
        assert [p.exitcode for p in processes] == [0, 0, 0, 0], url
        database = Database(url)
        assert current_revision(database) == head_revision()
        database.dispose()
    drop_postgres_database(pg_url)
