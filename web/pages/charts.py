"""Charts drawn on the server as SVG and HTML: nothing to download, nothing
that needs JavaScript. Colours come from the stylesheet (classes only, no
inline styles, so the page's CSP holds); every state also has its own shape
or mark, so no chart depends on telling red from green.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

from markupsafe import Markup, escape

# Calendar cells: one short element per day (a quarter of 200 members is
# 25,000 of them); the colour and the mark come from the stylesheet.
CODES = {"filed": "f", "missing": "m", "off": "o", "rest": "r", "none": "n"}
_CELL = {state: Markup(f'<i class="{code}"></i>') for state, code in CODES.items()}

CHART_WIDTH, CHART_HEIGHT = 900, 190
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 26


def percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)}%"


def rate_chart(points: list[tuple[date, float | None, str]], title: str, average: float | None,
               average_label: str) -> Markup:
    """Bars of the report rate per work day (0–100 %), a dashed average line;
    ``points`` are (day, rate or None when nobody was expected, hover text)."""
    count = max(len(points), 1)
    width = CHART_WIDTH
    plot = CHART_HEIGHT - TOP - BOTTOM
    slot = (width - LEFT - RIGHT) / count
    bar = slot * 0.78
    parts = [f'<svg class="chart" viewBox="0 0 {width} {CHART_HEIGHT}" role="img" aria-label="{escape(title)}" '
             f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">']
    for share in (0, 0.5, 1):
        y = TOP + plot * (1 - share)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{round(share * 100)}%</text>')
    step = max(1, math.ceil(count / 12))
    for index, (day, rate, hover) in enumerate(points):
        x = LEFT + index * slot + (slot - bar) / 2
        if rate is None:
            parts.append(f'<rect class="bar none" x="{x:.1f}" y="{TOP + plot - 2:.1f}" width="{bar:.1f}" height="2">'
                         f'<title>{escape(hover)}</title></rect>')
        else:
            height = max(plot * rate, 1.5)
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{TOP + plot - height:.1f}" width="{bar:.1f}" '
                         f'height="{height:.1f}"><title>{escape(hover)}</title></rect>')
        if index % step == 0:
            parts.append(f'<text class="axis" x="{x + bar / 2:.1f}" y="{CHART_HEIGHT - 8}" '
                         f'text-anchor="middle">{day.strftime("%m-%d")}</text>')
    if average is not None:
        y = TOP + plot * (1 - average)
        parts.append(f'<line class="average" x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}">'
                     f'<title>{escape(average_label)}</title></line>')
    parts.append("</svg>")
    return Markup("".join(parts))


def status_bar(filed: int, missing: int, off: int, label: str) -> Markup:
    """One horizontal bar split into filed (solid), missing (hatched) and off (dotted)."""
    total = filed + missing + off
    parts = [f'<svg class="status-bar" viewBox="0 0 200 14" role="img" aria-label="{escape(label)}" '
             'preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">',
             '<rect class="track" x="0" y="0" width="200" height="14"/>']
    x = 0.0
    for kind, count in (("filed", filed), ("missing", missing), ("off", off)):
        if not total or not count:
            continue
        width = 200 * count / total
        parts.append(f'<rect class="seg {kind}" x="{x:.2f}" y="0" width="{width:.2f}" height="14"/>')
        x += width
    parts.append("</svg>")
    return Markup("".join(parts))


def calendar_row(states: list[str]) -> Markup:
    return Markup("".join(_CELL[state] for state in states))


def calendar_header(days: list[date], month_names: list[str]) -> Markup:
    """Cells the width of the calendar's, naming the month where one starts and marking Mondays."""
    cells = []
    last_label = -10
    month_soon = any(d.day == 1 for d in days[1:7])
    for index, day in enumerate(days):
        if (index == 0 and not month_soon) or (index > 0 and day.day == 1):
            cells.append(f'<i class="h"><b>{escape(month_names[day.month - 1])}</b></i>')
            last_label = index
        elif day.weekday() == 0 and index - last_label > 5 and (day + timedelta(days=3)).day > 3:
            cells.append(f'<i class="h"><s>{day.day}</s></i>')
            last_label = index
        else:
            cells.append('<i class="h"></i>')
    return Markup("".join(cells))


def week_grid(days: list[date], states: list[str], weekday_names: list[str], month_names: list[str]) -> Markup:
    """Days as a grid of weeks (columns) by weekdays (rows), Monday on top."""
    start = days[0] - timedelta(days=days[0].weekday())
    weeks = (days[-1] - start).days // 7 + 1
    state_of = dict(zip(days, states))
    head = ['<tr><td></td>']
    for week in range(weeks):
        monday = start + timedelta(weeks=week)
        week_days = [monday + timedelta(days=d) for d in range(7)]
        first = next((d for d in week_days if d.day == 1), days[0] if week == 0 else None)
        head.append(f'<th scope="col"><span>{escape(month_names[first.month - 1]) if first else ""}</span></th>')
    rows = ["".join(head) + "</tr>"]
    for weekday in range(7):
        cells = [f'<th scope="row">{escape(weekday_names[weekday]) if weekday % 2 == 0 else ""}</th>']
        for week in range(weeks):
            day = start + timedelta(weeks=week, days=weekday)
            state = state_of.get(day)
            cells.append(f'<td title="{day.isoformat()}">{_CELL[state]}</td>' if state else "<td></td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return Markup('<table class="week-grid cal-row">' + "".join(rows) + "</table>")
