"""What the stand-in knows: users, teams, channels, posts, commands.

Plain dicts shaped like Mattermost's JSON, kept behind one lock. The
``add_*`` helpers are how tests set the scene; the API routes read and
change the same dicts.
"""

from __future__ import annotations

import base64
import copy
import random
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

VALID_ID = re.compile(r"[A-Za-z0-9]{26}")
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_MM_ALPHABET = "ybndrfg8ejkmcpqxot1uwisza345h769"  # model.NewId's base32 alphabet
_TO_MM = str.maketrans(_B32, _MM_ALPHABET)


class ApiError(Exception):
    """An AppError answer: status, id and message."""

    def __init__(self, status: int, error_id: str, message: str = "") -> None:
        super().__init__(f"{status} {error_id}")
        self.status = status
        self.error_id = error_id
        self.message = message or error_id


@dataclass
class Call:
    """One API request as a route handler sees it."""

    method: str
    path: str
    params: dict[str, str]
    json: Any
    user: dict | None
    args: dict[str, str] = field(default_factory=dict)


def forbidden() -> ApiError:
    return ApiError(403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")


def timezone_of(zone: str | dict | None) -> dict:
    if isinstance(zone, dict):
        return dict(zone)
    if zone:
        return {"useAutomaticTimezone": "false", "automaticTimezone": "", "manualTimezone": zone}
    return {"useAutomaticTimezone": "true", "automaticTimezone": "", "manualTimezone": ""}


class StandInState:
    def __init__(self, clock: Callable[[], float] | None = None, seed: int | None = None) -> None:
        self.clock = clock or time.time
        # Fresh ids per stand-in unless a seed is given: tests that share a
        # database must not meet the previous test's channel under the same id.
        self._random = random.Random(seed)
        self._lock = threading.RLock()
        self.users: dict[str, dict] = {}
        self.teams: dict[str, dict] = {}
        self.team_members: dict[tuple[str, str], dict] = {}
        self.channels: dict[str, dict] = {}
        self.channel_members: dict[str, dict[str, dict]] = {}
        self.posts: list[dict] = []  # as stored: action integrations included
        self.posts_by_id: dict[str, dict] = {}
        self.commands: dict[str, dict] = {}
        self.own_commands_only: set[str] = set()
        self.show_email = True
        self.restricted_dm_users: set[str] = set()
        self._tokens: dict[str, str] = {}
        # pending_post_id -> (post id, or "" while the first request is in flight; expiry)
        self._pending_posts: dict[str, tuple[str, float]] = {}
        # ServiceSettings.PostEditTimeLimit in seconds (-1: no limit), and what it
        # refuses once passed: patches that change the message, or "any" patch.
        self.post_edit_time_limit = -1
        self.edit_time_limit_applies_to = "message"
        self.one_node = True  # False: each request reaches another node of a cluster (see clustered())

    # --- ids and time ------------------------------------------------------

    def new_id(self) -> str:
        with self._lock:
            raw = bytes(self._random.getrandbits(8) for _ in range(16))
        return base64.b32encode(raw).decode()[:26].translate(_TO_MM)

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # --- scene setting -----------------------------------------------------

    def add_user(
        self,
        username: str,
        *,
        bot: bool = False,
        active: bool = True,
        email: str | None = None,
        roles: str = "system_user",
        timezone: str | dict | None = None,
        first_name: str = "",
        last_name: str = "",
        nickname: str = "",
        locale: str = "en",
    ) -> dict:
        now = self.now_ms()
        user = {
            "id": self.new_id(),
            "create_at": now,
            "update_at": now,
            "delete_at": 0 if active else now,
            "username": username,
            "auth_data": "",
            "auth_service": "",
            "email": email if email is not None else f"{username}@example.com",
            "email_verified": True,
            "nickname": nickname,
            "first_name": first_name,
            "last_name": last_name,
            "position": "",
            "roles": roles,
            "locale": locale,
            "timezone": timezone_of(timezone),
            "is_bot": bot,
            "bot_description": "",
            "disable_welcome_email": False,
        }
        with self._lock:
            if any(u["username"] == username for u in self.users.values()):
                raise ValueError(f"username taken: {username}")
            self.users[user["id"]] = user
        return copy.deepcopy(user)

    def deactivate_user(self, user_id: str) -> None:
        with self._lock:
            self.users[user_id]["delete_at"] = self.now_ms()

    def create_token(self, user_id: str) -> str:
        """A personal access token (or bot token) for this user."""
        token = self.new_id()
        with self._lock:
            self._tokens[token] = user_id
        return token

    def add_team(self, name: str, *, display_name: str | None = None, type: str = "O") -> dict:
        now = self.now_ms()
        team = {
            "id": self.new_id(),
            "create_at": now,
            "update_at": now,
            "delete_at": 0,
            "display_name": display_name or name,
            "name": name,
            "description": "",
            "email": "",
            "type": type,
            "company_name": "",
            "allowed_domains": "",
            "invite_id": self.new_id(),
            "allow_open_invite": False,
            "scheme_id": None,
            "group_constrained": None,
            "policy_id": None,
        }
        with self._lock:
            self.teams[team["id"]] = team
        return copy.deepcopy(team)

    def add_team_member(
        self, team_id: str, user_id: str, *, scheme_admin: bool = False, roles: str = "team_user"
    ) -> dict:
        member = {
            "team_id": team_id,
            "user_id": user_id,
            "roles": roles,
            "delete_at": 0,
            "scheme_guest": False,
            "scheme_user": True,
            "scheme_admin": scheme_admin,
            "explicit_roles": "",
        }
        with self._lock:
            self._need(self.teams, team_id, "team")
            self._need(self.users, user_id, "user")
            self.team_members[(team_id, user_id)] = member
        return dict(member)

    def add_channel(
        self,
        team_id: str,
        name: str,
        *,
        type: str = "O",
        archived: bool = False,
        display_name: str | None = None,
    ) -> dict:
        now = self.now_ms()
        channel = self._new_channel(team_id, name, type, display_name or name)
        channel["delete_at"] = now if archived else 0
        with self._lock:
            self._need(self.teams, team_id, "team")
            self.channels[channel["id"]] = channel
            self.channel_members[channel["id"]] = {}
        return copy.deepcopy(channel)

    def _new_channel(self, team_id: str, name: str, type_: str, display_name: str) -> dict:
        now = self.now_ms()
        return {
            "id": self.new_id(),
            "create_at": now,
            "update_at": now,
            "delete_at": 0,
            "team_id": team_id,
            "type": type_,
            "display_name": display_name,
            "name": name,
            "header": "",
            "purpose": "",
            "last_post_at": 0,
            "total_msg_count": 0,
            "extra_update_at": 0,
            "creator_id": "",
            "scheme_id": None,
            "props": None,
            "group_constrained": None,
            "shared": None,
            "total_msg_count_root": 0,
            "policy_id": None,
            "last_root_post_at": 0,
        }

    def archive_channel(self, channel_id: str) -> None:
        with self._lock:
            self._need(self.channels, channel_id, "channel")["delete_at"] = self.now_ms()

    def add_channel_member(
        self, channel_id: str, user_id: str, *, scheme_admin: bool = False, roles: str = "channel_user"
    ) -> dict:
        """Add a channel member (and a team member first if the user is not one)."""
        with self._lock:
            channel = self._need(self.channels, channel_id, "channel")
            self._need(self.users, user_id, "user")
            if channel["team_id"] and (channel["team_id"], user_id) not in self.team_members:
                self.add_team_member(channel["team_id"], user_id)
            member = self._new_channel_member(channel_id, user_id, scheme_admin, roles)
            self.channel_members[channel_id][user_id] = member
        return dict(member)

    def _new_channel_member(self, channel_id: str, user_id: str, scheme_admin: bool, roles: str) -> dict:
        return {
            "channel_id": channel_id,
            "user_id": user_id,
            "roles": roles,
            "last_viewed_at": 0,
            "msg_count": 0,
            "mention_count": 0,
            "mention_count_root": 0,
            "urgent_mention_count": 0,
            "msg_count_root": 0,
            "notify_props": {"desktop": "default", "email": "default", "mark_unread": "all", "push": "default"},
            "last_update_at": self.now_ms(),
            "scheme_guest": False,
            "scheme_user": True,
            "scheme_admin": scheme_admin,
            "explicit_roles": "",
        }

    def remove_channel_member(self, channel_id: str, user_id: str) -> None:
        with self._lock:
            self.channel_members[channel_id].pop(user_id, None)

    def restrict_dms_with(self, user_id: str) -> None:
        """Posting into the DM with this user fails as a restricted DM does."""
        with self._lock:
            self.restricted_dm_users.add(user_id)

    # --- lookups for tests -------------------------------------------------

    def user_by_name(self, username: str) -> dict:
        with self._lock:
            for user in self.users.values():
                if user["username"] == username:
                    return copy.deepcopy(user)
        raise KeyError(username)

    def posts_in(self, channel_id: str) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(p) for p in self.posts if p["channel_id"] == channel_id]

    def dm_channel_between(self, user_a: str, user_b: str) -> dict | None:
        name = "__".join(sorted((user_a, user_b)))
        with self._lock:
            for channel in self.channels.values():
                if channel["type"] == "D" and channel["name"] == name:
                    return copy.deepcopy(channel)
        return None

    def dm_posts_to(self, user_id: str) -> list[dict]:
        """Posts the bot made in its DM with this user."""
        channel = self.dm_channel_between(self.bot["id"], user_id)
        if channel is None:
            return []
        return [p for p in self.posts_in(channel["id"]) if p["user_id"] == self.bot["id"]]

    # --- permissions -------------------------------------------------------

    @staticmethod
    def is_system_admin(user: dict) -> bool:
        return "system_admin" in user["roles"].split()

    def is_team_admin(self, user: dict, team_id: str) -> bool:
        member = self.team_members.get((team_id, user["id"]))
        if self.is_system_admin(user):
            return True
        return bool(member and (member["scheme_admin"] or "team_admin" in member["roles"].split()))

    def can_read_channel(self, user: dict, channel: dict) -> bool:
        if self.is_system_admin(user) or user["id"] in self.channel_members.get(channel["id"], {}):
            return True
        return channel["type"] == "O" and (channel["team_id"], user["id"]) in self.team_members

    # --- JSON views --------------------------------------------------------

    def user_json(self, user: dict, viewer: dict | None) -> dict:
        out = copy.deepcopy(user)
        if not self.show_email and not (viewer and (viewer["id"] == user["id"] or self.is_system_admin(viewer))):
            out["email"] = ""
        return out

    @staticmethod
    def post_json(post: dict) -> dict:
        """A post as clients see it: action integrations stay on the server."""
        out = copy.deepcopy(post)
        for attachment in (out.get("props") or {}).get("attachments") or []:
            for action in attachment.get("actions") or []:
                action.pop("integration", None)
        return out

    @staticmethod
    def _need(table: dict, key: Any, what: str) -> Any:
        if key not in table:
            raise KeyError(f"no such {what}: {key}")
        return table[key]
