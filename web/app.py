"""The Flask app factory: a thin HTTP adapter around nippo's services."""

from __future__ import annotations

from flask import Flask

from bot.config import Settings
from bot.services import Services, build_services
from web import api, health, mattermost, pages

# Mattermost's own calls are small; the push API raises its own limit (web.api).
MAX_REQUEST_BYTES = 1024 * 1024


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    if services is None:
        services = build_services(settings or Settings.from_env())
    app = Flask("nippo")
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.extensions["nippo"] = services

    app.register_blueprint(health.blueprint)
    app.register_blueprint(mattermost.blueprint)
    app.register_blueprint(api.blueprint)
    pages.init_app(app, services)
    return app
