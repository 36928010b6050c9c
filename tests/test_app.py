"""The app factory and its probes."""

from __future__ import annotations

import io

from web.app import create_app
from bot.config import Settings
from bot.services import build_services
from db.session import Database


def make_app(url: str):
    settings = Settings.from_env({"NIPPO_DATABASE_URL": url})
    return create_app(services=build_services(settings, database=Database(url), console_stream=io.StringIO()))


def test_the_factory_serves_health_and_readiness(database):
    client = make_app(database.url).test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_readiness_fails_when_the_database_is_unreachable():
    client = make_app("postgresql://nobody@127.0.0.1:1/none").test_client()
    assert client.get("/healthz").status_code == 200
    answer = client.get("/readyz")
    assert answer.status_code == 503 and answer.is_json


def test_unknown_routes_and_methods_are_4xx_json(database):
    client = make_app(database.url).test_client()
    assert client.get("/nope").status_code == 404
    assert client.delete("/mattermost/command").status_code == 405
    assert client.get("/mattermost/actions").status_code == 405
    assert client.get("/mattermost/command").status_code == 400  # a command set to GET, but no fields
    answer = client.post("/mattermost/command", data="{}", content_type="application/json")
    assert answer.status_code == 400


def test_a_command_missing_its_fields_is_400(database):
    client = make_app(database.url).test_client()
    assert client.post("/mattermost/command", data={"token": "x", "text": "hi"}).status_code == 400


# --- console mode -----------------------------------------------------------

COMMAND = {"command": "/report-status", "text": "", "user_id": "alice", "user_name": "alice",
           "channel_id": "dev", "channel_name": "dev", "team_id": "acme"}


def console_app(url: str, **env: str):
    settings = Settings.from_env({"NIPPO_DATABASE_URL": url, **env})
    assert settings.console_mode
    return create_app(services=build_services(settings, database=Database(url), console_stream=io.StringIO()))


def test_console_mode_checks_the_configured_command_tokens(database):
    client = console_app(database.url, NIPPO_COMMAND_TOKENS="right-token").test_client()
    assert client.post("/mattermost/command", data={**COMMAND, "token": "wrong"}).status_code == 401
    assert client.post("/mattermost/command", data={**COMMAND, "token": "right-token"}).status_code == 200


def test_console_mode_without_command_tokens_takes_any(database):
    client = console_app(database.url).test_client()
    assert client.post("/mattermost/command", data={**COMMAND, "token": "anything"}).status_code == 200
