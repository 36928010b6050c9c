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

from bot.reminders import snapshot
from bot.sources import SourceUnavailable
from db.idsets import in_ids
from db.models import Member, ReminderRun, RosterEntry, Subscription

log = logging.getLogger("nippo.reminders")


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
    def __init__(self, reported: set, absent: set, keys: dict) -> None:
        self._reported = reported  # (member id, work date)
        self._absent = absent  # (team id or None for the member's own, member id, work date)
        self._keys = keys  # work date -> outside keys that reported

    def is_done(self, member: dict, work_date: date, team_id: int | None = None) -> bool:
        """Reported, or off for this team (a leader's absence counts for their team only)."""
        m = member["m"]
        return ((m, work_date) in self._reported or (None, m, work_date) in self._absent
                or (team_id is not None and (team_id, m, work_date) in self._absent)
                or (member.get("k") is not None and member["k"] in self._keys.get(work_date, frozenset())))

    def still_missing(self, members: list[dict], work_date: date, team_id: int | None = None) -> list[dict]:
        return [m for m in members if not self.is_done(m, work_date, team_id)]


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
    return Recheck(*_filed(database, wanted), keys)


def _filed(database, wanted: set) -> tuple[set, set]:
    if not wanted:
        return set(), set()
    with database.read() as session:
        reported, absent = snapshot.filed_by(session, {member_id for member_id, _d in wanted},
                                             {work_date for _m, work_date in wanted})
    return reported & wanted, {row for row in absent if (row[1], row[2]) in wanted}


def run_still_missing(database, sources: SourceCache, run_id: int, work_date: date, member_key: str) -> bool:
    """Whether anyone the run listed as missing has still neither filed nor
    marked a day off: decides between a reminder and the praise."""
    with database.read() as session:
        run = session.execute(select(ReminderRun.missing, Subscription.team_id)
                              .join(Subscription, Subscription.id == ReminderRun.subscription_id)
                              .where(ReminderRun.id == run_id)).first()
        if run is None or not run.missing:
            return False
        key_column = {"email": Member.email, "external_id": RosterEntry.external_id}.get(member_key, Member.username)
        members = [{"m": member_id, "k": key.lower() if key else None} for member_id, key in session.execute(
            select(Member.id, key_column).join(RosterEntry, RosterEntry.member_id == Member.id)
            .where(in_ids(session, Member.id, run.missing, "members"), RosterEntry.team_id == run.team_id))]
    check = Recheck(*_filed(database, {(m["m"], work_date) for m in members}), {work_date: sources.keys(work_date)})
    return bool(check.still_missing(members, work_date, run.team_id))
