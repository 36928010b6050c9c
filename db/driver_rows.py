"""Rows straight from the database driver, for the few reads that return a
hundred thousand of them.

SQLAlchemy wraps each row in a ``Row`` and runs each value through its
result processing: for the roster a big morning reads, that cost as much
again as reading it. The driver's own tuples carry what such reads select
(integers and strings) as they are.
"""

from __future__ import annotations

from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause


def driver_rows(session: Session, statement: TextClause, parameters: dict) -> list[tuple]:
    """Every row of ``statement`` as the driver returns it. Only for columns
    the driver and SQLAlchemy agree on (integers, strings) and parameters the
    driver takes as they are; listeners on ``before_cursor_execute`` see it
    like any statement, so statement counts stay honest."""
    connection = session.connection()
    compiled = statement.compile(dialect=connection.dialect)
    values = compiled.construct_params(parameters)
    if compiled.positional:
        values = tuple(values[name] for name in compiled.positiontup)
    sql = compiled.string
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        connection.dispatch.before_cursor_execute(connection, cursor, sql, values, None, False)
        cursor.execute(sql, values)
        rows = cursor.fetchall()
        connection.dispatch.after_cursor_execute(connection, cursor, sql, values, None, False)
    finally:
        cursor.close()
    return rows
