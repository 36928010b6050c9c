"""What a command handler returns: data the web layer turns into Mattermost's
command response, plus follow-up work that must happen outside the request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class Reply:
    text: str
    # Work to do after the answer is sent (a slow /team sync); it reports
    # through the command's response_url.
    later: Callable[[], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Until when this answer stays true if no data changes (see db.status_cache).
    cache_until: Any = None
    # The persona's face (``username``, ``icon_url``), as on nippo's posts.
    voice: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"response_type": "ephemeral", "text": self.text, "skip_slack_parsing": True, **self.voice,
                **self.extra}


class CommandError(Exception):
    """An expected refusal: a persona message key and its placeholders.

    The dispatcher renders it in the persona's voice followed by the usage
    line of the command.
    """

    def __init__(self, key: str, **params: Any):
        super().__init__(key)
        self.key = key
        self.params = params
