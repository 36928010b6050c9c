"""Inserting many rows in ONE statement, whatever their number.

Planning a tick must cost a constant number of queries (docs/operations.md, performance), but a
multi-row VALUES list grows with the rows and runs into the databases'
parameter limits (SQLite: 32,766), so it would need several statements for
a big tick. Instead the rows travel as one JSON document and the database
unpacks them: ``json_each`` on SQLite, ``json_to_recordset`` on PostgreSQL.
Values are converted exactly as the ORM would store them.
"""

from __future__ import annotations

import functools
import json
from datetime import date, datetime
from typing import Sequence

from sqlalchemy import JSON, text
from sqlalchemy.orm import Session


def insert_ignoring_conflicts(session: Session, model, rows: list[dict], returning: Sequence[str] = ()) -> list:
    """INSERT … ON CONFLICT DO NOTHING of ``rows`` (all with the same keys);
    the ``returning`` columns of the rows actually inserted."""
    if not rows:
        return []
    table = model.__table__
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    names = list(rows[0])
    document = _document(table, dialect, rows, names)
    columns = ", ".join(quote(name) for name in names)
    statement = f"INSERT INTO {quote(table.name)} ({columns}) {_unpacked(table, dialect, names)}"
    if dialect.name == "sqlite":
        statement += " WHERE true"  # tells SQLite's parser the ON CONFLICT belongs to the INSERT
    statement += " ON CONFLICT DO NOTHING"
    if returning:
        statement += " RETURNING " + ", ".join(quote(name) for name in returning)
        return session.execute(text(statement), {"rows": document}).all()
    session.execute(text(statement), {"rows": document})
    return []


def update_by_id(session: Session, model, rows: list[dict]) -> None:
    """UPDATE rows by primary key ``id``, all with the same keys, in one statement
    (psycopg2's executemany would make one round trip per row)."""
    if not rows:
        return
    table = model.__table__
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    names = list(rows[0])
    assignments = ", ".join(f"{quote(name)} = j.{quote(name)}" for name in names if name != "id")
    statement = (f"UPDATE {quote(table.name)} SET {assignments} FROM ({_unpacked(table, dialect, names)}) AS j"
                 f" WHERE {quote(table.name)}.id = j.id")
    session.execute(text(statement), {"rows": _document(table, dialect, rows, names)})


def _unpacked(table, dialect, names: list[str]) -> str:
    """A SELECT of the rows in the :rows document, one column per name."""
    quote = dialect.identifier_preparer.quote
    if dialect.name == "sqlite":
        picked = ", ".join(f"json_extract(value, '$.\"{name}\"') AS {quote(name)}" for name in names)
        return f"SELECT {picked} FROM json_each(:rows)"
    typed = ", ".join(f"{quote(name)} {_pg_type(table.c[name], dialect)}" for name in names)
    picked = ", ".join(f"r.{quote(name)}" for name in names)
    return f"SELECT {picked} FROM json_to_recordset(CAST(:rows AS json)) AS r({typed})"


def _document(table, dialect, rows: list[dict], names: list[str]) -> str:
    processors = {}
    for name in names:
        column_type = table.c[name].type
        if isinstance(column_type, JSON):
            continue  # nested as it is: the database reads the object's JSON text
        processor = column_type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors[name] = processor
    return json.dumps([_plain(row, names, processors) for row in rows], separators=(",", ":"))


def _plain(row: dict, names: list[str], processors: dict) -> dict:
    out = {}
    for name in names:
        value = row[name]
        if isinstance(value, (date, datetime)):
            value = _stored(processors.get(name), value)
        out[name] = value
    return out


@functools.lru_cache(maxsize=4096)
def _stored(processor, value):
    """A date or time as the ORM would bind it (SQLite's strings, UTC); the
    same few instants repeat across thousands of rows."""
    if processor is not None:
        value = processor(value)
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _pg_type(column, dialect) -> str:
    if isinstance(column.type, JSON):
        return "json"
    return column.type.dialect_impl(dialect).compile(dialect=dialect)


def reopen_by_key(session: Session, model, rows: list[dict], names: Sequence[str], states: Sequence[str]) -> None:
    """Give rows that exist already under the same ``key`` a fresh start, in
    one statement: those in one of ``states`` that belong to another run take
    the new row's ``names`` columns (the rest of a send's history is reset)."""
    if not rows:
        return
    table = model.__table__
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    names = ["key", "run_id", *[n for n in names if n not in ("key", "run_id")]]
    target = quote(table.name)
    assignments = ", ".join(f"{quote(name)} = j.{quote(name)}" for name in names if name != "key")
    reset = ", ".join(f"{quote(name)} = NULL" for name in ("lease_until", "leased_by", "unknown_since", "post_id",
                                                          "last_error", "sent_at"))
    listed = ", ".join(f"'{state}'" for state in states)
    statement = (f"UPDATE {target} SET {assignments}, {quote('attempts')} = 0, {reset}"
                 f" FROM ({_unpacked(table, dialect, names)}) AS j"
                 f" WHERE {target}.{quote('key')} = j.{quote('key')} AND {target}.{quote('state')} IN ({listed})"
                 f" AND ({target}.{quote('run_id')} IS NULL OR {target}.{quote('run_id')} <> j.{quote('run_id')})")
    session.execute(text(statement), {"rows": _document(table, dialect, rows, names)})
