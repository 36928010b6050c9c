"""Writing many rows in a constant number of statements, whatever their number.

Planning a tick must cost a constant number of queries (docs/operations.md,
performance), but a multi-row VALUES list grows with the rows and runs into
the databases' parameter limits (SQLite: 32,766). An update of many rows by
id travels on PostgreSQL as one JSON document the server unpacks
(``json_to_recordset``). The tens of
thousands of outbox rows of a big morning take the fastest road each
database has: one ``executemany`` on SQLite (in process: no round trips), a
streamed ``COPY`` on PostgreSQL. They go in plainly first, under a
savepoint; only a write that meets an existing key is made again as the
upsert (on PostgreSQL: ``COPY`` into a temporary table, then one ``INSERT …
SELECT … ON CONFLICT``). Values are converted exactly as the ORM would
store them.
"""

from __future__ import annotations

import functools
import io
import itertools
import json
import operator
import secrets
from collections.abc import Mapping
from datetime import date, datetime
from typing import Iterable, Iterator, Sequence

import orjson
from sqlalchemy import JSON, Date, DateTime, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.driver_rows import driver_cursor


def update_by_id(session: Session, model, rows: list[dict], key: Sequence[str] = ("id",)) -> None:
    """UPDATE rows by primary key (``key``: its columns, ``id`` unless
    given), all with the same keys, in one statement (psycopg2's
    executemany would make one round trip per row)."""
    if not rows:
        return
    table = model.__table__
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    names = [name for name in rows[0] if name not in key] + list(key)
    if dialect.name == "sqlite":  # in process: an executemany has no round trips to save
        assignments = ", ".join(f"{quote(name)} = ?" for name in names[:-len(key)])
        matched = " AND ".join(f"{quote(name)} = ?" for name in key)
        session.connection().exec_driver_sql(f"UPDATE {quote(table.name)} SET {assignments} WHERE {matched}",
                                             list(_values(table, dialect, rows, names)))
        return
    assignments = ", ".join(f"{quote(name)} = j.{quote(name)}" for name in names if name not in key)
    matched = " AND ".join(f"{quote(table.name)}.{quote(name)} = j.{quote(name)}" for name in key)
    statement = (f"UPDATE {quote(table.name)} SET {assignments} FROM ({_unpacked(table, dialect, names)}) AS j"
                 f" WHERE {matched}")
    session.execute(text(statement), {"rows": _document(table, dialect, rows, names)})


def _unpacked(table, dialect, names: list[str]) -> str:
    """A SELECT of the rows in the :rows document, one column per name (PostgreSQL)."""
    quote = dialect.identifier_preparer.quote
    typed = ", ".join(f"{quote(name)} {_pg_type(table.c[name], dialect)}" for name in names)
    picked = ", ".join(f"r.{quote(name)}" for name in names)
    return f"SELECT {picked} FROM json_to_recordset(CAST(:rows AS json)) AS r({typed})"


def _document(table, dialect, rows: list[dict], names: list[str]) -> str:
    processors = _processors(table, dialect, names)
    return encode_json([_plain(row, names, processors) for row in rows])


def _processors(table, dialect, names: list[str]) -> dict:
    """The ORM's bind processors of these columns, but JSON's: a JSON value is
    nested as it is (the database reads the object's JSON text). Not to be
    changed: one dict per table, dialect and columns."""
    return _processors_of(table, dialect, tuple(names))


@functools.lru_cache(maxsize=64)
def _processors_of(table, dialect, names: tuple[str, ...]) -> dict:
    # Made once: each bind_processor call makes a new function, and _stored
    # keys its cache by the function, so new ones each write filled that
    # cache with entries never asked for again (a serve grew through 30
    # mornings until it was full).
    processors = {}
    for name in names:
        column_type = table.c[name].type
        if isinstance(column_type, JSON):
            continue
        processor = column_type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors[name] = processor
    return processors


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


