"""A team's reminder settings: every ``/subscribe`` option as a form field,
read by the grammar's own readers and saved by the command's own function."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass

from flask import g, redirect, render_template, request, url_for

from bot.calendar import supported_countries
from commands.grammar import read_option
from commands.reply import CommandError
from commands.subscribe import DEFAULTS, change_subscription, current_options, next_reminder_line
from commands.tokens import UsageError
from db import queries
from web.pages.access import services, team_view
from web.pages.blueprint import bp
from web.pages.forms import acting_in, done, refusal
from web.pages.i18n import translate


@dataclass(frozen=True)
class Field:
    name: str  # the option's name in /subscribe
    kind: str  # time | text | number | choice
    choices: tuple[str, ...] = ()
    suggestions: str | None = None  # a datalist of likely values


def fields() -> list[Field]:
    """The form, one field per option; a new option is one more line here
    (and its label and help in the catalogues)."""
    return [
        Field("at", "time"),
        Field("tz", "text", suggestions="zones"),
        Field("days", "text"),
        Field("to", "choice", ("channel", "dm", "both")),
        Field("persona", "choice", tuple(services().personas.names())),
        Field("lang", "choice", ("en", "ja")),
        Field("holidays", "text", suggestions="countries"),
        Field("check", "choice", ("previous", "same-day")),
        Field("escalate", "number"),
        Field("mention", "choice", ("on", "off")),
        Field("again", "text"),
        Field("digest", "text"),
    ]


# Which field a command's refusal is about, when its message does not say.
REFUSAL_FIELDS = {"error.unknown_persona": "persona", "error.bad_timezone": "tz", "error.again_not_after_at": "again"}


@bp.get("/teams/<int:team_id>/settings")
def settings(team_id: int):
    with services().database.read() as db:
        view = team_view(db, team_id, manage=True)
        subscription = queries.subscription_of(db, team_id)
        values = current_options(subscription) if subscription is not None else _defaults()
        ctx = acting_in(view.team, "/subscribe")
        next_line = next_reminder_line(ctx, db, subscription) if subscription is not None and subscription.enabled \
            else None
    return _page(view, subscription, values, {}, next_line)


@bp.post("/teams/<int:team_id>/settings")
def save_settings(team_id: int):
    with services().database.read() as db:
        view = team_view(db, team_id, manage=True)
        subscription = queries.subscription_of(db, team_id)
    current = current_options(subscription) if subscription is not None else {}
    ctx = acting_in(view.team, "/subscribe")
    entered, options, errors = {}, {}, {}
    for field in fields():
        if field.name not in request.form:
            # not sent at all: left as it is, like an option the command does not name
            entered[field.name] = current.get(field.name, _defaults().get(field.name, ""))
            continue
        value = _normalized(field.name, request.form[field.name])
        entered[field.name] = value
        if subscription is not None and value == current[field.name]:
            continue  # unchanged: like an option not named in the command
        got = read_option(field.name, value)
        if isinstance(got, UsageError):
            errors[field.name] = refusal(ctx, got)
        else:
            options[field.name] = got
    if not errors:
        try:
            change = change_subscription(ctx, options)
        except CommandError as error:
            errors[REFUSAL_FIELDS.get(error.key, error.params.get("option", ""))] = refusal(ctx, error)
        else:
            done(translate(g.lang, "settings.saved", next=change.next_line))
            return redirect(url_for("web.settings", team_id=team_id), 303)
    return _page(view, subscription, entered, errors, None, status=400)


def _page(view, subscription, values: dict, errors: dict, next_line: str | None, status: int = 200):
    suggestions = {"zones": _zone_names(), "countries": ["none", *sorted(supported_countries())]}
    return render_template("settings.html", view=view, subscription=subscription, fields=fields(), values=values,
                           errors=errors, next_line=next_line, suggestions=suggestions), status


def _zone_names() -> list[str]:
    return sorted(name for name in zoneinfo.available_timezones() if "/" in name or name == "UTC")


def _defaults() -> dict[str, str]:
    settings_ = services().settings
    return {"at": DEFAULTS["at"], "tz": settings_.timezone, "days": "mon-fri", "to": DEFAULTS["to"],
            "persona": settings_.persona, "lang": settings_.language, "holidays": settings_.holidays or "none",
            "check": DEFAULTS["check"], "escalate": str(DEFAULTS["escalate"]),
            "mention": "on" if DEFAULTS["mention"] else "off", "again": "off", "digest": "off"}


def _normalized(name: str, value: str) -> str:
    value = value.strip()[:200]
    if name in ("days", "again"):  # `mon, wed, fri` reads like `mon,wed,fri`, as in the command
        value = re.sub(r"\s*,\s*", ",", value)
    if name == "digest":  # `fri   17:00` as `fri 17:00`
        value = " ".join(value.split())
    return value
