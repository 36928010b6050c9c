"""The team bound to a channel, and who may change it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.mattermost import MattermostError
from commands.context import Ctx
from commands.people import bot_mention, upsert_member
from commands.permissions import is_admin, is_leader
from commands.reply import CommandError
from db import queries
from db.models import Team


def require_team_channel(ctx: Ctx) -> None:
    """A team is bound to a channel, never to a DM or group message."""
    if ctx.request.is_direct:
        raise CommandError("error.dm_channel")
    if ctx.console:
        return
    try:
        channel = ctx.mattermost.get_channel(ctx.request.channel_id)
    except MattermostError as error:
        if error.status in (403, 404):
            return  # judged later: the bot cannot post there
        raise
    if channel.get("type") in ("D", "G"):
        raise CommandError("error.dm_channel")


def ensure_team(ctx: Ctx, session: Session) -> tuple[Team, bool]:
    """The channel's team, created if there is none; True when it was created."""
    team = queries.team_by_channel(session, ctx.request.channel_id)
    if team is not None:
        return team, False
    created = session.execute(
        queries.insert_for(session, Team)
        .values(channel_id=ctx.request.channel_id, mattermost_team_id=ctx.request.team_id or None,
                channel_name=(ctx.request.channel_name or None) and ctx.request.channel_name[:128], created_at=ctx.now)
        .on_conflict_do_nothing(index_elements=[Team.channel_id])
        .returning(Team.id)
    ).first()
    return queries.team_by_channel(session, ctx.request.channel_id), created is not None


@dataclass(frozen=True)
class Authority:
    leader: bool  # leads this channel's team
    admin: bool  # channel, team or system admin in Mattermost
    caller: dict  # the caller as a Mattermost user
    # The bot cannot see the channel (a private one it is not in); found out
    # only for callers who do not lead its team.
    channel_hidden: bool = False


def authority(ctx: Ctx) -> Authority:
    """What the caller may do here, found out before any write transaction:
    Mattermost is asked only when the roster does not already say leader."""
    caller = ctx.services.users.get(ctx.request.user_id, fallback_username=ctx.request.user_name)
    with ctx.read() as session:
        team = queries.team_by_channel(session, ctx.request.channel_id)
        leader = is_leader(session, team, ctx.request.user_id)
    hidden = not leader and not _bot_sees_channel(ctx)
    admin = False if leader or hidden else is_admin(ctx)
    return Authority(leader=leader, admin=admin, caller=caller, channel_hidden=hidden)


def _bot_sees_channel(ctx: Ctx) -> bool:
    try:
        ctx.mattermost.get_channel(ctx.request.channel_id)
    except MattermostError as error:
        if error.status in (403, 404):
            return False
        raise
    return True


def require_may_manage(ctx: Ctx, auth: Authority) -> None:
    """``require_manager`` ahead of time, read-only: refuse a caller who may not
    change this channel's team before any user the command names is looked
    up (a plain member's thousand names must cost nothing). The write
    transaction checks again."""
    if auth.channel_hidden:
        raise CommandError("error.bot_not_in_channel", bot=bot_mention(ctx))
    with ctx.read() as session:
        team = queries.team_by_channel(session, ctx.request.channel_id)
        led = team is not None and _has_leader(session, team)
    if not led and not auth.admin:
        raise CommandError("error.not_admin")
    if led and not (auth.admin or auth.leader):
        raise CommandError("error.not_permitted", action=ctx.request.command)


def require_manager(ctx: Ctx, session: Session, team: Team, auth: Authority, *, creating: bool) -> None:
    """Creating a channel's first roster or subscription needs an admin, who
    becomes its leader; after that leaders may change it too. Where the bot
    cannot see the channel, only its leaders may (to tidy up): anyone else is
    asked to invite the bot first, which could neither post there nor tell
    who its admins are."""
    if auth.channel_hidden:
        raise CommandError("error.bot_not_in_channel", bot=bot_mention(ctx))
    if creating or not _has_leader(session, team):
        if not auth.admin:
            raise CommandError("error.not_admin")
        member = upsert_member(session, auth.caller, ctx.now)
        queries.ensure_leader(session, team.id, member.id, ctx.now)
        session.flush()
        return
    if auth.admin or is_leader(session, team, ctx.request.user_id):
        return
    raise CommandError("error.not_permitted", action=ctx.request.command)


def _has_leader(session: Session, team: Team) -> bool:
    from commands.permissions import leader_ids

    return bool(leader_ids(session, team.id))
