"""``/report``: file a report, mark or cancel an absence."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from bot.mattermost import MattermostError
from bot.outlook import MONDAY_TO_FRIDAY, work_day_test
from bot.reminders.texts import command_for
from commands.context import Ctx
from commands.dates import days_ahead
from commands.grammar import DateSpan, FileReport, MarkAbsence
from commands.people import resolve_usernames, upsert_member
from commands.reply import CommandError, Reply
from commands.teams import authority, require_team_channel
from db import queries
from db.models import Report, RosterEntry
from db.streaks import LONG_STREAK, streaks
from persona import join, name as inert_name


def file_report(ctx: Ctx, command: FileReport) -> Reply:
    if command.text is None:
        return open_report_dialog(ctx, command.work_date)
    user = _caller_user(ctx)
    with ctx.write() as session:
        member = upsert_member(session, user, ctx.now)
        replaced = queries.save_report(session, member.id, command.work_date, command.text, "command", ctx.now)
        still_missing = queries.chased_dates_still_missing(session, member.id, exclude=command.work_date)
        streak = current_streak(session, member.id, ctx.request.channel_id, command.work_date)
    lines = [ctx.say("report.replaced" if replaced else "report.filed", date=command.work_date.isoformat())]
    still_missing = fileable(still_missing, ctx.today)
    if streak:
        lines.append(streak_line(ctx, streak))
    if still_missing:
        lines.append(still_missing_line(ctx, still_missing))
    return Reply("\n".join(lines))


def fileable(dates: list[date], today: date) -> list[date]:
    """The chased dates a member can file today: a morning played ahead of the
    clock (``nippo remind --at``) may have chased dates that are still future."""
    return [d for d in dates if days_ahead(d, today) <= 1]


def current_streak(session, member_id: int, channel_id: str, filed: date) -> int:
    """The member's streak on the calendar of this channel's team (else of
    their first team; Monday to Friday on none), counted back from their
    latest report: filing a gap late joins the streak on either side of it."""
    team = queries.team_by_channel(session, channel_id)
    team_id = team.id if team is not None and _on_roster(session, team.id, member_id) else session.scalar(
        select(RosterEntry.team_id).where(RosterEntry.member_id == member_id, RosterEntry.removed_at.is_(None))
        .order_by(RosterEntry.team_id).limit(1))
    if team_id is None:
        is_work_day = lambda day: day.weekday() in MONDAY_TO_FRIDAY  # noqa: E731
    else:
        is_work_day = work_day_test(session, team_id)
    latest = session.scalar(select(func.max(Report.work_date)).where(Report.member_id == member_id))
    as_of = max(filed, latest) if latest is not None else filed
    return streaks(session, [member_id], team_id, as_of, is_work_day)[member_id]


def streak_line(ctx: Ctx, streak: int) -> str:
    """The persona's word on a streak: its respect grows with it."""
    key = "report.streak_long" if streak >= LONG_STREAK else "report.streak" if streak > 1 else "report.streak_start"
    return ctx.say(key, streak=streak)


def still_missing_line(ctx: Ctx, dates: list[date]) -> str:
    shown = join([d.isoformat() for d in dates], ctx.lang)
    return ctx.say("report.still_missing", dates=shown, command=command_for(dates[0], ctx.lang))


def open_report_dialog(ctx: Ctx, work_date: date) -> Reply:
    """No text: the report dialog, where a trigger allows; otherwise the usage."""
    from commands.dialogs import open_report_dialog as open_dialog

    if ctx.console or not ctx.request.trigger_id:
        raise CommandError("error.empty_text")
    try:
        open_dialog(ctx.services, ctx.persona, ctx.lang, trigger_id=ctx.request.trigger_id,
                    user_id=ctx.request.user_id, work_date=work_date, now=ctx.now,
                    response_url=ctx.request.response_url)
    except MattermostError as error:
        if error.transient:
            raise
        raise CommandError("error.empty_text") from None
    return Reply(ctx.say("report.dialog_opened"))


def mark_absence(ctx: Ctx, command: MarkAbsence) -> Reply:
    username, removed = set_absence(ctx, command.user, command.dates, off=not command.on)
    who = inert_name(username)
    dates = _span_text(command.dates.start, command.dates.end)
    if command.on:
        return Reply(ctx.say("absence.cleared" if removed else "absence.none", who=who, dates=dates))
    return Reply(ctx.say("absence.set", who=who, dates=dates))


def set_absence(ctx: Ctx, username: str | None, dates: DateSpan, *, off: bool) -> tuple[str, int]:
    """Mark (``off``) or cancel days off for the caller (``username`` None or
    their own) or, for a leader or admin of ``ctx``'s channel's team, for a
    member of it. A member's own absence counts for every team they are on;
    one a leader or admin sets for someone else belongs to this channel's team
    alone, and only that team's leaders and admins can cancel it. Returns the
    username and how many days were cancelled."""
    days = list(dates.each_day())
    team_id = None
    on = not off
    if username is None or username == ctx.request.user_name.lower():
        user = _caller_user(ctx)
    else:
        team_id = _team_with_authority(ctx, on)  # before anyone named is looked up
        user = resolve_usernames(ctx, [username])[0]
        if user["id"] == ctx.request.user_id:
            team_id = None  # the caller named themselves
    with ctx.write() as session:
        member = upsert_member(session, user, ctx.now)
        if team_id is not None and not _on_roster(session, team_id, member.id):
            raise CommandError("team.not_on_roster", names=inert_name(user["username"]))
        if on:
            removed = queries.remove_absences(session, member.id, days, team_id)
        else:
            queries.add_absences(session, member.id, days, created_by=ctx.request.user_id, now=ctx.now,
                                 team_id=team_id)
            removed = 0
    return user["username"], removed


def _team_with_authority(ctx: Ctx, on: bool) -> int:
    """This channel's team, if the caller leads it or administers its channel,
    Mattermost team or system."""
    require_team_channel(ctx)
    auth = authority(ctx)
    with ctx.read() as session:
        team = queries.team_by_channel(session, ctx.request.channel_id)
    if team is None:
        raise CommandError("error.no_team")
    if not (auth.leader or auth.admin):
        raise CommandError("error.not_permitted", action=f"/report {'on' if on else 'off'} @…")
    return team.id


def _on_roster(session, team_id: int, member_id: int) -> bool:
    entry = session.get(RosterEntry, (team_id, member_id))
    return entry is not None and entry.removed_at is None


def _span_text(start: date, end: date) -> str:
    return start.isoformat() if start == end else f"{start.isoformat()}..{end.isoformat()}"


def _caller_user(ctx: Ctx) -> dict:
    """The caller as a Mattermost user (for username, e-mail and time zone)."""
    return ctx.services.users.get(ctx.request.user_id, fallback_username=ctx.request.user_name)
