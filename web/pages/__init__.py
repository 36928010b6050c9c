"""The web pages under ``/web/``: the leaders' and members' view of nippo in
a browser. Views read through ``db`` queries and change things through the
commands' own functions, so a form and a slash command are one code path.

Every page is server-rendered HTML that reads and submits with JavaScript
off; styles and charts come from nippo itself. Every POST carries a CSRF
token; every response carries a CSP without inline scripts or styles.
"""

from __future__ import annotations

import logging
import secrets
import zlib

from flask import Flask, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from werkzeug.exceptions import HTTPException
from wtforms import ValidationError

from web.access import request_id
from web.pages import auth, home, roster, settings, teams  # noqa: F401  (routes on the blueprint)
from web.pages.access import current_viewer, services
from web.pages.blueprint import bp
from web.pages.i18n import LANGUAGE_NAMES, LANGUAGES, catalogue, choose, translate
from web.pages.oauth import init_oauth
from web.pages.sessions import DatabaseSessionInterface

log = logging.getLogger("nippo.web")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
COMPRESS_FROM_BYTES = 4096
# Pages anyone may open; every other one asks to sign in first.
PUBLIC = {"web.login", "web.login_link", "web.oauth_start", "web.oauth_callback", "web.static", "web.logout"}


def init_app(app: Flask, services_) -> None:
    settings_ = services_.settings
    # Signs the form tokens. Outside console mode NIPPO_SECRET_KEY is required,
    # so every replica signs alike; a console is one process.
    app.secret_key = settings_.secret_key or secrets.token_hex(32)
    app.session_interface = DatabaseSessionInterface(services_, secure=settings_.public_url.startswith("https://"))
    # The token lives in the server-side session, which ends within 12 hours anyway.
    app.config["WTF_CSRF_TIME_LIMIT"] = None
    init_oauth(app, settings_)
    # On every answer, not only the pages': redirects and errors no route took, static files, the API's JSON.
    app.after_request(safe_headers)
    app.register_blueprint(bp)


@bp.before_request
def _before():
    g.viewer = current_viewer()
    g.lang = choose(session.get("lang") if g.viewer else request.args.get("lang"),
                    request.accept_languages, services().settings.language)
    if g.viewer is None and request.endpoint == "web.logout":
        return redirect(url_for("web.login", signed_out=1), 303)  # already out: nothing to end, nothing to check
    if g.viewer is None and request.endpoint not in PUBLIC:
        if request.method == "GET":
            return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
        return redirect(url_for("web.login"), 303)
    if request.method == "POST":
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError as error:
            raise CSRFError(str(error)) from None
    return None


def safe_headers(response):
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    if request.path == "/web" or request.path.startswith("/web/"):
        # What a page shows depends on who asks: no shared cache may keep one for someone else. Only the
        # stylesheet and icon themselves may be kept, never an error page shown in their place (it names
        # the person and carries their form token).
        response.vary.add("Cookie")
        shared = request.endpoint == "web.static" and response.status_code in (200, 304)
        response.headers["Cache-Control"] = "public, max-age=3600" if shared else "no-store"
    return response


@bp.after_request
def _compress(response):
    return compressed(response)


def compressed(response):
    """Pages gzipped for browsers that ask (all do): a quarter's calendar of a
    large team is half a megabyte of markup that shrinks twentyfold."""
    response.vary.add("Accept-Encoding")
    if (response.mimetype != "text/html" or not response.is_sequence or "Content-Encoding" in response.headers
            or "gzip" not in request.headers.get("Accept-Encoding", "")):
        return response
    body = response.get_data()
    if len(body) < COMPRESS_FROM_BYTES:
        return response
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)  # 31: a gzip stream; level 1: fast, and enough for markup
    response.set_data(packer.compress(body) + packer.flush())
    response.headers["Content-Encoding"] = "gzip"
    return response


@bp.app_template_global()
def t(key: str, **params) -> str:
    return translate(getattr(g, "lang", "en"), key, **params)


@bp.app_template_global()
def kind_name(kind: str) -> str:
    """An outbox message's kind in words (``runs.what_<kind>``); one with no
    words yet is shown as it is stored rather than failing the page."""
    key = f"runs.what_{kind}"
    return t(key) if key in catalogue("en") else kind  # every catalogue has the same keys (tested)


@bp.app_template_global()
def csrf_token() -> str:
    return generate_csrf()


@bp.context_processor
def _page_values():
    return {"viewer": getattr(g, "viewer", None), "lang": getattr(g, "lang", "en"), "languages": LANGUAGES,
            "language_names": LANGUAGE_NAMES}


@bp.route("/<path:anything>", methods=["GET", "POST"])
def _no_such_page(anything):
    """Every other path under /web: the same 404 as a page one may not see."""
    return _not_found(None)


@bp.errorhandler(404)
def _not_found(error):
    return render_template("error.html", title=t("error.not_found_title"), message=t("error.not_found")), 404


@bp.errorhandler(CSRFError)
def _csrf_refused(error):
    return render_template("error.html", title=t("error.csrf_title"), message=t("error.csrf")), 400


@bp.errorhandler(HTTPException)
def _http_error(error):
    if error.code == 404:
        return _not_found(error)
    return render_template("error.html", title=str(error.code), message=t("error.bad_request")), error.code


@bp.errorhandler(Exception)
def _apology(error):
    # The request's own id: the one in X-Request-Id and on this line and the access line.
    log.exception("%s %s failed", request.method, request.endpoint)
    return render_template("error.html", title=t("error.internal_title"),
                           message=t("error.internal", request_id=request_id())), 500
