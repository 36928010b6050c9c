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
from bot.outlook import WEEKDAY_NAMES, next_digest_at, outlook, weekdays_of, weekdays_text
from persona import inert, join
from persona.render import language_of

# How a date's weekday reads in each language: (水), not (Wed), in Japanese.
_WEEKDAY_LABELS = {"en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), "ja": tuple("月火水木金土日")}
DEFAULTS = {"at": "09:00", "days": "0,1,2,3,4", "to": "channel", "check": "previous", "escalate": 3, "mention": True}


@dataclass(frozen=True)
class SubscriptionChange:
    """What a change of the subscription did, for the reply or the web page."""

    key: str  # subscribe.created | subscribe.updated | subscribe.reenabled
    summary: str  # the settings in the grammar's words
    next_line: str  # when the next reminder goes out
    persona: str  # the voice and language now chosen
    lang: str
    note: str = ""  # said after the reply (nudges in channel mode are DMs)


def subscribe(ctx: Ctx, command: Subscribe) -> Reply:
    if not command.options:
        return _show(ctx)
    change = change_subscription(ctx, command.options)
    # Answer in the voice just chosen: `/subscribe lang ja` is confirmed in Japanese.
    ctx.persona = ctx.services.personas.get(change.persona, fallback=ctx.settings.persona)
    ctx.lang = change.lang
    return Reply(ctx.say(change.key, summary=change.summary, next=change.next_line) + change.note)


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
        _require_nudges_after_at(subscription, options)  # before anything is changed
        _apply(subscription, options, ctx.now)
        subscription.enabled = True
        subscription.paused = False
        subscription.failure_streak = 0
        session.flush()
        # Answer in the voice just chosen: `/subscribe lang ja` is confirmed in Japanese.
        ctx.persona = ctx.services.personas.get(subscription.persona, fallback=ctx.settings.persona)
        ctx.lang = subscription.language
        return SubscriptionChange(key, describe(ctx, subscription), next_reminder_line(ctx, session, subscription),
                                  subscription.persona, subscription.language, _nudges_note(ctx, subscription))


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
        text = ctx.say("subscribe.show", summary=summary) + _nudges_note(ctx, subscription)
        if subscription.paused:
            text += "\n" + ctx.say("subscribe.paused_note")
        return Reply(text)


def _validate(ctx: Ctx, options: dict) -> None:
    """Everything is checked before anything is written."""
    persona = options.get("persona")
    if persona is not None and persona not in ctx.services.personas:
        raise CommandError("error.unknown_persona", value=inert(persona),
                           choices=join(ctx.services.personas.names(), ctx.lang))
    country = options.get("holidays")
    if country and country not in calendar.supported_countries():
        raise CommandError("error.bad_value", option="holidays", value=inert(country), expected="CC|none")
    days = options.get("days")
    if days is not None and not days:
        raise CommandError("error.bad_value", option="days", value="", expected="mon-fri | mon,wed,fri")


def _require_nudges_after_at(subscription: Subscription | None, options: dict) -> None:
    """Each nudge comes later the same day than the reminder, also when only
    one of the two is changed."""
    at = options["at"].strftime("%H:%M") if "at" in options else (
        subscription.at_time if subscription is not None else DEFAULTS["at"])
    if "again" in options:
        nudges = [t.strftime("%H:%M") for t in options["again"]]
    else:
        nudges = nudge_times(subscription) if subscription is not None else []
    early = [t for t in nudges if t <= at]
    if early:
        raise CommandError("error.again_not_after_at", again=early[0], at=at)


def nudge_times(subscription: Subscription) -> list[str]:
    return [t for t in (subscription.again_times or "").split(",") if t]


def _nudges_note(ctx: Ctx, subscription: Subscription) -> str:
    """Nudges are DMs: a subscription in channel mode says they do not go out."""
    if nudge_times(subscription) and subscription.delivery == "channel":
        return "\n" + ctx.say("subscribe.again_channel_note")
    return ""


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
        mention=DEFAULTS["mention"], again_times="", digest_day=None, digest_time=None, failure_streak=0,
        created_at=ctx.now, updated_at=ctx.now)


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
    if "again" in options:
        subscription.again_times = ",".join(t.strftime("%H:%M") for t in options["again"])
    if "digest" in options:
        day, at = options["digest"] or (None, None)
        subscription.digest_day = day
        subscription.digest_time = at.strftime("%H:%M") if at is not None else None
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
        "again": ",".join(nudge_times(subscription)) or "off",
        "digest": (f"{WEEKDAY_NAMES[subscription.digest_day]} {subscription.digest_time}"
                   if subscription.digest_day is not None and subscription.digest_time else "off"),
    }


def _days_text(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if ordered and ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
        return f"{WEEKDAY_NAMES[ordered[0]]}-{WEEKDAY_NAMES[ordered[-1]]}"
    return ",".join(WEEKDAY_NAMES[d] for d in ordered)


def next_reminder_line(ctx: Ctx, session, subscription: Subscription) -> str:
    """When reminders go out next: nudges still to come today, the next
    morning run (with its nudges), the next digest."""
    catchup = timedelta(minutes=ctx.settings.catchup_minutes)
    seen = outlook(session, subscription, ctx.now, catchup)
    zone = ZoneInfo(subscription.timezone)
    nudges = nudge_times(subscription) if subscription.delivery != "channel" else []
    parts = []
    local_now = ctx.now.astimezone(zone).strftime("%H:%M")
    later_today = [t for t in nudges if t > local_now]
    if seen.todays_work_date is not None and later_today:
        parts.append(f"again {', '.join(later_today)} → {seen.todays_work_date.isoformat()}")
    if seen.next_at is not None:
        text = f"{_local_day(ctx, seen.next_at, zone)} {seen.next_at.astimezone(zone):%H:%M} {subscription.timezone}"
        if seen.next_work_date is not None:
            text += f" → {seen.next_work_date.isoformat()}"
        if nudges:
            text += f", again {', '.join(nudges)}"
        parts.append(text)
    digest_at = next_digest_at(session, subscription, ctx.now, catchup)
    if digest_at is not None:
        parts.append(f"digest {_local_day(ctx, digest_at, zone)} {digest_at.astimezone(zone):%H:%M}")
    return "; ".join(parts) or "—"


def _local_day(ctx: Ctx, when, zone) -> str:
    """``2026-12-02 (Wed)``, with the weekday in the reply's language: ``(水)``."""
    local = when.astimezone(zone)
    weekday = _WEEKDAY_LABELS.get(language_of(ctx.lang), _WEEKDAY_LABELS["en"])[local.weekday()]
    return f"{local:%Y-%m-%d} ({weekday})"
