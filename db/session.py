"""Engines and sessions: one ``Database`` per process, shared by web threads and
the scheduler thread; one short session per request or job.

SQLite runs in WAL mode. Write transactions start with ``BEGIN IMMEDIATE`` so
two writers queue on the busy timeout instead of one failing later with
"database is locked" when it upgrades a read lock; read-only work uses a
deferred ``BEGIN`` so readers never queue behind each other.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_SECONDS = 30
# Prepared statements each SQLite connection keeps (Python's default is 128).
# A statement with an IN list is prepared anew for each length of list, and
# one with a thousand ids holds some 190 KiB (a plain one about 2 KiB): at
# 128, SQLite's memory grew by some 4 MiB a morning of 10,000 DMs
# (bench/memory.py). Re-preparing a statement that fell out costs tens of
# microseconds.
SQLITE_CACHED_STATEMENTS = 32


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
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False,
                          "cached_statements": SQLITE_CACHED_STATEMENTS},
            hide_parameters=True,  # parameters are user content: never in a log line
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True, **kwargs)


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
        self._version_engine = None
        self._spare_version_connections: list = []  # list.pop and list.append need no lock
        self._local_lock = threading.Lock()
        from db import versioning

        self.local_writes = 0  # bumping transactions this process committed (db.versioning)
        versioning.install(self._write, on_commit=self._count_local_write)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one write transaction, committed on success."""
        with self._write.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries only. Closing it ends the transaction without
        expiring what was loaded, so plain reads can be used after the block."""
        with self._read() as session:
            yield session

    def _count_local_write(self) -> None:
        with self._local_lock:
            self.local_writes += 1

    def data_version(self) -> int:
        """The current data version (see db.versioning).

        Asked on every /report-status, so it skips SQLAlchemy's execution layer
        and its pool: spare autocommit DBAPI connections wait on a plain list
        (about 20 µs of CPU a question, one round trip on PostgreSQL, against
        some 55 µs through the pool). A connection found dead is closed and the
        question asked once more on another.
        """
        errors = self._version_errors()
        for attempt in (1, 2):
            try:
                connection = self._spare_version_connections.pop()
            except IndexError:
                connection = self._version_pool().raw_connection()
                connection.detach()  # ours to keep and close: the pool no longer counts it
            try:
                cursor = connection.cursor()
                cursor.execute("SELECT version FROM data_version WHERE id = 1")
                row = cursor.fetchone()
                cursor.close()
            except errors:
                # The server restarted, say: the spares are as dead as this one.
                self._close_spare_version_connections()
                _close_quietly(connection)
                if attempt == 2:
                    raise
                continue
            self._spare_version_connections.append(connection)
            return int(row[0]) if row else 0
        raise AssertionError("unreachable")

    def _version_errors(self) -> tuple[type[Exception], ...]:
        dbapi = self._version_pool().dialect.loaded_dbapi
        return dbapi.OperationalError, dbapi.InterfaceError

    def _close_spare_version_connections(self) -> None:
        while self._spare_version_connections:
            try:
                _close_quietly(self._spare_version_connections.pop())
            except IndexError:  # another thread took the last one
                break

    def _version_pool(self) -> Engine:
        if self._version_engine is None:
            parsed = normalize_url(self.url)
            if self.kind == "sqlite":
                # Only opens connections: data_version keeps them (detached) itself.
                self._version_engine = make_engine(self.url, pool_reset_on_return=None)
            else:
                self._version_engine = create_engine(parsed, isolation_level="AUTOCOMMIT", hide_parameters=True,
                                                     pool_reset_on_return=None)
        return self._version_engine

    def ping(self) -> bool:
        try:
            with self.engine.connect().execution_options(nippo_read_only=True) as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:  # any failure means "not ready"; the caller only needs yes or no
            return False

    def dispose(self) -> None:
        self.engine.dispose()
        self._close_spare_version_connections()
        if self._version_engine is not None:
            self._version_engine.dispose()


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except Exception:  # a dead connection may refuse even to close; it is dropped either way
        pass
