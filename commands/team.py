"""``/team``: the roster of this channel's team, links to an outside system,
and team days off."""

from __future__ import annotations

import logging

from sqlalchemy import delete, func, select

from bot.mattermost import MEMBERS_PER_PAGE, MattermostError
from bot.responder import voice_fields
from commands.context import Ctx
from commands.grammar import DateSpan, TeamAdd, TeamDaysOff, TeamLeader, TeamLink, TeamList, TeamRemove, TeamSync
from commands.people import bot_mention, is_active, is_bot, resolve_usernames, upsert_member, upsert_members
from commands.reply import CommandError, Reply
from commands.teams import Authority, authority, ensure_team, require_manager, require_may_manage, require_team_channel
from db import queries
from db.models import Member, RosterEntry, TeamDayOff
from persona import inert, join, name

log = logging.getLogger("nippo.team")

# A sync of more members than this answers at once and reports through
# response_url: Mattermost waits 30 seconds at most for the answer.
SYNC_INLINE_LIMIT = 200
USERS_PER_LOOKUP = 200
LIST_NAMES_LIMIT = 50


def _names(ctx: Ctx, usernames) -> str:
    return join((name(u) for u in usernames), ctx.lang)


def _names_or_count(ctx: Ctx, usernames: list[str]) -> str:
    """Names while a reader can take them in; past that, how many (a channel may hold thousands)."""
    if not usernames:
        return "—"
    if len(usernames) > LIST_NAMES_LIMIT:
        return f"{len(usernames):,}"
    return _names(ctx, usernames)


def _prepare(ctx: Ctx) -> Authority:
    require_team_channel(ctx)
    return authority(ctx)


def add(ctx: Ctx, command: TeamAdd) -> Reply:
    added, already = add_members(ctx, list(command.users))
    lines = []
    if added:
        lines.append(ctx.say("team.added", names=_names(ctx, added)))
    if already:
        lines.append(ctx.say("team.already", names=_names(ctx, already)))
    return Reply("\n".join(lines))


def add_members(ctx: Ctx, usernames: list[str]) -> tuple[list[str], list[str]]:
    """Put these users on ``ctx``'s channel's roster: (added, already there).
    Bots and deactivated users are refused, naming them."""
    auth = _prepare(ctx)
    require_may_manage(ctx, auth)
    users = resolve_usernames(ctx, usernames)
    refused = [u for u in users if is_bot(u) or not is_active(u)]
    if refused:
        bots = [u["username"] for u in refused if is_bot(u)]
        inactive = [u["username"] for u in refused if not is_bot(u)]
        reasons = []
        if bots:
            reasons.append(ctx.say("reason.bot", names=_names(ctx, bots)))
        if inactive:
            reasons.append(ctx.say("reason.deactivated", names=_names(ctx, inactive)))
        raise CommandError("error.refused_users", names=_names(ctx, bots + inactive), reason=" ".join(reasons))
    added, already = [], []
    with ctx.write() as session:
        team, created = ensure_team(ctx, session)
        require_manager(ctx, session, team, auth, creating=created)
        # A few statements for the whole list, not a few per name: a command may name 200.
        member_ids = upsert_members(session, users, ctx.now)
        entries = queries.roster_entries(session, team.id, list(member_ids.values()))
        joining = []
        for user in users:
            entry = entries.get(member_ids[user["id"]])
            if entry is not None and entry.removed_at is None:
                already.append(user["username"])
                continue
            if entry is not None:  # removed before: back on the roster from now
                queries.rejoin(entry, ctx.now)
            joining.append(member_ids[user["id"]])
            added.append(user["username"])
        queries.add_roster_entries(session, team.id, joining, ctx.now)
    return added, already


def remove(ctx: Ctx, command: TeamRemove) -> Reply:
    removed, absent = remove_members(ctx, list(command.users))
    lines = []
    if removed:
        lines.append(ctx.say("team.removed", names=_names(ctx, removed)))
    if absent:
        lines.append(ctx.say("team.not_on_roster", names=_names(ctx, absent)))
    return Reply("\n".join(lines))


def remove_members(ctx: Ctx, usernames: list[str]) -> tuple[list[str], list[str]]:
    """Take these users off ``ctx``'s channel's roster: (removed, not on it)."""
    auth = _prepare(ctx)
    require_may_manage(ctx, auth)
    users = resolve_usernames(ctx, usernames)
    removed, absent = [], []
    with ctx.write() as session:
        team = queries.team_by_channel(session, ctx.request.channel_id)
        if team is None:
            raise CommandError("error.no_team")
        require_manager(ctx, session, team, auth, creating=False)
        entries = {user_id: entry for user_id, entry in session.execute(
            select(Member.user_id, RosterEntry).join(Member, Member.id == RosterEntry.member_id)
            .where(RosterEntry.team_id == team.id, Member.user_id.in_([u["id"] for u in users])))}
        for user in users:
            entry = entries.get(user["id"])
            if entry is None or entry.removed_at is not None:
                absent.append(user["username"])
                continue
            # Kept as a removal, not deleted: /team sync must not add them back.
            entry.removed_at, entry.role = ctx.now, "member"
            removed.append(user["username"])
    return removed, absent


