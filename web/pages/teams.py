"""A team's pages: the overview (members see it), and for its leaders and
admins the reminder runs and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import Response, current_app, g, render_template, request
from markupsafe import Markup

from bot.reminders.common import DMS, EXPANDED, OUTCOME_KINDS
from bot.reminders.plan import messages_in
from commands.dates import parse_span
from commands.status import default_work_date
from commands.tokens import UsageError
from db import history, queries
from db.status_cache import StatusCache
from web.pages import charts, overview, splice
from web.pages.access import services, team_view
from web.pages.blueprint import bp
from web.pages.i18n import translate

CACHE = "nippo_pages_cache"
# A spreadsheet takes a cell starting with one of these for a formula (=HYPERLINK(...), +cmd|...).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EXPORT_DEFAULT_DAYS = 30
RUNS_SHOWN = 90


@bp.get("/teams/<int:team_id>")
def team(team_id: int):
    window = 90 if request.args.get("days") == "90" else 30
    with services().database.read() as db:
        view = team_view(db, team_id)
        body = _overview_body(db, view.team, window)
    framed = render_template("team.html", view=view, body=Markup(splice.MARK), window=window,
                             windows=overview.WINDOWS)
    gzip = "gzip" in request.headers.get("Accept-Encoding", "")
    chunks = splice.page(framed, body, gzip)
    response = Response(chunks, mimetype="text/html")
    response.headers["Content-Length"] = str(sum(len(chunk) for chunk in chunks))
    if gzip:
        response.headers["Content-Encoding"] = "gzip"
    return response


def _overview_body(db, team, window: int) -> splice.Part:
    """The overview's charts and tables, reused until the data or the day changes
    (a 200-member team's year is worth a few dozen milliseconds to compute, and
    its quarter is half a megabyte of markup)."""
    cache: StatusCache = current_app.extensions.setdefault(CACHE, StatusCache())
    now = services().clock()
    key = ("overview", team.id, window, g.lang)
    version = cache.version(services().database)
    cached = cache.get(key, version, now)
    if cached is not None:
        return cached
    model = overview.build(db, team, services().settings, now, window)
    html = render_template("overview_body.html", ov=model, charts=charts, rate_chart=_rate_chart(model),
                           header=charts.calendar_header(model.days, translate(g.lang, "calendar.months").split()))
    body = splice.part(html)
    cache.put(key, version, _valid_until(db, team, now), body)
    return body


def _rate_chart(model: overview.Overview) -> Markup:
    points = [(r.day, r.rate, translate(g.lang, "overview.bar_hover", date=r.day.isoformat(), filed=r.filed,
                                        expected=r.expected, rate=charts.percent(r.rate))) for r in model.rates]
    return charts.rate_chart(points, translate(g.lang, "overview.chart_title", days=len(model.rates)),
                             model.average, translate(g.lang, "overview.average", rate=charts.percent(model.average)))


def _valid_until(db, team, now: datetime) -> datetime:
    """The overview's "today" moves at the next run and at midnight (the team's and the default zone's)."""
    subscription = queries.subscription_of(db, team.id)
    zones = {services().settings.timezone} | ({subscription.timezone} if subscription is not None else set())
    limits = []
    for name in zones:
        tomorrow = now.astimezone(ZoneInfo(name)).date() + timedelta(days=1)
        limits.append(datetime.combine(tomorrow, time(0, 0), ZoneInfo(name)).astimezone(timezone.utc))
    if subscription is not None:
        _, next_run = default_work_date(db, subscription, now, services().settings)
        if next_run is not None and next_run > now:
            limits.append(next_run)
    return min(limits)


@bp.get("/teams/<int:team_id>/runs")
def runs(team_id: int):
    with services().database.read() as db:
        view = team_view(db, team_id, manage=True)
        rows = history.runs(db, team_id, OUTCOME_KINDS, limit=RUNS_SHOWN,
                            steps=history.Steps(DMS, EXPANDED, messages_in))
        subscription = queries.subscription_of(db, team_id)
    zone = ZoneInfo(subscription.timezone if subscription is not None else services().settings.timezone)
    return render_template("runs.html", view=view, rows=rows, zone=zone)


@bp.get("/teams/<int:team_id>/reports.csv")
def export(team_id: int):
    now = services().clock()
    today = now.astimezone(ZoneInfo(services().settings.timezone)).date()
    start = request.args.get("from") or (today - timedelta(days=EXPORT_DEFAULT_DAYS)).isoformat()
    end = request.args.get("to") or today.isoformat()
    with services().database.read() as db:
        view = team_view(db, team_id, manage=True)
        span = parse_span(f"{start[:40]}..{end[:40]}", today)
        if span is None or isinstance(span, UsageError):
            return Response(translate(g.lang, "export.bad_range", limit=366) + "\n", 400,
                            mimetype="text/plain")
        rows = history.export_rows(db, team_id, span.start, span.end)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["member", "work_date", "kind", "filed_at", "source"])
    for member, work_date, kind, filed_at, source in rows:
        writer.writerow([inert_cell(member), work_date.isoformat(), kind,
                         filed_at.astimezone(timezone.utc).isoformat(timespec="seconds"), inert_cell(source)])
    name = f"nippo-{view.team.channel_name or view.team.id}-{span.start.isoformat()}-{span.end.isoformat()}.csv"
    safe_name = "".join(c if c.isalnum() or c in "-._" else "_" for c in name)
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{safe_name}"'})


def inert_cell(value: str) -> str:
    """A text cell a spreadsheet shows as text, never runs as a formula: a leading quote, as spreadsheets
    themselves write it."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value
