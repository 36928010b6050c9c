"""The outbox in the database: leasing messages, recording what happened.

Each state change is one short write transaction; nothing here talks to
Mattermost. A lease says which process may send a message until when, on the
real clock; a message whose sender died is leased again once that time has
passed, and is then treated as "may have been sent" (the sender died
mid-call). A tick played ahead of time leases and drops only the messages of
runs it claimed: another process's work is judged by the real clock alone.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import JSON, and_, bindparam, case, func, or_, select, update
from sqlalchemy.orm import Session

from bot.reminders.common import (DELIVERED, DROPPED, MESSAGE_LEASE, NOTICE, PENDING, RUN_KINDS, SENDING,
                                  UNDELIVERABLE, TickTime, insert)
from bot.reminders.notices import channel_ref, notice_rows
from bot.reminders.plan import messages_in
from bot.reminders.planner import insert_messages
from db.idsets import in_ids
from db.models import MissingStreak, OutboxMessage, ReminderRun

# unknown_since for a message taken over from a dead sender: long enough ago
# that Mattermost's dedup is surely over, so the channel is searched first.
_LONG_AGO = datetime(2000, 1, 1, tzinfo=timezone.utc)

_COLUMNS = (OutboxMessage.id, OutboxMessage.key, OutboxMessage.run_id, OutboxMessage.kind,
            OutboxMessage.channel_id, OutboxMessage.recipient_user_id, OutboxMessage.work_date,
            OutboxMessage.payload, OutboxMessage.attempts, OutboxMessage.deadline, OutboxMessage.unknown_since,
            OutboxMessage.pending_post_id, OutboxMessage.created_at, OutboxMessage.lease_until)


@dataclass
class Outcome:
    """What became of one send. ``state`` is an outbox state; PENDING means retry."""

    state: str
    post_id: str | None = None
    channel_id: str | None = None
    text: str | None = None
    error: str | None = None
    not_before: datetime | None = None
    unknown_since: datetime | None = None
    new_rows: list[dict] = field(default_factory=list)  # messages this step adds (membership)
    notify: dict | None = None  # params of leader.delivery_failed


def lease(session: Session, tick: TickTime, owner: str, limit: int, *, ids: list[int] | None = None) -> list[dict]:
    """Lease up to ``limit`` messages due at the tick's time (only ``ids`` when given)."""
    now = tick.now
    due = or_(and_(OutboxMessage.state == PENDING, OutboxMessage.not_before <= now),
              and_(OutboxMessage.state == SENDING, OutboxMessage.lease_until <= tick.real_now()))
    conditions = [due, or_(OutboxMessage.deadline.is_(None), OutboxMessage.deadline >= now)]
    if tick.ahead:
        conditions.append(_of_runs_claimed_by(owner))
    if ids is not None:
        conditions.append(in_ids(session, OutboxMessage.id, ids, "messages"))
    picked = (select(OutboxMessage.id)
              .where(*conditions)
              .order_by(OutboxMessage.not_before, OutboxMessage.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True)  # replicas lease disjoint batches
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(picked.scalar_subquery()), due)
        .values(state=SENDING, leased_by=owner, lease_until=tick.lease(MESSAGE_LEASE),
                attempts=OutboxMessage.attempts + 1,
                unknown_since=case((OutboxMessage.state == SENDING,
                                    func.coalesce(OutboxMessage.unknown_since, _LONG_AGO)),
                                   else_=OutboxMessage.unknown_since))
        .returning(*_COLUMNS)
        .execution_options(synchronize_session=False)
    )
    rows = [dict(row._mapping) for row in session.execute(statement)]
    return sorted(rows, key=lambda r: r["id"])


def _of_runs_claimed_by(owner: str):
    """Messages of the runs ``owner`` claimed (a message of no run is nobody's)."""
    return OutboxMessage.run_id.in_(select(ReminderRun.id).where(ReminderRun.claimed_by == owner).scalar_subquery())


_OUTBOX = OutboxMessage.__table__

# Most results are plain deliveries: one executemany for all of them.
_DELIVERED = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("b_id"), _OUTBOX.c.leased_by == bindparam("b_owner"),
           _OUTBOX.c.lease_until == bindparam("b_lease"), _OUTBOX.c.state == SENDING)
    .values(state=DELIVERED, lease_until=None, last_error=None, unknown_since=None,
            post_id=bindparam("b_post"), sent_at=bindparam("b_now"), payload=bindparam("b_payload", type_=JSON),
            channel_id=func.coalesce(_OUTBOX.c.channel_id, bindparam("b_channel")))
)


def record_all(session: Session, results: list[tuple[dict, Outcome]], owner: str, now: datetime) -> int:
    """Store outcomes whose lease this process still holds; how many it did not."""
    plain = [(m, o) for m, o in results if o.state == DELIVERED and not o.new_rows]
    lost = 0
    if plain:
        session.connection().execute(_DELIVERED, [{
            "b_id": message["id"], "b_owner": owner, "b_lease": message["lease_until"], "b_post": outcome.post_id,
            "b_now": now,
            "b_channel": outcome.channel_id,
            # what the action endpoint shows again when it updates the DM
            "b_payload": {**message["payload"], "message": outcome.text} if outcome.text is not None
            else message["payload"]} for message, outcome in plain])
        lost = len(plain) - _recorded_as_delivered(session, [m["id"] for m, _o in plain], owner)
    _leaders_told(session, [m for m, o in results if o.state == DELIVERED])
    added: list[dict] = []  # the steps' new rows, written in one go: a morning's steps add tens of thousands
    lost += sum(not record(session, m, owner, o, now, added) for m, o in results
                if not (o.state == DELIVERED and not o.new_rows))
    insert_messages(session, added)
    return lost


