"""Who is still missing, just before a message goes out (docs/reminders.md: someone who
filed between planning and sending is not chased; a snooze is dropped once
its date is filed). One read per leased batch, plus the outside source once
per work date and delivery pass.
"""

from __future__ import annotations

import logging
import threading
from datetime import date

from sqlalchemy import select

from bot.sources import SourceUnavailable
from db.models import Absence, Member, ReminderRun, Report

log = logging.getLogger("nippo.reminders")

_CHUNK = 5000  # ids per IN list, well inside SQLite's parameter limit


class SourceCache:
    """The outside source's answer per work date, asked once per delivery pass.
    If it cannot answer now, what planning saw stands: nobody is dropped."""

    def __init__(self, source) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._keys: dict[date, frozenset[str]] = {}
        self.unavailable: set[date] = set()  # work dates the source could not answer for in this pass

    def is_unavailable(self, work_date: date) -> bool:
        self.keys(work_date)
        return work_date in self.unavailable

    def keys(self, work_date: date) -> frozenset[str]:
        if self._source is None:
            return frozenset()
        with self._lock:
            if work_date not in self._keys:
                try:
                    found = frozenset(k.lower() for k in self._source.reported_keys(work_date))
                except SourceUnavailable as error:
                    log.warning("report source unavailable when re-checking %s: %s", work_date, error)
                    found = None
                except Exception:  # a source's bug: as if unavailable
                    log.exception("report source failed when re-checking %s", work_date)
                    found = None
                if found is None:
                    self.unavailable.add(work_date)
                    found = frozenset()
                self._keys[work_date] = found
            return self._keys[work_date]


class Recheck:
    def __init__(self, done: set, keys: dict) -> None:
        self._done = done  # (member id, work date) with a report or an absence
        self._keys = keys  # work date -> outside keys that reported

    def is_done(self, member: dict, work_date: date) -> bool:
        return (member["m"], work_date) in self._done or (
            member.get("k") is not None and member["k"] in self._keys.get(work_date, frozenset()))

    def still_missing(self, members: list[dict], work_date: date) -> list[dict]:
        return [m for m in members if not self.is_done(m, work_date)]


def _members_of(message: dict) -> list[dict]:
    payload = message["payload"]
    if "member" in payload:
        return [payload["member"]]
    return payload.get("members") or []


def load(database, sources: SourceCache, messages: list[dict]) -> Recheck:
    wanted = {(m["m"], message["work_date"]) for message in messages if message["work_date"]
              for m in _members_of(message)}
    dates = {work_date for _m, work_date in wanted}
    keys = {work_date: sources.keys(work_date) for work_date in dates}
    return Recheck(_filed(database, wanted), keys)


def _filed(database, wanted: set) -> set:
    if not wanted:
        return set()
    ids = sorted({member_id for member_id, _d in wanted})
    dates = sorted({work_date for _m, work_date in wanted})
    found = set()
    with database.read() as session:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            for model in (Report, Absence):
                found |= {tuple(row) for row in session.execute(
                    select(model.member_id, model.work_date)
                    .where(model.member_id.in_(chunk), model.work_date.in_(dates)))}
    return found & wanted


def run_still_missing(database, sources: SourceCache, run_id: int, work_date: date, member_key: str) -> bool:
    """Whether anyone the run listed as missing has still neither filed nor
    marked a day off: decides between a reminder and the praise."""
    with database.read() as session:
        missing = session.scalar(select(ReminderRun.missing).where(ReminderRun.id == run_id)) or []
        if not missing:
            return False
        key_column = {"email": Member.email, "external_id": Member.external_id}.get(member_key, Member.username)
        members = [{"m": member_id, "k": key.lower() if key else None} for member_id, key in
                   session.execute(select(Member.id, key_column).where(Member.id.in_(missing)))]
    check = Recheck(_filed(database, {(m["m"], work_date) for m in members}), {work_date: sources.keys(work_date)})
    return bool(check.still_missing(members, work_date))
