"""Names, ids and knobs shared by planning and delivery.

Everything here is a plain value: the scheduler thread hands these between
threads and processes, never ORM objects.
"""

from __future__ import annotations

import os
import random
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.reminders.limiter import RateGate
from db.models import DIGEST as DIGEST_RUN

# Run states (docs/reminders.md): claimed -> planned -> sent | failed, or skipped.
CLAIMED, PLANNED, SENT, SKIPPED, FAILED = "claimed", "planned", "sent", "skipped", "failed"

# Outbox message kinds. A "membership" row is a step, not a message: at
# delivery it asks Mattermost who is in the channel and adds DMs for roster
# members outside it (their mention would not reach them).
CHANNEL, DM, SUMMARY, MEMBERSHIP, SNOOZE, NOTICE = "channel", "dm", "summary", "membership", "snooze", "notice"
# A "dms" row is a step too: a run's DMs, one row for all of them, which
# delivery turns into one DM row each. A big morning has tens of thousands of
# DMs, and writing each as a row of its own was a third of planning's time.
DMS = "dms"
# A post a command asked for (`/report-status public`), belonging to no run.
STATUS = "status"
DIGEST = "digest"  # the weekly digest's channel post
# The kinds whose fate decides a run's outcome; notices to leaders never do,
# or a leader with DMs closed would make every run fail.
OUTCOME_KINDS = (CHANNEL, DM, SUMMARY, DIGEST)
# The rows that stand for such messages: those, and a step of DMs not yet made into rows.
OUTCOME_ROW_KINDS = OUTCOME_KINDS + (DMS,)
# Kinds a run waits for before it is finished.
RUN_KINDS = (CHANNEL, DM, SUMMARY, MEMBERSHIP, DIGEST, DMS)

# Run slots besides the morning run's '' (db.models.MORNING): a nudge is
# 'again HH:MM', the weekly digest 'digest'.
DIGEST_SLOT = DIGEST_RUN
_NUDGE_PREFIX = "again "


def nudge_slot(at) -> str:
    return f"{_NUDGE_PREFIX}{at.strftime('%H:%M')}"


def nudge_time(slot: str) -> str | None:
    """'13:00' for the slot 'again 13:00'; None for any other slot."""
    return slot[len(_NUDGE_PREFIX):] if slot.startswith(_NUDGE_PREFIX) else None

# Outbox states.
PENDING, SENDING, DELIVERED, CANCELLED, UNDELIVERABLE, DROPPED = (
    "pending", "sending", "sent", "cancelled", "failed", "dropped")
OPEN_STATES = (PENDING, SENDING)
# A step of DMs whose rows are made: not a message sent (the metrics count messages).
EXPANDED = "expanded"

POST_LIMIT = 16383  # Mattermost's maximum post length, in characters
PAUSE_AFTER_FAILED_RUNS = 3
RUN_LEASE = timedelta(minutes=5)  # a claimant that dies is taken over after this
SOURCE_RETRY = timedelta(seconds=30)  # a run waiting for the outside source is retried next tick
MESSAGE_LEASE = timedelta(minutes=5)
# A post goes out only while this much of its message's lease is left: more
# than one call's timeout plus the clock skew between replicas, so it lands
# before another process may take the message over and search for it.
LEASE_MARGIN = 60.0  # seconds
NOTICE_WINDOW = timedelta(hours=3)  # how long a notice to leaders keeps trying

# Mattermost's id alphabet; a pending post id needs only to be unique and look like one.
_HEX_TO_MATTERMOST = str.maketrans("0123456789abcdef", "ybndrfg8ejkmcpqx")


_ID_BYTES = 13
_IDS_AT_ONCE = 4096
_id_pool: list[str] = []
_id_pool_lock = threading.Lock()


def new_post_id() -> str:
    """26 characters of Mattermost's id alphabet (104 random bits), for
    ``pending_post_id``. A big morning makes tens of thousands: they are
    made a few thousand at a time, from one system call's random bytes,
    with hex and translate running in C over all of them at once."""
    with _id_pool_lock:
        if not _id_pool:
            text = os.urandom(_ID_BYTES * _IDS_AT_ONCE).hex().translate(_HEX_TO_MATTERMOST)
            step = 2 * _ID_BYTES
            _id_pool.extend(text[start:start + step] for start in range(0, len(text), step))
        return _id_pool.pop()


def _forget_random_pool() -> None:
    _id_pool.clear()  # a forked child must not hand out its parent's ids


os.register_at_fork(after_in_child=_forget_random_pool)


_process_ids: dict[int, str] = {}


def process_id() -> str:
    """Who holds a claim or lease: host, pid and a nonce (a recycled pid is someone else)."""
    pid = os.getpid()
    if pid not in _process_ids:
        _process_ids[pid] = f"{socket.gethostname()[:40]}:{pid}:{secrets.token_hex(3)}"
    return _process_ids[pid]


def insert(session: Session, model):
    """An INSERT that knows ON CONFLICT on both databases."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


@dataclass
class DeliveryOptions:
    """How delivery talks to Mattermost. Tests inject the clocks, the sleep and
    the random source; one instance (with its rate gate) lives per process."""

    workers: int = 12  # sends in flight: enough to hide 20 ms of latency (docs/operations.md, performance)
    batch: int = 64
    real_clock: Callable[[], float] = time.time  # leases, and when a lost answer's request went out
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    random: random.Random = field(default_factory=random.Random)
    # A Retry-After up to this many seconds is waited out inside the tick (the
    # whole pool pauses); a longer one becomes a later not_before.
    inline_wait_max: float = 10.0
    retry_base: timedelta = timedelta(seconds=30)
    retry_cap: timedelta = timedelta(minutes=15)
    gate: RateGate | None = None
    # DM channel per user id, as far as this process knows: a known one
    # costs no call, so it must not take a slot at the gate either.
    dm_channels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.gate is None:
            self.gate = RateGate(self.monotonic, self.sleep)


def delivery_options(services) -> DeliveryOptions:
    """The process's options, kept on its Services (tests set their own first)."""
    options = getattr(services, "delivery", None)
    if options is None:
        options = DeliveryOptions()
        services.delivery = options
    return options


@dataclass
class TickTime:
    """The tick's clock and the real one.

    ``now`` is fixed for the whole tick and drives what the tick does: which
    runs are due, due times, retries, snoozes, button expiry. Leases are real
    time: they, and every take-over or drop of another process's work, are
    judged by ``real_clock``, so a tick played ahead of time (``nippo remind
    --at`` tomorrow) touches only the runs it claimed itself."""

    now: datetime
    real_clock: Callable[[], float] = time.time
    ahead: bool = False  # ``now`` is later than the real clock: a tick played ahead of time

    def __post_init__(self) -> None:
        self.ahead = self.now > self.real_now()

    def real_now(self) -> datetime:
        return datetime.fromtimestamp(self.real_clock(), timezone.utc)

    def lease(self, length: timedelta) -> datetime:
        return self.real_now() + length


def person(member_id: int, user_id: str, username: str, key: str | None) -> dict:
    """A member as outbox payloads carry them (short names: thousands per run)."""
    return {"m": member_id, "u": user_id, "n": username, "k": key}
