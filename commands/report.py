"""``/report``: file a report, mark or cancel an absence."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import delete

from bot.mattermost import MattermostError
from bot.reminders.texts import command_for
from commands.context import Ctx
from commands.dates import days_ahead
from commands.grammar import FileReport, MarkAbsence
from commands.people import resolve_usernames, upsert_member
from commands.permissions import may_manage_member
from commands.reply import CommandError, Reply
from db import queries
from db.models import Absence
from persona import join, name as inert_name


def file_report(ctx: Ctx, command: FileReport) -> Reply:
    if command.text is None:
        return open_report_dialog(ctx, command.work_date)
    user = _caller_user(ctx)
    with ctx.write() as session:
        member = upsert_member(session, user, ctx.now)
        replaced = queries.save_report(session, member.id, command.work_date, command.text, "command", ctx.now)
        still_missing = queries.chased_dates_still_missing(session, member.id, exclude=command.work_date)
    lines = [ctx.say("report.replaced" if replaced else "report.filed", date=command.work_date.isoformat())]
    still_missing = fileable(still_missing, ctx.today)
    if still_missing:
        lines.append(still_missing_line(ctx, still_missing))
    return Reply("\n".join(lines))


def fileable(dates: list[date], today: date) -> list[date]:
    """The chased dates a member can file today: a morning played ahead of the
    clock (``nippo remind --at``) may have chased dates that are still future."""
    return [d for d in dates if days_ahead(d, today) <= 1]


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
    days = [command.dates.start + timedelta(days=i) for i in range((command.dates.end - command.dates.start).days + 1)]
    if command.user is None:
        user = _caller_user(ctx)
    else:
        user = resolve_usernames(ctx, [command.user])[0]
    for_someone_else = user["id"] != ctx.request.user_id
    if for_someone_else and not may_manage_member(ctx, user["id"]):
        raise CommandError("error.not_permitted", action=f"/report {'on' if command.on else 'off'} @…")
    with ctx.write() as session:
        member = upsert_member(session, user, ctx.now)
        if command.on:
            removed = session.execute(
                delete(Absence).where(Absence.member_id == member.id, Absence.work_date.in_(days))
            ).rowcount
        else:
            queries.add_absences(session, member.id, days, created_by=ctx.request.user_id, now=ctx.now)
            removed = None
    who = inert_name(user["username"])
    dates = _span_text(command.dates.start, command.dates.end)
    if command.on:
        return Reply(ctx.say("absence.cleared" if removed else "absence.none", who=who, dates=dates))
    return Reply(ctx.say("absence.set", who=who, dates=dates))


def _span_text(start: date, end: date) -> str:
    return start.isoformat() if start == end else f"{start.isoformat()}..{end.isoformat()}"


def _caller_user(ctx: Ctx) -> dict:
    """The caller as a Mattermost user (for username, e-mail and time zone)."""
    return ctx.services.users.get(ctx.request.user_id, fallback_username=ctx.request.user_name)
