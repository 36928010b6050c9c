"""Slash-command registration routes (``/api/v4/commands``), mixed into the stand-in."""

from __future__ import annotations

import re
from typing import Any

from tests.standin.state import VALID_ID, ApiError, Call, forbidden

BUILTIN_TRIGGERS = {
    "away", "code", "collapse", "dnd", "echo", "expand", "groupmsg", "header", "help", "invite",
    "invite_people", "join", "kick", "leave", "logout", "me", "msg", "mute", "offline", "online",
    "open", "purpose", "remove", "rename", "search", "settings", "shortcuts", "shrug",
}  # fmt: skip


class CommandRoutes:
    # Users given manage_own_slash_commands without manage_others_slash_commands
    # (a custom permission scheme): they see and change only their own commands.
    own_commands_only: set[str]

    def grant_own_slash_commands_only(self, user_id: str) -> None:
        with self._lock:
            self.own_commands_only.add(user_id)

    def add_command(self, team_id: str, trigger: str, url: str, creator_id: str, method: str = "P") -> dict:
        """A custom slash command someone already registered (scene setting)."""
        now = self.now_ms()
        command = {
            "id": self.new_id(), "token": self.new_id(), "create_at": now, "update_at": now, "delete_at": 0,
            "creator_id": creator_id, "team_id": team_id, "trigger": trigger.lower(), "method": method,
            "username": "", "icon_url": "", "auto_complete": False, "auto_complete_desc": "",
            "auto_complete_hint": "", "display_name": "", "description": "", "url": url, "plugin_id": "",
        }  # fmt: skip
        with self._lock:
            self.commands[command["id"]] = command
        return dict(command)

    def _manages_others(self, user: dict, team_id: str) -> bool:
        return self.is_system_admin(user) or (user["id"] not in self.own_commands_only
                                              and self.is_team_admin(user, team_id))

    def _command_team(self, call: Call, team_id: Any) -> dict:
        team = self.teams.get(team_id) if isinstance(team_id, str) else None
        if team is None:
            raise ApiError(400, "api.context.invalid_param.app_error", "Invalid team_id parameter.")
        own_only = call.user["id"] in self.own_commands_only and (team["id"], call.user["id"]) in self.team_members
        if not self.is_team_admin(call.user, team["id"]) and not own_only:
            raise forbidden()
        return team

    def _check_command(self, command: dict, *, exclude_id: str = "") -> None:
        trigger = command.get("trigger")
        if not isinstance(trigger, str) or not 1 <= len(trigger) <= 128 or trigger.startswith("/") or " " in trigger:
            raise ApiError(400, "model.command.is_valid.trigger.app_error", "Invalid trigger.")
        url = command.get("url")
        if not isinstance(url, str) or not re.match(r"https?://[^/\s]+", url) or len(url) > 1024:
            raise ApiError(400, "model.command.is_valid.url.app_error", "Invalid URL.")
        if command.get("method") not in ("P", "G"):
            raise ApiError(400, "model.command.is_valid.method.app_error", "Invalid Method.")
        if len(command.get("display_name") or "") > 64:
            raise ApiError(400, "model.command.is_valid.display_name.app_error", "Invalid title.")
        if len(command.get("description") or "") > 128:
            raise ApiError(400, "model.command.is_valid.description.app_error", "Invalid description.")
        trigger = trigger.lower()
        taken = trigger in BUILTIN_TRIGGERS or any(
            c["trigger"] == trigger and c["team_id"] == command["team_id"] and not c["delete_at"] and c["id"] != exclude_id
            for c in self.commands.values()
        )
        if taken:
            raise ApiError(400, "api.command.duplicate_trigger.app_error",
                           "This trigger word is already in use. Please choose another word.")

    def _create_command(self, call: Call) -> tuple[int, Any]:
        body = call.json if isinstance(call.json, dict) else {}
        self._command_team(call, body.get("team_id"))
        self._check_command(body)
        now = self.now_ms()
        command = {
            "id": self.new_id(),
            "token": self.new_id(),
            "create_at": now,
            "update_at": now,
            "delete_at": 0,
            "creator_id": call.user["id"],
            "team_id": body["team_id"],
            "trigger": body["trigger"].lower(),
            "method": body["method"],
            "username": body.get("username", ""),
            "icon_url": body.get("icon_url", ""),
            "auto_complete": bool(body.get("auto_complete", False)),
            "auto_complete_desc": body.get("auto_complete_desc", ""),
            "auto_complete_hint": body.get("auto_complete_hint", ""),
            "display_name": body.get("display_name", ""),
            "description": body.get("description", ""),
            "url": body["url"],
            "plugin_id": "",
        }
        self.commands[command["id"]] = command
        return 201, dict(command)

    def _list_commands(self, call: Call) -> tuple[int, Any]:
        team_id = call.params.get("team_id", "")
        if call.params.get("custom_only") == "true" and not team_id:
            raise ApiError(400, "api.context.invalid_param.app_error", "Invalid team_id parameter.")
        self._command_team(call, team_id)
        # api4/command.go listCommands: without manage_others_slash_commands, only one's own.
        others = self._manages_others(call.user, team_id)
        return 200, [dict(c) for c in self.commands.values() if c["team_id"] == team_id and not c["delete_at"]
                     and (others or c["creator_id"] == call.user["id"])]

    def _update_command(self, call: Call) -> tuple[int, Any]:
        body = call.json if isinstance(call.json, dict) else {}
        command_id = call.args["command_id"]
        if body.get("id") != command_id or not VALID_ID.fullmatch(command_id):
            raise ApiError(400, "api.context.invalid_param.app_error", "Invalid command parameter.")
        old = self.commands.get(command_id)
        if old is None or old["delete_at"]:
            raise ApiError(404, "app.command.getcommand.app_error", "Unable to get the command.")
        if body.get("team_id") != old["team_id"]:
            raise ApiError(400, "api.command.team_mismatch.app_error", "Unable to update commands across teams.")
        self._command_team(call, old["team_id"])
        if old["creator_id"] != call.user["id"] and not self._manages_others(call.user, old["team_id"]):
            raise forbidden()
        self._check_command(body, exclude_id=command_id)
        keep = {k: old[k] for k in ("id", "token", "create_at", "creator_id", "team_id", "delete_at", "plugin_id")}
        updated = {**old, **{k: v for k, v in body.items() if k in old}, **keep}
        updated["trigger"] = updated["trigger"].lower()
        updated["update_at"] = self.now_ms()
        self.commands[command_id] = updated
        return 200, dict(updated)

    def _delete_command(self, call: Call) -> tuple[int, Any]:
        command = self.commands.get(call.args["command_id"])
        if command is None or command["delete_at"]:
            raise ApiError(404, "store.sql_command.save.get.app_error", "Unable to get the command.")
        self._command_team(call, command["team_id"])
        if command["creator_id"] != call.user["id"] and not self._manages_others(call.user, command["team_id"]):
            raise forbidden()
        command["delete_at"] = self.now_ms()
        return 200, {"status": "OK"}
