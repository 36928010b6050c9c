"""Migration 0004 adds the web pages' two tables and nothing else, on both
databases, and takes them away again."""

from __future__ import annotations

from sqlalchemy import inspect

from db.migrate import upgrade
from tests.test_migrations import blank_database, downgrade, run  # noqa: F401  (fixture)


def tables(database) -> set[str]:
    return set(inspect(database.engine).get_table_names())


def test_0004_adds_the_sign_in_links_and_sessions_tables(blank_database):
    upgrade(blank_database, "0003")
    before = tables(blank_database)
    upgrade(blank_database, "0004")
    assert tables(blank_database) - before == {"login_tokens", "web_sessions"}
    run(blank_database, "INSERT INTO web_sessions (id_hash, user_id, data, created_at, expires_at) "
                        "VALUES ('h', 'u', '{}', '2026-12-01 00:00:00+00:00', '2026-12-01 12:00:00+00:00')")
    assert run(blank_database, "SELECT user_id FROM web_sessions")[0][0] == "u"


def test_0004_downgrades_to_exactly_what_was_there(blank_database):
    upgrade(blank_database, "0003")
    before = tables(blank_database)
    upgrade(blank_database, "0004")
    downgrade(blank_database, "0003")
    assert tables(blank_database) == before
