"""``/subscribe`` and ``/unsubscribe``: a team's reminder schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot import calendar
from bot.mattermost import MattermostError
from commands.context import Ctx
from commands.grammar import Subscribe, Unsubscribe
from commands.people import bot_mention
from commands.reply import CommandError, Reply
from commands.teams import authority, ensure_team, require_manager, require_team_channel
from db import queries
from db.models import Subscription
from bot.outlook import WEEKDAY_NAMES, outlook, weekdays_of, weekdays_text
from persona import inert

DEFAULTS = {"at": "09:00", "days": "0,1,2,3,4", "to": "channel", "check": "previous", "escalate": 3, "mention": True}


@dataclass(frozen=True)
class SubscriptionChange:
    """What a change of the subscription did, for the reply or the web page."""

    key: str  # subscribe.created | subscribe.updated | subscribe.reenabled
    summary: str  # the settings in the grammar's words
    next_line: str  # when the next reminder goes out
    persona: str  # the voice and language now chosen
    lang: str


def subscribe(ctx: Ctx, command: Subscribe) -> Reply:
    if not command.options:
        return _show(ctx)
    change = change_subscription(ctx, command.options)
    # Answer in the voice just chosen: `/subscribe lang ja` is confirmed in Japanese.
    ctx.persona = ctx.services.personas.get(change.persona, fallback=ctx.settings.persona)
    ctx.lang = change.lang
    return Reply(ctx.say(change.key, summary=change.summary, next=change.next_line))


def change_subscription(ctx: Ctx, options: dict) -> SubscriptionChange:
    """Create or update the subscription of ``ctx``'s channel with the options
    named, as ``ctx``'s caller, at ``ctx.now``: the one way to change it, for
    the command and the web form alike. Raises CommandError."""
    require_team_channel(ctx)
    _validate(ctx, options)
    _require_bot_can_post(ctx)
    auth = authority(ctx)
    with ctx.write() as session:
        team, created_team = ensure_team(ctx, session)
        require_manager(ctx, session, team, auth, creating=created_team)
        subscription = queries.subscription_of(session, team.id)
        if subscription is None:
            subscription = _new_subscription(ctx, team.id)
            session.add(subscription)
            key = "subscribe.created"
        else:
            key = "subscribe.updated" if subscription.enabled else "subscribe.reenabled"
        _apply(subscription, options, ctx.now)
        subscription.enabled = True
        subscription.paused = False
        subscription.failure_streak = 0
        session.flush()
        return SubscriptionChange(key, describe(ctx, subscription), next_reminder_line(ctx, session, subscription),
                                  subscription.persona, subscription.language)


def unsubscribe(ctx: Ctx, command: Unsubscribe) -> Reply:
    require_team_channel(ctx)
    auth = authority(ctx)
    with ctx.write() as session:
        team = queries.team_by_channel(session, ctx.request.channel_id)
        subscription = queries.subscription_of(session, team.id) if team else None
        if subscription is None or not subscription.enabled:
            return Reply(ctx.say("unsubscribe.none"))
        require_manager(ctx, session, team, auth, creating=False)
        subscription.enabled = False
        subscription.updated_at = ctx.now
    return Reply(ctx.say("unsubscribe.done"))


def _show(ctx: Ctx) -> Reply:
    with ctx.read() as session:
        team = queries.team_by_channel(session, ctx.request.channel_id)
        subscription = queries.subscription_of(session, team.id) if team else None
        if subscription is None:
            return Reply(ctx.say("subscribe.none"))
        summary = describe(ctx, subscription)
        if not subscription.enabled:
            return Reply(ctx.say("subscribe.disabled", summary=summary))
        text = ctx.say("subscribe.show", summary=summary)
        if subscription.paused:
            text += "\n" + ctx.say("subscribe.paused_note")
        return Reply(text)


def _validate(ctx: Ctx, options: dict) -> None:
    """Everything is checked before anything is written."""
    persona = options.get("persona")
    if persona is not None and persona not in ctx.services.personas:
        raise CommandError("error.unknown_persona", value=inert(persona),
                           choices=", ".join(ctx.services.personas.names()))
    country = options.get("holidays")
    if country and country not in calendar.supported_countries():
        raise CommandError("error.bad_value", option="holidays", value=inert(country), expected="CC|none")
    days = options.get("days")
    if days is not None and not days:
        raise CommandError("error.bad_value", option="days", value="", expected="mon-fri | mon,wed,fri")


def _require_bot_can_post(ctx: Ctx) -> None:
    if ctx.console:
        return
    client = ctx.mattermost
    try:
        client.get_channel_member(ctx.request.channel_id, client.bot_user_id)
        channel = client.get_channel(ctx.request.channel_id)
    except MattermostError as error:
        if error.status in (403, 404):
            raise CommandError("error.bot_not_in_channel", bot=bot_mention(ctx)) from None
        raise
    if channel.get("delete_at"):
        raise CommandError("error.bot_not_in_channel", bot=bot_mention(ctx))


def _new_subscription(ctx: Ctx, team_id: int) -> Subscription:
    settings = ctx.settings
    return Subscription(
        team_id=team_id, enabled=True, paused=False, at_time=DEFAULTS["at"], timezone=settings.timezone,
        weekdays=DEFAULTS["days"], delivery=DEFAULTS["to"], persona=settings.persona, language=settings.language,
        holidays=settings.holidays, check_day=DEFAULTS["check"], escalate=DEFAULTS["escalate"],
        mention=DEFAULTS["mention"], failure_streak=0, created_at=ctx.now, updated_at=ctx.now)


def _apply(subscription: Subscription, options: dict, now: datetime) -> None:
    if "at" in options:
        subscription.at_time = options["at"].strftime("%H:%M")
    if "tz" in options:
        subscription.timezone = options["tz"]
    if "days" in options:
        subscription.weekdays = weekdays_text(options["days"])
    if "to" in options:
        subscription.delivery = options["to"]
    if "persona" in options:
        subscription.persona = options["persona"]
    if "lang" in options:
        subscription.language = options["lang"]
    if "holidays" in options:
        subscription.holidays = options["holidays"]
    if "check" in options:
        subscription.check_day = options["check"]
    if "escalate" in options:
        subscription.escalate = options["escalate"]
    if "mention" in options:
        subscription.mention = options["mention"]
    subscription.updated_at = now


def describe(ctx: Ctx, subscription: Subscription) -> str:
    """One settings line in the grammar's own words, so it can be typed back."""
    return "`" + " ".join(f"{name} {value}" for name, value in current_options(subscription).items()) + "`"


