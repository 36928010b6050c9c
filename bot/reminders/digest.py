"""The weekly digest (`/subscribe digest DAY HH:MM`): one channel post
summing up the week in the persona's voice — each work day's report rate,
who filed every work day they were expected, the longest current streaks,
and who is on a long missing streak (named, never pinged: nobody is pinged
by a digest).

The numbers are counted when the run is planned and travel in the outbox
payload; sending only puts them into words.
"""

from __future__ import annotations

from datetime import date, datetime

from bot.reminders.common import DIGEST, DIGEST_SLOT
from bot.reminders.plan import Filed, RunPlan, leaders_of, outbox_row, run_seed
from bot.reminders.snapshot import NEVER_MISSED, Missed, Person, Sub
from persona import join, name

TOP_STREAKS = 3
# Names listed before the rest are counted: a team of thousands stays one post.
NAMES_SHOWN = 50
MISSING_STREAK_WITHOUT_ESCALATION = 3  # a long missing streak when `escalate 0`


def long_missing_streak(sub: Sub) -> int:
    return sub.escalate if sub.escalate > 0 else MISSING_STREAK_WITHOUT_ESCALATION


def plan_digest(run_id: int, sub: Sub, days: list[date], first: date, last: date, roster: list[Person],
                filed: Filed, report_streaks: dict[int, int], missed: dict[tuple[int, int], Missed],
                now: datetime, deadline: datetime, *, local_date: date,
                joined: dict[int, date] | None = None) -> RunPlan:
    """``days``: the work days from ``first`` to ``last``; ``report_streaks``:
    member -> streak as of the last of them; ``joined``: member -> first
    expected work day, for who joined during the week (the days before it
    are not counted for them, filed or not)."""
    plan = RunPlan(missing=[], expected=0)
    everyone = frozenset(m.member_id for m in roster)
    rates, missed_a_day, filed_once = [], set(), set()
    for day in days:
        reported, off = filed.day(day).split(roster, everyone, sub.team_id)  # a report wins over an absence
        counted = everyone
        if joined:
            counted = everyone - {member_id for member_id, first in joined.items() if first > day}
            reported, off = reported & counted, off & counted
        expected = len(counted) - len(off)
        rates.append([day.isoformat(), len(reported), expected])
        plan.expected += expected
        missed_a_day |= counted - reported - off
        filed_once |= reported
    if plan.expected == 0:
        return plan  # an empty or all-absent roster: nothing to sum up
    by_streak = sorted((m for m in roster if report_streaks.get(m.member_id, 0) >= 2),
                       key=lambda m: (-report_streaks[m.member_id], m.username))
    payload = {
        "persona": sub.persona, "lang": sub.language, "sub": sub.id, "team": sub.team_id,
        "channel_id": sub.channel_id, "channel_name": sub.channel_name, "leaders": leaders_of(roster),
        "seed": f"{run_seed(sub.id, local_date, DIGEST_SLOT)}:digest", "date": days[-1].isoformat(),
        "first": first.isoformat(), "last": last.isoformat(), "rates": rates,
        # never missing (each day filed or off), and filed at least once
        "perfect": [m.username for m in roster if m.member_id in filed_once and m.member_id not in missed_a_day],
        "streaks": [[m.username, report_streaks[m.member_id]] for m in by_streak[:TOP_STREAKS]],
        "missing": [m.username for m in roster
                    if missed.get((sub.id, m.member_id), NEVER_MISSED).streak >= long_missing_streak(sub)],
    }
    plan.rows.append(outbox_row(f"digest:{run_id}", DIGEST, run_id=run_id, work_date=days[-1],
                                channel_id=sub.channel_id, recipient=None, now=now, deadline=deadline,
                                payload=payload))
    return plan


def digest_text(persona, payload: dict) -> str:
    lang, seed = payload["lang"], payload["seed"]
    rates = payload["rates"]
    filed, expected = sum(r[1] for r in rates), sum(r[2] for r in rates)
    lines = [persona.say("digest.header", lang, seed=seed, first=payload["first"], last=payload["last"],
                         filed=filed, expected=expected, rate=_percent(filed, expected))]
    weekdays = persona.say("digest.weekdays", lang).split()
    for day, day_filed, day_expected in rates:
        lines.append(persona.say("digest.day", lang, seed=seed, date=day,
                                 day=weekdays[date.fromisoformat(day).weekday()], filed=day_filed,
                                 expected=day_expected, rate=_percent(day_filed, day_expected)))
    perfect = payload["perfect"]
    if perfect:
        lines.append(persona.say("digest.perfect", lang, seed=seed, names=_names(perfect, lang), count=len(perfect)))
    else:
        lines.append(persona.say("digest.nobody_perfect", lang, seed=seed))
    if payload["streaks"]:
        streaks = join((f"{name(username)} ({days})" for username, days in payload["streaks"]), lang)
        lines.append(persona.say("digest.streaks", lang, seed=seed, streaks=streaks))
    if payload["missing"]:
        missing = payload["missing"]
        lines.append(persona.say("digest.missing", lang, seed=seed, names=_names(missing, lang), count=len(missing)))
    return "\n".join(lines)


def _names(usernames: list[str], lang: str) -> str:
    shown = join((name(u) for u in usernames[:NAMES_SHOWN]), lang)
    return shown if len(usernames) <= NAMES_SHOWN else f"{shown} (+{len(usernames) - NAMES_SHOWN})"


def _percent(filed: int, expected: int) -> str:
    return f"{round(100 * filed / expected)}%" if expected else "—"
