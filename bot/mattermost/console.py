"""Console mode: the Mattermost client interface without a Mattermost.

Used when ``NIPPO_MATTERMOST_URL`` is unset, for trying nippo on one machine.
Every post is printed to a stream instead of sent. Made-up ids are derived
from names, so a run prints the same ids every time. ``@name`` is the user
``name`` (id and username are the same string), every user is an active
human, and everyone holds every admin role. No dialog can open in a console.
"""

from __future__ import annotations

import base64
import hashlib
import sys
import threading
import time
from typing import IO, Iterable

from bot.mattermost.errors import MattermostError

BOT_USERNAME = "nippo"


def made_up_id(*key: str) -> str:
    """A Mattermost-shaped id (26 lowercase letters and digits) for key."""
    digest = hashlib.sha256("\x1f".join(key).encode()).digest()
    return base64.b32encode(digest).decode().lower()[:26]


class ConsoleClient:
    def __init__(self, stream: IO[str] | None = None, bot_username: str = BOT_USERNAME) -> None:
        self._stream = stream
        self._bot_username = bot_username
        self._lock = threading.Lock()
        self._posts: dict[str, dict] = {}
        self._pending: dict[str, str] = {}
        self._dm_partner: dict[str, str] = {}  # DM channel id -> the other user

    def __repr__(self) -> str:
        return "ConsoleClient()"

    def close(self) -> None:
        pass

    # --- users -------------------------------------------------------------

    def me(self) -> dict:
        return self._user(self._bot_username, bot=True)

    @property
    def bot_user_id(self) -> str:
        return self._bot_username

    def get_user(self, user_id: str) -> dict:
        return self._user(user_id)

    def get_user_by_username(self, name: str) -> dict:
        return self._user(name)

    def get_user_by_email(self, email_address: str) -> dict:
        return self._user(email_address.split("@", 1)[0], email=email_address)

    def get_users_by_ids(self, ids: Iterable[str]) -> list[dict]:
        return [self._user(i) for i in dict.fromkeys(ids)]

    def get_users_by_usernames(self, names: Iterable[str]) -> list[dict]:
        return [self._user(n) for n in dict.fromkeys(names)]

    def _user(self, name: str, *, bot: bool = False, email: str | None = None) -> dict:
        bot = bot or name == self._bot_username
        return {
            "id": name,
            "username": name,
            "email": email or f"{name}@localhost",
            "first_name": "",
            "last_name": "",
            "nickname": "",
            "roles": "system_user system_admin",
            "is_bot": bot,
            "delete_at": 0,
            "locale": "en",
            "timezone": {"useAutomaticTimezone": "true", "automaticTimezone": "", "manualTimezone": ""},
        }

    # --- channels and teams ------------------------------------------------

    def get_channel(self, channel_id: str) -> dict:
        with self._lock:
            partner = self._dm_partner.get(channel_id)
        if partner:
            return self._channel(channel_id, "D", f"{self._bot_username}__{partner}", team_id="")
        return self._channel(channel_id, "O", channel_id, team_id=made_up_id("team", "console"))

    @staticmethod
    def _channel(channel_id: str, type_: str, name: str, *, team_id: str) -> dict:
        return {
            "id": channel_id,
            "type": type_,
            "name": name,
            "display_name": name,
            "team_id": team_id,
            "delete_at": 0,
        }

    def channel_member_ids(self, channel_id: str) -> list[str]:
        return []

    def channel_users(self, channel_id: str, page: int) -> list[dict]:
        return []

    def get_channel_member(self, channel_id: str, user_id: str) -> dict:
        return {
            "channel_id": channel_id,
            "user_id": user_id,
            "roles": "channel_user channel_admin",
            "scheme_user": True,
            "scheme_admin": True,
        }

    def get_team_member(self, team_id: str, user_id: str) -> dict:
        return {
            "team_id": team_id,
            "user_id": user_id,
            "roles": "team_user team_admin",
            "scheme_user": True,
            "scheme_admin": True,
            "delete_at": 0,
        }

    def get_team_by_name(self, name: str) -> dict:
        return {"id": made_up_id("team", name), "name": name, "display_name": name, "delete_at": 0}

    def direct_channel_id(self, user_id: str) -> str:
        channel_id = made_up_id("dm", *sorted((self._bot_username, user_id)))
        with self._lock:
            self._dm_partner[channel_id] = user_id
        return channel_id

    # --- posts -------------------------------------------------------------

    def create_post(
        self,
        channel_id: str,
        message: str,
        props: dict | None = None,
        pending_post_id: str | None = None,
        root_id: str | None = None,
    ) -> dict:
        with self._lock:
            if pending_post_id and pending_post_id in self._pending:
                return dict(self._posts[self._pending[pending_post_id]])
            now = int(time.time() * 1000)
            post = {
                "id": made_up_id("post", str(len(self._posts))),
                "create_at": now,
                "update_at": now,
                "edit_at": 0,
                "delete_at": 0,
                "user_id": self._bot_username,
                "channel_id": channel_id,
                "root_id": root_id or "",
                "message": message,
                "type": "",
                "props": dict(props or {}),
                "pending_post_id": pending_post_id or "",
            }
            self._posts[post["id"]] = post
            if pending_post_id:
                self._pending[pending_post_id] = post["id"]
        self._print(post)
        return dict(post)

    def recent_posts(self, channel_id: str, since_ms: int | None = None, per_page: int = 60) -> list[dict]:
        with self._lock:
            posts = [p for p in self._posts.values() if p["channel_id"] == channel_id]
        posts.sort(key=lambda p: p["create_at"], reverse=True)
        if since_ms:
            return [dict(p) for p in posts if p["update_at"] > since_ms]
        return [dict(p) for p in posts[:per_page]]

    def patch_post(self, post_id: str, message: str | None = None, props: dict | None = None) -> dict:
        with self._lock:
            post = self._posts.get(post_id)
            if post is None:
                raise MattermostError(
                    "no such post", status=403, error_id="api.context.permissions.app_error",
                    operation="PUT /posts/{post_id}/patch",
                )
            if message is not None:
                post["message"] = message
            if props is not None:
                post["props"] = dict(props)
            post["update_at"] = post["edit_at"] = int(time.time() * 1000)
            post = dict(post)
        self._print(post, edited=True)
        return post

    def open_dialog(self, trigger_id: str, url: str, dialog: dict) -> dict:
        raise MattermostError(
            "no dialog can open in a console",
            status=None,
            error_id="console.no_dialog",
            landed=True,
            operation="POST /actions/dialogs/open",
        )

    # --- slash commands ----------------------------------------------------

    def list_commands(self, team_id: str) -> list[dict]:
        return []

    def create_command(self, options: dict) -> dict:
        trigger = options.get("trigger", "")
        return {
            **options,
            "id": made_up_id("command", options.get("team_id", ""), trigger),
            "token": made_up_id("command-token", options.get("team_id", ""), trigger),
        }

    def update_command(self, command_id: str, options: dict) -> dict:
        return {**options, "id": command_id}

    def delete_command(self, command_id: str) -> None:
        return None

    def ping(self) -> dict:
        return {"status": "OK"}

    def check_token(self) -> dict:
        return self.me()

    # --- printing ----------------------------------------------------------

    def _print(self, post: dict, *, edited: bool = False) -> None:
        channel = self.get_channel(post["channel_id"])
        if channel["type"] == "D":
            where = f"@{self._dm_partner[channel['id']]} (direct message)"
        else:
            where = f"~{channel['name']}"
        title = f"── {self._bot_username} → {where}{' (edited)' if edited else ''} "
        lines = [title + "─" * max(3, 60 - len(title)), post["message"]]
        for attachment in post["props"].get("attachments") or []:
            if attachment.get("text"):
                lines.append(attachment["text"])
            buttons = [f"[{a.get('name', '?')}]" for a in attachment.get("actions") or []]
            if buttons:
                lines.append("  ".join(buttons))
        lines.append("")
        stream = self._stream or sys.stdout
        with self._lock:
            stream.write("\n".join(lines) + "\n")
            stream.flush()
