"""Who may change what (docs/commands.md, permissions): team leaders, or Mattermost channel, team and
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
    if ctx.console:
        return True
    request = ctx.request
    return (is_channel_admin(ctx, request.channel_id, request.user_id)
            or (bool(request.team_id) and is_team_admin(ctx, request.team_id, request.user_id))
            or is_system_admin(ctx, request.user_id))


def is_channel_admin(ctx, channel_id: str, user_id: str) -> bool:
    try:
        member = ctx.mattermost.get_channel_member(channel_id, user_id)
    except MattermostError as error:
        if error.status in (403, 404):
            return False
        raise
    return bool(member.get("scheme_admin")) or _has_role(member.get("roles"), "channel_admin")


def is_team_admin(ctx, team_id: str, user_id: str) -> bool:
    try:
        member = ctx.mattermost.get_team_member(team_id, user_id)
    except MattermostError as error:
        if error.status in (403, 404):
            return False
        raise
    return bool(member.get("scheme_admin")) or _has_role(member.get("roles"), "team_admin")


def is_system_admin(ctx, user_id: str) -> bool:
    user = ctx.services.users.get(user_id)
    return _has_role(user.get("roles"), "system_admin")


def may_manage_member(ctx, member_user_id: str) -> bool:
    """May the caller change another member's absences? Only with authority
    over a team that member is on: its leader, an admin of its channel or
    Mattermost team, or a system admin. (Being admin of some other channel —
    every channel's creator is — is not enough.)"""
    if ctx.console:
        return True
    with ctx.read() as session:
        teams = session.execute(
            select(Team.id, Team.channel_id, Team.mattermost_team_id)
            .join(RosterEntry, RosterEntry.team_id == Team.id)
            .join(Member, Member.id == RosterEntry.member_id)
            .where(Member.user_id == member_user_id, RosterEntry.removed_at.is_(None))
        ).all()
        if any(is_leader(session, session.get(Team, team_id), ctx.request.user_id) for team_id, _, _ in teams):
            return True
    if is_system_admin(ctx, ctx.request.user_id):
        return True
    for _, channel_id, mattermost_team_id in teams:
        if is_channel_admin(ctx, channel_id, ctx.request.user_id):
            return True
        if mattermost_team_id and is_team_admin(ctx, mattermost_team_id, ctx.request.user_id):
            return True
    return False


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
