"""Logs: one access line per request, a request id shared by the log, the
``X-Request-Id`` header and every apology, ``NIPPO_LOG_FORMAT=json`` as one
object a line, and nothing secret in either format."""

from __future__ import annotations

import io
import json
import logging
from datetime import date, datetime, timedelta, timezone

import pytest
import requests

from bot.buttons import action_context
from bot.config import Settings
from bot.logs import REQUEST_ID, make_handler, make_queued_handler
from bot.services import build_services
from db.session import Database
from web.app import create_app

TOKYO_0905 = datetime(2026, 12, 1, 0, 5, tzinfo=timezone.utc)
NOWHERE = "postgresql://nobody@127.0.0.1:1/none"  # a database that never answers


class Captured:
    def __init__(self, stream: io.StringIO, log_format: str):
        self.stream, self.format = stream, log_format

    @property
    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def records(self) -> list[dict]:
        assert self.format == "json"
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def capture(caplog):
    """``capture("json")``: what the root logger writes from now on, in that format."""
    caplog.set_level(logging.INFO)
    handlers = []

    def start(log_format: str) -> Captured:
        stream = io.StringIO()
        handlers.append(make_handler(log_format, stream))
        logging.getLogger().addHandler(handlers[-1])
        return Captured(stream, log_format)

    yield start
    for handler in handlers:
        logging.getLogger().removeHandler(handler)


@pytest.fixture
def json_log(capture):
    return capture("json")


@pytest.fixture
def broken_app():
    """nippo in console mode on a database that never answers: every handler fails."""
    services = build_services(Settings.from_env({"NIPPO_DATABASE_URL": NOWHERE, "NIPPO_PERSONA": "plain"}),
                              database=Database(NOWHERE), console_stream=io.StringIO())
    return create_app(services=services)


def test_every_request_has_one_access_line_with_its_id(nippo, mattermost, json_log):
    alice = mattermost.add_user("alice")
    answers = [requests.get(f"{nippo.url}/healthz", timeout=5), nippo.command(alice, "yesterday did things"),
               requests.get(f"{nippo.url}/no/such/page", timeout=5)]
    access = [r for r in json_log.records() if r["logger"] == "nippo.access"]
    for answer, (method, endpoint) in zip(answers, [("GET", "health.healthz"), ("POST", "mattermost.command"),
                                                     ("GET", "unmatched")]):
        request_id = answer.headers["X-Request-Id"]
        lines = [r for r in access if r["request_id"] == request_id]
        assert len(lines) == 1, request_id
        assert (lines[0]["method"], lines[0]["endpoint"], lines[0]["status"]) == (method, endpoint, answer.status_code)
        assert lines[0]["duration_ms"] >= 0
    assert len({a.headers["X-Request-Id"] for a in answers}) == 3


def test_a_command_apology_gives_the_request_id_of_its_log_lines(broken_app, json_log):
    answer = broken_app.test_client().post("/mattermost/command", data={
        "token": "t", "command": "/report", "text": "yesterday did things", "user_id": "alice", "channel_id": "dev"})
    assert answer.status_code == 200
    request_id = answer.headers["X-Request-Id"]
    assert f"`{request_id}`" in answer.get_json()["text"]
    failures = [r for r in json_log.records() if r["level"] == "ERROR" and r.get("request_id") == request_id]
    assert failures and "exception" in failures[0]


def test_a_click_apology_gives_the_request_id_of_its_log_lines(broken_app, json_log):
    signer = broken_app.extensions["nippo"].signer
    context = action_context(signer, "off", "alice", date(2026, 11, 30), datetime.now(timezone.utc) + timedelta(days=1))
    answer = broken_app.test_client().post("/mattermost/actions", json={
        "user_id": "alice", "channel_id": "dm", "post_id": "p1", "trigger_id": "t", "context": context})
    assert answer.status_code == 200
    request_id = answer.headers["X-Request-Id"]
    assert f"`{request_id}`" in answer.get_json()["ephemeral_text"]
    assert [r for r in json_log.records() if r["level"] == "ERROR" and r.get("request_id") == request_id]


