"""Mattermost users as nippo members: lookups, refreshes and mentions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import valid_timezone
from bot.mattermost import MattermostError
from commands.reply import CommandError
from db import queries
from db.models import Member


def is_active(user: dict) -> bool:
    return not user.get("delete_at")


def is_bot(user: dict) -> bool:
    return bool(user.get("is_bot"))


def user_timezone(user: dict) -> str | None:
    """The user's preferred zone as Mattermost computes it (PROTOCOL §6.6)."""
    zone = user.get("timezone") or {}
    if not isinstance(zone, dict):
        return None
    if zone.get("useAutomaticTimezone") == "true":
        chosen = zone.get("automaticTimezone")
    else:
        chosen = zone.get("manualTimezone")
    return chosen or None


def upsert_member(session: Session, user: dict, now: datetime) -> Member:
    """The member row for a Mattermost user, created or refreshed."""
    # Insert-or-nothing first: two requests about a new user at once must not collide.
    session.execute(queries.insert_for(session, Member)
                    .values(user_id=user["id"], username=(user.get("username") or user["id"])[:64], active=True,
                            is_bot=False)
                    .on_conflict_do_nothing(index_elements=[Member.user_id]))
    member = session.scalars(select(Member).where(Member.user_id == user["id"])).one()
    member.username = user.get("username") or member.username
    if user.get("email"):
        member.email = user["email"][:320]
    # Browsers report zones Python may not know; keep only usable ones.
    zone = user_timezone(user)
    if zone and len(zone) <= 64 and valid_timezone(zone):
        member.timezone = zone
    member.active = is_active(user)
    member.is_bot = is_bot(user)
    member.updated_at = now
    session.flush()
    return member


def resolve_usernames(ctx, usernames: list[str]) -> list[dict]:
    """Users named with @ in a command, in the order given.

    Mattermost already resolved the mentions it recognised
    (``user_mentions_ids``); the rest are looked up by name. Unknown names are
    an error naming all of them.
    """
    wanted = list(dict.fromkeys(name for name in (raw.lstrip("@").lower() for raw in usernames) if name))
    by_name: dict[str, dict] = {}
    known_ids = {n: ctx.request.mention_ids[n] for n in wanted if n in ctx.request.mention_ids}
    try:
        if known_ids:
            for user in ctx.mattermost.get_users_by_ids(list(known_ids.values())):
                by_name[user["username"].lower()] = user
        rest = [n for n in wanted if n not in by_name]
        if rest:
            for user in ctx.mattermost.get_users_by_usernames(rest):
                by_name[user["username"].lower()] = user
    except MattermostError as error:
        if error.status == 404:
            by_name = by_name
        else:
            raise
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        from persona import join, name as inert_name

        raise CommandError("error.unknown_user", names=join([inert_name(n) for n in unknown], ctx.lang))
    return [by_name[n] for n in wanted]


def bot_mention(ctx) -> str:
    """@BOTNAME, for "invite @BOTNAME to this channel first"."""
    try:
        return "@" + ctx.mattermost.me()["username"]
    except MattermostError:
        return "@nippo"


def member_by_user_id(session: Session, user_id: str) -> Member | None:
    return session.scalars(select(Member).where(Member.user_id == user_id)).first()
