"""``/report-status``: who has and hasn't reported for a work date in this
channel's team."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from bot import calendar
from bot.reminders.command_posts import enqueue_status, send_now
from bot.reminders.common import UNDELIVERABLE
from bot.reminders.sender import GONE_PREFIX
from commands.context import Ctx
from commands.grammar import ShowStatus
from commands.people import bot_mention
from commands.reply import CommandError, Reply
from db import queries
from bot.outlook import outlook, work_day_test
from db.streaks import streaks
from persona import join, name

# Past this many names a status line becomes counts: a long list helps no one
# and must never be cut mid-name.
NAMES_LIMIT = 40
OUTSIDE_SOURCE_CACHE = timedelta(seconds=60)
TEXT_LIMIT = 3500
STREAKS_SHOWN = 3


def show_status(ctx: Ctx, command: ShowStatus) -> Reply:
    with ctx.read() as session:
        team = queries.team_by_channel(session, ctx.request.channel_id)
        if team is None:
            raise CommandError("error.no_team")
        subscription = queries.subscription_of(session, team.id)
        if subscription is not None and (not subscription.enabled or subscription.paused):
            subscription = None  # no runs happen: answer as if there were no subscription
        note = None
        work_date = command.work_date
        valid_until = _next_midnight(ctx.now, ctx.timezone)
        if subscription is not None:
            # the default work date turns over at the subscription's midnight too
            valid_until = min(valid_until, _next_midnight(ctx.now, subscription.timezone))
        if work_date is None:
            work_date, note, next_run = _default_work_date(ctx, session, subscription)
            if next_run is not None:
                valid_until = min(valid_until, next_run)
        members = queries.roster(session, team.id)
        reported, off = queries.filed_and_off(session, [m.id for m, _ in members], work_date, team.id)
        linked = queries.external_ids(session, team.id)
        longest = longest_streaks(session, team.id, members, work_date)
    # The outside source is asked after the session is closed: it may take seconds.
    outside, unreachable = _outside_reports(ctx, members, linked, work_date)
    reported |= outside
    off -= reported
    text = render_status(ctx, work_date, members, reported, off, longest)
    if unreachable:
        text = f"{text}\n{ctx.say('status.source_unreachable', date=work_date.isoformat())}"
        valid_until = None  # never reuse an answer that could not count everything
    elif ctx.services.source is not None and ctx.services.source.name != "builtin":
        # outside reports change without nippo knowing: reuse briefly at most
        valid_until = min(valid_until, ctx.now + OUTSIDE_SOURCE_CACHE)
    if note:
        text = f"{text}\n{note}"
    if command.public:
        return _post_publicly(ctx, text)
    return Reply(text, cache_until=valid_until)


def _post_publicly(ctx: Ctx, text: str) -> Reply:
    """The status as a post in the channel, in the persona's voice: an outbox
    message like the reminders, sent from background work at once (nothing
    waits for Mattermost here) and retried by the scheduler if that fails."""
    message_id = enqueue_status(ctx.services, ctx.request.channel_id, text, ctx.persona.name, ctx.lang, ctx.now)

    def later() -> None:
        outcome = send_now(ctx.services, message_id, ctx.now)
        if outcome is None or outcome.state != UNDELIVERABLE or not ctx.request.response_url:
            return
        if (outcome.error or "").startswith(GONE_PREFIX):
            told = ctx.say("error.bot_not_in_channel", bot=bot_mention(ctx))
        else:
            told = ctx.say("error.internal", request_id=f"outbox {message_id}")
        ctx.services.responder.send(ctx.request.response_url, told)

    return Reply(ctx.say("status.posted"), later=later)


def _next_midnight(now: datetime, zone_name: str) -> datetime:
    zone = ZoneInfo(zone_name)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0, 0), zone).astimezone(timezone.utc)


def _default_work_date(ctx: Ctx, session, subscription):
    """Today's run's work date if it happened, else the one the next run checks;
    with no subscription, the previous Monday–Friday day in NIPPO_TIMEZONE."""
    work_date, next_run = default_work_date(session, subscription, ctx.now, ctx.settings)
    if next_run is not None:
        return work_date, None, next_run
    zone = ctx.settings.timezone
    note = ctx.say("status.no_subscription", date=work_date.isoformat(), timezone=zone)
    return work_date, note, _next_midnight(ctx.now, zone)


def default_work_date(session, subscription, now: datetime, settings) -> tuple[date, datetime | None]:
    """The work date status shows by default, and the next run (None when
    there is none: the date is then the previous Monday–Friday day in
    NIPPO_TIMEZONE). The web pages show the same day."""
    if subscription is not None:
        seen = outlook(session, subscription, now, timedelta(minutes=settings.catchup_minutes))
        if seen.todays_work_date is not None:
            return seen.todays_work_date, seen.next_at
        if seen.next_work_date is not None:
            return seen.next_work_date, seen.next_at
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    return calendar.last_weekday_before(today), None


def _outside_reports(ctx: Ctx, members, linked: dict[int, str], work_date: date) -> tuple[set[int], bool]:
    """Members an outside report source counts as reported (docs/report-sources.md), and
    whether the source could not be asked."""
    source = ctx.services.source
    if source is None or source.name == "builtin":
        return set(), False
    from bot.sources import SourceUnavailable, member_key

    try:
        keys = source.reported_keys(work_date)
    except SourceUnavailable:
        return set(), True
    return {m.id for m, _ in members if (member_key(m, source.member_key, linked.get(m.id)) or "") in keys}, False


def longest_streaks(session, team_id: int, members, work_date: date) -> list[tuple[str, int]]:
    """(username, streak) of the longest current streaks as of the work
    date, longest first; a streak of one day is none to speak of."""
    found = streaks(session, [m.id for m, _ in members], team_id, work_date, work_day_test(session, team_id))
    ranked = sorted(((m.username, found[m.id]) for m, _ in members if found[m.id] >= 2),
                    key=lambda item: (-item[1], item[0]))
    return ranked[:STREAKS_SHOWN]


def render_status(ctx: Ctx, work_date: date, members, reported: set[int], off: set[int],
                  longest: list[tuple[str, int]] = ()) -> str:
    if not members:
        return ctx.say("status.empty", date=work_date.isoformat())
    done = [m for m, _ in members if m.id in reported]
    absent = [m for m, _ in members if m.id in off]
    missing = [m for m, _ in members if m.id not in reported and m.id not in off]
    counts = {"reported": len(done), "missing": len(missing), "absent": len(absent), "total": len(members)}
    lines = [ctx.say("status.header", date=work_date.isoformat(), **counts)]
    if not missing:
        lines.append(ctx.say("status.everyone", date=work_date.isoformat()))
    if len(members) > NAMES_LIMIT:
        lines.append(ctx.say("status.counts_only", **counts))
        if longest:
            lines.append(streaks_line(ctx, longest))
        return "\n".join(lines)
    if missing:
        lines.append(ctx.say("status.missing", names=join((name(m.username) for m in missing), ctx.lang)))
    if longest:
        lines.append(streaks_line(ctx, longest))
    for key, people in (("status.reported", done), ("status.absent", absent)):
        if people:
            lines.append(ctx.say(key, names=join((name(m.username) for m in people), ctx.lang)))
    text = "\n".join(lines)
    if len(text) > TEXT_LIMIT:
        text = "\n".join(lines[:1] + [ctx.say("status.counts_only", **counts)])
    return text


def streaks_line(ctx: Ctx, longest: list[tuple[str, int]]) -> str:
    return ctx.say("status.streaks", streaks=join((f"{name(username)} ({days})" for username, days in longest),
                                                   ctx.lang))