def leader(ctx: Ctx, command: TeamLeader) -> Reply:
    return Reply(ctx.say("team.leader", name=name(make_leader(ctx, command.user))))


def make_leader(ctx: Ctx, username: str) -> str:
    """Make this user a leader of ``ctx``'s channel's team (adding them if
    need be); their username."""
    auth = _prepare(ctx)
    require_may_manage(ctx, auth)
    user = resolve_usernames(ctx, [username])[0]
    if is_bot(user) or not is_active(user):
        raise CommandError("error.refused_users", names=_names(ctx, [user["username"]]),
                           reason=ctx.say("reason.bot" if is_bot(user) else "reason.deactivated",
                                          names=_names(ctx, [user["username"]])))
    with ctx.write() as session:
        team, created = ensure_team(ctx, session)
        require_manager(ctx, session, team, auth, creating=created)
        member = upsert_member(session, user, ctx.now)
        queries.ensure_leader(session, team.id, member.id, ctx.now)
    return user["username"]


def list_roster(ctx: Ctx, command: TeamList) -> Reply:
    with ctx.read() as session:
        team = queries.team_by_channel(session, ctx.request.channel_id)
        entries = queries.roster(session, team.id, include_inactive=True) if team else []
        rows = [(m.user_id, m.username, role, m.active) for m, role in entries]
    if not rows:
        raise CommandError("error.no_team")
    active = _refresh_active(ctx, rows)
    leaders = [u for uid, u, role, _ in rows if role == "leader"]
    members = [u for uid, u, role, _ in rows if role != "leader"]
    # A large roster is counted, like /report-status: never a list cut mid-name.
    lines = [ctx.say("team.list", leaders=_names_or_count(ctx, leaders), members=_names_or_count(ctx, members),
                     count=len(rows))]
    deactivated = [u for uid, u, _, _ in rows if not active.get(uid, True)]
    if deactivated:
        lines.append(ctx.say("team.list_deactivated", names=_names_or_count(ctx, deactivated)))
    return Reply("\n".join(lines))


def _refresh_active(ctx: Ctx, rows) -> dict[str, bool]:
    """Ask Mattermost who is still active, and remember it for the reminders."""
    stored = {uid: active for uid, _, _, active in rows}
    if ctx.console:
        return stored
    found: dict[str, dict] = {}
    ids = list(stored)
    for start in range(0, len(ids), USERS_PER_LOOKUP):
        for user in ctx.mattermost.get_users_by_ids(ids[start:start + USERS_PER_LOOKUP]):
            found[user["id"]] = user
    current = {uid: (is_active(found[uid]) if uid in found else False) for uid in ids}
    changed = [uid for uid in ids if current[uid] != stored[uid]]
    if changed:
        with ctx.write() as session:
            for member in session.scalars(select(Member).where(Member.user_id.in_(changed))):
                member.active = current[member.user_id]
    return current


def sync(ctx: Ctx, command: TeamSync) -> Reply:
    """Add the channel's active human members who were not removed before;
    never remove anyone; list roster members who left the channel."""
    auth = _prepare(ctx)
    # Ask Mattermost first: if it fails, nothing has been written.
    try:
        users, complete = _first_channel_users(ctx)
    except MattermostError as error:
        if error.status in (403, 404):  # a private channel the bot is not in
            raise CommandError("error.bot_not_in_channel", bot=bot_mention(ctx)) from None
        raise
    with ctx.write() as session:
        team, created = ensure_team(ctx, session)
        require_manager(ctx, session, team, auth, creating=created)
    if (complete and len(users) <= SYNC_INLINE_LIMIT) or not ctx.request.response_url:
        return Reply(_sync(ctx, _all_channel_users(ctx, users, complete)))

    def later():
        try:
            text = _sync(ctx, _all_channel_users(ctx, users, complete))
        except Exception:
            log.exception("team sync of %s failed", ctx.request.channel_id)
            text = ctx.say("error.internal", request_id=ctx.request.request_id or "sync")
        ctx.services.responder.send(ctx.request.response_url, text, voice=voice_fields(ctx.persona))

    return Reply(ctx.say("team.sync_started"), later=later)


