"""Mattermost users as nippo members: lookups, refreshes and mentions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
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
    """The user's preferred zone as Mattermost computes it (its ``timezone`` object: manual or automatic)."""
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
    member_id = upsert_members(session, [user], now)[user["id"]]
    # populate_existing: the row was written past the session, which may hold it already.
    return session.get(Member, member_id, populate_existing=True)


def upsert_members(session: Session, users: list[dict], now: datetime) -> dict[str, int]:
    """Member rows for Mattermost users, created or refreshed, many to a
    statement (a channel sync may bring thousands): user id -> member id."""
    rows = [_member_row(user, now) for user in {u["id"]: u for u in users}.values()]
    if not rows:
        return {}
    table = Member.__table__
    # One upsert, not insert-then-update: two requests about a new user at once must not collide.
    insert = queries.insert_for(session, table)
    new = insert.excluded
    upsert = insert.on_conflict_do_update(index_elements=[table.c.user_id], set_={
        # A user without a username was stored under their id: a stored name is kept then.
        "username": case((new.username == new.user_id, table.c.username), else_=new.username),
        "email": func.coalesce(new.email, table.c.email),
        "timezone": func.coalesce(new.timezone, table.c.timezone),
        "active": new.active, "is_bot": new.is_bot, "updated_at": new.updated_at,
    }).returning(table.c.id, table.c.user_id)
    # Many rows to one compiled statement: SQLAlchemy sends them a batch at a time ("insertmanyvalues").
    return {user_id: member_id for member_id, user_id in session.connection().execute(upsert, rows)}


def _member_row(user: dict, now: datetime) -> dict:
    zone = user_timezone(user)
    # Browsers report zones Python may not know; keep only usable ones.
    usable_zone = zone if zone and len(zone) <= 64 and valid_timezone(zone) else None
    return {"user_id": user["id"], "username": (user.get("username") or user["id"])[:64],
            "email": user["email"][:320] if user.get("email") else None, "timezone": usable_zone,
            "active": is_active(user), "is_bot": is_bot(user), "updated_at": now}


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
