"""Every request gets an id, one access log line and its place in the metrics.

The id comes back as ``X-Request-Id`` and is the reference an apology shows
the user, so a support question leads straight to the log lines. Lines and
labels name the endpoint (``mattermost.command``), never the path or query
string: those can carry what a log must not.
"""

from __future__ import annotations

import logging
import random
import secrets
import time

from flask import Flask, g, request
from prometheus_client import Counter, Histogram

from bot.logs import REQUEST_ID
from bot.metrics import status_class

log = logging.getLogger("nippo.access")

REQUEST_ID_HEADER = "X-Request-Id"
UNMATCHED = "unmatched"  # the endpoint label of a request no route took (404, 405)

# Request ids need to be unique, not secret: a generator seeded once, not a system call per request
# (getrandom costs more than the rest of a /healthz answer on some hosts).
_ids = random.Random(secrets.randbits(128))

HTTP_REQUESTS = Counter("nippo_http_requests", "HTTP requests answered, by endpoint and status class",
                        ["endpoint", "status"])
HTTP_DURATION = Histogram("nippo_http_request_duration_seconds", "Time to answer an HTTP request, by endpoint",
                          ["endpoint"])


_children: dict[tuple[str, str], tuple] = {}


def _series(endpoint: str, status: str) -> tuple:
    """The two series of an endpoint and status class, looked up once: ``labels()`` on every request costs
    more than the counting itself."""
    found = _children.get((endpoint, status))
    if found is None:
        found = _children[(endpoint, status)] = (HTTP_REQUESTS.labels(endpoint=endpoint, status=status),
                                                 HTTP_DURATION.labels(endpoint=endpoint))
    return found


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_forget)


def request_id() -> str:
    """The current request's id (for an apology, say)."""
    return g.get("request_id") or _begin()


def _start() -> None:
    _begin()  # a before_request function that returned a value would be taken for the answer


def _begin() -> str:
    if "request_id" not in g:
        g.request_id = f"{_ids.getrandbits(64):016x}"
        g.request_started = time.perf_counter()
        REQUEST_ID.set(g.request_id)
    return g.request_id


def _finish(response):
    started = g.get("request_started")
    elapsed = time.perf_counter() - started if started is not None else 0.0
    endpoint = request.endpoint or UNMATCHED
    status = response.status_code
    count, duration = _series(endpoint, status_class(status))
    count.inc()
    duration.observe(elapsed)
    response.headers[REQUEST_ID_HEADER] = request_id()
    method = request.method[:16]
    log.info("%s %s %s %.1fms", method, endpoint, status, elapsed * 1000,
             extra={"method": method, "endpoint": endpoint, "status": status, "duration_ms": round(elapsed * 1000, 1)})
    return response


def _forget(_error) -> None:
    # The waitress thread serves other requests next: their lines must not carry this id.
    REQUEST_ID.set(None)
