"""Posts a command asks for (``/report-status public``): outbox messages like
the reminders, so they follow the same rules (``pending_post_id``,
``props.nippo_outbox_id``, a search after a lost answer, leases).

The command enqueues the post and answers at once; background work sends it
straight away through the same sender, and if that fails it waits for the
scheduler's retries like any outbox message, until its window closes.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from bot.reminders import recheck
from bot.reminders.common import STATUS, TickTime, delivery_options, insert, process_id
from bot.reminders.limiter import Breaker
from bot.reminders.outbox import Outcome, lease, record_all
from bot.reminders.plan import outbox_row
from bot.reminders.sender import Sender
from db.models import OutboxMessage

# A status shown much later than it was asked for would mislead.
STATUS_WINDOW = timedelta(minutes=30)


def enqueue_status(services, channel_id: str, text: str, persona: str, lang: str, now: datetime) -> int:
    """The outbox id of a new status post for ``channel_id``, due at ``now``."""
    key = f"status:{secrets.token_hex(16)}"
    row = outbox_row(key, STATUS, run_id=None, work_date=None, channel_id=channel_id, recipient=None, now=now,
                     deadline=now + STATUS_WINDOW,
                     payload={"persona": persona, "lang": lang, "text": text, "seed": key})
    with services.database.write() as session:
        return session.execute(insert(session, OutboxMessage).values(row).returning(OutboxMessage.id)).scalar_one()


def send_now(services, message_id: int, now: datetime) -> Outcome | None:
    """Send one outbox message at once; None when another process holds it
    or it is not due any more."""
    options = delivery_options(services)
    tick, owner = TickTime(now, options.real_clock), process_id()
    with services.database.write() as session:
        leased = lease(session, tick, owner, 1, ids=[message_id])
    if not leased:
        return None
    sources = recheck.SourceCache(services.source)
    outcome = Sender(services, tick, options, sources, Breaker()).send(leased[0], recheck.load(
        services.database, sources, leased))
    with services.database.write() as session:
        record_all(session, [(leased[0], outcome)], owner, tick.now)
    return outcome