def test_json_writes_one_object_a_line_even_for_a_traceback(json_log):
    log = logging.getLogger("nippo.test")
    try:
        raise ValueError("first line\nsecond line")
    except ValueError:
        log.exception("it failed")
    log.warning("plain %s", "words", extra={"run_id": 7})
    records = json_log.records()
    assert len(records) == len(json_log.lines) == 2
    assert records[0]["message"] == "it failed" and "ValueError" in records[0]["exception"]
    assert records[1] == {**records[1], "level": "WARNING", "logger": "nippo.test", "message": "plain words",
                          "run_id": 7}
    assert datetime.fromisoformat(records[1]["time"]).tzinfo is not None


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_sign_in_links_token_never_reaches_a_line_whoever_logs_the_path(capture, log_format):
    captured = capture(log_format)
    token = "q2Vx9bTt-secret_LinkToken0123456789"
    logging.getLogger("waitress").info("Client disconnected while serving %s" % f"/web/login/{token}")
    logging.getLogger("nippo.web").error("Exception on %s [%s]", f"/web/login/{token}", "GET")
    assert len(captured.lines) == 2
    assert token not in captured.stream.getvalue() and "/web/login/…" in captured.lines[0]


def test_text_lines_carry_the_request_id(capture):
    captured = capture("text")
    token = REQUEST_ID.set("abc123")
    try:
        logging.getLogger("nippo.test").warning("something happened")
    finally:
        REQUEST_ID.reset(token)
    assert captured.lines[-1].endswith("WARNING nippo.test: something happened [request_id=abc123]")


def test_tick_lines_carry_their_run_ids(nippo, mattermost, json_log):
    boss = mattermost.add_user("boss")
    mattermost.add_channel_member(mattermost.channel["id"], boss["id"], scheme_admin=True)
    nippo.reply(boss, "at 09:00 tz Asia/Tokyo", "/subscribe")
    nippo.tick(TOKYO_0905)
    ticks = [r for r in json_log.records() if r["logger"] == "nippo.tick"]
    assert ticks and all(isinstance(r["run_id"], int) and r["subscription_id"] for r in ticks)


def test_background_work_logs_with_the_request_id_that_asked_for_it(nippo, json_log):
    token = REQUEST_ID.set("feedbeef")
    try:
        nippo.services.run_later(lambda: logging.getLogger("nippo.test").warning("later"))
    finally:
        REQUEST_ID.reset(token)
    nippo.services.wait_for_background()
    assert [r for r in json_log.records() if r["message"] == "later"][0]["request_id"] == "feedbeef"


def test_the_writer_thread_writes_every_line_in_order():
    stream = io.StringIO()
    handler = make_queued_handler("json", stream)
    handler.writer.start()
    log = logging.getLogger("nippo.test.queued")
    log.addHandler(handler)
    try:
        token = REQUEST_ID.set("r1")
        for n in range(300):
            log.warning("line %d", n)
        REQUEST_ID.reset(token)
    finally:
        log.removeHandler(handler)
        handler.writer.stop()
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["message"] for r in records] == [f"line {n}" for n in range(300)]
    assert {r["request_id"] for r in records} == {"r1"}  # read in the thread that logged


def test_lines_that_cannot_be_written_in_time_are_dropped_and_counted():
    stream = io.StringIO()
    handler = make_queued_handler("text", stream)
    handler.writer.MAX_QUEUED = 5  # the writer is not started yet: nothing drains the queue
    log = logging.getLogger("nippo.test.dropped")
    log.addHandler(handler)
    try:
        for n in range(8):
            log.warning("line %d", n)
    finally:
        log.removeHandler(handler)
    handler.writer.start()
    handler.writer.stop()
    lines = stream.getvalue().splitlines()
    assert [line.rsplit(": ", 1)[1] for line in lines[:5]] == [f"line {n}" for n in range(5)]
    assert lines[5].endswith("3 log lines dropped: standard error did not keep up")
