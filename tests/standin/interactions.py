"""What Mattermost sends *to* an integration, and the ids that go with it.

Slash-command forms, button clicks, dialog submissions, trigger ids and
``response_url`` hooks (docs/commands.md, docs/buttons-and-dialogs.md).
Requests to the integration go through ``self.outgoing(method, url,
headers, body)``; by default that is a real HTTP request, and a test can
point it at a Flask test client instead (see ``flask_outgoing``).
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import json
import re
from typing import Any, Callable
from urllib.parse import urlencode, urlsplit

import requests

from tests.standin.state import ApiError

TRIGGER_TTL = 30.0
HOOK_TTL = 30 * 60.0
HOOK_USES = 5
RETAIN_PROP_KEYS = ("from_webhook", "override_username", "override_icon_url")
INTEGRATION_HEADERS = {"Accept": "application/json", "User-Agent": "Mattermost-Bot/1.1"}
_AT_MENTION = re.compile(r"\B@([A-Za-z0-9][A-Za-z0-9.\-_:]*)")
_CHANNEL_MENTION = re.compile(r"\B~([A-Za-z0-9\-_]+)")
_DIALOG_TYPES = {"text", "textarea", "select", "bool", "radio", "date", "datetime"}

Outgoing = Callable[[str, str, dict, bytes], Any]


def http_outgoing(method: str, url: str, headers: dict, body: bytes) -> requests.Response:
    return requests.request(method, url, headers=headers, data=body, timeout=30)


def flask_outgoing(test_client: Any) -> Outgoing:
    """Deliver integration requests to a Flask test client, whatever the host."""

    def send(method: str, url: str, headers: dict, body: bytes) -> Any:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return test_client.open(path, method=method, headers=headers, data=body)

    return send


def response_body(response: Any) -> bytes:
    """The body of a requests or werkzeug response."""
    content = getattr(response, "content", None)
    return content if isinstance(content, bytes) else response.get_data()


def _size(value: Any) -> int:
    """Go's len() of a string: UTF-8 bytes, so 8 Japanese characters fill 24."""
    return len(str(value or "").encode("utf-8"))


def dialog_problem(dialog: Any) -> str | None:
    """Why Mattermost's limits (model/integration_action.go Dialog.IsValid,
    lengths in UTF-8 bytes) refuse this dialog, or None."""
    if not isinstance(dialog, dict):
        return "dialog is not an object"
    title = dialog.get("title")
    if not title or _size(title) > 24:
        return "title must be 1-24 bytes"
    if dialog.get("icon_url") and not re.match(r"https?://", dialog["icon_url"]):
        return "icon_url must be an http(s) URL"
    names: set[str] = set()
    for element in dialog.get("elements") or []:
        name = element.get("name") or ""
        kind = element.get("type")
        if not name or _size(name) > 300:
            return f"element name {name!r} must be 1-300 bytes"
        if name in names:
            return f"element name {name!r} is not unique"
        names.add(name)
        if not element.get("display_name") or _size(element["display_name"]) > 24:
            return f"element {name}: display_name must be 1-24 bytes"
        if _size(element.get("help_text")) > 150:
            return f"element {name}: help_text is longer than 150 bytes"
        if kind not in _DIALOG_TYPES:
            return f"element {name}: unknown type {kind!r}"
        limit = {"text": 150, "bool": 150}.get(kind, 3000)
        for key in ("default", "placeholder"):
            if _size(element.get(key)) > limit:
                return f"element {name}: {key} is longer than {limit} bytes"
        lo, hi = element.get("min_length", 0) or 0, element.get("max_length", 0) or 0
        if lo < 0 or (hi and lo > hi):
            return f"element {name}: min_length/max_length out of order"
        options = element.get("options") or []
        if kind in ("select", "radio") and element.get("default") and not element.get("data_source"):
            if element["default"] not in {o.get("value") for o in options}:
                return f"element {name}: default is not one of the options"
    return None


