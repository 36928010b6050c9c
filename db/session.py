"""Engines and sessions: one ``Database`` per process, shared by web threads and
the scheduler thread; one short session per request or job.

SQLite runs in WAL mode. Write transactions start with ``BEGIN IMMEDIATE`` so
two writers queue on the busy timeout instead of one failing later with
"database is locked" when it upgrades a read lock; read-only work uses a
deferred ``BEGIN`` so readers never queue behind each other.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_SECONDS = 30


def normalize_url(url: str) -> URL:
    """``postgresql://`` as users write it, on the psycopg2 driver nippo ships.

    SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, which nippo does
    not install.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed


def make_engine(url: str, **kwargs) -> Engine:
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            parsed,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event, not pysqlite, decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if connection.get_execution_options().get("nippo_read_only"):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """The engine plus two session factories: ``write()`` and ``read()``."""

    def __init__(self, url: str, **engine_kwargs):
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.kind = self.engine.dialect.name
        read_engine = self.engine.execution_options(nippo_read_only=True)
        self._write = sessionmaker(self.engine, expire_on_commit=False)
        self._read = sessionmaker(read_engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one write transaction, committed on success."""
        with self._write.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries only; it is rolled back at the end."""
        with self._read() as session:
            yield session
            session.rollback()

    def ping(self) -> bool:
        try:
            with self.engine.connect().execution_options(nippo_read_only=True) as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:  # any failure means "not ready"; the caller only needs yes or no
            return False

    def dispose(self) -> None:
        self.engine.dispose()
