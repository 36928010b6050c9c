"""nippo running for real in a test: its Flask app served over HTTP on a free
loopback port, talking to the Mattermost stand-in, on the test's database and
clock. Commands and clicks travel as Mattermost sends them."""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass

import pytest
import requests
from werkzeug.serving import make_server

from web.app import create_app
from bot.config import Settings
from bot.mattermost import MattermostClient
from bot.services import build_services

# Request lines of nippo's test server would drown the output of a failing test.
logging.getLogger("werkzeug").setLevel(logging.WARNING)

COMMAND_TOKEN = "cmdtoken0000000000000000000"
SECRET_KEY = "test-secret-key-of-thirty-two-chars"
API_TOKEN = "api-token-for-tests-thirty-two-chars"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Nippo:
    url: str
    services: object
    mattermost: object  # the stand-in
    server: object

    def command(self, user, text: str = "", command: str = "/report", channel=None, token: str = COMMAND_TOKEN):
        """POST a slash command exactly as Mattermost would; returns the response."""
        form = self.mattermost.slash_command_form(user, channel or self.mattermost.channel, command, text, token)
        return requests.post(f"{self.url}/mattermost/command", data=form,
                             headers=self.mattermost.command_headers(token), timeout=30)

    def reply(self, user, text: str = "", command: str = "/report", channel=None) -> str:
        """The ephemeral text nippo answers a command with (asserting the wire format)."""
        response = self.command(user, text, command, channel)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["response_type"] == "ephemeral"
        return body["text"]

    def tick(self, at, dry_run: bool = False) -> list[str]:
        from bot.tick import run_tick

        return run_tick(self.services, at, dry_run=dry_run)

    def stop(self) -> None:
        self.server.shutdown()
        self.services.background.shutdown(wait=True)


def start_nippo(database, mattermost, clock, **settings_overrides) -> Nippo:
    """nippo on a free port; a setting given as None is left unset."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "NIPPO_DATABASE_URL": database.url,
        "NIPPO_MATTERMOST_URL": mattermost.url,
        "NIPPO_BOT_TOKEN": mattermost.bot_token,
        "NIPPO_COMMAND_TOKENS": COMMAND_TOKEN,
        "NIPPO_SECRET_KEY": SECRET_KEY,
        "NIPPO_PUBLIC_URL": url,
        "NIPPO_API_TOKEN": API_TOKEN,
        **settings_overrides,
    }
    env = {name: value for name, value in env.items() if value is not None}  # None: leave it unset
    settings = Settings.from_env(env)
    client = MattermostClient(mattermost.url, mattermost.bot_token, timeout=5.0)
    services = build_services(settings, database=database, mattermost=client, clock=clock)
    app = create_app(services=services)
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return Nippo(url=url, services=services, mattermost=mattermost, server=server)


@pytest.fixture
def nippo(database, mattermost, clock):
    running = start_nippo(database, mattermost, clock)
    yield running
    running.stop()