def _first_channel_users(ctx: Ctx) -> tuple[list[dict], bool]:
    """The channel's members, a page at a time, until all are known or there
    are more than SYNC_INLINE_LIMIT: (users so far, whether that is all).
    However large the channel, the answer waits for no more pages than that."""
    users: list[dict] = []
    while True:
        page = ctx.mattermost.channel_users(ctx.request.channel_id, len(users) // MEMBERS_PER_PAGE)
        users.extend(page)
        if len(page) < MEMBERS_PER_PAGE:
            return users, True
        if len(users) > SYNC_INLINE_LIMIT:
            return users, False


def _all_channel_users(ctx: Ctx, users: list[dict], complete: bool) -> list[dict]:
    """``users`` (whole pages from the first on) and, unless ``complete``, the pages after them."""
    users = list(users)
    while not complete:
        page = ctx.mattermost.channel_users(ctx.request.channel_id, len(users) // MEMBERS_PER_PAGE)
        users.extend(page)
        complete = len(page) < MEMBERS_PER_PAGE
    return users


def _sync(ctx: Ctx, users: list[dict]) -> str:
    humans = list({u["id"]: u for u in users if is_active(u) and not is_bot(u)}.values())
    in_channel = {u["id"] for u in users}
    with ctx.write() as session:
        team, _ = ensure_team(ctx, session)
        # A few statements per 500 members, not a few per member: a channel may hold thousands.
        member_ids = upsert_members(session, humans, ctx.now)
        joined = queries.add_roster_entries(session, team.id, list(member_ids.values()), ctx.now)
        added = [u["username"] for u in humans if member_ids[u["id"]] in joined]
        left = [username for user_id, username in queries.roster_user_names(session, team.id)
                if user_id not in in_channel]
        count = queries.roster_count(session, team.id)
    lines = [ctx.say("team.synced", added=_names_or_count(ctx, added), count=count)]
    if left:
        lines.append(ctx.say("team.sync_left", names=_names_or_count(ctx, left)))
    return "\n".join(lines)


def link(ctx: Ctx, command: TeamLink) -> Reply:
    username = link_member(ctx, command.user, command.external_id)
    return Reply(ctx.say("team.linked", name=name(username), external_id=inert(command.external_id)))


def link_member(ctx: Ctx, username: str, external_id: str) -> str:
    """Set a roster member's id in the outside system, for this team only; their username."""
    auth = _prepare(ctx)
    require_may_manage(ctx, auth)
    user = resolve_usernames(ctx, [username])[0]
    with ctx.write() as session:
        team = queries.team_by_channel(session, ctx.request.channel_id)
        if team is None:
            raise CommandError("error.no_team")
        require_manager(ctx, session, team, auth, creating=False)
        member = upsert_member(session, user, ctx.now)
        entry = session.get(RosterEntry, (team.id, member.id))
        if entry is None or entry.removed_at is not None:
            # Only the members of one's own roster: an id decides whose reports count.
            raise CommandError("team.not_on_roster", names=name(user["username"]))
        # The id is this team's: it decides whose reports count here, and nowhere else.
        holder = session.scalar(select(Member.username).join(RosterEntry, RosterEntry.member_id == Member.id).where(
            RosterEntry.team_id == team.id, RosterEntry.removed_at.is_(None), Member.id != member.id,
            func.lower(RosterEntry.external_id) == external_id.lower()))
        if holder is not None:
            raise CommandError("error.bad_value", option="link", value=inert(external_id),
                               expected=f"an id not already linked to @{holder}")  # a code span: no escapes
        entry.external_id = external_id
    return user["username"]


def days_off(ctx: Ctx, command: TeamDaysOff) -> Reply:
    set_days_off(ctx, command.dates, off=not command.on)
    start, end = command.dates.start, command.dates.end
    dates = start.isoformat() if start == end else f"{start.isoformat()}..{end.isoformat()}"
    return Reply(ctx.say("team.days_off_cleared" if command.on else "team.days_off_set", dates=dates))


def set_days_off(ctx: Ctx, dates: DateSpan, *, off: bool) -> None:
    """Record (``off``) or cancel team days off for ``ctx``'s channel's team."""
    auth = _prepare(ctx)
    days = list(dates.each_day())
    with ctx.write() as session:
        team, created = ensure_team(ctx, session)
        require_manager(ctx, session, team, auth, creating=created)
        if not off:
            session.execute(delete(TeamDayOff).where(TeamDayOff.team_id == team.id, TeamDayOff.day.in_(days)))
        else:
            session.execute(queries.insert_for(session, TeamDayOff)
                            .values([{"team_id": team.id, "day": d} for d in days])
                            .on_conflict_do_nothing(index_elements=[TeamDayOff.team_id, TeamDayOff.day]))
