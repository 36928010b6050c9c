"""Outside report sources (docs/report-sources.md): the company's database and an HTTP endpoint."""

from __future__ import annotations

import json
import logging
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import create_engine, text

from bot.sources import HttpSource, SourceMisconfigured, SourceUnavailable, SqlSource
from db.session import normalize_url
from tests.conftest import POSTGRES_URL, drop_postgres_database, ensure_postgres_database

QUERY = "SELECT employee_code FROM timesheets WHERE work_day = :work_date AND hours > 0"


def _company_database(url: str) -> str:
    """A stand-in for the company's work-report database: timesheets keyed by employee code."""
    engine = create_engine(normalize_url(url))
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS timesheets"))
        connection.execute(text("CREATE TABLE timesheets (employee_code VARCHAR(20), work_day DATE, hours INTEGER)"))
        connection.execute(text("INSERT INTO timesheets VALUES ('E-1', '2026-11-30', 8), ('e-2', '2026-11-30', 6), "
                                "('E-3', '2026-11-30', 0), ('E-4', '2026-11-27', 8)"))
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def company_url(request, tmp_path):
    if request.param == "sqlite":
        yield _company_database(f"sqlite:///{tmp_path / 'company.db'}")
        return
    url = normalize_url(POSTGRES_URL)
    url = url.set(database=url.database + "_company").render_as_string(hide_password=False)
    ensure_postgres_database(url)
    yield _company_database(url)
    drop_postgres_database(url)


def test_sql_source_reads_keys_for_a_work_date(company_url):
    source = SqlSource(company_url, QUERY, "external_id")
    assert source.reported_keys(date(2026, 11, 30)) == {"e-1", "e-2"}
    assert source.reported_keys(date(2026, 11, 27)) == {"e-4"}
    assert source.reported_keys(date(2026, 11, 26)) == frozenset()


def test_sql_source_on_a_text_column_casts_the_date(company_url):
    query = "SELECT employee_code FROM timesheets WHERE CAST(work_day AS VARCHAR(10)) = CAST(:work_date AS VARCHAR(10))"
    assert SqlSource(company_url, query, "external_id").reported_keys(date(2026, 11, 30)) >= {"e-1"}


def test_postgresql_source_is_read_only(postgres_url):
    url = normalize_url(postgres_url)
    company_url = url.set(database=url.database + "_company").render_as_string(hide_password=False)
    ensure_postgres_database(company_url)
    _company_database(company_url)
    source = SqlSource(company_url, "WITH gone AS (DELETE FROM timesheets RETURNING employee_code) "
                                    "SELECT employee_code FROM gone WHERE :work_date IS NOT NULL", "external_id")
    try:
        with pytest.raises(SourceUnavailable):
            source.reported_keys(date(2026, 11, 30))
    finally:
        source._engine.dispose()
        drop_postgres_database(company_url)


def test_a_rejected_query_stops_start_up_with_one_line(company_url):
    source = SqlSource(company_url, "SELECT nope FROM no_such_table WHERE d = :work_date", "username")
    with pytest.raises(SourceMisconfigured) as raised:
        source.startup_check()
    assert str(raised.value).startswith("NIPPO_REPORT_SOURCE_QUERY:")
    assert "\n" not in str(raised.value)


def test_an_unreachable_database_is_a_warning_at_start_and_unavailable_later(caplog):
    source = SqlSource("postgresql://nobody@127.0.0.1:1/none", QUERY, "username")
    with caplog.at_level(logging.WARNING):
        source.startup_check()
    assert "NIPPO_REPORT_SOURCE_URL" in caplog.text
    with pytest.raises(SourceUnavailable):
        source.reported_keys(date(2026, 11, 30))


class _Endpoint(BaseHTTPRequestHandler):
    answers: dict = {}
    seen: list = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        query = parse_qs(urlsplit(self.path).query)
        type(self).seen.append((query.get("date", [""])[0], self.headers.get("Authorization")))
        status, body = type(self).answers.get(query.get("date", [""])[0], (200, []))
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endpoint)
    _Endpoint.answers, _Endpoint.seen = {}, []
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/reported", _Endpoint
    server.shutdown()


def test_http_source_sends_the_date_and_token(endpoint):
    url, handler = endpoint
    handler.answers["2026-11-30"] = (200, ["Alice", "bob@example.com"])
    source = HttpSource(url, "s3cret", "username")
    assert source.reported_keys(date(2026, 11, 30)) == {"alice", "bob@example.com"}
    assert handler.seen == [("2026-11-30", "Bearer s3cret")]


@pytest.mark.parametrize("answer", [(503, {"error": "down"}), (200, {"not": "a list"}), (200, b"<html>")])
def test_http_source_failures_are_unavailable_never_nobody(endpoint, answer):
    url, handler = endpoint
    handler.answers["2026-11-30"] = answer
    with pytest.raises(SourceUnavailable):
        HttpSource(url, None, "username").reported_keys(date(2026, 11, 30))


def test_http_source_unreachable_is_unavailable():
    with pytest.raises(SourceUnavailable):
        HttpSource("http://127.0.0.1:1/x", None, "username", timeout=2).reported_keys(date(2026, 11, 30))


def test_the_morning_reminder_counts_the_company_database(company_url, database, mattermost, clock):
    """End to end: timesheets keyed by employee code, members linked with
    /team link, the tick chases only who is in neither place."""
    from datetime import datetime, timezone

    from tests.harness import start_nippo

    nippo = start_nippo(database, mattermost, clock, NIPPO_REPORT_SOURCE="sql", NIPPO_REPORT_SOURCE_URL=company_url,
                        NIPPO_REPORT_SOURCE_QUERY=QUERY, NIPPO_MEMBER_KEY="external_id")
    try:
        users = {}
        for username in ("boss", "alice", "bob"):
            users[username] = mattermost.add_user(username)
            mattermost.add_channel_member(mattermost.channel["id"], users[username]["id"],
                                          scheme_admin=username == "boss")
        nippo.reply(users["boss"], "at 09:00 tz Asia/Tokyo", "/subscribe")
        nippo.reply(users["boss"], "add @alice @bob", "/team")
        nippo.reply(users["boss"], "link @alice e-1", "/team")  # E-1 worked 8 hours on 2026-11-30
        nippo.reply(users["boss"], "link @bob E-3", "/team")  # E-3 logged 0 hours: not reported
        nippo.reply(users["boss"], "link @boss E-7", "/team")
        nippo.reply(users["boss"], "2026-11-30 planned", "/report")  # the built-in reports count too
        lines = nippo.tick(datetime(2026, 12, 1, 0, 5, tzinfo=timezone.utc))  # Tuesday 09:05 in Tokyo
        assert any("missing 1" in line for line in lines), lines
        channel_posts = mattermost.posts_in(mattermost.channel["id"])
        assert len(channel_posts) == 1
        assert "@bob" in channel_posts[0]["message"]
        assert "@alice" not in channel_posts[0]["message"] and "@boss" not in channel_posts[0]["message"]
        status = nippo.reply(users["alice"], "2026-11-30", "/report-status")
        alice_line = next(line for line in status.splitlines() if "alice" in line)
        assert "bob" not in alice_line and "boss" in alice_line  # reported together; bob on the missing line
    finally:
        nippo.stop()