def insert_rows(session: Session, model, rows: Iterable[dict], on_conflict: str = "ON CONFLICT DO NOTHING") -> None:
    """INSERT ``rows`` (all with the same keys) with ``on_conflict``, SQL both
    databases read alike (``excluded.`` names the row proposed). An upsert's
    conflict target must not repeat within ``rows``: give each key once.
    ``rows`` may be made as they are asked for: they are read once, in order.

    Most writes meet no row that is there already, and a plain INSERT (or a
    COPY straight into the table) costs half what the upsert does: that is
    tried first, under a savepoint; a write that meets a unique key is
    rolled back to it and made again as the upsert."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    table = model.__table__
    connection = session.connection()
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    names = list(first)
    columns = ", ".join(quote(name) for name in names)
    kept = _Kept(_values(table, dialect, itertools.chain((first,), rows), names))
    try:
        with session.begin_nested():
            session.connection()  # the savepoint is made when the session next asks for its connection
            if dialect.name == "sqlite":  # in process: nothing to overlap, and executemany takes a list
                _sqlite_insert(connection, table, columns, names, kept.all(), "")
            else:
                _copy(connection, f"COPY {quote(table.name)} ({columns}) FROM STDIN", kept)
        return
    except (IntegrityError, dialect.dbapi.IntegrityError):
        if not on_conflict:
            raise  # no conflict clause: the upsert below could only fail the same way
        # a key that is there already: the upsert below decides what becomes of it
    values = kept.all()
    if dialect.name == "sqlite":
        _sqlite_insert(connection, table, columns, names, values, on_conflict)
        return
    scratch = f"nippo_bulk_{secrets.token_hex(4)}"
    # the columns' types without their constraints: the table's defaults fill the rest on the way in
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {scratch} ON COMMIT DROP AS"
                               f" SELECT {columns} FROM {quote(table.name)} WITH NO DATA")
    _copy(connection, f"COPY {scratch} ({columns}) FROM STDIN", values)
    connection.exec_driver_sql(f"INSERT INTO {quote(table.name)} ({columns}) SELECT {columns} FROM {scratch}"
                               f" {on_conflict}")


def _sqlite_insert(connection, table, columns: str, names: list[str], values: list[tuple], on_conflict: str) -> None:
    quote = connection.dialect.identifier_preparer.quote
    marks = ", ".join("?" for _ in names)
    connection.exec_driver_sql(f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({marks}) {on_conflict}",
                               values)


def _values(table, dialect, rows: Iterable[dict], names: list[str]) -> Iterator[tuple]:
    """Each row as a tuple of what the driver takes, made a batch at a time
    as they are asked for: dates and times as the ORM binds them, JSON
    encoded once, here. A big morning has tens of thousands of rows, so the
    work goes column by column: a date column repeats a few values, each
    converted once."""
    processors = _processors(table, dialect, names)
    converters = []
    for index, name in enumerate(names):
        column_type = table.c[name].type
        if isinstance(column_type, JSON):
            converters.append((index, _json_text, False))
        elif isinstance(getattr(column_type, "impl", column_type), (Date, DateTime)):  # UTCDateTime: its impl
            converters.append((index, functools.partial(_when, processors.get(name)), True))
    pick = operator.itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    rows = iter(rows)
    while batch := list(itertools.islice(rows, _VALUES_BATCH)):
        columns = list(zip(*map(pick, batch)))
        for index, convert, repeats in converters:
            if repeats:
                converted = {value: convert(value) for value in set(columns[index])}
                columns[index] = map(converted.__getitem__, columns[index])
            else:
                columns[index] = map(convert, columns[index])
        yield from zip(*columns)


_VALUES_BATCH = 500


class _Kept:
    """Values as they are made, kept for a second try; iterated once."""

    def __init__(self, values: Iterator[tuple]) -> None:
        self._values, self.made = values, []

    def __iter__(self) -> Iterator[tuple]:
        for value in self._values:
            self.made.append(value)
            yield value

    def all(self) -> list[tuple]:
        """Every value: those made so far and the rest."""
        self.made += self._values
        return self.made


def _when(processor, value):
    return value if not isinstance(value, (date, datetime)) else _stored(processor, value)


def _not_json(value):
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# json's own C encoder, made once: JSONEncoder.encode makes one per call, and
# that was half the cost of the tens of thousands of small payloads of a morning.
_c_encoder = json.encoder.c_make_encoder(None, _not_json, json.encoder.encode_basestring, None, ":", ",",
                                         False, False, True) if json.encoder.c_make_encoder else None
_python_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False).encode


# orjson writes the same text as json.dumps(ensure_ascii=False) with compact
# separators (tests/test_bulk.py checks every code point) in a fraction of
# the time: JSON was an eighth of planning a big morning. Dates and
# dataclasses are not its to turn into text; json refuses them too.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def encode_json(value) -> str:
    """``value`` as compact JSON, non-ASCII kept, exactly as json.dumps would write it."""
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS).decode()
    except TypeError:  # what orjson does not take (a key not a string, a lone surrogate, a huge int): json decides
        pass
    if _c_encoder is None or isinstance(value, (str, int, float)) or value is None:
        return _python_encode(value)
    return "".join(_c_encoder(value, 0))


def _json_text(value) -> str | None:
    if value is None:
        return None
    encoded = getattr(value, "encoded", None)
    return encoded if encoded is not None else encode_json(value)


class EncodedPayload(Mapping):
    """A payload whose JSON text is put together from its run's shared
    context, encoded once (``EncodedContext``), and its own few keys, when
    the text is first asked for: on PostgreSQL that is while the rows before
    it stream to the server. It reads as the dict it stands for (its own keys
    over the context's) without being copied into one: a morning makes tens
    of thousands. Neither the payload nor what it holds is changed after it
    is made."""

    __slots__ = ("_context", "_own", "_encoded")

    def __init__(self, context: EncodedContext, own: dict) -> None:
        self._context, self._own, self._encoded = context, own, None

    def __getitem__(self, name: str):
        own = self._own
        return own[name] if name in own else self._context.context[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._whole())

    def __len__(self) -> int:
        return len(self._whole())

    def _whole(self) -> dict:
        return {**self._context.context, **self._own}

    @property
    def encoded(self) -> str:
        if self._encoded is None:
            context, own = self._context, self._own
            if context.context and own and not own.keys() & context.context.keys():
                self._encoded = f"{context.head},{encode_json(own)[1:]}"
            else:  # a key given again, or nothing to join: as it stands
                self._encoded = encode_json(self._whole())
        return self._encoded


class EncodedContext:
    """What all of a run's messages share, encoded once: each message's
    payload adds its own few keys. A morning of 50,000 messages comes from
    10,000 runs, and encoding the shared part each time was most of the
    JSON work."""

    def __init__(self, context: dict) -> None:
        self.context = context

    @functools.cached_property
    def head(self) -> str:
        """The context's JSON without its closing brace; encoded at its first
        message (a run may have none of a kind)."""
        return encode_json(self.context)[:-1]

    def payload(self, own: dict) -> EncodedPayload:
        return EncodedPayload(self, own)


def _copy(connection, statement: str, values: Iterable[tuple]) -> None:
    """PostgreSQL's COPY FROM STDIN of ``values`` in its text format, through
    the session's own connection (so inside its transaction). The text is
    made a batch at a time as the driver reads it, so the server stores one
    batch while the next is made."""
    with driver_cursor(connection, statement) as cursor:
        cursor.copy_expert(statement, _CopyText(values), size=_COPY_CHUNK)


_COPY_CHUNK = 1 << 16
_COPY_BATCH = 500  # rows a read makes: about 200 KB of a morning's outbox


class _CopyText(io.TextIOBase):
    """COPY's text of ``values``, made as it is read."""

    def __init__(self, values: Iterable[tuple]) -> None:
        self._values = iter(values)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        return _copy_text(list(itertools.islice(self._values, _COPY_BATCH)))


# COPY's text format: backslash, tab and line ends escaped (the backslash first), NULL as \N.
_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
# Stand-ins for COPY's separators and NULL while a whole batch is escaped at
# once, when some value needs escaping: a morning's hundreds of thousands of
# values, escaped one by one, took a tenth of the tick. A value holding one
# of them is caught by the counts.
_FIELD, _ROW, _NULL = "\x00", "\x1e", "\x1f"
_COPY_ESCAPES = (*_ESCAPES.items(), (_FIELD, "\t"), (_ROW, "\n"), (_NULL, "\\N"))
_FIELD_ESCAPES = str.maketrans(_ESCAPES)


def _copy_text(values: list[tuple]) -> str:
    if not values:
        return ""
    fields = sum(len(row) - 1 for row in values)
    nulls = sum(row.count(None) for row in values)
    # Mostly nothing needs escaping (JSON has no raw tab or line end): then
    # the batch is written once, and the counts prove it.
    text = _joined(values, "\t", "\n", _copy_plain)
    if (text.count("\t") == fields and text.count("\n") == len(values) - 1 and text.count("\\") == nulls
            and "\r" not in text):
        return text + "\n"
    text = _joined(values, _FIELD, _ROW, _copy_other)
    if text.count(_FIELD) != fields or text.count(_ROW) != len(values) - 1 or text.count(_NULL) != nulls:
        return "".join("\t".join(_copy_field(value) for value in row) + "\n" for row in values)
    for plain, escaped in _COPY_ESCAPES:
        text = text.replace(plain, escaped)
    return text + "\n"


def _joined(values: list[tuple], field: str, row: str, other) -> str:
    """The batch's values between separators, a value that is not a plain string written by ``other``."""
    return row.join(field.join([value if value.__class__ is str else other(value) for value in line])
                    for line in values)


def _copy_plain(value) -> str:
    """A value that is not a plain string, when nothing in the batch needs escaping."""
    return "\\N" if value is None else _copy_other(value)


def _copy_other(value) -> str:
    """A value that is not a plain string, before the text is escaped."""
    if value is None:
        return _NULL
    if value is True or value is False:
        return "t" if value else "f"
    return str(value)


def _copy_field(value) -> str:
    """One value as COPY's text format writes it (when the fast way cannot be taken)."""
    return "\\N" if value is None else _copy_other(value).translate(_FIELD_ESCAPES)
