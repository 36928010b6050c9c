"""Who is looking, and what they may see: the commands' rules, on the web.

Everyone sees the teams whose roster they are on, and their own page;
leaders of a team and admins of its channel, Mattermost team or system also
see its settings, roster, runs and export. Anything else is a 404, exactly
as for a page that does not exist.

Roster roles come from the database at every request. Mattermost roles
(admin or not, account deactivated or not) are asked again at most every
``ROLE_RECHECK`` and remembered in the session meanwhile; every change still
goes through the commands' own permission check when it is made.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import abort, current_app, g, session

from bot.mattermost import MattermostError
from commands.permissions import administers
from db import history, web_auth
from db.models import Team

log = logging.getLogger("nippo.web")

ROLE_RECHECK = timedelta(minutes=5)
# Team ids are the database's 32-bit integers: a larger number in an address is no team (SQLite cannot
# even be asked about it), the same 404 as any other.
LARGEST_TEAM_ID = 2**31 - 1


def services():
    return current_app.extensions["nippo"]


@dataclass(frozen=True)
class Viewer:
    user_id: str
    username: str
    system_admin: bool


@dataclass(frozen=True)
class TeamView:
    team: Team
    role: str | None  # on the roster: leader | member; None for an admin who is not on it
    manager: bool  # may see settings, roster, runs and export


def session_values(user: dict, lang: str, now: datetime) -> dict:
    """What a new session remembers about the person who signed in."""
    return {"uid": user["id"], "name": user.get("username") or user["id"], "lang": lang,
            "sysadmin": _system_admin(user), "admin": {}, "checked_at": now.isoformat()}


def current_viewer() -> Viewer | None:
    """The signed-in person, their Mattermost roles at most ``ROLE_RECHECK`` old; None if nobody."""
    if "uid" not in session:
        return None
    now = services().clock()
    checked = datetime.fromisoformat(session.get("checked_at", "1970-01-01T00:00:00+00:00"))
    if now - checked >= ROLE_RECHECK and not _recheck(now):
        return None
    return Viewer(session["uid"], session.get("name", session["uid"]), bool(session.get("sysadmin")))


def _recheck(now: datetime) -> bool:
    """Ask Mattermost about the person again; False (and signed out) if their account is gone."""
    users = services().users
    user_id = session["uid"]
    users.forget(user_id)
    try:
        user = users.get(user_id)
    except MattermostError as error:
        if error.status in (403, 404):
            _sign_out_everywhere(user_id)
            return False
        # Mattermost cannot say right now: keep what was known, ask again next time.
        log.warning("could not re-check a web user's roles (status %s)", error.status)
        return True
    if user.get("delete_at"):
        _sign_out_everywhere(user_id)
        return False
    session["name"] = user.get("username") or session.get("name")
    session["sysadmin"] = _system_admin(user)
    session["admin"] = {}
    session["checked_at"] = now.isoformat()
    return True


def _sign_out_everywhere(user_id: str) -> None:
    with services().database.write() as db:
        web_auth.end_sessions_of(db, user_id)
    session.end()


def _system_admin(user: dict) -> bool:
    return "system_admin" in (user.get("roles") or "").split()


def administers_team(team: Team) -> bool:
    """A channel, Mattermost team or system admin of this team, remembered for ``ROLE_RECHECK``."""
    remembered = session.setdefault("admin", {})
    key = str(team.id)
    if key not in remembered:
        viewer = g.viewer
        remembered[key] = viewer.system_admin or administers(
            services(), viewer.user_id, team.channel_id, team.mattermost_team_id)
        session.modified = True
    return remembered[key]


def team_view(db, team_id: int, *, manage: bool = False) -> TeamView:
    """The team if the viewer may see it (and manage it, if asked); otherwise 404."""
    if not 0 < team_id <= LARGEST_TEAM_ID:
        abort(404)
    team, role = history.team_and_role(db, team_id, g.viewer.user_id)
    if team is None:
        abort(404)
    manager = role == "leader" or administers_team(team)
    if (role is None and not manager) or (manage and not manager):
        abort(404)
    return TeamView(team, role, manager)


def visible_team_ids(db) -> list[int]:
    """The teams the viewer is on, and those they administer as far as known."""
    viewer = g.viewer
    if viewer.system_admin:
        return history.all_team_ids(db)
    ids = set(history.teams_of(db, viewer.user_id))
    ids |= {int(key) for key, admin in session.get("admin", {}).items() if admin}
    return sorted(ids)
