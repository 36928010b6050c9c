"""A set of ids as ONE bound parameter, to filter or join by.

A tick asks about tens of thousands of teams, runs and members. As an IN
list each id is a parameter of its own: SQLite caps their number (32,766),
PostgreSQL plans a list of 10,000 constants slowly, and SQLite, once
``ANALYZE`` has run, may walk the list once per row of another table
(quadratic: minutes at 10,000 teams). One parameter holding all of them
costs the same at any size, and the plans below do not depend on
statistics, which a freshly loaded database does not have yet:

- PostgreSQL gets an ``integer[]`` literal: ``= ANY(...)`` tests a row
  against a hash of the array, and ``unnest`` of it is a table whose size
  the planner knows without statistics.
- SQLite gets a JSON array read by ``json_each``, and ``CROSS JOIN``, which
  it never reorders, so a join starts from the ids and probes each table by
  its index.
"""

from __future__ import annotations

import json
from typing import Iterable

from sqlalchemy import Integer, Select, bindparam, text
from sqlalchemy.orm import Session


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


class IdParameter(str):
    """``id_parameter``'s value, which ``in_ids`` takes as it is: one set of
    ids asked about in several queries is written out once."""


def id_parameter(session: Session, ids: Iterable[int]) -> str:
    """The one bound value that carries ``ids``."""
    if isinstance(ids, IdParameter):
        return ids
    values = sorted({int(i) for i in ids})
    if _postgresql(session):
        return IdParameter("{" + ",".join(map(str, values)) + "}")
    return IdParameter(json.dumps(values, separators=(",", ":")))


def in_ids(session: Session, column, ids: Iterable[int] | IdParameter, name: str):
    """A WHERE condition: ``column`` is one of ``ids`` (``name``: the parameter's);
    ``ids`` may be an ``id_parameter`` made already."""
    parameter = bindparam(name, id_parameter(session, ids))
    if _postgresql(session):
        quote = session.get_bind().dialect.identifier_preparer.quote
        return text(f"{quote(column.table.name)}.{quote(column.name)} = ANY(CAST(:{name} AS integer[]))") \
            .bindparams(parameter)
    return column.in_(text(f"SELECT value FROM json_each(:{name})").bindparams(parameter))


def keep_ids(session: Session, query: Select, column, ids: Iterable[int] | IdParameter, name: str) -> Select:
    """``query`` narrowed to the rows whose ``column`` is one of ``ids``, for
    reads of tens of thousands of ids. On PostgreSQL a join with the
    unnested array: ``= ANY`` of it costs the planner a look at each id
    (25-47 ms for 100,000, more than the read itself), while ``unnest``
    tells it the array's length and it hashes one side. SQLite: ``in_ids``."""
    if not _postgresql(session):
        return query.where(in_ids(session, column, ids, name))
    table = (text(_id_select_sql(session, name))
             .bindparams(bindparam(name, id_parameter(session, ids))).columns(id=Integer).subquery(f"{name}_ids"))
    return query.join(table, table.c.id == column)


def id_table_sql(session: Session, name: str) -> str:
    """SQL of a table of one column ``id`` holding the ids bound as ``:name``
    (its value from ``id_parameter``), for hand-written joins."""
    return f"({_id_select_sql(session, name)})"


def _id_select_sql(session: Session, name: str) -> str:
    """A SELECT of one column ``id``, a row for each id bound as ``:name``."""
    if _postgresql(session):
        return f"SELECT unnest(CAST(:{name} AS integer[])) AS id"
    return f"SELECT CAST(value AS integer) AS id FROM json_each(:{name})"


def join_in_order(session: Session) -> str:
    """The join keyword that keeps SQLite to the order written (the ids
    first); PostgreSQL, which knows the ids' number, chooses well itself."""
    return "JOIN" if _postgresql(session) else "CROSS JOIN"
