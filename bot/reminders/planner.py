"""Due runs become outbox messages, in one write transaction that claims them.

The outside report source is asked first, outside any transaction: it may be
slow or down. A run whose source cannot answer is recorded as claimed and is
tried again next tick, until its catch-up window closes; then it fails and
the leaders are told the check could not be made (docs/report-sources.md).

Then, in one transaction: the runs still due (another process may have had
some since they were read) and the claims whose lease ran out are this
process's; their outbox rows are written as they are planned, and each run's
row follows with the state its planning gave it (the foreign key from the
outbox to its run is checked at commit). Nothing is left half done: a
failure rolls all of it back, and the next tick plans it afresh.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Iterator

from sqlalchemy import text
from sqlalchemy.orm import Session

from bot.buttons import ACTIONS, LABEL_KEYS
from bot.reminders import snapshot
from bot.reminders.claim import Claim, Due, claim, claim_of, claim_of_stale, still_due, take_over
from bot.reminders.bulk import insert_rows, update_by_id
from bot.reminders.common import (
    CHANNEL, CLAIMED, DIGEST, DIGEST_SLOT, DM, DMS, DROPPED, FAILED, MEMBERSHIP, NOTICE, OUTCOME_ROW_KINDS, PLANNED,
    RUN_LEASE, SKIPPED, SOURCE_RETRY, SUMMARY, UNDELIVERABLE, TickTime, nudge_time,
)
from bot.reminders.digest import digest_text, plan_digest
from bot.reminders.inputs import Inputs, dates_of, gather
from bot.reminders.notices import notice_rows
from bot.reminders.nudge import plan_nudge
from bot.reminders.plan import Filed, RunPlan, dm_rows, leaders_of, messages_in, plan_run, who_is_missing
from bot.reminders.texts import channel_text, dm_text, leader_summary, notice_text, persona_for, praise_text
from bot.sources import SourceUnavailable
from db.models import MORNING, OutboxMessage, ReminderRun

log = logging.getLogger("nippo.reminders")

WAITING = "source unreachable"
# The PostgreSQL advisory lock a replica holds while it claims and plans a tick (db.migrate's is another).
PLANNING_LOCK_ID = 0x6E6970706F01
# What a DM row taken over by another run's plan gets from the new row.
_REOPENED = ("run_id", "payload", "state", "not_before", "deadline", "pending_post_id", "created_at")


@dataclass
class RunLine:
    """One line of ``nippo remind`` output."""

    run_id: int | None
    subscription_id: int
    channel_name: str
    work_date: date
    missing: int | None
    status: str
    slot: str = MORNING
    # A dry run's messages in full: (to whom, text).
    messages: list[tuple[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        where = f"subscription {self.subscription_id} ~{self.channel_name}"
        if self.slot == DIGEST_SLOT:
            return f"{where} weekly digest up to work date {self.work_date.isoformat()}: {self.status}"
        what = "work date" if self.slot == MORNING else f"nudge {nudge_time(self.slot)} work date"
        missing = "-" if self.missing is None else str(self.missing)
        return f"{where} {what} {self.work_date.isoformat()} missing {missing}: {self.status}"


def outside_keys(source, work_dates: set[date]) -> tuple[dict, set]:
    """(work date -> keys that reported, work dates the source could not answer for)."""
    keys, unavailable = {}, set()
    if source is None:
        return keys, unavailable
    for work_date in sorted(work_dates):
        try:
            keys[work_date] = frozenset(k.lower() for k in source.reported_keys(work_date))
        except SourceUnavailable as error:
            log.warning("report source unavailable for %s: %s", work_date, error)
            unavailable.add(work_date)
        except Exception:  # a source's bug must not stop the tick: treat it as unavailable
            log.exception("report source failed for %s; treated as unavailable", work_date)
            unavailable.add(work_date)
    return keys, unavailable


def plan_due(services, tick: TickTime, owner: str, dues: list[Due], stale: list[snapshot.Stale], subs: dict,
             only: frozenset[int] | None = None) -> list[RunLine]:
    """Claim and plan ``dues`` and the claims whose lease ran out (``stale``,
    as read with them: the source is asked about their dates too)."""
    asked = {d for c in _asked_about(dues, stale, subs) if c.deadline >= tick.now for d in dates_of(c)}
    keys, unavailable = outside_keys(services.source, asked)
    with services.database.write() as session:
        if session.get_bind().dialect.name == "postgresql":
            # One replica plans at a time: the outbox rows stream in as they are
            # planned, in no order two replicas could agree on, and a member on
            # two rosters planned at once would otherwise deadlock them.
            session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": PLANNING_LOCK_ID})
            # a run's row is written after its messages: their key to it is checked at commit (migration
            # 0005 made it the one deferrable constraint; by any name it was given)
            session.execute(text("SET CONSTRAINTS ALL DEFERRED"))
        else:
            session.execute(text("PRAGMA defer_foreign_keys = ON"))  # until this transaction ends
        claims, skipped = claim(session, still_due(session, dues))
        # only the claims the source was asked about: one whose lease ran out since is the next tick's
        claims += take_over(session, tick, owner, subs, only, among={s.run_id for s in stale})
        return _plan(services, session, tick, owner, claims, skipped, keys, unavailable)


def _asked_about(dues: list[Due], stale: list[snapshot.Stale], subs: dict) -> Iterator[Claim]:
    """The runs the tick is about to claim, as claims (their ids are not known yet)."""
    for due in dues:
        if not due.skip_reason:
            yield claim_of(due, 0)
    for s in stale:
        if s.subscription_id in subs:  # the others are recorded as skipped
            yield claim_of_stale(s, subs[s.subscription_id])


def _plan(services, session: Session, tick: TickTime, owner: str, claims: list[Claim], skipped: list[Claim],
          keys: dict, unavailable: set) -> list[RunLine]:
    team_ids = {c.sub.team_id for c in claims}
    rosters = snapshot.rosters(session, team_ids, getattr(services.source, "member_key", "username"))
    reported, absent = snapshot.filed(session, rosters, {d for c in claims for d in dates_of(c)})
    filed = Filed(reported, absent, keys)
    missed = snapshot.streaks(session, {c.sub.id for c in claims})
    live = [c for c in claims if tick.now <= c.deadline and not dates_of(c) & unavailable]
    inputs = gather(session, live, rosters, filed)
    planning = _Planning(services, tick, rosters, filed, missed, inputs, unavailable)
    # The rows are made as the database takes them: on PostgreSQL the server
    # stores one batch while the next is planned.
    stream_messages(session, planning.rows(claims))
    for c in skipped:
        planning.states[c.run_id] = {"state": SKIPPED, "reason": c.reason, "lease_until": None, "finished_at": tick.now}
    write_runs(session, claims + skipped, planning.states, tick, owner)
    return [RunLine(c.run_id, c.sub.id, c.sub.channel_name, c.work_date, None, f"skipped ({c.reason})", c.slot)
            for c in skipped] + planning.lines


def write_runs(session: Session, claims: list[Claim], states: dict[int, dict], tick: TickTime, owner: str) -> None:
    """Each run's row as planning left it (``states``: run id -> columns): a
    new run's inserted whole, a taken-over run's updated. A few statements,
    whatever the number of runs. A new run another process has had (one that
    claims without waiting its turn) stops the transaction: nothing of it is kept."""
    new, taken = [], []
    for c in claims:
        if c.scheduled_at is None:
            taken.append({"id": c.run_id, **states[c.run_id]})
        else:
            new.append({"id": c.run_id, "subscription_id": c.sub.id, "local_date": c.local_date, "slot": c.slot,
                        "work_date": c.work_date, "claimed_by": owner, "scheduled_at": c.scheduled_at,
                        "deadline": c.deadline, "created_at": tick.now, "reason": None, "missing": None,
                        **states[c.run_id]})
    insert_rows(session, ReminderRun, new, on_conflict="")
    # One statement per shape of row: what a state does not name (a waiting run's missing) stays as it was.
    for shape in {tuple(row) for row in taken}:
        update_by_id(session, ReminderRun, [row for row in taken if tuple(row) == shape])


@dataclass
class _Planning:
    """The claimed runs' outbox rows, made one run at a time; each run's line
    and the update of its row are noted as its rows are made."""

    services: object
    tick: TickTime
    rosters: dict
    filed: Filed
    missed: dict
    inputs: Inputs
    unavailable: set
    lines: list[RunLine] = field(default_factory=list)
    states: dict[int, dict] = field(default_factory=dict)  # run id -> the columns of its row planning set

    def rows(self, claims: list[Claim]) -> Iterator[dict]:
        for c in claims:
            try:
                rows = self._rows_of(c)
            except Exception:  # one bad subscription must not stop the others, nor every tick after this one
                log.exception("planning run %s of subscription %s failed", c.run_id, c.sub.id)
                if c.run_id not in self.states:  # else what it was found to be stands (failed, past its window)
                    self.states[c.run_id] = {"state": CLAIMED, "lease_until": self.tick.lease(RUN_LEASE),
                                             "finished_at": None}
                    self.lines[-1].status = "error (planning failed; retried when its claim expires)"  # its line
                continue
            yield from rows

    def _rows_of(self, c: Claim) -> list[dict]:
        now, services, filed, missed = self.tick.now, self.services, self.filed, self.missed
        unavailable, states = self.unavailable, self.states
        roster = self.rosters.get(c.sub.team_id, [])
        line = RunLine(c.run_id, c.sub.id, c.sub.channel_name, c.work_date, None, "", c.slot)
        self.lines.append(line)
        if now > c.deadline:
            waited = bool(dates_of(c) & unavailable) or c.reason == WAITING
            reason = WAITING if waited else "not planned in time"
            states[c.run_id] = {"state": FAILED, "reason": reason, "lease_until": None, "finished_at": now}
            line.status = f"failed ({reason})"
            if c.slot != MORNING:
                return []  # the morning run told the leaders whatever there was to tell
            context = {"persona": c.sub.persona, "lang": c.sub.language, "sub": c.sub.id,
                       "channel_name": c.sub.channel_name, "leaders": leaders_of(roster),
                       "date": c.work_date.isoformat()}
            if waited:
                return notice_rows(f"source:{c.run_id}", context, "leader.source_unreachable", now,
                                   run_id=c.run_id, work_date=c.work_date)
            # its claimant died and nobody took over in time: what it would have sent is dropped
            unsent = sum(messages_in(r["kind"], r["payload"]) for r in plan_run(
                services, c.run_id, c.sub, c.work_date, roster, filed, missed, now, c.deadline,
                local_date=c.local_date).rows
                if r["kind"] in OUTCOME_ROW_KINDS)
            if not unsent:
                return []
            return notice_rows(f"dropped:{c.run_id}", context, "leader.dropped", now, run_id=c.run_id,
                               work_date=c.work_date, params={"count": unsent})
        if dates_of(c) & unavailable:
            states[c.run_id] = {"state": CLAIMED, "reason": WAITING, "lease_until": self.tick.lease(SOURCE_RETRY),
                                "finished_at": None}
            line.status = "waiting (source unreachable)"
            return []
        if c.slot == DIGEST_SLOT and not self.inputs.digest_days.get(c.run_id):
            # a team day off since it was claimed left the week without a work day
            states[c.run_id] = {"state": SKIPPED, "reason": "no work day", "lease_until": None, "finished_at": now}
            line.status = "skipped (no work day)"
            return []
        plan = _plan_one(services, c, roster, filed, missed, self.inputs, now)  # may raise: see rows()
        states[c.run_id] = {"state": PLANNED, "reason": None, "lease_until": None,
                            "missing": [m.member_id for m in plan.missing], "finished_at": None}
        if c.slot != DIGEST_SLOT:
            line.missing = len(plan.missing)
        line.status = "planned"
        return plan.rows


def _plan_one(services, c: Claim, roster: list, filed: Filed, missed: dict, inputs: Inputs, now) -> RunPlan:
    if c.slot == DIGEST_SLOT:
        week = dates_of(c)
        return plan_digest(c.run_id, c.sub, inputs.digest_days[c.run_id], min(week), max(week), roster, filed,
                           inputs.digest_streaks.get(c.run_id, {}), missed, now, c.deadline, local_date=c.local_date,
                           joined=inputs.digest_joined.get(c.run_id))
    if c.slot != MORNING:
        return plan_nudge(c.run_id, c.sub, c.slot, c.work_date, roster, filed, missed, inputs.snoozed, now,
                          c.deadline, local_date=c.local_date)
    return plan_run(services, c.run_id, c.sub, c.work_date, roster, filed, missed, now, c.deadline,
                    kept=inputs.kept.get(c.run_id), local_date=c.local_date)


def insert_messages(session: Session, rows: list[dict]) -> None:
    """Add outbox rows; a key that exists already (a replan, a second roster)
    is left alone — but a member on two rosters gets one DM per work date,
    whichever run plans it first, and one the first run could not deliver
    (dropped, undeliverable) is the next run's to send, with a fresh
    pending_post_id. Sorted by key so two replicas adding the same DM keys
    lock them in the same order and cannot deadlock on PostgreSQL."""
    insert_rows(session, OutboxMessage, _first_of_each_key(sorted(rows, key=lambda row: row["key"])),
                _REOPEN_UNDELIVERED)


def stream_messages(session: Session, rows: Iterable[dict]) -> None:
    """``insert_messages`` of rows made as they are written, in the order
    they come, on PostgreSQL: for a writer that holds the planning lock, the
    one that may write many keys in an order of its own. SQLite, in process,
    has nothing to overlap, and its indexes take keys in order faster."""
    if session.get_bind().dialect.name == "sqlite":
        rows = sorted(rows, key=lambda row: row["key"])
    insert_rows(session, OutboxMessage, _first_of_each_key(rows), _REOPEN_UNDELIVERED)


def _first_of_each_key(rows: Iterable[dict]) -> Iterator[dict]:
    """An upsert may not meet its own key twice: the first row of a key wins."""
    seen = set()
    for row in rows:
        if row["key"] not in seen:
            seen.add(row["key"])
            yield row


def _reopen_clause() -> str:
    taken = ", ".join(f"{name} = excluded.{name}" for name in _REOPENED)
    fresh = ", ".join(f"{name} = NULL" for name in ("lease_until", "leased_by", "unknown_since", "post_id",
                                                   "last_error", "sent_at"))
    given_up = ", ".join(f"'{state}'" for state in (DROPPED, UNDELIVERABLE))
    return (f"ON CONFLICT (key) DO UPDATE SET {taken}, attempts = 0, {fresh}"
            f" WHERE outbox.state IN ({given_up}) AND excluded.kind = '{DM}' AND excluded.run_id IS NOT NULL"
            " AND (outbox.run_id IS NULL OR outbox.run_id <> excluded.run_id)")


_REOPEN_UNDELIVERED = _reopen_clause()


def preview(services, session: Session, tick: TickTime, dues) -> list[RunLine]:
    """What a tick would do, computed read-only (``nippo remind --dry-run``),
    with every message it would send written out in full."""
    lines = []
    # The runs as the tick would claim them (their ids are not known: negative stand-ins).
    claims = {(due.sub.id, due.slot): claim_of(due, -n) for n, due in enumerate(dues, 1) if not due.skip_reason}
    dates = {d for c in claims.values() for d in dates_of(c)}  # a digest: its whole week
    keys, unavailable = outside_keys(services.source, dates)
    rosters = snapshot.rosters(session, {c.sub.team_id for c in claims.values()},
                               getattr(services.source, "member_key", "username"))
    reported, absent = snapshot.filed(session, rosters, dates)
    filed = Filed(reported, absent, keys)
    streaks = snapshot.streaks(session, {c.sub.id for c in claims.values()})
    # What the real tick reads besides (the streaks a miss would end, a
    # digest's week and streaks, the snoozes a nudge waits for).
    previewed = [c for c in claims.values() if not dates_of(c) & unavailable]
    inputs = gather(session, previewed, rosters, filed)
    previewed_keys: set[str] = set()  # a member on two rosters gets the first run's DM, as the real tick sends
    for due in dues:
        line = RunLine(None, due.sub.id, due.sub.channel_name, due.run.work_date, None, "dry-run", due.slot)
        claimed = claims.get((due.sub.id, due.slot))
        if due.skip_reason:
            line.status = f"dry-run: would be skipped ({due.skip_reason})"
        elif dates_of(claimed) & unavailable:
            line.status = "dry-run: would wait (source unreachable)"
        elif due.slot == DIGEST_SLOT and not inputs.digest_days.get(claimed.run_id):
            line.status = "dry-run: would be skipped (no work day)"
        else:
            plan = _plan_one(services, claimed, rosters.get(due.sub.team_id, []), filed, streaks, inputs, tick.now)
            if due.slot != DIGEST_SLOT:
                line.missing = len(plan.missing)
            line.messages = preview_messages(services, plan.rows, tick.now, previewed_keys)
            if not line.messages:
                line.status = "dry-run: nothing to send (empty or all-absent roster)"
        lines.append(line)
    return lines


def preview_messages(services, rows: list[dict], now, seen: set[str]) -> list[tuple[str, str]]:
    """(to whom, text) of each planned outbox row, as it would be sent now;
    not a row whose key is in ``seen`` (the tick's earlier runs planned it
    first), and each key shown is added there."""
    messages = []
    for row in (dm for row in rows for dm in (dm_rows(row, now) if row["kind"] == DMS else [row])):
        if row["key"] in seen:
            continue
        seen.add(row["key"])
        payload, kind = row["payload"], row["kind"]
        persona = persona_for(services, payload["persona"])
        members = payload.get("members") or []
        channel = f"~{payload.get('channel_name') or row['channel_id']}"
        recipient = f"@{_username(payload, row['recipient_user_id'])} (direct message)"
        if kind == CHANNEL:
            text = channel_text(persona, payload, members) if members else praise_text(persona, payload)
            messages.append((channel, text))
        elif kind == DM:
            buttons = "  ".join(f"[{persona.say(LABEL_KEYS[a], payload['lang'], seed=payload['seed'])}]"
                                for a in ACTIONS)  # labelled as the real DM's buttons
            messages.append((recipient, f"{dm_text(persona, payload)}\n{buttons}"))
        elif kind == SUMMARY:
            text = leader_summary(persona, payload, members, row["recipient_user_id"])
            if text is not None:  # not when the leader is the only one missing
                messages.append((recipient, text))
        elif kind == NOTICE:
            messages.append((recipient, notice_text(persona, payload, members)))
        elif kind == DIGEST:
            messages.append((channel, digest_text(persona, payload)))
        elif kind == MEMBERSHIP:
            messages.append((channel, f"(each missing member who is not in {channel} also gets a DM; "
                                      "who that is, Mattermost is asked when the post goes out)"))
    return messages


def _username(payload: dict, user_id: str | None) -> str:
    member = payload.get("member") or {}
    if member.get("u") == user_id:
        return member.get("n") or user_id
    for leader_id, username in payload.get("leaders") or []:
        if leader_id == user_id:
            return username
    return user_id or "?"