def _recorded_as_delivered(session: Session, ids: list[int], owner: str) -> int:
    """How many of ``ids`` now stand delivered by ``owner``: an executemany's
    row count is not reliable on every driver, so ask."""
    return session.scalar(select(func.count()).select_from(OutboxMessage).where(
        in_ids(session, OutboxMessage.id, ids, "messages"), OutboxMessage.leased_by == owner,
        OutboxMessage.state == DELIVERED))


def _leaders_told(session: Session, delivered: list[dict]) -> None:
    """An escalation that reached a leader: its members' streaks are told
    (recorded on delivery, so a notice that never went out is tried again)."""
    pairs = sorted({(m["payload"]["sub"], member["m"]) for m in delivered
                    if m["kind"] == NOTICE and m["payload"].get("text_key") == "leader.escalation"
                    and m["payload"].get("sub") is not None for member in m["payload"].get("members") or []})
    if not pairs:
        return
    statement = insert(session, MissingStreak).values([
        {"subscription_id": sub_id, "member_id": member_id, "streak": 0, "leaders_told": True}
        for sub_id, member_id in pairs])
    session.execute(statement.on_conflict_do_update(index_elements=["subscription_id", "member_id"],
                                                    set_={"leaders_told": True}))


def record(session: Session, message: dict, owner: str, outcome: Outcome, now: datetime, added: list[dict]) -> bool:
    """Store the outcome if this process still holds the lease it sent under
    (not a later one: a pass may lease its own message again once the first
    lease ran out). The rows a step adds go into ``added``, for the caller to
    write with the rest, in this transaction."""
    # leased_by stays: it says which replica sent the message.
    values: dict = {"state": outcome.state, "lease_until": None, "last_error": (outcome.error or "")[:300] or None}
    if outcome.channel_id and not message["channel_id"]:
        values["channel_id"] = outcome.channel_id  # a DM's channel, for a later search
    if outcome.state == DELIVERED:
        values.update(post_id=outcome.post_id, sent_at=now, unknown_since=None)
        if outcome.text is not None:
            values["payload"] = {**message["payload"], "message": outcome.text}
    elif outcome.state == PENDING:
        values.update(not_before=outcome.not_before or now, unknown_since=outcome.unknown_since)
    held = session.connection().execute(
        update(_OUTBOX)
        .where(_OUTBOX.c.id == message["id"], _OUTBOX.c.leased_by == owner,
               _OUTBOX.c.lease_until == message["lease_until"], _OUTBOX.c.state == SENDING)
        .values(**values)
    ).rowcount == 1
    if not held:
        return False
    added += outcome.new_rows
    if outcome.state == UNDELIVERABLE and outcome.notify is not None and message["kind"] != NOTICE:
        payload = message["payload"]
        insert_messages(session, notice_rows(
            f"failed:{message['id']}:{message['run_id']}", payload, "leader.delivery_failed", now, run_id=message["run_id"],
            work_date=message["work_date"], params=outcome.notify, exclude=message["recipient_user_id"]))
    return True


def failed_target(message: dict) -> str:
    from persona import name

    if message["recipient_user_id"]:
        member = message["payload"].get("member")
        return name(member["n"]) if member else name(message["recipient_user_id"])
    return channel_ref(message["payload"])


_RELEASE = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("b_id"), _OUTBOX.c.leased_by == bindparam("b_owner"),
           _OUTBOX.c.lease_until == bindparam("b_lease"), _OUTBOX.c.state == SENDING)
    .values(state=PENDING, leased_by=None, lease_until=None, attempts=_OUTBOX.c.attempts - 1)
)


def release(session: Session, messages: list[dict], owner: str) -> None:
    """Give back leases not used (the tick is stopping): nothing was sent."""
    if messages:
        session.connection().execute(_RELEASE, [{"b_id": m["id"], "b_owner": owner, "b_lease": m["lease_until"]}
                                                for m in messages])


def drop_expired(session: Session, tick: TickTime, owner: str) -> int:
    """Messages still undelivered when their window closed are dropped; each
    run's leaders are told how many (docs/reminders.md). A message being sent
    counts only once its lease ran out on the real clock; a tick played ahead
    of time drops nothing but its own runs' messages."""
    now = tick.now
    expired = or_(OutboxMessage.state == PENDING,
                  and_(OutboxMessage.state == SENDING, OutboxMessage.lease_until <= tick.real_now()))
    conditions = [OutboxMessage.deadline < now, expired]
    if tick.ahead:
        conditions.append(_of_runs_claimed_by(owner))
    dropped = session.execute(
        update(OutboxMessage)
        .where(*conditions)
        .values(state=DROPPED, leased_by=None, lease_until=None)
        .returning(OutboxMessage.run_id, OutboxMessage.kind, OutboxMessage.work_date, OutboxMessage.payload)
        .execution_options(synchronize_session=False)
    ).all()
    first: dict[int, tuple] = {}  # run -> (work date, payload) of its first dropped row
    counts: dict[int, int] = defaultdict(int)  # run -> messages dropped (a step of DMs: each of them)
    for run_id, kind, work_date, payload in dropped:
        if run_id is not None and kind in RUN_KINDS:
            first.setdefault(run_id, (work_date, payload))
            counts[run_id] += messages_in(kind, payload)
    rows = []
    for run_id, (work_date, payload) in first.items():
        rows += notice_rows(f"dropped:{run_id}", payload, "leader.dropped", now, run_id=run_id,
                            work_date=work_date, params={"count": counts[run_id]})
    insert_messages(session, rows)
    return len(dropped)