def current_options(subscription: Subscription) -> dict[str, str]:
    """Every option's current value as it would be typed after its name: the
    one description of the settings (the reply's summary, the web form's fields)."""
    return {
        "at": subscription.at_time, "tz": subscription.timezone,
        "days": _days_text(weekdays_of(subscription.weekdays)), "to": subscription.delivery,
        "persona": subscription.persona, "lang": subscription.language,
        "holidays": subscription.holidays or "none", "check": subscription.check_day,
        "escalate": str(subscription.escalate), "mention": "on" if subscription.mention else "off",
    }


def _days_text(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if ordered and ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
        return f"{WEEKDAY_NAMES[ordered[0]]}-{WEEKDAY_NAMES[ordered[-1]]}"
    return ",".join(WEEKDAY_NAMES[d] for d in ordered)


def next_reminder_line(ctx: Ctx, session, subscription: Subscription) -> str:
    """When the next reminder goes out, in the subscription's zone, and the work date it checks."""
    seen = outlook(session, subscription, ctx.now, timedelta(minutes=ctx.settings.catchup_minutes))
    if seen.next_at is None:
        return "—"
    local = seen.next_at.astimezone(ZoneInfo(subscription.timezone))
    text = local.strftime("%Y-%m-%d (%a) %H:%M ") + subscription.timezone
    if seen.next_work_date is not None:
        text += f" → {seen.next_work_date.isoformat()}"
    return text
