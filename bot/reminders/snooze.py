"""'Remind me in 1 hour': one more DM an hour later, once per click.

At most one snooze per member and work date waits at a time: a click on a
stale copy while one is pending changes nothing; after it was sent, the
snoozed DM's own button may snooze again.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.reminders.common import OPEN_STATES, SNOOZE, insert, person
from bot.reminders.plan import dm_key, outbox_row
from db.models import Member, OutboxMessage, RosterEntry, Subscription


def snooze_key(user_id: str, work_date: date, number: int = 1) -> str:
    base = f"snooze:{user_id}:{work_date.isoformat()}"
    return base if number == 1 else f"{base}:{number}"


def schedule_snooze(session: Session, services, user_id: str, work_date: date, not_before: datetime) -> bool:
    """Enqueue the snoozed DM (``reminder.snoozed``, with the same buttons) for
    ``not_before``; False if this member already snoozed this work date or is
    unknown. Runs in the caller's write transaction; delivery re-checks the
    date first, so a snooze is dropped once the date is filed."""
    member = session.execute(select(Member.id, Member.username, Member.email)
                             .where(Member.user_id == user_id)).first()
    if member is None:
        return False
    original = session.scalar(select(OutboxMessage.payload).where(OutboxMessage.key == dm_key(user_id, work_date)))
    context = dict(original) if original else _voice(session, services, member.id)
    key = _key(session, services, member, context.get("team"))
    earlier = session.execute(select(OutboxMessage.state).where(
        OutboxMessage.recipient_user_id == user_id, OutboxMessage.work_date == work_date,
        OutboxMessage.key.like(snooze_key(user_id, work_date) + "%"))).scalars().all()
    if any(state in OPEN_STATES for state in earlier):
        return False  # one is already on its way
    snooze = snooze_key(user_id, work_date, len(earlier) + 1)
    catchup = timedelta(minutes=services.settings.catchup_minutes)
    payload = {**context, "member": person(member.id, user_id, member.username, key.lower() if key else None),
               "text_key": "reminder.snoozed", "seed": snooze, "date": work_date.isoformat()}
    payload.pop("message", None)
    row = outbox_row(snooze, SNOOZE, run_id=None, work_date=work_date, channel_id=None, recipient=user_id,
                     now=not_before, deadline=not_before + max(catchup, timedelta(hours=1)), payload=payload)
    row["created_at"] = services.clock()
    created = session.execute(insert(session, OutboxMessage).values(row).on_conflict_do_nothing()
                              .returning(OutboxMessage.id)).first()
    return created is not None


def _key(session: Session, services, member, team_id: int | None) -> str | None:
    """The member's key for the outside source; an external id is the one the
    team that chased them linked (any team's when the DM is unknown)."""
    key_name = getattr(services.source, "member_key", "username")
    if key_name == "email":
        return member.email
    if key_name != "external_id":
        return member.username
    query = select(RosterEntry.external_id).where(RosterEntry.member_id == member.id,
                                                  RosterEntry.external_id.is_not(None))
    if team_id is not None:
        query = query.where(RosterEntry.team_id == team_id)
    return session.scalars(query.order_by(RosterEntry.team_id).limit(1)).first()


def _voice(session: Session, services, member_id: int) -> dict:
    """Persona and language of a subscription the member is on, else the defaults."""
    row = session.execute(
        select(Subscription.persona, Subscription.language)
        .join(RosterEntry, RosterEntry.team_id == Subscription.team_id)
        .where(RosterEntry.member_id == member_id, RosterEntry.removed_at.is_(None))
        .order_by(Subscription.id).limit(1)
    ).first()
    persona, lang = row if row is not None else (services.settings.persona, services.settings.language)
    return {"persona": persona, "lang": lang, "leaders": [], "team": None}
