"""Shared fixtures. Every test that touches the database runs on SQLite and on
PostgreSQL; the schema comes from the real migrations, once per session."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, text

from bot.clock import FrozenClock
from db.migrate import upgrade
from db.models import Base
from db.session import Database, normalize_url
from tests.harness import nippo  # noqa: F401  (fixture)
from tests.standin.fixtures import mattermost, mattermost_client  # noqa: F401  (fixtures)

# The server to test on; each pytest process works in a scratch database of
# its own (created here, dropped at the end), so parallel runs never collide.
POSTGRES_SERVER = os.environ.get("NIPPO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
POSTGRES_URL = normalize_url(POSTGRES_SERVER).set(database=f"nippo_test_{os.getpid()}").render_as_string(hide_password=False)


def ensure_postgres_database(url: str) -> None:
    """Create the scratch database if it is not there yet."""
    parsed = normalize_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}).first()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'nippo-test.db'}"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    ensure_postgres_database(POSTGRES_URL)
    return POSTGRES_URL


_migrated: dict[str, Database] = {}


def _migrated_database(url: str) -> Database:
    if url not in _migrated:
        database = Database(url)
        if database.kind == "postgresql":
            with database.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        upgrade(database)
        _migrated[url] = database
    return _migrated[url]


def empty_tables(database: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as connection:
        if database.kind == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request) -> str:
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def database(database_url) -> Database:
    database = _migrated_database(database_url)
    empty_tables(database)
    return database


@pytest.fixture
def clock() -> FrozenClock:
    # A Tuesday morning in Tokyo, the product's home.
    return FrozenClock(datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc))


def drop_postgres_database(url: str) -> None:
    parsed = normalize_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def pytest_report_header(config):
    from tests.standin import openapi_check

    path = openapi_check.spec_path()
    if path is None:
        return f"Mattermost requests are NOT validated: {openapi_check.SKIP_REASON}"
    return f"Mattermost requests are validated against {path}"


def pytest_sessionfinish(session, exitstatus):
    for database in _migrated.values():
        database.dispose()
    if POSTGRES_URL in _migrated:
        try:
            drop_postgres_database(POSTGRES_URL)
        except Exception:  # the server may be gone; nothing to clean then
            pass
