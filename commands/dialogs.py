"""The report dialog (docs/buttons-and-dialogs.md): opened by ``/report`` with no text or by the
``Write report`` button, submitted to ``POST /mattermost/dialogs``.

Its ``state`` passes through the user's client, so it is signed, and carries
what nippo needs to confirm: the DM's post (and outbox) id or the command's
response_url.

Mattermost measures a dialog's labels in UTF-8 bytes (Go's ``len``): a title
or label holds 24, so 8 Japanese characters; help texts 150 and a textarea's
default 3,000. Persona files are checked for this when loaded; the builder
still cuts at a character boundary rather than send a dialog Mattermost's
clients may refuse to show.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from commands.grammar import REPORT_TEXT_LIMIT
from persona.keys import DIALOG_HELP_MAX, DIALOG_LABEL_MAX

DIALOG_LIFETIME = timedelta(hours=24)
CALLBACK_ID = "report"
TEXTAREA_DEFAULT_MAX = 3000  # bytes


def fit(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, never inside a character."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")


def report_dialog(services, persona, lang: str, *, user_id: str, work_date: date, now: datetime,
                  post_id: str = "", outbox_id: int | None = None, response_url: str = "",
                  default_text: str = "") -> dict:
    fields = {"k": CALLBACK_ID, "u": user_id, "d": work_date.isoformat(),
              "e": int((now + DIALOG_LIFETIME).timestamp()), "p": post_id, "r": response_url}
    if outbox_id is not None:
        fields["o"] = outbox_id
    return {
        "callback_id": CALLBACK_ID,
        "title": fit(persona.say("dialog.title", lang), DIALOG_LABEL_MAX),
        "submit_label": persona.say("dialog.submit", lang),
        "notify_on_cancel": False,
        "state": services.signer.sign_text(fields),
        "elements": [
            {"display_name": fit(persona.say("dialog.date_label", lang), DIALOG_LABEL_MAX), "name": "work_date",
             "type": "text", "subtype": "text", "default": work_date.isoformat(), "max_length": 10,
             "placeholder": "YYYY-MM-DD"},
            {"display_name": fit(persona.say("dialog.text_label", lang), DIALOG_LABEL_MAX), "name": "text",
             "type": "textarea", "max_length": REPORT_TEXT_LIMIT,
             "default": fit(default_text[:REPORT_TEXT_LIMIT], TEXTAREA_DEFAULT_MAX),
             "help_text": fit(persona.say("dialog.text_help", lang), DIALOG_HELP_MAX)},
        ],
    }


def open_report_dialog(services, persona, lang: str, *, trigger_id: str, user_id: str, work_date: date,
                       now: datetime, post_id: str = "", outbox_id: int | None = None,
                       response_url: str = "") -> None:
    dialog = report_dialog(services, persona, lang, user_id=user_id, work_date=work_date, now=now,
                           post_id=post_id, outbox_id=outbox_id, response_url=response_url)
    url = services.settings.public_url + "/mattermost/dialogs"
    services.mattermost.open_dialog(trigger_id, url, dialog)
