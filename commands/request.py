"""What Mattermost sends to a slash command (docs/commands.md), as plain values.

Built from any mapping with ``get``/``getlist`` (Flask's form, or a dict in
tests), so the command layer never sees HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TRIGGERS = ("/report", "/report-status", "/subscribe", "/unsubscribe", "/team")


@dataclass(frozen=True)
class CommandRequest:
    command: str
    text: str
    user_id: str
    user_name: str
    channel_id: str
    channel_name: str = ""
    team_id: str = ""
    team_domain: str = ""
    trigger_id: str = ""
    response_url: str = ""
    root_id: str = ""
    mention_ids: dict[str, str] = field(default_factory=dict)  # username -> user id
    request_id: str = ""  # the HTTP request's id: the reference an apology shows, as in the logs

    @property
    def is_direct(self) -> bool:
        """DMs are named ``<id>__<id>``; group messages have no team channel name either."""
        return "__" in self.channel_name or _looks_like_group(self.channel_name)

    @classmethod
    def from_form(cls, form, request_id: str = "") -> "CommandRequest | None":
        """None when a field Mattermost always sends is missing."""
        def one(name: str) -> str:
            value = form.get(name)
            return value if isinstance(value, str) else ""

        command = one("command").strip().lower()
        user_id = one("user_id").strip()
        channel_id = one("channel_id").strip()
        if not command or not user_id or not channel_id:
            return None
        names = _getlist(form, "user_mentions")
        ids = _getlist(form, "user_mentions_ids")
        mentions = {name.lower(): uid for name, uid in zip(names, ids, strict=False) if name and uid}
        return cls(
            command=command,
            text=one("text"),
            user_id=user_id,
            user_name=one("user_name"),
            channel_id=channel_id,
            channel_name=one("channel_name"),
            team_id=one("team_id"),
            team_domain=one("team_domain"),
            trigger_id=one("trigger_id"),
            response_url=one("response_url"),
            root_id=one("root_id"),
            mention_ids=mentions,
            request_id=request_id,
        )


def _getlist(form, name: str) -> list[str]:
    getlist = getattr(form, "getlist", None)
    if getlist is not None:
        return [v for v in getlist(name) if isinstance(v, str)]
    value = form.get(name)
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return [value] if isinstance(value, str) else []


def _looks_like_group(channel_name: str) -> bool:
    # Group messages are named by a 40-character hash of their members.
    return len(channel_name) == 40 and all(c in "0123456789abcdef" for c in channel_name)
