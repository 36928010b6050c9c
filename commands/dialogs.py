"""The report dialog (docs/buttons-and-dialogs.md): opened by ``/report`` with no text or by the
``Write report`` button, submitted to ``POST /mattermost/dialogs``.

Its ``state`` passes through the user's client, so it is signed, and carries
what nippo needs to confirm: the DM's post id or the command's response_url.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from commands.grammar import REPORT_TEXT_LIMIT

DIALOG_LIFETIME = timedelta(hours=24)
CALLBACK_ID = "report"


def report_dialog(services, persona, lang: str, *, user_id: str, work_date: date, now: datetime,
                  post_id: str = "", response_url: str = "", default_text: str = "") -> dict:
    state = services.signer.sign_text({
        "k": CALLBACK_ID, "u": user_id, "d": work_date.isoformat(),
        "e": int((now + DIALOG_LIFETIME).timestamp()), "p": post_id, "r": response_url,
    })
    return {
        "callback_id": CALLBACK_ID,
        "title": persona.say("dialog.title", lang),
        "submit_label": persona.say("dialog.submit", lang),
        "notify_on_cancel": False,
        "state": state,
        "elements": [
            {"display_name": persona.say("dialog.date_label", lang), "name": "work_date", "type": "text",
             "subtype": "text", "default": work_date.isoformat(), "max_length": 10, "placeholder": "YYYY-MM-DD"},
            {"display_name": persona.say("dialog.text_label", lang), "name": "text", "type": "textarea",
             "max_length": REPORT_TEXT_LIMIT, "default": default_text[:REPORT_TEXT_LIMIT],
             "help_text": persona.say("dialog.text_help", lang)},
        ],
    }


def open_report_dialog(services, persona, lang: str, *, trigger_id: str, user_id: str, work_date: date,
                       now: datetime, post_id: str = "", response_url: str = "") -> None:
    dialog = report_dialog(services, persona, lang, user_id=user_id, work_date=work_date, now=now,
                           post_id=post_id, response_url=response_url)
    url = services.settings.public_url + "/mattermost/dialogs"
    services.mattermost.open_dialog(trigger_id, url, dialog)
