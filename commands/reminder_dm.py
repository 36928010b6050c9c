"""The reminder DM as nippo sent it, and how it is rewritten after a click or
a dialog (docs/buttons-and-dialogs.md).

Mattermost replaces a post's props whole on every update: an action's
``update`` keeps only ``from_webhook`` and the two overrides, and a patch
keeps nothing at all. So every rewrite sends all of them again: the persona's
name and icon, ``from_webhook``, ``from_bot`` and ``nippo_outbox_id``. The
message itself never changes, because past a server's PostEditTimeLimit a
changed message is refused: what happened is said in an attachment instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from bot.buttons import reminder_attachment
from bot.reminders.texts import post_props
from db.models import OutboxMessage


@dataclass(frozen=True)
class SentDM:
    post_id: str
    outbox_id: int
    message: str
    persona: str | None  # the persona it was sent in, whose face it shows
    lang: str | None
    sent_at: datetime | None  # the tick's time: its buttons expire 7 days after


def find(services, post_id: str, user_id: str, outbox_id: int | None = None) -> SentDM | None:
    """The DM behind ``post_id`` sent to ``user_id`` (by its outbox id, the
    primary key, when the dialog's signed state carries it)."""
    if not post_id:
        return None
    query = (select(OutboxMessage.id, OutboxMessage.payload, OutboxMessage.sent_at)
             .where(OutboxMessage.post_id == post_id, OutboxMessage.recipient_user_id == user_id))
    if isinstance(outbox_id, int):
        query = query.where(OutboxMessage.id == outbox_id)
    with services.database.read() as session:
        row = session.execute(query.limit(1)).first()
    if row is None:
        return None
    payload = row.payload or {}
    return SentDM(post_id=post_id, outbox_id=row.id, message=payload.get("message", ""),
                  persona=payload.get("persona"), lang=payload.get("lang"), sent_at=row.sent_at)


def voice(services, dm: SentDM | None):
    """(persona, language) the DM was sent in, so its updates speak as it did; None if unknown."""
    if dm is None or not dm.persona:
        return None
    persona = services.personas.get(dm.persona, fallback=services.settings.persona)
    return persona, dm.lang or services.settings.language


def rewrite(services, dm: SentDM, persona, lang: str, *, user_id: str, work_date: date, status: str,
            actions: tuple[str, ...], sent_at: datetime) -> dict:
    """The DM again, whole: its own message, and props saying ``status`` with the
    buttons that still make sense."""
    footer = persona.say("dm.updated_footer", lang, status=status)
    attachment = reminder_attachment(services, persona, lang, user_id, work_date, sent_at, actions=actions,
                                     text=footer)
    props = {**post_props(persona, dm.outbox_id, [attachment]), "from_bot": "true"}
    return {"message": dm.message, "props": props}


def persona_props(persona) -> dict:
    """The persona's face on a post of its own (a confirmation sent as a new DM)."""
    return {k: v for k, v in post_props(persona, 0).items() if k != "nippo_outbox_id"}
