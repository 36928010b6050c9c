"""Sign-in links and browser sessions of the web pages, as rows.

Secrets never reach the database: a link's token and a session's cookie are
random strings the browser holds, and only their SHA-256 is stored, so a copy
of the database signs nobody in. Every check is a single statement, so two
requests racing with one link cannot both win.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from db.models import LoginToken, WebSession

LINK_LIFETIME = timedelta(minutes=10)
# Expired rows are deleted a few at a time as new ones are written; a spent or
# expired link is kept a day longer, so opening it again says why it fails.
CLEANUP_BATCH = 500
SPENT_LINK_MEMORY = timedelta(days=1)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


# --- one-time links ------------------------------------------------------------

def create_login_token(session: Session, user_id: str, username: str, team_id: int | None, now: datetime) -> str:
    """A new single-use token for this user, valid ``LINK_LIFETIME``; the token itself is returned once."""
    token = new_secret()
    session.add(LoginToken(token_hash=digest(token), user_id=user_id, username=username[:64], team_id=team_id,
                           created_at=now, expires_at=now + LINK_LIFETIME))
    _forget_expired(session, now)
    return token


@dataclass(frozen=True)
class LinkUse:
    outcome: str  # "ok" | "used" | "expired" | "unknown"
    user_id: str | None = None
    username: str | None = None
    team_id: int | None = None


def use_login_token(session: Session, token: str, now: datetime) -> LinkUse:
    """Spend a token: ``ok`` once, for the first caller within its lifetime; otherwise why not."""
    token_hash = digest(token)
    spent = session.execute(
        update(LoginToken)
        .where(LoginToken.token_hash == token_hash, LoginToken.used_at.is_(None), LoginToken.expires_at > now)
        .values(used_at=now)
    ).rowcount
    row = session.get(LoginToken, token_hash)
    if row is None:
        return LinkUse("unknown")
    if spent == 1:
        return LinkUse("ok", row.user_id, row.username, row.team_id)
    return LinkUse("used" if row.used_at is not None else "expired")


# --- sessions ------------------------------------------------------------------

@dataclass(frozen=True)
class StoredSession:
    user_id: str | None
    data: dict
    created_at: datetime
    expires_at: datetime


def load_session(session: Session, cookie: str, now: datetime) -> StoredSession | None:
    row = session.execute(
        select(WebSession.user_id, WebSession.data, WebSession.created_at, WebSession.expires_at)
        .where(WebSession.id_hash == digest(cookie), WebSession.expires_at > now)
    ).first()
    return StoredSession(*row) if row is not None else None


def save_session(session: Session, cookie: str, user_id: str | None, data: dict, created_at: datetime,
                 expires_at: datetime, *, new: bool) -> bool:
    """Store a session: a ``new`` one is created; an existing one is only
    updated, never brought back once it has ended (a request still running
    when its person signed out, or was signed out everywhere, must not
    undo that). False when there was nothing left to update."""
    if new:
        session.add(WebSession(id_hash=digest(cookie), user_id=user_id, data=data, created_at=created_at,
                               expires_at=expires_at))
        _forget_expired(session, created_at)
        return True
    return session.execute(
        update(WebSession).where(WebSession.id_hash == digest(cookie))
        .values(user_id=user_id, data=data, expires_at=expires_at)
    ).rowcount == 1


def end_session(session: Session, cookie: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id_hash == digest(cookie)))


def end_sessions_of(session: Session, user_id: str) -> int:
    """Sign a person out everywhere (their account was deactivated)."""
    return session.execute(delete(WebSession).where(WebSession.user_id == user_id)).rowcount


def _forget_expired(session: Session, now: datetime) -> None:
    for model, column, horizon in ((LoginToken, LoginToken.token_hash, now - SPENT_LINK_MEMORY),
                                   (WebSession, WebSession.id_hash, now)):
        stale = select(column).where(model.expires_at <= horizon).limit(CLEANUP_BATCH)
        session.execute(delete(model).where(column.in_(stale)))
