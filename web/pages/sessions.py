"""Browser sessions kept in the database and checked on every request.

The cookie carries only a random id; the row (found by the id's hash, see
``db.web_auth``) carries who is signed in and the little the pages remember.
Nothing is written for a visitor who has nothing to remember, and requests
without the cookie (every Mattermost callback) never touch the database.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from db import web_auth

COOKIE = "nippo_session"
COOKIE_PATH = "/web"
SIGNED_IN_LIFETIME = timedelta(hours=12)
# Long enough to come back from Mattermost's OAuth page.
ANONYMOUS_LIFETIME = timedelta(hours=1)


class WebSession(CallbackDict, SessionMixin):
    def __init__(self, initial=None, *, cookie: str | None = None, created_at: datetime | None = None,
                 expires_at: datetime | None = None):
        def changed(_self):
            self.modified = True

        super().__init__(initial, changed)
        self.cookie = cookie
        self.created_at = created_at
        self.expires_at = expires_at
        self.modified = False
        self.rotate = False  # a new id at the next save (sign-in)
        self.ended = False  # delete the row and the cookie (sign-out)

    def sign_in(self, values: dict, now: datetime) -> None:
        """Forget everything and start over as this person, under a new id."""
        self.clear()
        self.update(values)
        self.rotate = True
        self.created_at = now
        self.expires_at = now + SIGNED_IN_LIFETIME

    def end(self) -> None:
        self.clear()
        self.ended = True


class DatabaseSessionInterface(SessionInterface):
    """Flask's session, stored through ``db.web_auth`` on the app's database and clock."""

    def __init__(self, services, secure: bool):
        self.services = services
        self.secure = secure

    def open_session(self, app, request) -> WebSession:
        cookie = request.cookies.get(COOKIE)
        if not cookie or len(cookie) > 100:
            return WebSession()
        with self.services.database.read() as db:
            stored = web_auth.load_session(db, cookie, self.services.clock())
        if stored is None:
            return WebSession()
        return WebSession(stored.data, cookie=cookie, created_at=stored.created_at, expires_at=stored.expires_at)

    def save_session(self, app, session: WebSession, response) -> None:
        if session.ended:
            if session.cookie:
                with self.services.database.write() as db:
                    web_auth.end_session(db, session.cookie)
            response.delete_cookie(COOKIE, path=COOKIE_PATH, secure=self.secure, httponly=True, samesite="Lax")
            return
        if not session.modified and not session.rotate:
            return
        now = self.services.clock()
        new = session.rotate or not session.cookie
        with self.services.database.write() as db:
            if new:
                if session.cookie:
                    web_auth.end_session(db, session.cookie)
                session.cookie = web_auth.new_secret()
                session.created_at = session.created_at or now
                if session.expires_at is None:
                    session.expires_at = now + ANONYMOUS_LIFETIME
            web_auth.save_session(db, session.cookie, session.get("uid"), dict(session), session.created_at,
                                  session.expires_at, new=new)
        if not new:
            # The browser already holds this id and its lifetime never changes: saying it again would only
            # tell an onlooker that the request changed what the server remembers (a team it may not see
            # exists, say), where a missing team changes nothing.
            return
        # Max-Age, not an absolute date: the browser's clock need not agree with ours.
        max_age = max(int((session.expires_at - now).total_seconds()), 0)
        response.set_cookie(COOKIE, session.cookie, max_age=max_age, path=COOKIE_PATH,
                            secure=self.secure, httponly=True, samesite="Lax")
