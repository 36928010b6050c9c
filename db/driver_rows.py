"""Statements run on the database driver's own cursor, for the few that
carry a hundred thousand rows each way.

SQLAlchemy wraps each row it reads in a ``Row`` and runs each value through
its result processing: for the roster a big morning reads, that cost as
much again as reading it. The driver's own tuples carry what such reads
select (integers and strings) as they are. A bulk write through the driver
(PostgreSQL's ``COPY``) goes the same way.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause


@contextmanager
def driver_cursor(connection: Connection, statement: str, parameters=()) -> Iterator:
    """A cursor of the connection's driver, for running ``statement`` in the
    connection's transaction. Listeners on ``before_cursor_execute`` and
    ``after_cursor_execute`` see it like any statement, so statement counts
    stay honest."""
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        connection.dispatch.before_cursor_execute(connection, cursor, statement, parameters, None, False)
        yield cursor
        connection.dispatch.after_cursor_execute(connection, cursor, statement, parameters, None, False)
    finally:
        cursor.close()


def driver_rows(session: Session, statement: TextClause, parameters: dict) -> list[tuple]:
    """Every row of ``statement`` as the driver returns it. Only for columns
    the driver and SQLAlchemy agree on (integers, strings) and parameters the
    driver takes as they are."""
    connection = session.connection()
    compiled = statement.compile(dialect=connection.dialect)
    values = compiled.construct_params(parameters)
    if compiled.positional:
        values = tuple(values[name] for name in compiled.positiontup)
    with driver_cursor(connection, compiled.string, values) as cursor:
        cursor.execute(compiled.string, values)
        return cursor.fetchall()
