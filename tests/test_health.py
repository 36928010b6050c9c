"""``/healthz`` (alive) and ``/readyz`` (able to work): each check named,
503 when one fails, Mattermost asked at most every 30 seconds."""

from __future__ import annotations

import io

import requests

from bot.config import Settings
from bot.services import build_services
from db.migrate import head_revision
from db.session import Database
from web.app import create_app
from web.health import EXTENSION, MATTERMOST_MAX_AGE, Readiness


class Monotonic:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def readyz(nippo) -> requests.Response:
    return requests.get(f"{nippo.url}/readyz", timeout=10)


def with_clock(nippo) -> Monotonic:
    monotonic = Monotonic()
    nippo.server.app.extensions[EXTENSION] = Readiness(nippo.services, monotonic=monotonic)
    return monotonic


def test_ready_names_each_check(nippo):
    answer = readyz(nippo)
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "mattermost"}
    assert all(check["ok"] for check in body["checks"].values())
    assert head_revision() in body["checks"]["database"]["detail"]


def test_a_refused_bot_token_makes_the_replica_not_ready(nippo, mattermost):
    with_clock(nippo)
    mattermost.fail("GET", r"/api/v4/users/me", status=401, error_id="api.context.session_expired.app_error")
    answer = readyz(nippo)
    assert answer.status_code == 503
    check = answer.json()["checks"]["mattermost"]
    assert not check["ok"] and "401" in check["detail"]
    assert answer.json()["checks"]["database"]["ok"]


def test_mattermost_down_makes_the_replica_not_ready(nippo, mattermost):
    with_clock(nippo)
    with mattermost.down():
        answer = readyz(nippo)
    assert answer.status_code == 503 and not answer.json()["checks"]["mattermost"]["ok"]


def test_mattermost_is_asked_at_most_every_30_seconds(nippo, mattermost):
    monotonic = with_clock(nippo)
    asked = mattermost.count("GET", "/api/v4/users/me")
    for _ in range(3):
        assert readyz(nippo).status_code == 200
    assert mattermost.count("GET", "/api/v4/users/me") == asked + 1
    mattermost.fail("GET", r"/api/v4/users/me", status=503)
    monotonic.now += MATTERMOST_MAX_AGE - 0.1
    assert readyz(nippo).status_code == 200  # still the answer from before
    monotonic.now += 0.1
    assert readyz(nippo).status_code == 503  # asked again, and Mattermost failed
    assert mattermost.count("GET", "/api/v4/users/me") == asked + 2


def test_a_database_behind_the_code_makes_the_replica_not_ready(tmp_path):
    url = f"sqlite:///{tmp_path}/empty.db"
    services = build_services(Settings.from_env({"NIPPO_DATABASE_URL": url}), database=Database(url),
                              console_stream=io.StringIO())
    client = create_app(services=services).test_client()
    answer = client.get("/readyz")
    assert answer.status_code == 503
    check = answer.get_json()["checks"]["database"]
    assert not check["ok"] and head_revision() in check["detail"]
    assert client.get("/healthz").status_code == 200


def test_console_mode_skips_the_mattermost_check(database):
    services = build_services(Settings.from_env({"NIPPO_DATABASE_URL": database.url}), database=database,
                              console_stream=io.StringIO())
    answer = create_app(services=services).test_client().get("/readyz")
    assert answer.status_code == 200
    assert "console mode" in answer.get_json()["checks"]["mattermost"]["detail"]
