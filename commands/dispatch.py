"""From a slash-command request to a reply: choose the voice, parse, route.

Expected refusals (grammar errors, ``CommandError``) become the persona's
message followed by the command's usage line. Anything unexpected is logged
with a request id and the user gets a short apology, never exception text.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

from sqlalchemy import select

from bot.config import valid_timezone
from bot.mattermost import MattermostError
from bot.responder import voice_fields
from commands import grammar
from commands.context import Ctx
from commands.reply import CommandError, Reply
from commands.request import CommandRequest
from db.models import Member, Subscription, Team
from persona import inert, join

log = logging.getLogger("nippo.commands")

ECHO_LIMIT = 100  # characters of a refused token shown back

USAGE_KEYS = {
    "/report": "usage.report",
    "/report-status": "usage.report_status",
    "/subscribe": "usage.subscribe",
    "/unsubscribe": "usage.unsubscribe",
    "/team": "usage.team",
}
# Params of a grammar error that hold what the user typed; the others (option
# names, the expected grammar) are nippo's own words and may sit in code spans.
USER_TYPED = ("token", "value")
HELP_KEYS = {
    "report": "help.report",
    "report-status": "help.report_status",
    "subscribe": "help.subscribe",
    "unsubscribe": "usage.unsubscribe",
    "team": "help.team",
}


def handle_command(services, request: CommandRequest, now: datetime) -> Reply:
    cache_key = version = None
    if request.command == "/report-status" and services.status_cache is not None:
        # Read the version before rendering: a write meanwhile makes the entry stale at once.
        cache_key = (request.channel_id, request.user_id, request.text.strip().lower())
        try:
            version = services.status_cache.version(services.database)
        except Exception:  # the database will answer for itself below; no cache this time
            log.warning("could not read the data version; answering without the status cache")
            cache_key = None
        cached = services.status_cache.get(cache_key, version, now) if cache_key else None
        if cached is not None:
            text, voice = cached
            return Reply(text, voice=voice)
    reply = _handle(services, request, now)
    if cache_key is not None and reply.cache_until is not None:
        # The voice is the channel's subscription's: data, like the text.
        services.status_cache.put(cache_key, version, reply.cache_until, (reply.text, reply.voice))
    return reply


def _handle(services, request: CommandRequest, now: datetime) -> Reply:
    # The web layer's id, so the reference in an apology finds the request's log lines.
    request_id = request.request_id or secrets.token_hex(8)
    try:
        ctx = make_context(services, request, now)
    except Exception:
        log.exception("request %s: %s failed before it started", request_id, request.command)
        persona = services.personas.get(services.settings.persona)
        return Reply(persona.say("error.internal", services.settings.language, request_id=request_id),
                     voice=voice_fields(persona))
    reply = _answer(ctx, request_id)
    reply.voice = voice_fields(ctx.persona)  # the handler may have changed it: `/subscribe persona polite`
    return reply


def _answer(ctx: Ctx, request_id: str) -> Reply:
    request = ctx.request
    try:
        return _route(ctx)
    except CommandError as error:
        return Reply(refusal(ctx, error.key, error.params))
    except MattermostError as error:
        log.warning("request %s: %s failed talking to Mattermost (status %s, %s)", request_id, request.command,
                    error.status, error.error_id)
        return Reply(ctx.say("error.internal", request_id=request_id))
    except Exception:
        log.exception("request %s: %s failed", request_id, request.command)
        return Reply(ctx.say("error.internal", request_id=request_id))


def refusal(ctx: Ctx, key: str, params: dict) -> str:
    if ctx.request.command not in USAGE_KEYS:  # no command's usage fits a trigger nippo does not serve
        return ctx.say(key, **params)
    return f"{ctx.say(key, **params)}\n{usage(ctx)}"


def usage(ctx: Ctx) -> str:
    return ctx.say(USAGE_KEYS.get(ctx.request.command, "usage.report"))


def make_context(services, request: CommandRequest, now: datetime) -> Ctx:
    """The voice is the channel's subscription's, else the defaults; "today" is
    the caller's zone, else the subscription's, else NIPPO_TIMEZONE."""
    settings = services.settings
    persona_name, lang, zone = settings.persona, settings.language, settings.timezone
    with services.database.read() as session:
        row = session.execute(
            select(Subscription.persona, Subscription.language, Subscription.timezone)
            .join(Team, Team.id == Subscription.team_id)
            .where(Team.channel_id == request.channel_id)
        ).first()
        member_zone = session.scalar(select(Member.timezone).where(Member.user_id == request.user_id))
    if row is not None:
        persona_name, lang, zone = row
    if member_zone and valid_timezone(member_zone):
        zone = member_zone
    persona = services.personas.get(persona_name, fallback=settings.persona)
    return Ctx(request=request, services=services, now=now, persona=persona, lang=lang, timezone=zone)


def _echo(typed: str) -> str:
    """What the user typed, shown back inert and short: a reply must stay far
    below Mattermost's post limit whatever was typed."""
    shown = "".join(c if c.isprintable() else "\ufffd" for c in typed[:ECHO_LIMIT])  # a NUL shows as �
    return inert(shown if len(typed) <= ECHO_LIMIT else shown + "…")


def _route(ctx: Ctx) -> Reply:
    from commands import report, status, subscribe, team, weblink

    command = ctx.request.command
    text = ctx.request.text
    if command == "/report":
        parsed = grammar.parse_report(text, ctx.today)
    elif command == "/report-status":
        parsed = grammar.parse_report_status(text, ctx.today)
    elif command == "/subscribe":
        parsed = grammar.parse_subscribe(text)
    elif command == "/unsubscribe":
        parsed = grammar.parse_unsubscribe(text)
    elif command == "/team":
        parsed = grammar.parse_team(text, ctx.today)
    else:
        raise CommandError("error.unknown_command", command=inert(command),
                           commands=join(list(USAGE_KEYS), ctx.lang))

    if isinstance(parsed, grammar.UsageError):
        # What the user typed is shown inert and short, never as markup or a ping; nippo's own words as they are.
        raise CommandError(parsed.key, **{k: _echo(v) if k in USER_TYPED and isinstance(v, str) else v
                                          for k, v in parsed.params.items()})
    if isinstance(parsed, grammar.Help):
        return Reply(ctx.say(HELP_KEYS.get(parsed.command, "usage.report")))

    handlers = {
        grammar.FileReport: report.file_report,
        grammar.MarkAbsence: report.mark_absence,
        grammar.ShowStatus: status.show_status,
        grammar.Subscribe: subscribe.subscribe,
        grammar.Unsubscribe: subscribe.unsubscribe,
        grammar.TeamAdd: team.add,
        grammar.TeamRemove: team.remove,
        grammar.TeamLeader: team.leader,
        grammar.TeamList: team.list_roster,
        grammar.TeamSync: team.sync,
        grammar.TeamLink: team.link,
        grammar.TeamDaysOff: team.days_off,
        grammar.TeamWeb: weblink.web_link,
    }
    return handlers[type(parsed)](ctx, parsed)
