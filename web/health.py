"""Liveness and readiness probes.

``/healthz`` answers as long as the process serves HTTP. ``/readyz`` says
whether this replica can do its work, naming each check: the database
answers and its schema is at the head revision; Mattermost answers and
accepts the bot token (outside console mode). Mattermost's answer is kept
``MATTERMOST_MAX_AGE`` seconds, so a load balancer probing every second does
not become Mattermost's busiest client.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from flask import Blueprint, Flask, current_app, jsonify

from bot.mattermost import MattermostError
from db.revision import current_revision, head_revision

blueprint = Blueprint("health", __name__)

EXTENSION = "nippo.readiness"
MATTERMOST_MAX_AGE = 30.0  # seconds


class Readiness:
    def __init__(self, services, monotonic: Callable[[], float] = time.monotonic,
                 max_age: float = MATTERMOST_MAX_AGE):
        self._services = services
        self._monotonic = monotonic
        self._max_age = max_age
        self._lock = threading.Lock()
        self._mattermost: tuple[float, dict] | None = None
        self._head: str | None = None

    def checks(self) -> dict[str, dict]:
        return {"database": self.database(), "mattermost": self.mattermost()}

    def database(self) -> dict:
        if self._head is None:
            self._head = head_revision()  # the scripts do not change while the process runs
        try:
            current = current_revision(self._services.database)
        except Exception as error:  # any failure means "not ready"; the driver's text may name hosts
            return {"ok": False, "detail": f"unreachable ({type(error).__name__})"}
        if current != self._head:
            return {"ok": False, "detail": f"schema at revision {current or 'none'}, expected {self._head}"}
        return {"ok": True, "detail": f"reachable, schema at revision {current}"}

    def mattermost(self) -> dict:
        if self._services.settings.console_mode:
            return {"ok": True, "detail": "skipped in console mode"}
        with self._lock:  # one question at a time; the others wait for its answer
            now = self._monotonic()
            if self._mattermost is not None and now - self._mattermost[0] < self._max_age:
                return self._mattermost[1]
            try:
                self._services.mattermost.check_token()
                result = {"ok": True, "detail": "reachable, bot token accepted"}
            except MattermostError as error:
                result = {"ok": False, "detail": _mattermost_problem(error)}
            self._mattermost = (now, result)
            return result


def _mattermost_problem(error: MattermostError) -> str:
    if error.status in (401, 403):
        return f"bot token refused (HTTP {error.status})"
    if error.status is not None:
        return f"answered HTTP {error.status}"
    return f"no answer ({error.message})"


def init_app(app: Flask, services) -> None:
    app.extensions[EXTENSION] = Readiness(services)
    app.register_blueprint(blueprint)


@blueprint.get("/healthz")
def healthz():
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz():
    checks = current_app.extensions[EXTENSION].checks()
    ready = all(check["ok"] for check in checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503
