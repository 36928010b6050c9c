"""Button clicks and dialog submissions (docs/buttons-and-dialogs.md).

Mattermost shows the user a generic error for any answer but 200, so every
expected outcome is a 200 with text; only a forged, altered or foreign
context is refused with 403, and a request that is no submission at all with
400. Clicks are judged on the real clock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.buttons import ACTIONS, BUTTON_LIFETIME
from bot.mattermost import MattermostError
from bot.reminders.texts import command_for
from bot.responder import RESPONSE_URL_LIFETIME, voice_fields
from commands import reminder_dm
from commands.dialogs import CALLBACK_ID, DIALOG_LIFETIME, open_report_dialog
from commands.grammar import REPORT_TEXT_LIMIT, parse_date, storable
from commands.people import upsert_member
from commands.report import fileable
from persona import join
from db import queries
from db.models import Member, RosterEntry, Subscription

log = logging.getLogger("nippo.interactive")

SNOOZE_DELAY = timedelta(hours=1)


@dataclass
class Answer:
    status: int
    body: dict = field(default_factory=dict)


def _voice(services, user_id: str):
    """The persona and language of a subscription this member is on, else the defaults."""
    settings = services.settings
    with services.database.read() as session:
        row = session.execute(
            select(Subscription.persona, Subscription.language)
            .join(RosterEntry, RosterEntry.team_id == Subscription.team_id)
            .join(Member, Member.id == RosterEntry.member_id)
            .where(Member.user_id == user_id, Subscription.enabled.is_(True), RosterEntry.removed_at.is_(None))
            .order_by(Subscription.id)
            .limit(1)
        ).first()
    name, lang = (row if row is not None else (settings.persona, settings.language))
    return services.personas.get(name, fallback=settings.persona), lang


def _member_today(services, user_id: str, now: datetime) -> date:
    with services.database.read() as session:
        zone = session.scalar(select(Member.timezone).where(Member.user_id == user_id))
    try:
        return now.astimezone(ZoneInfo(zone or services.settings.timezone)).date()
    except (ValueError, KeyError):
        return now.astimezone(ZoneInfo(services.settings.timezone)).date()


def _reported_or_off(services, user_id: str, work_date: date) -> str | None:
    with services.database.read() as session:
        member = session.scalars(select(Member).where(Member.user_id == user_id)).first()
        if member is None:
            return None
        reported, off = queries.filed_and_off(session, [member.id], work_date)
    if member.id in reported:
        return "reported"
    if member.id in off:
        return "off"
    return None


def _update(services, dm, persona, lang, user_id: str, work_date: date, status_text: str,
            actions: tuple[str, ...], sent_at: datetime) -> dict:
    """The action answer that rewrites the DM to say what happened, with the
    buttons that still make sense; none for a post nippo does not know (an
    update without its message would blank it)."""
    if dm is None:
        return {}
    return {"update": reminder_dm.rewrite(services, dm, persona, lang, user_id=user_id, work_date=work_date,
                                          status=status_text, actions=actions, sent_at=sent_at)}


def handle_action(services, payload, now: datetime) -> Answer:
    if not isinstance(payload, dict) or not isinstance(payload.get("context"), dict):
        return Answer(400, {"error": "not an interactive message action"})
    fields = services.signer.verify(payload["context"])
    if fields is None or fields.get("a") not in ACTIONS:
        log.warning("button click refused: bad signature")
        return Answer(403, {"error": "forbidden"})
    user_id = payload.get("user_id")
    if not isinstance(user_id, str) or user_id != fields.get("u"):
        log.warning("button click refused: not the member the reminder was for")
        return Answer(403, {"error": "forbidden"})
    try:
        work_date = date.fromisoformat(fields["d"])
        expires_at = datetime.fromtimestamp(int(fields["e"]), timezone.utc)
    except (KeyError, TypeError, ValueError):
        return Answer(403, {"error": "forbidden"})
    post_id = payload.get("post_id") if isinstance(payload.get("post_id"), str) else ""
    dm = reminder_dm.find(services, post_id, user_id)
    persona, lang = reminder_dm.voice(services, dm) or _voice(services, user_id)
    sent_at = expires_at - BUTTON_LIFETIME
    if now > expires_at:
        text = persona.say("action.expired", lang)
        return Answer(200, {"ephemeral_text": text,
                            **_update(services, dm, persona, lang, user_id, work_date, text, (), sent_at)})
    settled = _reported_or_off(services, user_id, work_date)
    if settled is not None:
        text = persona.say("action.already_done", lang, date=work_date.isoformat())
        return Answer(200, {"ephemeral_text": text,
                            **_update(services, dm, persona, lang, user_id, work_date, text, (), sent_at)})
    action = fields["a"]
    if action == "write":
        return _write(services, persona, lang, payload, user_id, work_date, dm, now)
    if action == "off":
        return _off(services, dm, persona, lang, user_id, work_date, now, sent_at)
    return _snooze(services, dm, persona, lang, user_id, work_date, now, sent_at)


def _write(services, persona, lang, payload, user_id, work_date, dm, now) -> Answer:
    trigger_id = payload.get("trigger_id")
    if not isinstance(trigger_id, str) or not trigger_id:
        return Answer(400, {"error": "no trigger_id"})
    try:
        open_report_dialog(services, persona, lang, trigger_id=trigger_id, user_id=user_id, work_date=work_date,
                           now=now, post_id=dm.post_id if dm else "", outbox_id=dm.outbox_id if dm else None)
    except MattermostError as error:
        log.warning("could not open the report dialog (status %s, %s)", error.status, error.error_id)
        return Answer(200, {"ephemeral_text": persona.say(
            "report.dialog_failed", lang, command=command_for(work_date, lang))})
    return Answer(200, {})


def _off(services, dm, persona, lang, user_id, work_date, now, sent_at) -> Answer:
    user = services.users.get(user_id)
    with services.database.write() as session:
        member = upsert_member(session, user, now)
        queries.add_absences(session, member.id, [work_date], created_by=user_id, now=now)
    text = persona.say("action.absence_recorded", lang, date=work_date.isoformat())
    return Answer(200, _update(services, dm, persona, lang, user_id, work_date, text, (), sent_at))


def _snooze(services, dm, persona, lang, user_id, work_date, now, sent_at) -> Answer:
    from bot.reminders import schedule_snooze

    with services.database.write() as session:
        schedule_snooze(session, services, user_id, work_date, now + SNOOZE_DELAY)
    text = persona.say("action.snoozed", lang, date=work_date.isoformat())
    return Answer(200, _update(services, dm, persona, lang, user_id, work_date, text, ("write", "off"), sent_at))


def handle_dialog(services, payload, now: datetime) -> Answer:
    if not isinstance(payload, dict) or payload.get("type") != "dialog_submission":
        return Answer(400, {"error": "not a dialog submission"})
    if payload.get("cancelled"):
        return Answer(200, {})
    state = services.signer.verify_text(payload.get("state"))
    user_id = payload.get("user_id")
    if state is None or state.get("k") != CALLBACK_ID or not isinstance(user_id, str) or state.get("u") != user_id:
        log.warning("dialog submission refused: bad or foreign state")
        return Answer(403, {"error": "forbidden"})
    dm = reminder_dm.find(services, state.get("p") or "", user_id, state.get("o"))
    persona, lang = reminder_dm.voice(services, dm) or _voice(services, user_id)
    if now.timestamp() > int(state.get("e", 0)):
        return Answer(200, {"error": _expired_dialog(persona, lang, state)})
    submission = payload.get("submission")
    if not isinstance(submission, dict):
        return Answer(400, {"error": "no submission"})
    errors, work_date, text = _read_submission(services, persona, lang, submission, state, now)
    if errors:
        return Answer(200, {"errors": errors})
    user = services.users.get(user_id)
    with services.database.write() as session:
        member = upsert_member(session, user, now)
        replaced = queries.save_report(session, member.id, work_date, text, "dialog", now)
        still_missing = queries.chased_dates_still_missing(session, member.id, exclude=work_date)
    confirmation = persona.say("report.replaced" if replaced else "report.filed", lang, date=work_date.isoformat())
    still_missing = fileable(still_missing, _member_today(services, user_id, now))
    if still_missing:
        confirmation += "\n" + persona.say("report.still_missing", lang,
                                           dates=join([d.isoformat() for d in still_missing], lang),
                                           command=command_for(still_missing[0], lang))
    _confirm(services, dm, persona, lang, state, user_id, work_date, confirmation, now)
    return Answer(200, {})


def _read_submission(services, persona, lang, submission: dict, state: dict, now: datetime):
    errors: dict[str, str] = {}
    text = submission.get("text")
    if not isinstance(text, str) or not text.strip():
        errors["text"] = persona.say("dialog.error_empty", lang)
    elif len(text) > REPORT_TEXT_LIMIT:
        errors["text"] = persona.say("dialog.error_too_long", lang, limit=REPORT_TEXT_LIMIT)
    elif not storable(text):
        errors["text"] = persona.say("error.bad_characters", lang)
    raw_date = submission.get("work_date", state.get("d"))
    work_date = None
    if not isinstance(raw_date, str):
        errors["work_date"] = persona.say("dialog.error_bad_date", lang, token="?")
    else:
        from persona import inert

        today = _member_today(services, state.get("u", ""), now)
        parsed = parse_date(raw_date.strip(), today)
        if isinstance(parsed, date) and (parsed - today).days <= 1:
            work_date = parsed
        elif isinstance(parsed, date):
            errors["work_date"] = persona.say("dialog.error_future_date", lang, date=parsed.isoformat())
        else:
            errors["work_date"] = persona.say("dialog.error_bad_date", lang, token=inert(raw_date.strip()[:40]))
    return errors, work_date, text


def _expired_dialog(persona, lang, state: dict) -> str:
    """The dialog (not a button) has expired: file with the command, for the dialog's own date."""
    try:
        work_date = date.fromisoformat(state.get("d", ""))
    except (TypeError, ValueError):
        return persona.say("dialog.expired", lang, command="/report")
    return persona.say("dialog.expired", lang, command=command_for(work_date, lang))


