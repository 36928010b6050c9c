"""Signing in and out: the one-time link from ``/team web``, "Sign in with
Mattermost", ``POST /web/logout``, and the language switch."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, render_template, request, session, url_for
from requests import RequestException

from bot.mattermost import MattermostError
from db import history, web_auth
from db.models import Team
from web.pages import oauth
from web.pages.access import administers_team, current_viewer, services, session_values
from web.pages.blueprint import bp
from web.pages.i18n import LANGUAGES, from_locale

log = logging.getLogger("nippo.web")

# Chat servers fetch links to show a preview, and link checkers ask for the headers alone (HEAD): such a
# fetch must not spend the link.
PREVIEW_AGENTS = ("mattermost-bot", "slackbot", "facebookexternalhit", "twitterbot", "discordbot")


@bp.get("/login")
def login():
    if g.viewer is not None:
        return redirect(url_for("web.home"))
    return render_template("login.html", oauth=oauth.enabled(current_app),
                           next=_safe_next(request.args.get("next")))


@bp.get("/login/<token>")
def login_link(token: str):
    agent = request.headers.get("User-Agent", "").lower()
    if agent.startswith(PREVIEW_AGENTS) or request.method == "HEAD":
        return render_template("link_problem.html", outcome="preview"), 200
    now = services().clock()
    with services().database.write() as db:
        use = web_auth.use_login_token(db, token[:200], now)
    if use.outcome != "ok":
        status = 404 if use.outcome == "unknown" else 410
        return render_template("link_problem.html", outcome=use.outcome), status
    user = _mattermost_user(use.user_id)
    if user is None:
        return render_template("link_problem.html", outcome="refused"), 403
    _sign_in(user, now)
    if use.team_id is not None and _may_land_on(use.team_id):
        return redirect(url_for("web.team", team_id=use.team_id), 303)
    return redirect(url_for("web.home"), 303)


@bp.get("/login/mattermost")
def oauth_start():
    client = oauth.client(current_app)
    if client is None:
        abort(404)
    session["next"] = _safe_next(request.args.get("next")) or url_for("web.home")
    return client.authorize_redirect(services().settings.public_url + url_for("web.oauth_callback"))


@bp.get("/oauth/callback")
def oauth_callback():
    client = oauth.client(current_app)
    if client is None:
        abort(404)
    landing = _safe_next(session.get("next")) or url_for("web.home")
    failures = (oauth.sign_in_error(), RequestException, ValueError)
    try:
        token = client.authorize_access_token()
        response = client.get("users/me", token=token)
        response.raise_for_status()
        me = response.json()
    except failures as error:
        # Never the error's text: it may carry the code or a token.
        log.warning("Mattermost sign-in failed (%s)", type(error).__name__)
        return render_template("link_problem.html", outcome="oauth"), 400
    if not isinstance(me, dict) or not me.get("id") or me.get("delete_at") or me.get("is_bot"):
        return render_template("link_problem.html", outcome="refused"), 403
    _sign_in(me, services().clock())
    return redirect(landing, 303)


@bp.post("/logout")
def logout():
    session.end()
    return redirect(url_for("web.login", signed_out=1), 303)


@bp.post("/lang")
def switch_language():
    chosen = request.form.get("lang", "")
    if chosen in LANGUAGES:
        session["lang"] = chosen
    # Back to the page the switch was on. Taken from the Referer, not from the
    # form: a page never echoes its own address, so a compressed page holds
    # nothing an outsider chose next to its form token.
    return redirect(_same_site_page(request.referrer) or url_for("web.home"), 303)


def _sign_in(user: dict, now) -> None:
    lang = from_locale(user.get("locale"), services().settings.language)
    session.sign_in(session_values(user, lang, now), now)
    g.lang = lang


def _mattermost_user(user_id: str) -> dict | None:
    """The person the link was made for, as Mattermost knows them now; None if they may not sign in."""
    users = services().users
    users.forget(user_id)
    try:
        user = users.get(user_id)
    except MattermostError as error:
        if error.status in (403, 404):
            return None
        raise
    if user.get("delete_at") or user.get("is_bot"):
        return None
    return user


def _may_land_on(team_id: int) -> bool:
    g.viewer = current_viewer()
    with services().database.read() as db:
        team = db.get(Team, team_id)
        if team is None:
            return False
        return history.role_on(db, team_id, g.viewer.user_id) is not None or administers_team(team)


def _same_site_page(referrer: str | None) -> str | None:
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.netloc and parts.netloc != request.host:
        return None
    return _safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))


def _safe_next(path: str | None) -> str | None:
    """Only a path of these pages: never another site (``//host``, ``/\\host``) or a scheme."""
    if not path or not path.startswith("/web/") or path.startswith(("//", "/\\")) or "\\" in path or "\n" in path:
        return None
    return path
