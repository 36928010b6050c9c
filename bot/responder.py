"""Follow-up answers to a slash command through its ``response_url``
(PROTOCOL §3): valid 30 minutes, 5 uses, no authentication but the URL."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import requests

log = logging.getLogger("nippo.responder")


class Responder:
    def __init__(self, mattermost_url: str | None, timeout: float = 10.0):
        self._allowed_host = urlsplit(mattermost_url).netloc if mattermost_url else None
        self._timeout = timeout
        self.sent: list[tuple[str, str]] = []  # console mode keeps them here and prints them

    def send(self, response_url: str, text: str) -> bool:
        if self._allowed_host is None:
            print(text, flush=True)
            self.sent.append((response_url, text))
            return True
        # Only ever post back to the Mattermost nippo is configured for: the URL
        # arrives in a request and must not make nippo call anywhere else.
        if urlsplit(response_url).netloc != self._allowed_host:
            log.warning("ignoring a response_url outside the Mattermost server")
            return False
        body = {"response_type": "ephemeral", "text": text, "skip_slack_parsing": True}
        try:
            answer = requests.post(response_url, json=body, timeout=self._timeout)
        except requests.RequestException as error:
            log.warning("response_url follow-up failed: %s", type(error).__name__)
            return False
        if answer.status_code != 200:
            log.warning("response_url follow-up answered %s", answer.status_code)
            return False
        return True
