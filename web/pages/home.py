"""``/web/`` (the teams I can see, each with today's status) and ``/web/me``
(my reports, absences, reminders and streaks)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import g, render_template

from bot.outlook import work_day_test
from commands.status import default_work_date
from db import history, queries
from db.streaks import streaks
from web.pages import charts
from web.pages.access import services, visible_team_ids
from web.pages.blueprint import bp
from web.pages.i18n import translate

MY_HISTORY_DAYS = 91
MY_ABSENCES_BACK = 30


@bp.get("/")
def home():
    now = services().clock()
    cards = []
    with services().database.read() as db:
        for team in history.teams_by_id(db, visible_team_ids(db)):
            subscription = queries.subscription_of(db, team.id)
            running = subscription if subscription is not None and subscription.enabled and not subscription.paused \
                else None
            work_date, _ = default_work_date(db, running, now, services().settings)
            members = [r.member_id for r in history.roster_rows(db, team.id)]
            reported, off = queries.filed_and_off(db, members, work_date, team.id)
            missing = len(members) - len(reported) - len(off)
            label = translate(g.lang, "home.status", date=work_date.isoformat(), filed=len(reported),
                              missing=missing, off=len(off), total=len(members))
            cards.append({"team": team, "work_date": work_date, "filed": len(reported), "missing": missing,
                          "off": len(off), "total": len(members), "subscribed": running is not None,
                          "role": history.role_on(db, team.id, g.viewer.user_id),
                          "bar": charts.status_bar(len(reported), missing, len(off), label)})
    return render_template("home.html", cards=cards)


@bp.get("/me")
def me():
    now = services().clock()
    settings = services().settings
    with services().database.read() as db:
        member = history.member_by_user(db, g.viewer.user_id)
        if member is None:
            return render_template("me.html", member=None)
        zone = ZoneInfo(member.timezone or settings.timezone)
        today = now.astimezone(zone).date()
        team_ids = history.teams_of(db, g.viewer.user_id)
        teams = {team.id: team for team in history.teams_by_id(db, team_ids)}
        standing = []
        for team in teams.values():
            subscription = queries.subscription_of(db, team.id)
            running = subscription if subscription is not None and subscription.enabled and not subscription.paused \
                else None
            as_of, _ = default_work_date(db, running, now, settings)
            is_work_day = work_day_test(db, team.id)
            streak = streaks(db, [member.id], team.id, as_of, is_work_day)[member.id]
            standing.append((team, as_of, streak, is_work_day))
        since = today - timedelta(days=MY_HISTORY_DAYS - 1)
        reports = history.my_reports(db, member.id, since)
        absences = history.my_absences(db, member.id, today - timedelta(days=MY_ABSENCES_BACK))
        chased = history.runs_that_chased(db, member.id, list(teams), since)
    filed = {day for day, *_ in reports}
    off = {day for day, _ in absences}
    is_work_day = standing[0][3] if standing else (lambda day: day.weekday() < 5)
    days = [since + timedelta(days=n) for n in range(MY_HISTORY_DAYS)]
    cells = [_my_state(day, today, filed, off, is_work_day) for day in days]
    calendar = {"header": charts.calendar_header(days, translate(g.lang, "calendar.months").split()),
                "row": charts.calendar_row(cells)}
    return render_template("me.html", member=member, standing=standing, reports=reports, absences=absences,
                           chased=chased, teams=teams, calendar=calendar, filed=filed)


def _my_state(day, today, filed: set, off: set, is_work_day) -> str:
    if day in filed:
        return "filed"
    if day > today:
        return "none"
    if not is_work_day(day):
        return "rest"
    return "off" if day in off else "missing"
