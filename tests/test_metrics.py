"""``GET /metrics`` (Prometheus): what a played morning shows, who may read
it, and what its labels never carry."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
import requests
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from bot.config import Settings
from bot.scheduler import SchedulerThread
from bot.services import build_services
from db.session import Database
from tests.harness import COMMAND_TOKEN, SECRET_KEY, start_nippo
from web.app import create_app

TOKYO_0905 = datetime(2026, 12, 1, 0, 5, tzinfo=timezone.utc)


def samples(text: str) -> dict[tuple, float]:
    """(name, sorted labels) -> value, for every sample of an exposition."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(text: str, name: str, **labels) -> float | None:
    return samples(text).get((name, tuple(sorted(labels.items()))))


def scrape(nippo, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{nippo.url}/metrics", headers=headers, timeout=10)


@pytest.fixture
def morning(nippo, mattermost):
    """boss (leader), alice and bob on a `to dm` subscription; boss reported; the 09:05 tick played."""
    users = {}
    for username in ("boss", "alice", "bob"):
        users[username] = mattermost.add_user(username)
        mattermost.add_channel_member(mattermost.channel["id"], users[username]["id"], scheme_admin=username == "boss")
    nippo.reply(users["boss"], "at 09:00 tz Asia/Tokyo to dm", "/subscribe")
    nippo.reply(users["boss"], "add @alice @bob", "/team")
    nippo.reply(users["boss"], "2026-11-30 planned the sprint", "/report")
    posts_before = REGISTRY.get_sample_value("nippo_mattermost_requests_total",
                                             {"route": "POST /posts", "status": "2xx"}) or 0
    nippo.tick(TOKYO_0905)
    return {"users": users, "posts_before": posts_before}


def test_after_a_played_morning_the_metrics_show_the_run_and_its_messages(nippo, morning):
    answer = scrape(nippo)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    text = answer.text
    assert value(text, "nippo_reminder_runs_total", state="sent") == 1
    assert value(text, "nippo_reminder_runs_total", state="failed") == 0
    assert value(text, "nippo_outbox_messages", state="sent") == 3  # two DMs and the leaders' summary
    assert value(text, "nippo_outbox_messages", state="pending") == 0
    posts = value(text, "nippo_mattermost_requests_total", route="POST /posts", status="2xx")
    assert posts - morning["posts_before"] == 3


def test_requests_are_counted_by_endpoint_and_status_class(nippo):
    requests.get(f"{nippo.url}/healthz", timeout=5)
    requests.get(f"{nippo.url}/no/such/page", timeout=5)
    text = scrape(nippo).text
    assert value(text, "nippo_http_requests_total", endpoint="health.healthz", status="2xx") >= 1
    assert value(text, "nippo_http_requests_total", endpoint="unmatched", status="4xx") >= 1
    assert value(text, "nippo_http_request_duration_seconds_count", endpoint="health.healthz") >= 1


def test_labels_carry_no_ids_no_tokens_and_no_paths(nippo, morning, mattermost):
    users = morning["users"]
    nippo.reply(users["alice"], "2026-11-30 fixed the login page", "/report")
    requests.get(f"{nippo.url}/web/{users['alice']['id']}?token={COMMAND_TOKEN}", timeout=5)
    text = scrape(nippo).text
    forbidden = [mattermost.bot_token, COMMAND_TOKEN, SECRET_KEY, mattermost.channel["id"], mattermost.team["id"],
                 *(user["id"] for user in users.values()), "fixed the login page", "/web/"]
    label_values = {v for (_name, labels) in samples(text) for (_k, v) in labels}
    assert not [f for f in forbidden if any(f in v for v in label_values)]
    routes = {dict(labels)["route"] for (name, labels) in samples(text) if name == "nippo_mattermost_requests_total"}
    assert "GET /users/{user_id}" in routes or "POST /users/ids" in routes
    assert all(route.split(" ")[0] in ("GET", "POST", "PUT") for route in routes)


def test_a_set_metrics_token_is_required_as_a_bearer_token(database, mattermost, clock):
    token = "scrape-me-" * 4
    guarded = start_nippo(database, mattermost, clock, NIPPO_METRICS_TOKEN=token)
    try:
        assert scrape(guarded).status_code == 401
        assert scrape(guarded, "wrong").status_code == 401
        answer = requests.get(f"{guarded.url}/metrics", headers={"Authorization": f"Token {token}"}, timeout=5)
        assert answer.status_code == 401
        assert scrape(guarded, token).status_code == 200
    finally:
        guarded.stop()


def test_without_a_metrics_token_the_metrics_are_open(nippo):
    assert scrape(nippo).status_code == 200


def test_database_figures_are_the_same_on_every_replica(nippo, morning, database, mattermost, clock):
    other = start_nippo(Database(database.url), mattermost, clock)
    try:
        here, there = samples(scrape(nippo).text), samples(scrape(other).text)
    finally:
        other.stop()
        other.services.database.dispose()
    shared = [key for key in here if key[0].startswith(("nippo_reminder_runs", "nippo_outbox_messages"))]
    assert len(shared) >= 8
    assert {key: here[key] for key in shared} == {key: there.get(key) for key in shared}


def test_an_unreachable_database_leaves_its_figures_out_but_the_scrape_answers():
    url = "postgresql://nobody@127.0.0.1:1/none"
    services = build_services(Settings.from_env({"NIPPO_DATABASE_URL": url}), database=Database(url),
                              console_stream=io.StringIO())
    answer = create_app(services=services).test_client().get("/metrics")
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert "nippo_build_info" in text and "nippo_outbox_messages" not in text


def test_build_info_names_the_installed_version(nippo):
    from importlib.metadata import version

    assert value(scrape(nippo).text, "nippo_build_info", version=version("nippo")) == 1


def test_the_scheduler_records_when_it_last_ticked_and_counts_failures():
    moments = iter([datetime(2026, 12, 1, 0, n, tzinfo=timezone.utc) for n in range(4)])
    outcomes = iter([None, RuntimeError("database went away")])

    def tick(now, should_stop):
        outcome = next(outcomes)
        if outcome:
            raise outcome

    def last_tick():
        return REGISTRY.get_sample_value("nippo_scheduler_last_tick_timestamp_seconds")

    failures = REGISTRY.get_sample_value("nippo_scheduler_tick_failures_total")
    finished = datetime(2026, 12, 1, 0, 1, tzinfo=timezone.utc).timestamp()
    scheduler = SchedulerThread(tick, clock=lambda: next(moments))
    scheduler.run_tick()  # reads the clock at 00:00 and, done, at 00:01
    assert last_tick() == finished
    scheduler.run_tick()  # fails: the last tick stays the one that finished
    assert last_tick() == finished
    assert REGISTRY.get_sample_value("nippo_scheduler_tick_failures_total") == failures + 1