class Interactions:
    """Mixed into the stand-in: needs StandInState's tables, bot and url."""

    _secret = b"stand-in trigger key"

    def _init_interactions(self, outgoing: Outgoing | None) -> None:
        self.outgoing: Outgoing = outgoing or http_outgoing
        self.dialogs: list[dict] = []
        self.ephemerals: list[dict] = []
        self.command_responses: list[dict] = []
        self._hooks: dict[str, dict] = {}
        self._trigger_channels: dict[str, str] = {}

    def dialog_problem(self, dialog: Any) -> str | None:
        return dialog_problem(dialog)

    # --- trigger ids -------------------------------------------------------

    def make_trigger_id(self, user: dict | str, channel: dict | str | None = None) -> str:
        """A trigger id as Mattermost makes them: client id, user, time, signature."""
        user_id = self._user_of(user)["id"]
        payload = f"{self.new_id()}:{user_id}:{self.now_ms()}"
        signature = base64.b64encode(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())
        trigger_id = base64.b64encode(payload.encode() + b":" + signature).decode()
        self._trigger_channels[trigger_id] = self._channel_of(channel)["id"] if channel else ""
        return trigger_id

    def decode_trigger_id(self, trigger_id: str) -> tuple[str, str]:
        """(user id, channel id) of a valid trigger id; ApiError(400) otherwise."""
        try:
            decoded = base64.b64decode(trigger_id, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError(400, "interactive_message.decode_trigger_id.base64_decode_failed", "Failed to decode base64 for trigger ID.") from None
        parts = decoded.split(":")
        if len(parts) != 4:
            raise ApiError(400, "interactive_message.decode_trigger_id.missing_data", "Trigger ID missing required data.")
        payload = ":".join(parts[:3]).encode()
        expected = base64.b64encode(hmac.new(self._secret, payload, hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, parts[3]):
            raise ApiError(400, "interactive_message.decode_trigger_id.verify_signature_failed", "Signature verification failed.")
        if self.now_ms() - int(parts[2]) > TRIGGER_TTL * 1000:
            raise ApiError(400, "interactive_message.decode_trigger_id.expired", "Trigger ID expired.")
        return parts[1], self._trigger_channels.get(trigger_id, "")

    # --- slash commands and response_url ----------------------------------

    def response_url(self, user: dict | str | None = None, channel: dict | str | None = None, root_id: str = "") -> str:
        """A fresh /hooks/commands/<id> URL: 30 minutes, 5 uses."""
        hook_id = self.new_id()
        with self._lock:
            self._hooks[hook_id] = {
                "user_id": self._user_of(user)["id"] if user else "",
                "channel_id": self._channel_of(channel)["id"] if channel else "",
                "root_id": root_id,
                "created": self.clock(),
                "uses": 0,
            }
        return f"{self.url}/hooks/commands/{hook_id}"

    def slash_command_form(
        self,
        user: dict | str,
        channel: dict | str,
        command: str,
        text: str,
        token: str,
        *,
        root_id: str = "",
        team: dict | str | None = None,
    ) -> dict[str, str | list[str]]:
        """The form Mattermost POSTs for a slash command, keys sorted as url.Values.Encode does.

        Repeated keys (user_mentions...) are lists: both requests and the
        Flask test client encode them as repeated fields.
        """
        user, channel = self._user_of(user), self._channel_of(channel)
        team_dict = self._team_for(channel, user, team)
        form: dict[str, str | list[str]] = {
            "channel_id": channel["id"],
            "channel_name": channel["name"],
            "command": "/" + command.lstrip("/").lower(),
            "response_url": self.response_url(user, channel, root_id),
            "root_id": root_id,
            "team_domain": team_dict["name"] if team_dict else "",
            "team_id": team_dict["id"] if team_dict else "",
            "text": text,
            "token": token,
            "trigger_id": self.make_trigger_id(user, channel),
            "user_id": user["id"],
            "user_name": user["username"],
        }
        names, ids = self._user_mentions(text, team_dict)
        if names:
            form["user_mentions"], form["user_mentions_ids"] = names, ids
        names, ids = self._channel_mentions(text, team_dict)
        if names:
            form["channel_mentions"], form["channel_mentions_ids"] = names, ids
        return dict(sorted(form.items()))

    @staticmethod
    def command_headers(token: str, method: str = "P") -> dict[str, str]:
        headers = {**INTEGRATION_HEADERS, "Authorization": f"Token {token}"}
        if method == "P":  # a GET command has no body, so no Content-Type
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return headers

    def send_command(self, url: str, form: dict, method: str = "P") -> Any:
        """Send a slash_command_form to the integration as Mattermost does
        (app/command.go DoCommandRequest): POSTed as a form, or for a command
        registered with method "G", appended to the URL's query string."""
        encoded = urlencode(list(form.items()), doseq=True)
        headers = self.command_headers(str(form["token"]), method)
        if method == "G":
            return self.outgoing("GET", url + ("&" if urlsplit(url).query else "?") + encoded, headers, b"")
        return self.outgoing("POST", url, headers, encoded.encode())

    def _user_mentions(self, text: str, team: dict | None) -> tuple[list[str], list[str]]:
        names: list[str] = []
        ids: list[str] = []
        for raw in _AT_MENTION.findall(text):
            candidate = raw.lower()
            while candidate:
                user = next((u for u in self.users.values() if u["username"] == candidate), None)
                if user and team and (team["id"], user["id"]) in self.team_members:
                    if user["id"] not in ids:
                        names.append(candidate)
                        ids.append(user["id"])
                    break
                if candidate[-1] not in ".-_:":
                    break
                candidate = candidate[:-1]
        return names, ids

    def _channel_mentions(self, text: str, team: dict | None) -> tuple[list[str], list[str]]:
        names: list[str] = []
        ids: list[str] = []
        for name in _CHANNEL_MENTION.findall(text):
            for channel in self.channels.values():
                if team and channel["team_id"] == team["id"] and channel["type"] == "O" and channel["name"] == name:
                    if channel["id"] not in ids:
                        names.append(name)
                        ids.append(channel["id"])
        return names, ids

    def handle_hook(self, hook_id: str, content_type: str, body: bytes) -> tuple[int, Any]:
        """POST /hooks/commands/{id}: a delayed command response arrives."""
        with self._lock:
            hook = self._hooks.get(hook_id)
            if hook is None or self.clock() - hook["created"] > HOOK_TTL:
                raise ApiError(404, "app.command_webhook.get.missing", "Unable to find the webhook.")
            if hook["uses"] >= HOOK_USES:
                raise ApiError(400, "app.command_webhook.try_use.invalid", "Invalid webhook use.")
            if content_type.split(";")[0].strip() == "application/json":
                try:
                    response = json.loads(body or b"null")
                except ValueError:
                    response = None
                if not isinstance(response, dict):
                    raise ApiError(400, "web.command_webhook.parse.app_error", "Unable to parse incoming data.")
            else:
                response = {"text": body.decode("utf-8", "replace"), "response_type": "ephemeral"}
            hook["uses"] += 1
            self.command_responses.append(
                {"hook_id": hook_id, "user_id": hook["user_id"], "channel_id": hook["channel_id"], "response": response}
            )
            self._deliver_command_response(hook, response)
        return 200, "ok"

    def _deliver_command_response(self, hook: dict, response: dict) -> None:
        """app/command.go HandleCommandResponsePost, on a server with post
        username and icon overrides enabled (nippo's set-up asks for them)."""
        channel_id = response.get("channel_id") or hook["channel_id"]
        props = dict(response.get("props") or {})
        if response.get("attachments"):
            props["attachments"] = copy.deepcopy(response["attachments"])
        if response.get("username"):
            props["override_username"] = response["username"]
        if response.get("icon_url"):
            props["override_icon_url"] = response["icon_url"]
        props["from_webhook"] = "true"  # a custom command's answer is a bot post
        if response.get("response_type") == "in_channel" and channel_id in self.channels:
            now = self.now_ms()
            post = {
                "id": self.new_id(), "create_at": now, "update_at": now, "edit_at": 0, "delete_at": 0,
                "is_pinned": False, "user_id": hook["user_id"], "channel_id": channel_id,
                "root_id": hook["root_id"], "original_id": "", "message": response.get("text", ""),
                "type": "", "props": props, "hashtags": "",
                "pending_post_id": "", "reply_count": 0, "last_reply_at": 0, "participants": None, "metadata": {},
            }  # fmt: skip
            self.posts.append(post)
            self.posts_by_id[post["id"]] = post
        elif response.get("text") or response.get("attachments"):
            self.ephemerals.append(
                {"user_id": hook["user_id"], "channel_id": channel_id, "message": response.get("text", ""), "props": props}
            )

    # --- buttons -----------------------------------------------------------

    def click(self, post_id: str, action_id: str, user: dict | str, selected_option: str | None = None) -> Any:
        """Click a button (or pick a menu option) as `user`: POST the click to the action's URL.

        A 200 answer is applied as Mattermost applies it: ``update`` replaces
        the post, ``ephemeral_text`` goes to ``ephemerals``. Returns the
        integration's response.
        """
        user = self._user_of(user)
        with self._lock:
            post = self.posts_by_id[post_id]
            action = next(
                a
                for attachment in (post["props"].get("attachments") or [])
                for a in (attachment.get("actions") or [])
                if a.get("id") == action_id
            )
            integration = copy.deepcopy(action.get("integration") or {})
            channel = self.channels[post["channel_id"]]
            team = self.teams.get(channel["team_id"]) if channel["type"] not in ("D", "G") else None
        context = integration.get("context") or {}
        payload: dict[str, Any] = {
            "user_id": user["id"],
            "user_name": user["username"],
            "channel_id": channel["id"],
            "channel_name": channel["name"],
            "team_id": team["id"] if team else "",
            "team_domain": team["name"] if team else "",
            "post_id": post_id,
            "trigger_id": self.make_trigger_id(user, channel),
            "type": action.get("type", "button"),
            "data_source": action.get("data_source", ""),
        }
        if selected_option is not None:
            context = {**context, "selected_option": selected_option}
        if context:
            payload["context"] = context
        headers = {**INTEGRATION_HEADERS, "Content-Type": "application/json"}
        response = self.outgoing("POST", integration["url"], headers, json.dumps(payload).encode())
        if response.status_code == 200:
            self._apply_action_response(post_id, user, response_body(response))
        return response

    def _apply_action_response(self, post_id: str, user: dict, body: bytes) -> None:
        try:
            answer = json.loads(body) if body.strip() else {}
        except ValueError:
            self.violations.append(f"action response for post {post_id} is not JSON")
            return
        with self._lock:
            post = self.posts_by_id[post_id]
            update = answer.get("update")
            if update:
                props = copy.deepcopy(update.get("props"))
                try:
                    self._check_message_and_props(update.get("message", ""), props)
                    # Older licensed servers (app/post.go UpdatePost) refused an update
                    # that changes the message past PostEditTimeLimit: the click fails.
                    if update.get("message", "") != post["message"]:
                        self._check_edit_time_limit(post, changes_message=True)
                except ApiError as exc:
                    self.violations.append(f"action response update for post {post_id}: {exc.message}")
                    return
                if props is None:
                    props = post["props"]
                else:
                    # app/integration_action.go DoPostActionWithCookie: new props
                    # replace the old ones; only model.PostActionRetainPropKeys survive.
                    for key in RETAIN_PROP_KEYS:
                        props.pop(key, None)
                        if key in post["props"]:
                            props[key] = post["props"][key]
                post["message"] = update.get("message", "")
                post["props"] = props
                post["update_at"] = post["edit_at"] = self.now_ms()
            if answer.get("ephemeral_text"):
                retained = {k: post["props"][k] for k in RETAIN_PROP_KEYS if k in post["props"]}
                self.ephemerals.append(
                    {"user_id": user["id"], "channel_id": post["channel_id"], "message": answer["ephemeral_text"],
                     "props": retained}
                )

    # --- dialogs -----------------------------------------------------------

    def submit_dialog(self, opened_dialog: dict, user: dict | str, submission: dict, cancelled: bool = False) -> Any:
        """Submit (or cancel) an opened dialog as `user`: POST the submission to its URL.

        Returns the integration's response, or None for a cancel of a
        dialog without notify_on_cancel (Mattermost then sends nothing).
        """
        user = self._user_of(user)
        dialog = opened_dialog["dialog"]
        if cancelled and not dialog.get("notify_on_cancel"):
            return None
        channel = self.channels.get(opened_dialog.get("channel_id", ""))
        payload = {
            "type": "dialog_submission",
            "callback_id": dialog.get("callback_id", ""),
            "state": dialog.get("state", ""),
            "user_id": user["id"],
            "channel_id": channel["id"] if channel else "",
            "team_id": channel["team_id"] if channel else "",
            "submission": {} if cancelled else submission,
            "cancelled": cancelled,
        }
        headers = {**INTEGRATION_HEADERS, "Content-Type": "application/json"}
        return self.outgoing("POST", opened_dialog["url"], headers, json.dumps(payload).encode())

    # --- lookups -----------------------------------------------------------

    def _user_of(self, user: dict | str) -> dict:
        key = user["id"] if isinstance(user, dict) else user
        if key in self.users:
            return self.users[key]
        return self.user_by_name(key)

    def _channel_of(self, channel: dict | str) -> dict:
        return self.channels[channel["id"] if isinstance(channel, dict) else channel]

    def _team_for(self, channel: dict, user: dict, team: dict | str | None) -> dict | None:
        if team is not None:
            return self.teams[team["id"] if isinstance(team, dict) else team]
        if channel["team_id"]:
            return self.teams[channel["team_id"]]
        return next((self.teams[t] for (t, u) in self.team_members if u == user["id"]), None)
