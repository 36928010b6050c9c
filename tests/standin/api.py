"""The REST routes of the stand-in, under /api/v4.

Each handler takes a ``Call`` and returns ``(status, json)`` or raises
``ApiError``. Error ids and statuses are Mattermost's (its API
reference and server source) except where marked STRICTER: there the stand-in refuses
what real Mattermost only logs as a warning, to keep nippo honest.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import Any, Callable
from urllib.parse import unquote

from tests.standin.commands import CommandRoutes
from tests.standin.state import VALID_ID, ApiError, Call, forbidden

MAX_POST_RUNES = 16383
PER_PAGE_DEFAULT = 60
PER_PAGE_MAX = 200
PENDING_POST_TTL = 30.0
ACTION_ID = re.compile(r"[A-Za-z0-9]+")


def _invalid_url_param(name: str) -> ApiError:
    return ApiError(400, "api.context.invalid_url_param.app_error", f"Invalid or missing {name} in request URL.")


def _invalid_body(name: str) -> ApiError:
    return ApiError(400, "api.context.invalid_body_param.app_error", f"Invalid or missing {name} in request body.")


def _page(params: dict[str, str]) -> tuple[int, int]:
    """page and per_page as web/params.go reads them."""
    try:
        page = max(0, int(params.get("page", "0")))
    except ValueError:
        page = 0
    try:
        per_page = int(params.get("per_page", str(PER_PAGE_DEFAULT)))
        per_page = PER_PAGE_DEFAULT if per_page < 0 else min(per_page, PER_PAGE_MAX)
    except ValueError:
        per_page = PER_PAGE_DEFAULT
    return page, per_page


class ApiRoutes(CommandRoutes):
    """Route table and handlers; mixed into the stand-in with StandInState."""

    def _routes(self) -> list[tuple[str, re.Pattern, Callable[[Call], tuple[int, Any]], bool]]:
        table = [
            ("GET", r"/system/ping", self._ping, False),
            ("GET", r"/users", self._get_users, True),
            ("GET", r"/users/(?P<user_id>[^/]+)", self._get_user, True),
            ("GET", r"/users/username/(?P<username>[^/]+)", self._get_user_by_username, True),
            ("GET", r"/users/email/(?P<email>[^/]+)", self._get_user_by_email, True),
            ("POST", r"/users/ids", self._users_by_ids, True),
            ("POST", r"/users/usernames", self._users_by_usernames, True),
            ("GET", r"/teams/name/(?P<name>[^/]+)", self._team_by_name, True),
            ("GET", r"/teams/(?P<team_id>[^/]+)/members/(?P<user_id>[^/]+)", self._team_member, True),
            ("POST", r"/channels/direct", self._direct_channel, True),
            ("GET", r"/channels/(?P<channel_id>[^/]+)", self._get_channel, True),
            ("GET", r"/channels/(?P<channel_id>[^/]+)/members", self._channel_members, True),
            ("GET", r"/channels/(?P<channel_id>[^/]+)/members/(?P<user_id>[^/]+)", self._channel_member, True),
            ("GET", r"/channels/(?P<channel_id>[^/]+)/posts", self._channel_posts, True),
            ("POST", r"/posts", self._create_post, True),
            ("PUT", r"/posts/(?P<post_id>[^/]+)/patch", self._patch_post, True),
            ("POST", r"/actions/dialogs/open", self._open_dialog, False),
            ("GET", r"/commands", self._list_commands, True),
            ("POST", r"/commands", self._create_command, True),
            ("PUT", r"/commands/(?P<command_id>[^/]+)", self._update_command, True),
            ("DELETE", r"/commands/(?P<command_id>[^/]+)", self._delete_command, True),
        ]
        return [(m, re.compile("/api/v4" + p), h, auth) for m, p, h, auth in table]

    def route(self, method: str, path: str) -> tuple[Callable[[Call], tuple[int, Any]], dict[str, str], bool]:
        for route_method, pattern, handler, auth in self._route_table:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                return handler, {k: unquote(v) for k, v in match.groupdict().items()}, auth
        raise ApiError(404, "api.context.404.app_error", "Sorry, we could not find the page.")

    # --- helpers -----------------------------------------------------------

    def _channel_for(self, call: Call, *, read: bool = True) -> dict:
        channel_id = call.args["channel_id"]
        if not VALID_ID.fullmatch(channel_id):
            raise _invalid_url_param("channel_id")
        channel = self.channels.get(channel_id)
        if channel is None:
            if call.user and self.is_system_admin(call.user):
                raise ApiError(404, "app.channel.get.existing.app_error", "Unable to find the existing channel.")
            raise forbidden()
        if read and not self.can_read_channel(call.user, channel):
            raise forbidden()
        return channel

    def _user_id_arg(self, call: Call) -> str:
        user_id = call.args["user_id"]
        if user_id == "me":
            return call.user["id"]
        if not VALID_ID.fullmatch(user_id):
            raise _invalid_url_param("user_id")
        return user_id

    def _string_list(self, call: Call, name: str) -> list[str]:
        if not isinstance(call.json, list) or not call.json or not all(isinstance(x, str) for x in call.json):
            raise _invalid_body(name)
        return list(dict.fromkeys(call.json))

    # --- system, users, teams ---------------------------------------------

    def _ping(self, call: Call) -> tuple[int, Any]:
        return 200, {"status": "OK", "ActiveSearchBackend": "database", "AndroidLatestVersion": ""}

    def _get_user(self, call: Call) -> tuple[int, Any]:
        user = self.users.get(self._user_id_arg(call))
        if user is None:
            raise ApiError(404, "app.user.missing_account.const", "Unable to find the user.")
        return 200, self.user_json(user, call.user)

    def _get_user_by_username(self, call: Call) -> tuple[int, Any]:
        for user in self.users.values():
            if user["username"] == call.args["username"]:
                return 200, self.user_json(user, call.user)
        raise ApiError(404, "app.user.get_by_username.app_error", "Unable to find an existing account matching your username.")

    def _get_user_by_email(self, call: Call) -> tuple[int, Any]:
        if not self.show_email and not self.is_system_admin(call.user):
            raise ApiError(403, "api.user.get_user_by_email.permissions.app_error", "Unable to get user by email.")
        wanted = call.args["email"].lower()
        for user in self.users.values():
            if user["email"].lower() == wanted:
                return 200, self.user_json(user, call.user)
        raise ApiError(404, "app.user.missing_account.const", "Unable to find the user.")

    def _get_users(self, call: Call) -> tuple[int, Any]:
        """GET /users?in_channel=: store/sqlstore GetProfilesInChannel, ordered by
        username, deactivated users too unless ``active``/``inactive`` say otherwise;
        the caller must be able to read the channel. Only ``in_channel`` is served:
        nippo selects users in no other way."""
        channel_id = call.params.get("in_channel")
        if not channel_id:
            raise ApiError(501, "standin.not_implemented", "The stand-in serves GET /users with in_channel only.")
        channel = self._channel_for(dataclasses.replace(call, args={"channel_id": channel_id}))
        page, per_page = _page(call.params)
        users = sorted((self.users[u] for u in self.channel_members[channel["id"]]), key=lambda u: u["username"])
        if call.params.get("inactive") == "true":
            users = [u for u in users if u["delete_at"]]
        elif call.params.get("active") == "true":
            users = [u for u in users if not u["delete_at"]]
        return 200, [self.user_json(u, call.user) for u in users[page * per_page : (page + 1) * per_page]]

    def _users_by_ids(self, call: Call) -> tuple[int, Any]:
        ids = self._string_list(call, "user_ids")
        return 200, [self.user_json(self.users[i], call.user) for i in ids if i in self.users]

    def _users_by_usernames(self, call: Call) -> tuple[int, Any]:
        names = set(self._string_list(call, "usernames"))
        return 200, [self.user_json(u, call.user) for u in self.users.values() if u["username"] in names]

    def _team_by_name(self, call: Call) -> tuple[int, Any]:
        for team in self.teams.values():
            if team["name"] == call.args["name"] and not team["delete_at"]:
                if (team["id"], call.user["id"]) not in self.team_members and not self.is_system_admin(call.user):
                    raise forbidden()
                return 200, copy.deepcopy(team)
        raise ApiError(404, "app.team.get_by_name.missing.app_error", "Unable to find the existing team.")

    def _team_member(self, call: Call) -> tuple[int, Any]:
        team_id, user_id = call.args["team_id"], self._user_id_arg(call)
        if not VALID_ID.fullmatch(team_id):
            raise _invalid_url_param("team_id")
        if (team_id, call.user["id"]) not in self.team_members and not self.is_system_admin(call.user):
            raise forbidden()
        member = self.team_members.get((team_id, user_id))
        if member is None:
            raise ApiError(404, "app.team.get_member.missing.app_error", "No team member found for that user ID and team ID.")
        return 200, dict(member)

    # --- channels ----------------------------------------------------------

    def _get_channel(self, call: Call) -> tuple[int, Any]:
        return 200, copy.deepcopy(self._channel_for(call))

    def _channel_members(self, call: Call) -> tuple[int, Any]:
        channel = self._channel_for(call)
        page, per_page = _page(call.params)
        members = list(self.channel_members[channel["id"]].values())
        return 200, [dict(m) for m in members[page * per_page : (page + 1) * per_page]]

    def _channel_member(self, call: Call) -> tuple[int, Any]:
        channel = self._channel_for(call)
        member = self.channel_members[channel["id"]].get(self._user_id_arg(call))
        if member is None:
            raise ApiError(404, "app.channel.get_member.missing.app_error", "No channel member found for that user ID and channel ID.")
        return 200, dict(member)

    def _direct_channel(self, call: Call) -> tuple[int, Any]:
        if not isinstance(call.json, list) or not all(isinstance(x, str) for x in call.json):
            raise _invalid_body("user_ids")
        ids = list(call.json)
        if len(ids) == 1:
            ids = ids * 2
        if len(ids) != 2 or not all(VALID_ID.fullmatch(i) for i in ids):
            raise _invalid_body("user_ids")
        if call.user["id"] not in ids and not self.is_system_admin(call.user):
            raise forbidden()
        for user_id in ids:
            if user_id not in self.users:
                raise ApiError(400, "api.context.invalid_url_param.app_error", "Invalid or missing user_id in request.")
        name = "__".join(sorted(ids))
        for channel in self.channels.values():
            if channel["type"] == "D" and channel["name"] == name:
                return 201, copy.deepcopy(channel)
        channel = self._new_channel("", name, "D", "")
        channel["creator_id"] = call.user["id"]
        self.channels[channel["id"]] = channel
        self.channel_members[channel["id"]] = {
            u: self._new_channel_member(channel["id"], u, False, "channel_user") for u in dict.fromkeys(ids)
        }
        return 201, copy.deepcopy(channel)

    # --- posts -------------------------------------------------------------

    def _channel_posts(self, call: Call) -> tuple[int, Any]:
        channel = self._channel_for(call)
        posts = [p for p in self.posts if p["channel_id"] == channel["id"] and not p["delete_at"]]
        posts.sort(key=lambda p: p["create_at"], reverse=True)
        since = call.params.get("since")
        if since and since.isdigit() and int(since) > 0:
            posts = [p for p in posts if p["update_at"] > int(since)]
        else:
            page, per_page = _page(call.params)
            posts = posts[page * per_page : (page + 1) * per_page]
        return 200, {
            "order": [p["id"] for p in posts],
            "posts": {p["id"]: self.post_json(p) for p in posts},
            "next_post_id": "",
            "prev_post_id": "",
            "has_next": False,
        }

    def _check_message_and_props(self, message: Any, props: Any) -> None:
        if not isinstance(message, str):
            raise _invalid_body("message")
        if len(message) > MAX_POST_RUNES:
            raise ApiError(400, "model.post.is_valid.message_length.app_error", f"Invalid Message property: longer than {MAX_POST_RUNES} characters.")
        if props is None:
            return
        if not isinstance(props, dict):
            raise _invalid_body("props")
        for attachment in props.get("attachments") or []:
            for action in (attachment or {}).get("actions") or []:
                # Real Mattermost only logs a warning; STRICTER here because a
                # button whose id has '_' or '-' can never be clicked.
                if "id" in action and not ACTION_ID.fullmatch(str(action["id"])):
                    raise ApiError(400, "standin.post.action_id.invalid", f"Action id {action['id']!r} is not [A-Za-z0-9]+.")
                if not action.get("id"):
                    action["id"] = self.new_id()

    def _can_post(self, user: dict, channel_id: str) -> bool:
        return self.is_system_admin(user) or user["id"] in self.channel_members.get(channel_id, {})

    def _create_post(self, call: Call) -> tuple[int, Any]:
        body = call.json
        if not isinstance(body, dict) or not isinstance(body.get("channel_id"), str):
            raise _invalid_body("post")
        props = copy.deepcopy(body.get("props")) if body.get("props") is not None else None
        self._check_message_and_props(body.get("message", ""), props)
        channel_id = body["channel_id"]
        if not self._can_post(call.user, channel_id):
            raise forbidden()
        channel = self.channels.get(channel_id)
        if channel is None:
            raise ApiError(400, "api.context.invalid_param.app_error", "Invalid post.channel_id parameter.")
        if channel["delete_at"]:
            raise ApiError(400, "api.post.create_post.can_not_post_to_deleted.error", "Can not post to deleted channel.")
        if channel["type"] == "D" and self.restricted_dm_users & (set(channel["name"].split("__")) - {call.user["id"]}):
            raise ApiError(400, "api.post.create_post.can_not_post_in_restricted_dm.error", "Can not post in a restricted DM.")
        root_id = body.get("root_id") or ""
        if root_id:
            root = self.posts_by_id.get(root_id)
            if root is None or root["delete_at"] or root["root_id"]:
                raise ApiError(400, "api.post.create_post.root_id.app_error", "Invalid RootId parameter.")
            if root["channel_id"] != channel_id:
                raise ApiError(400, "api.post.create_post.channel_root_id.app_error", "Invalid ChannelId for RootId parameter.")
        pending = body.get("pending_post_id") or ""
        now = self.clock()
        if pending and self.one_node and pending in self._pending_posts:
            post_id, expires = self._pending_posts[pending]
            if now < expires and not post_id:
                # app/post.go deduplicateCreatePost: the first request is still being saved.
                raise ApiError(500, "api.post.deduplicate_create_post.pending", "Post creation is already pending.")
            if now < expires and post_id and self.posts_by_id[post_id]["channel_id"] == channel_id:
                out = self.post_json(self.posts_by_id[post_id])
                out["pending_post_id"] = ""  # Mattermost reloads it from the store
                return 201, out
        props = props or {}
        if self.users[call.user["id"]]["is_bot"]:
            props["from_bot"] = "true"
        now_ms = self.now_ms()
        post = {
            "id": self.new_id(),
            "create_at": now_ms,
            "update_at": now_ms,
            "edit_at": 0,
            "delete_at": 0,
            "is_pinned": False,
            "user_id": call.user["id"],
            "channel_id": channel_id,
            "root_id": root_id,
            "original_id": "",
            "message": body.get("message", ""),
            "type": body.get("type", ""),
            "props": props,
            "hashtags": "",
            "pending_post_id": pending,
            "reply_count": 0,
            "last_reply_at": 0,
            "participants": None,
            "metadata": {},
        }
        self.posts.append(post)
        self.posts_by_id[post["id"]] = post
        channel["last_post_at"] = now_ms
        channel["total_msg_count"] += 1
        if pending:
            self._pending_posts[pending] = (post["id"], now + PENDING_POST_TTL)
        return 201, self.post_json(post)

    def _patch_post(self, call: Call) -> tuple[int, Any]:
        post = self.posts_by_id.get(call.args["post_id"])
        if post is None or (post["user_id"] != call.user["id"] and not self.is_system_admin(call.user)):
            raise forbidden()  # Mattermost masks a missing post as a permission error
        body = call.json if isinstance(call.json, dict) else {}
        self._check_edit_time_limit(post, changes_message=body.get("message") is not None)
        props = copy.deepcopy(body["props"]) if body.get("props") is not None else None
        message = body["message"] if body.get("message") is not None else post["message"]
        self._check_message_and_props(message, props)
        if self.channels[post["channel_id"]]["delete_at"]:
            raise ApiError(400, "api.post.patch_post.can_not_update_post_in_deleted.error", "Can not update a post in a deleted channel.")
        if post["delete_at"]:
            raise ApiError(400, "api.post.update_post.permissions_details.app_error", "Already deleted.")
        if body.get("message") is not None:
            post["message"] = body["message"]
        if props is not None:
            # model/post.go Post.Patch: the props map is replaced whole, and
            # 10.x keeps nothing of the old one (not even from_webhook or the
            # overrides): a patch that leaves them out loses the persona.
            post["props"] = props
        post["update_at"] = post["edit_at"] = self.now_ms()
        return 200, self.post_json(post)

    def _check_edit_time_limit(self, post: dict, *, changes_message: bool) -> None:
        """api4/post.go postPatchChecks: past ServiceSettings.PostEditTimeLimit a
        patch that carries a message is refused; some versions refuse any patch
        (``edit_time_limit_applies_to = "any"``)."""
        limit = self.post_edit_time_limit
        if limit == -1 or self.now_ms() <= post["create_at"] + limit * 1000:
            return
        if changes_message or self.edit_time_limit_applies_to == "any":
            raise ApiError(400, "api.post.update_post.permissions_time_limit.app_error",
                           f"Post edit is only allowed for {limit} seconds. Please ask your System Administrator for details.")

    # --- dialogs and commands ---------------------------------------------

    def _open_dialog(self, call: Call) -> tuple[int, Any]:
        body = call.json if isinstance(call.json, dict) else {}
        if not body.get("url"):
            raise ApiError(400, "api.context.invalid_body_param.app_error", "Invalid or missing url in request body.")
        user_id, channel_id = self.decode_trigger_id(str(body.get("trigger_id", "")))
        problem = self.dialog_problem(body.get("dialog"))
        if problem:
            raise ApiError(400, "standin.dialog.invalid", problem)  # STRICTER: Mattermost only warns
        self.dialogs.append(
            {
                "trigger_id": body["trigger_id"],
                "url": body["url"],
                "dialog": copy.deepcopy(body["dialog"]),
                "user_id": user_id,
                "channel_id": channel_id,
            }
        )
        return 200, {"status": "OK"}
