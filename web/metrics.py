"""``GET /metrics``: the Prometheus exposition, behind ``NIPPO_METRICS_TOKEN`` when it is set.

The library's own WSGI app writes the answer (text or OpenMetrics, gzip when
asked); this view only checks the bearer token and hands the request over.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from prometheus_client import make_wsgi_app

from bot.metrics import registry_for

blueprint = Blueprint("metrics", __name__)

EXTENSION = "nippo.metrics"


def init_app(app: Flask, services) -> None:
    app.extensions[EXTENSION] = make_wsgi_app(registry_for(services.database))
    app.register_blueprint(blueprint)


def _bearer_matches(expected: str) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode())


@blueprint.get("/metrics")
def metrics():
    expected = current_app.extensions["nippo"].settings.metrics_token
    if expected and not _bearer_matches(expected):
        return jsonify(error="unauthorized"), 401, {"WWW-Authenticate": "Bearer"}
    return Response.from_app(current_app.extensions[EXTENSION], request.environ)
