"""Who may change what (docs/security.md): team leaders, or Mattermost channel, team and
system admins. A member with ``scheme_admin`` counts as an admin whatever the
role is called; everyone may file, mark their own absence and look."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.mattermost import MattermostError
from db.models import Member, RosterEntry, Team


def _has_role(roles: str | None, *names: str) -> bool:
    return bool(set((roles or "").split()) & set(names))


def is_admin(ctx) -> bool:
    """A channel, team or system admin of the channel the command came from."""
    request = ctx.request
    return administers(ctx.services, request.user_id, request.channel_id, request.team_id)


def administers(services, user_id: str, channel_id: str, team_id: str | None) -> bool:
    """A channel admin of ``channel_id``, a team admin of its Mattermost team
    ``team_id``, or a system admin: asked of Mattermost each time (the web
    pages remember the answer for a few minutes)."""
    if services.settings.console_mode:
        return True
    return (is_channel_admin(services, channel_id, user_id)
            or (bool(team_id) and is_team_admin(services, team_id, user_id))
            or is_system_admin(services, user_id))


def is_channel_admin(services, channel_id: str, user_id: str) -> bool:
    try:
        member = services.mattermost.get_channel_member(channel_id, user_id)
    except MattermostError as error:
        if error.status in (403, 404):
            return False
        raise
    return bool(member.get("scheme_admin")) or _has_role(member.get("roles"), "channel_admin")


def is_team_admin(services, team_id: str, user_id: str) -> bool:
    try:
        member = services.mattermost.get_team_member(team_id, user_id)
    except MattermostError as error:
        if error.status in (403, 404):
            return False
        raise
    return bool(member.get("scheme_admin")) or _has_role(member.get("roles"), "team_admin")


def is_system_admin(services, user_id: str) -> bool:
    user = services.users.get(user_id)
    return _has_role(user.get("roles"), "system_admin")


def is_leader(session: Session, team: Team | None, user_id: str) -> bool:
    if team is None:
        return False
    return session.scalar(
        select(RosterEntry.role)
        .join(Member, Member.id == RosterEntry.member_id)
        .where(RosterEntry.team_id == team.id, Member.user_id == user_id,
               RosterEntry.removed_at.is_(None), RosterEntry.role == "leader")
    ) is not None


def leader_ids(session: Session, team_id: int) -> set[str]:
    return set(session.scalars(
        select(Member.user_id).join(RosterEntry, RosterEntry.member_id == Member.id)
        .where(RosterEntry.team_id == team_id, RosterEntry.removed_at.is_(None), RosterEntry.role == "leader")
    ))