def _confirm(services, dm, persona, lang, state: dict, user_id: str, filed: date, confirmation: str,
             now: datetime) -> None:
    """Say it worked where the dialog came from: the DM (its props only, with
    ``Write report`` kept while the DM's own work date is still missing), or
    the command's response_url while it lives; else a DM from the bot."""
    if dm is not None:
        dm_date = date.fromisoformat(state["d"])
        still_open = dm_date != filed and _reported_or_off(services, user_id, dm_date) is None
        status = persona.say("action.report_filed", lang, date=filed.isoformat())
        update = reminder_dm.rewrite(services, dm, persona, lang, user_id=user_id, work_date=dm_date, status=status,
                                     actions=ACTIONS if still_open else (), sent_at=dm.sent_at or now)
        try:
            services.mattermost.patch_post(dm.post_id, props=update["props"])
            return
        except MattermostError as error:
            # Some servers refuse any patch past PostEditTimeLimit: its buttons
            # still answer that the report is filed.
            log.warning("could not update the reminder DM (status %s, %s); confirming by a new DM",
                        error.status, error.error_id)
    elif state.get("r"):
        opened_at = int(state.get("e", 0)) - DIALOG_LIFETIME.total_seconds()
        fresh = now.timestamp() - opened_at < RESPONSE_URL_LIFETIME.total_seconds()
        if fresh and services.responder.send(state["r"], confirmation, voice=voice_fields(persona)):
            return
    _direct_message(services, persona, user_id, confirmation)


def _direct_message(services, persona, user_id: str, text: str) -> None:
    try:
        channel_id = services.mattermost.direct_channel_id(user_id)
        services.mattermost.create_post(channel_id, text, props=reminder_dm.persona_props(persona))
    except MattermostError as error:
        log.warning("could not confirm a report by DM (status %s, %s)", error.status, error.error_id)
