"""What Mattermost sends, checked at the edge: a slash command's form, a
button's or a dialog's payload whose ids, names or tokens cannot be
Mattermost's is refused with 400 before anything looks them up or stores
them. Free text (a command's ``text``, a dialog's fields) is not judged
here: the commands answer a bad value in it with their usage.

Mattermost ids are 26 letters and digits. Console mode has no Mattermost:
there a name stands for an id (``user_id=alice``, ``channel_id=dev``).
"""

from __future__ import annotations

import re
from typing import Any

MATTERMOST_ID = re.compile(r"[A-Za-z0-9]{26}")
CONSOLE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
NAME_LIMIT = 64  # user, channel and team names, and a trigger word
TOKEN_LIMIT = 1024  # trigger ids and the like: base64 of a few ids and a signature
URL_LIMIT = 2048
STATE_LIMIT = 4096  # a dialog's signed state

# Per form field or payload key: how it is checked, and whether it may be absent or empty.
_ID, _OPTIONAL_ID, _NAME, _TOKEN, _URL, _STATE = "id", "optional id", "name", "token", "url", "state"
_LIMITS = {_NAME: NAME_LIMIT, _TOKEN: TOKEN_LIMIT, _URL: URL_LIMIT, _STATE: STATE_LIMIT}

COMMAND_FIELDS = {
    "user_id": _ID, "channel_id": _ID, "team_id": _OPTIONAL_ID, "root_id": _OPTIONAL_ID,
    "command": _NAME, "user_name": _NAME, "channel_name": _NAME, "team_domain": _NAME,
    "trigger_id": _TOKEN, "token": _TOKEN, "response_url": _URL,
}
ACTION_FIELDS = {
    "user_id": _ID, "channel_id": _OPTIONAL_ID, "team_id": _OPTIONAL_ID, "post_id": _OPTIONAL_ID,
    "user_name": _NAME, "channel_name": _NAME, "team_domain": _NAME, "type": _NAME, "data_source": _NAME,
    "trigger_id": _TOKEN,
}
DIALOG_FIELDS = {
    "user_id": _ID, "channel_id": _OPTIONAL_ID, "team_id": _OPTIONAL_ID, "callback_id": _NAME, "type": _NAME,
    "state": _STATE,
}


def command_problem(form, console: bool) -> str | None:
    """What is wrong with a slash command's form, or None."""
    for name, kind in COMMAND_FIELDS.items():
        for value in _values(form, name):
            problem = _problem(name, value, kind, console)
            if problem:
                return problem
    for name in _values(form, "user_mentions"):
        if _problem("user_mentions", name, _NAME, console):
            return "user_mentions holds something that is no user name"
    for user_id in _values(form, "user_mentions_ids"):
        if _problem("user_mentions_ids", user_id, _ID, console):
            return "user_mentions_ids holds something that is no id"
    return None


def payload_problem(payload: Any, fields: dict[str, str], console: bool) -> str | None:
    """What is wrong with a button's or a dialog's JSON payload, or None."""
    if not isinstance(payload, dict):
        return "expected a JSON object"
    for name, kind in fields.items():
        if name not in payload:
            continue
        value = payload[name]
        if not isinstance(value, str):
            return f"{name} is not a string"
        problem = _problem(name, value, kind, console)
        if problem:
            return problem
    return None


def _values(form, name: str) -> list:
    getlist = getattr(form, "getlist", None)
    return list(getlist(name)) if getlist is not None else [form[name]] if name in form else []


def _problem(name: str, value: str, kind: str, console: bool) -> str | None:
    if kind in (_ID, _OPTIONAL_ID):
        if kind == _OPTIONAL_ID and value == "":
            return None
        shape = CONSOLE_ID if console else MATTERMOST_ID
        return None if shape.fullmatch(value) else f"{name} is not a Mattermost id"
    limit = _LIMITS[kind]
    if len(value) > limit:
        return f"{name} is longer than {limit} characters"
    if not value.isprintable() or (kind != _NAME and not value.isascii()):
        return f"{name} holds characters that cannot be in it"
    return None
