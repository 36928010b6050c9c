"""The data version: bumped by every write transaction that touches a table
``/report-status`` reads, so a rendered status can be reused until something
it depends on changes — on any replica (see ``db.status_cache``).

Hooked into the ORM session: unit-of-work flushes and ORM-enabled bulk
statements (``session.execute(insert(Report)...)``) both mark the session,
and the bump is one statement just before commit, inside the transaction.
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from db.models import DataVersion

WATCHED_TABLES = frozenset({
    "members", "teams", "roster", "reports", "absences", "team_days_off", "subscriptions", "reminder_runs",
})
_MARK = "nippo_data_changed"
_BUMPED = "nippo_data_version_bumped"


def _touches_watched(objects) -> bool:
    return any(getattr(getattr(o, "__table__", None), "name", None) in WATCHED_TABLES for o in objects)


def install(factory: sessionmaker, on_commit: Callable[[], None] = lambda: None) -> None:
    """Mark, bump, and tell ``on_commit`` when a bumping transaction committed."""
    @event.listens_for(factory, "after_flush")
    def _after_flush(session: Session, _context):
        if _touches_watched(session.new) or _touches_watched(session.dirty) or _touches_watched(session.deleted):
            session.info[_MARK] = True

    @event.listens_for(factory, "do_orm_execute")
    def _on_execute(state):
        if not (state.is_insert or state.is_update or state.is_delete):
            return
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in WATCHED_TABLES:
            state.session.info[_MARK] = True

    @event.listens_for(factory, "before_commit")
    def _before_commit(session: Session):
        # before_commit runs before the final autoflush: flush now so that
        # changes still pending are seen (and marked) before deciding.
        session.flush()
        if session.info.pop(_MARK, False):
            bump(session)
            session.info[_BUMPED] = True

    @event.listens_for(factory, "after_commit")
    def _after_commit(session: Session):
        if session.info.pop(_BUMPED, False):
            on_commit()

    @event.listens_for(factory, "after_rollback")
    def _after_rollback(session: Session):
        session.info.pop(_MARK, None)


def bump(session: Session) -> None:
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(DataVersion)
    statement = insert.values(id=1, version=1).on_conflict_do_update(
        index_elements=[DataVersion.id], set_={"version": DataVersion.version + 1})
    # Through the connection, not session.execute: this write must not mark the session again.
    session.connection().execute(statement)


def current(connection) -> int:
    value = connection.execute(text("SELECT version FROM data_version WHERE id = 1")).scalar()
    return int(value or 0)
