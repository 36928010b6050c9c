"""The buttons of a DM reminder (docs/buttons-and-dialogs.md).

Each button carries a signed context: action, member, work date and expiry.
Action ids are letters only: Mattermost routes clicks by
``/posts/{id}/actions/{action_id:[A-Za-z0-9]+}``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

BUTTON_LIFETIME = timedelta(days=7)
ACTIONS = ("write", "off", "snooze")
LABEL_KEYS = {"write": "button.write", "off": "button.off", "snooze": "button.snooze"}
STYLES = {"write": "primary", "off": "default", "snooze": "default"}


def action_context(signer, action: str, user_id: str, work_date: date, expires_at: datetime) -> dict:
    return signer.sign({"a": action, "u": user_id, "d": work_date.isoformat(), "e": int(expires_at.timestamp())})


def reminder_attachment(services, persona, lang: str, user_id: str, work_date: date, sent_at: datetime, *,
                        actions=ACTIONS, seed: str = "", text: str = "") -> dict:
    """One attachment holding the buttons; they expire 7 days after ``sent_at``
    (the tick's clock)."""
    url = services.settings.public_url + "/mattermost/actions"
    expires_at = sent_at + BUTTON_LIFETIME
    buttons = []
    for action in actions:
        buttons.append({
            "id": action,
            "type": "button",
            "name": persona.say(LABEL_KEYS[action], lang, seed=seed),
            "style": STYLES[action],
            "integration": {"url": url, "context": action_context(services.signer, action, user_id, work_date, expires_at)},
        })
    attachment = {"fallback": text or work_date.isoformat(), "actions": buttons}
    if text:
        attachment["text"] = text
    return attachment
