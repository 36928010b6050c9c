"""Follow-up answers to a slash command through its ``response_url``:
valid 30 minutes and 5 uses (Mattermost's model/command_webhook.go), no
authentication but the URL."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from urllib.parse import urlsplit

import requests

log = logging.getLogger("nippo.responder")

_HOOK_PATH = re.compile(r"/hooks/commands/[A-Za-z0-9]{20,40}$")
RESPONSE_URL_LIFETIME = timedelta(minutes=30)


def voice_fields(persona) -> dict:
    """``username`` and ``icon_url`` of a command response: the persona's face,
    as on nippo's posts (shown where the server enables post overrides)."""
    fields = {}
    if getattr(persona, "display_name", None):
        fields["username"] = persona.display_name
    if getattr(persona, "icon_url", None):
        fields["icon_url"] = persona.icon_url
    return fields


class Responder:
    def __init__(self, mattermost_url: str | None, timeout: float = 10.0):
        self._console = not mattermost_url
        self._timeout = timeout
        self.sent: list[tuple[str, str]] = []  # console mode keeps them here and prints them

    def send(self, response_url: str, text: str, voice: dict | None = None) -> bool:
        """Post ``text`` (with the ``voice_fields`` of a persona); False when
        the URL is unusable: expired, used up, refused or unreachable."""
        if self._console:
            print(text, flush=True)
            self.sent.append((response_url, text))
            return True
        # Mattermost builds the URL from its SiteURL, which may differ from the
        # address nippo uses to reach it; so the host is not compared, but the
        # URL must have the shape of a command hook, and redirects are not followed.
        parts = urlsplit(response_url)
        if parts.scheme not in ("http", "https") or not _HOOK_PATH.search(parts.path):
            log.warning("ignoring a response_url that is not a Mattermost command hook")
            return False
        body = {"response_type": "ephemeral", "text": text, "skip_slack_parsing": True, **(voice or {})}
        try:
            answer = requests.post(response_url, json=body, timeout=self._timeout, allow_redirects=False)
        except requests.RequestException as error:
            log.warning("response_url follow-up failed: %s", type(error).__name__)
            return False
        if answer.status_code != 200:
            log.warning("response_url follow-up answered %s", answer.status_code)
            return False
        return True
