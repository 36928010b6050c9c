"""``/web/`` (the teams I can see, each with today's status) and ``/web/me``
(my reports, absences, reminders and streaks)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import g, render_template

from db import history, queries
from web.pages import charts, overview
from web.pages.access import services, visible_team_ids
from web.pages.blueprint import bp
from web.pages.i18n import translate

MY_HISTORY_DAYS = 91
MY_ABSENCES_BACK = 30
MY_ABSENCES_AHEAD = 366  # a member may mark any future year off: the page shows the next one
MY_ABSENCES_LISTED = 400


@bp.get("/")
def home():
    now = services().clock()
    cards = []
    with services().database.read() as db:
        for team in history.teams_by_id(db, visible_team_ids(db)):
            day = overview.today_of(db, team.id, services().settings, now)
            work_date = day.as_of
            members = [r.member_id for r in history.roster_rows(db, team.id)]
            reported, off = queries.filed_and_off(db, members, work_date, team.id)
            missing = len(members) - len(reported) - len(off)
            label = translate(g.lang, "home.status", date=work_date.isoformat(), filed=len(reported),
                              missing=missing, off=len(off), total=len(members))
            cards.append({"team": team, "work_date": work_date, "filed": len(reported), "missing": missing,
                          "off": len(off), "total": len(members), "subscribed": day.running is not None,
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
            day = overview.today_of(db, team.id, settings, now)
            streak = overview.streaks_today(db, team.id, [member.id], day)[member.id]
            standing.append((team, day.as_of, streak, day.is_work_day))
        since = today - timedelta(days=MY_HISTORY_DAYS - 1)
        reports = history.my_reports(db, member.id, since)
        absences = history.my_absences(db, member.id, today - timedelta(days=MY_ABSENCES_BACK),
                                       today + timedelta(days=MY_ABSENCES_AHEAD), limit=MY_ABSENCES_LISTED)
        chased = history.runs_that_chased(db, member.id, list(teams), since)
    filed = {day for day, *_ in reports}
    off = {day for day, _ in absences}
    is_work_day = standing[0][3] if standing else (lambda day: day.weekday() < 5)
    days = [since + timedelta(days=n) for n in range(MY_HISTORY_DAYS)]
    cells = [_my_state(day, today, filed, off, is_work_day) for day in days]
    grid = charts.week_grid(days, cells, translate(g.lang, "calendar.weekdays").split(),
                            translate(g.lang, "calendar.months").split())
    return render_template("me.html", member=member, standing=standing, reports=reports, absences=absences,
                           chased=chased, teams=teams, grid=grid, filed=filed, zone=zone)


def _my_state(day, today, filed: set, off: set, is_work_day) -> str:
    if day in filed:
        return "filed"
    if day > today:
        return "none"
    if not is_work_day(day):
        return "rest"
    return "off" if day in off else "missing"
