"""A team's roster page: add, remove, make leader, link external ids,
absences and team days off — each form read by the grammar and carried out
by the command's own function, with the command's own messages."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import redirect, render_template, request, url_for

from commands import grammar
from commands.report import set_absence
from commands.reply import CommandError
from commands.team import add_members, link_member, make_leader, remove_members, set_days_off
from commands.tokens import UsageError, username
from db import history, queries
from persona import join, name
from web.pages.access import services, team_view
from web.pages.blueprint import bp
from web.pages.forms import acting_in, done, refusal, say

RECENT_DAYS = 7  # absences and days off shown from a week ago on
# The most of each listed on the page: any member may mark a year off at a time, as often as they like.
LISTED = 200


@bp.get("/teams/<int:team_id>/roster")
def roster(team_id: int):
    return _page(team_id, {}, {})


def _page(team_id: int, errors: dict, entered: dict, status: int = 200):
    with services().database.read() as db:
        view = team_view(db, team_id, manage=True)
        subscription = queries.subscription_of(db, team_id)
        zone = ZoneInfo(subscription.timezone if subscription is not None else services().settings.timezone)
        since = services().clock().astimezone(zone).date() - timedelta(days=RECENT_DAYS)
        rows = history.roster_rows(db, team_id, include_inactive=True)
        absences = history.team_absences(db, team_id, since, limit=LISTED + 1)
        days_off = history.team_days_off(db, team_id, since, limit=LISTED + 1)
    return render_template("roster.html", view=view, rows=rows, absences=absences[:LISTED],
                           more_absences=len(absences) > LISTED, days_off=days_off[:LISTED],
                           more_days_off=len(days_off) > LISTED, errors=errors, entered=entered), status


def _act(team_id: int, form: str, command: str, work):
    """Run one change as the command ``command`` would; its refusal goes next to the form."""
    with services().database.read() as db:
        view = team_view(db, team_id, manage=True)
    ctx = acting_in(view.team, command)
    try:
        message = work(ctx)
    except CommandError as error:
        return _page(team_id, {form: refusal(ctx, error)}, {form: dict(request.form)}, status=400)
    if isinstance(message, UsageError):
        return _page(team_id, {form: refusal(ctx, message)}, {form: dict(request.form)}, status=400)
    done(message)
    return redirect(url_for("web.roster", team_id=team_id), 303)


def _names(ctx, usernames: list[str]) -> str:
    return join((name(u) for u in usernames), ctx.lang)


def _users_text(value: str) -> str:
    """`bob carol` reads as `@bob @carol`: a form has no @-completion to rely on."""
    return " ".join(word if word.startswith("@") else f"@{word}" for word in value.replace(",", " ").split())


@bp.post("/teams/<int:team_id>/roster/add")
def roster_add(team_id: int):
    def work(ctx):
        parsed = grammar.parse_team("add " + _users_text(request.form.get("users", "")[:20000]), ctx.today)
        if isinstance(parsed, UsageError):
            return parsed
        added, already = add_members(ctx, list(parsed.users))
        lines = [say(ctx, "team.added", names=_names(ctx, added))] if added else []
        if already:
            lines.append(say(ctx, "team.already", names=_names(ctx, already)))
        return " ".join(lines)
    return _act(team_id, "add", "/team", work)


@bp.post("/teams/<int:team_id>/roster/remove")
def roster_remove(team_id: int):
    def work(ctx):
        user = _one_user(request.form.get("user", ""), "remove")
        if isinstance(user, UsageError):
            return user
        removed, absent = remove_members(ctx, [user])
        if absent:
            return say(ctx, "team.not_on_roster", names=_names(ctx, absent))
        return say(ctx, "team.removed", names=_names(ctx, removed))
    return _act(team_id, "member", "/team", work)


@bp.post("/teams/<int:team_id>/roster/leader")
def roster_leader(team_id: int):
    def work(ctx):
        user = _one_user(request.form.get("user", ""), "leader")
        if isinstance(user, UsageError):
            return user
        return say(ctx, "team.leader", name=name(make_leader(ctx, user)))
    return _act(team_id, "member", "/team", work)


@bp.post("/teams/<int:team_id>/roster/link")
def roster_link(team_id: int):
    def work(ctx):
        external_id = request.form.get("external_id", "").strip()
        parsed = grammar.parse_team(f"link @{request.form.get('user', '')[:64]} {external_id[:400]}", ctx.today)
        if isinstance(parsed, UsageError):
            return parsed
        who = link_member(ctx, parsed.user, parsed.external_id)
        return say(ctx, "team.linked", name=name(who), external_id=parsed.external_id)
    return _act(team_id, "link", "/team", work)


@bp.post("/teams/<int:team_id>/roster/absence")
def roster_absence(team_id: int):
    def work(ctx):
        verb = "on" if request.form.get("action") == "on" else "off"
        user = _one_user(request.form.get("user", ""), verb)
        if isinstance(user, UsageError):
            return user
        dates = request.form.get("dates", "").strip()[:60] or "today"
        parsed = grammar.parse_report(f"{verb} @{user} {dates}", ctx.today)
        if isinstance(parsed, UsageError):
            return parsed
        if not isinstance(parsed, grammar.MarkAbsence):  # what followed was no date: the command would file it
            return grammar.UsageError("report", "error.bad_date", {"token": dates})
        who, removed = set_absence(ctx, parsed.user, parsed.dates, off=not parsed.on)
        span = _span(parsed.dates)
        if parsed.on:
            return say(ctx, "absence.cleared" if removed else "absence.none", who=name(who), dates=span)
        return say(ctx, "absence.set", who=name(who), dates=span)
    return _act(team_id, "absence", "/report", work)


@bp.post("/teams/<int:team_id>/roster/days-off")
def roster_days_off(team_id: int):
    def work(ctx):
        verb = "on" if request.form.get("action") == "on" else "off"
        parsed = grammar.parse_team(f"{verb} {request.form.get('dates', '').strip()[:60]}", ctx.today)
        if isinstance(parsed, UsageError):
            return parsed
        set_days_off(ctx, parsed.dates, off=not parsed.on)
        return say(ctx, "team.days_off_cleared" if parsed.on else "team.days_off_set", dates=_span(parsed.dates))
    return _act(team_id, "days_off", "/team", work)


def _one_user(value: str, option: str) -> str | UsageError:
    found = username("@" + value.strip().lstrip("@")[:64])
    if found is None:
        return grammar.UsageError("team", "error.bad_value", {"option": option, "value": value[:64],
                                                              "expected": "@user"})
    return found


def _span(dates) -> str:
    start, end = dates.start, dates.end
    return start.isoformat() if start == end else f"{start.isoformat()}..{end.isoformat()}"
