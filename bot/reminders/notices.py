"""Messages to a team's leaders about nippo itself: a delivery that failed,
messages dropped, a paused subscription, a source that could not be read.

They are outbox rows like any other (sent outside transactions, retried),
but never decide a run's outcome and never cause further notices.
"""

from __future__ import annotations

from datetime import date, datetime

from bot.reminders.common import NOTICE, NOTICE_WINDOW
from bot.reminders.plan import outbox_row


def notice_rows(prefix: str, context: dict, text_key: str, now: datetime, *, run_id: int | None,
                work_date: date | None, params: dict | None = None, exclude: str | None = None) -> list[dict]:
    """One DM per leader. ``context`` is a run's payload (persona, language,
    leaders); ``exclude`` leaves out the leader the failure was about."""
    rows = []
    for user_id, _username in context.get("leaders") or []:
        if user_id == exclude:
            continue
        key = f"{prefix}:{user_id}"
        payload = {
            "persona": context["persona"], "lang": context["lang"], "sub": context.get("sub"),
            "channel_name": context.get("channel_name"), "date": context.get("date") or "",
            "seed": key, "text_key": text_key, "params": params or {}, "leaders": [],
        }
        rows.append(outbox_row(key, NOTICE, run_id=run_id, work_date=work_date, channel_id=None,
                               recipient=user_id, now=now, deadline=now + NOTICE_WINDOW, payload=payload))
    return rows


def channel_ref(context: dict) -> str:
    return f"~{context.get('channel_name') or context.get('channel_id') or ''}"
