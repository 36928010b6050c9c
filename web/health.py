"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz():
    services = current_app.extensions["nippo"]
    if services.database.ping():
        return jsonify(status="ready")
    return jsonify(status="database unreachable"), 503
