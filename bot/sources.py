"""Where reports come from (docs/report-sources.md).

The built-in reports live in nippo's own tables and are read by the planning
queries directly. An outside source answers one question — which member keys
reported for a work date — and its answer is combined with the built-in
reports. A source that cannot answer raises ``SourceUnavailable``: the run
waits and retries; it is never read as "nobody reported".
"""

from __future__ import annotations

import logging
from datetime import date

import requests
from sqlalchemy import Date, bindparam, create_engine, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot.config import ConfigError, Settings

log = logging.getLogger("nippo.sources")

HTTP_TIMEOUT_SECONDS = 10


class SourceUnavailable(Exception):
    """The outside source could not answer; the run waits and retries."""


class SourceMisconfigured(Exception):
    """The source answers but rejects what nippo asks: fix the configuration."""


def member_key(member, key: str, external_id: str | None = None) -> str | None:
    """The key an outside source uses for a member, lower-cased; an external id
    is a team's own (its roster entry's), so the caller passes it."""
    value = {"username": member.username, "email": member.email, "external_id": external_id}[key]
    return value.strip().lower() if value else None


def _keys(values) -> frozenset[str]:
    return frozenset(str(v).strip().lower() for v in values if v is not None and str(v).strip())


class BuiltinSource:
    name = "builtin"
    member_key = "username"

    def reported_keys(self, work_date: date) -> frozenset[str]:
        return frozenset()

    def startup_check(self) -> None:
        pass


class SqlSource:
    """The company's own work-report database, read-only."""

    name = "sql"

    def __init__(self, url: str, query: str, member_key: str):
        from db.session import normalize_url

        self.member_key = member_key
        parsed = normalize_url(url)
        kwargs: dict = {"pool_pre_ping": True}
        if parsed.get_backend_name() == "postgresql":
            # Read-only, and never a query that hangs the scheduler waiting on a lock.
            kwargs["connect_args"] = {"options": "-c default_transaction_read_only=on -c statement_timeout=30000",
                                      "connect_timeout": 10}
        self._engine = create_engine(parsed, hide_parameters=True, **kwargs)
        self._query = text(query).bindparams(bindparam("work_date", type_=Date))

    def reported_keys(self, work_date: date) -> frozenset[str]:
        try:
            with self._engine.connect() as connection:
                rows = connection.execute(self._query, {"work_date": work_date})
                return _keys(row[0] for row in rows)
        except SQLAlchemyError as error:
            raise SourceUnavailable(f"report database: {type(error).__name__}") from None

    def startup_check(self) -> None:
        try:
            connection = self._engine.connect()
        except SQLAlchemyError as error:
            log.warning("NIPPO_REPORT_SOURCE_URL: the report database cannot be reached now (%s); "
                        "runs will wait for it", type(error).__name__)
            return
        try:
            connection.execute(self._query, {"work_date": date.today()}).fetchmany(1)
        except DBAPIError as error:
            if error.connection_invalidated:
                log.warning("NIPPO_REPORT_SOURCE_URL: the report database went away during the check")
                return
            reason = str(error.orig).strip().splitlines()[0][:200] if error.orig else type(error).__name__
            raise SourceMisconfigured(f"NIPPO_REPORT_SOURCE_QUERY: the report database rejects the query: {reason}") from None
        finally:
            connection.close()


class HttpSource:
    """``GET URL?date=YYYY-MM-DD`` answering a JSON list of member keys."""

    name = "http"

    def __init__(self, url: str, token: str | None, member_key: str, timeout: float = HTTP_TIMEOUT_SECONDS):
        self.member_key = member_key
        self._url = url
        self._timeout = timeout
        self._session = requests.Session()
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"

    def reported_keys(self, work_date: date) -> frozenset[str]:
        try:
            answer = self._session.get(self._url, params={"date": work_date.isoformat()}, timeout=self._timeout)
        except requests.RequestException as error:
            raise SourceUnavailable(f"report endpoint: {type(error).__name__}") from None
        if answer.status_code != 200:
            raise SourceUnavailable(f"report endpoint answered {answer.status_code}")
        try:
            body = answer.json()
        except ValueError:
            raise SourceUnavailable("report endpoint answered something that is not JSON") from None
        if not isinstance(body, list) or not all(isinstance(v, (str, int)) for v in body):
            raise SourceUnavailable("report endpoint must answer a JSON list of member keys")
        return _keys(body)

    def startup_check(self) -> None:
        try:
            self.reported_keys(date.today())
        except SourceUnavailable as error:
            log.warning("NIPPO_REPORT_SOURCE_URL: %s; runs will wait for it", error)


def make_source(settings: Settings, database=None):
    if settings.report_source == "sql":
        try:
            return SqlSource(settings.report_source_url, settings.report_source_query, settings.member_key)
        except (SQLAlchemyError, ImportError) as error:  # e.g. no driver installed for that database
            raise ConfigError("NIPPO_REPORT_SOURCE_URL", f"cannot be used ({type(error).__name__}: "
                                                         f"{str(error).splitlines()[0][:160]})") from None
    if settings.report_source == "http":
        return HttpSource(settings.report_source_url, settings.report_source_token, settings.member_key)
    return BuiltinSource()
