"""The Flask app factory: a thin HTTP adapter around nippo's services."""

from __future__ import annotations

from flask import Flask

from bot.config import Settings
from bot.services import Services, build_services
from web import access, api, health, mattermost, metrics, pages
from web.bodies import BODY_LIMIT, LARGEST_BODY, BodyLimit


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    if services is None:
        services = build_services(settings or Settings.from_env())
    app = Flask("nippo")
    app.config["MAX_CONTENT_LENGTH"] = BODY_LIMIT  # the push API raises its own (web.api)
    # What the WSGI server may buffer at most (``nippo serve`` gives it to waitress).
    app.config["LARGEST_REQUEST_BODY"] = LARGEST_BODY
    app.wsgi_app = BodyLimit(app.wsgi_app)
    app.extensions["nippo"] = services

    access.init_app(app)
    health.init_app(app, services)
    metrics.init_app(app, services)
    app.register_blueprint(mattermost.blueprint)
    app.register_blueprint(api.blueprint)
    pages.init_app(app, services)
    return app
