"""Mattermost REST client for nippo.

``mattermostdriver.Driver`` (7.3.2) is kept for what it does well: turning
our options into the API base URL and the bearer header. Every request goes
through one ``requests.Session`` of our own instead of the driver's
endpoint methods, because the driver (mattermostdriver 7.3.2):

* opens a new connection per call (``requests.get`` etc., no Session, no
  pooling) — hundreds of DMs a morning would each pay a TCP/TLS handshake;
* maps errors lossily: the AppError ``id`` and the status are dropped, 429
  and 5xx arrive as bare ``HTTPError``, so transient and permanent failures,
  ``Retry-After`` and "did the request land?" cannot be told apart;
* builds ``/commands`` + id without a slash (``update_command`` is broken);
* raises ``KeyError`` on a response without ``Content-Type``.

No network I/O happens in the constructor; the bot's own user is fetched
on first use of ``me()`` and cached. One instance is shared by the web
threads and the scheduler thread: the session's connection pool is
thread-safe, cookies are refused (bearer auth needs none, and a shared jar
would be mutated from several threads) and the caches are guarded by a lock.
"""

from __future__ import annotations

import email.utils
import http.cookiejar
import logging
import math
import threading
import time
from typing import Any, Iterable
from urllib.parse import quote, urlsplit

import requests
import urllib3.exceptions
from mattermostdriver import Driver

from bot.mattermost.errors import MattermostError
from bot.metrics import count_mattermost_call

log = logging.getLogger(__name__)

MEMBERS_PER_PAGE = 200  # Mattermost's maximum per_page
LOOKUP_CHUNK = 1000


class MattermostClient:
    def __init__(self, url: str, token: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url if "://" in url else f"https://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        host = parts.hostname
        if ":" in host:  # IPv6 literal: the driver formats host:port
            host = f"[{host}]"
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self._driver = Driver(
            {
                "url": host,
                "scheme": parts.scheme,
                "port": port,
                "basepath": parts.path.rstrip("/") + "/api/v4",
                "token": token,
                "request_timeout": timeout,
            }
        )
        # What Driver.login() would do for a token, minus the GET /users/me.
        self._driver.client.token = token
        self._base = self._driver.client.url
        self._timeout = timeout

        self._session = requests.Session()
        self._session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self._session.headers.update(self._driver.client.auth_header())
        self._session.headers["Accept"] = "application/json"
        self._session.verify = self._driver.options["verify"]
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=16, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

        self._lock = threading.Lock()
        self._me: dict | None = None
        self._dm_channels: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"MattermostClient({self._base!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "MattermostClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- users -------------------------------------------------------------

    def me(self) -> dict:
        with self._lock:
            if self._me is not None:
                return self._me
        me = self._request("GET", "/users/me")
        with self._lock:
            self._me = me
        return me

    @property
    def bot_user_id(self) -> str:
        return self.me()["id"]

    def get_user(self, user_id: str) -> dict:
        return self._request("GET", "/users/{user_id}", user_id=user_id)

    def get_user_by_username(self, name: str) -> dict:
        return self._request("GET", "/users/username/{username}", username=name)

    def get_user_by_email(self, email_address: str) -> dict:
        return self._request("GET", "/users/email/{email}", email=email_address)

    def get_users_by_ids(self, ids: Iterable[str]) -> list[dict]:
        """Users for these ids; unknown ids are omitted, as Mattermost does."""
        return self._lookup("/users/ids", ids)

    def get_users_by_usernames(self, names: Iterable[str]) -> list[dict]:
        """Users for these usernames; unknown names are omitted."""
        return self._lookup("/users/usernames", names)

    def _lookup(self, path: str, keys: Iterable[str]) -> list[dict]:
        unique = list(dict.fromkeys(keys))
        found: list[dict] = []
        for start in range(0, len(unique), LOOKUP_CHUNK):
            found.extend(self._request("POST", path, json=unique[start : start + LOOKUP_CHUNK]))
        return found

    # --- channels and teams ------------------------------------------------

    def get_channel(self, channel_id: str) -> dict:
        return self._request("GET", "/channels/{channel_id}", channel_id=channel_id)

    def channel_member_ids(self, channel_id: str) -> list[str]:
        ids: list[str] = []
        page = 0
        while True:
            members = self._request(
                "GET",
                "/channels/{channel_id}/members",
                params={"page": page, "per_page": MEMBERS_PER_PAGE},
                channel_id=channel_id,
            )
            ids.extend(m["user_id"] for m in members)
            if len(members) < MEMBERS_PER_PAGE:
                return ids
            page += 1

    def channel_users(self, channel_id: str, page: int) -> list[dict]:
        """One page of the channel's members as whole users, by username,
        deactivated users and bots included; a page shorter than
        ``MEMBERS_PER_PAGE`` is the last. One call gives what the member ids
        and a ``/users/ids`` lookup would give in two."""
        return self._request(
            "GET", "/users", params={"in_channel": channel_id, "page": page, "per_page": MEMBERS_PER_PAGE}
        )

    def get_channel_member(self, channel_id: str, user_id: str) -> dict:
        """The membership (roles, scheme_admin); MattermostError(404) if none."""
        return self._request("GET", "/channels/{channel_id}/members/{user_id}", channel_id=channel_id, user_id=user_id)

    def get_team_member(self, team_id: str, user_id: str) -> dict:
        return self._request("GET", "/teams/{team_id}/members/{user_id}", team_id=team_id, user_id=user_id)

    def get_team_by_name(self, name: str) -> dict:
        return self._request("GET", "/teams/name/{team_name}", team_name=name)

    def direct_channel_id(self, user_id: str) -> str:
        """The DM channel between the bot and this user (created if needed)."""
        with self._lock:
            cached = self._dm_channels.get(user_id)
        if cached:
            return cached
        # Outside the lock: two threads may both ask, which is harmless
        # because Mattermost answers the same channel both times.
        channel = self._request("POST", "/channels/direct", json=[self.bot_user_id, user_id])
        with self._lock:
            self._dm_channels[user_id] = channel["id"]
        return channel["id"]

    # --- posts -------------------------------------------------------------

    def create_post(
        self,
        channel_id: str,
        message: str,
        props: dict | None = None,
        pending_post_id: str | None = None,
        root_id: str | None = None,
    ) -> dict:
        body: dict[str, Any] = {"channel_id": channel_id, "message": message}
        if props:
            body["props"] = props
        if pending_post_id:
            body["pending_post_id"] = pending_post_id
        if root_id:
            body["root_id"] = root_id
        return self._request("POST", "/posts", json=body, params={"set_online": "false"})

    def recent_posts(self, channel_id: str, since_ms: int | None = None, per_page: int = 60) -> list[dict]:
        """The channel's newest posts, newest first (all changed since since_ms, if given)."""
        params: dict[str, Any] = {"since": since_ms} if since_ms else {"page": 0, "per_page": per_page}
        listing = self._request("GET", "/channels/{channel_id}/posts", params=params, channel_id=channel_id)
        posts = listing.get("posts") or {}
        order = listing.get("order") or sorted(posts, key=lambda i: posts[i].get("create_at", 0), reverse=True)
        return [posts[i] for i in order if i in posts]

    def patch_post(self, post_id: str, message: str | None = None, props: dict | None = None) -> dict:
        body: dict[str, Any] = {}
        if message is not None:
            body["message"] = message
        if props is not None:
            body["props"] = props
        return self._request("PUT", "/posts/{post_id}/patch", json=body, post_id=post_id)

    def open_dialog(self, trigger_id: str, url: str, dialog: dict) -> dict:
        return self._request(
            "POST", "/actions/dialogs/open", json={"trigger_id": trigger_id, "url": url, "dialog": dialog}
        )

    # --- slash commands ----------------------------------------------------

    def list_commands(self, team_id: str) -> list[dict]:
        return self._request("GET", "/commands", params={"team_id": team_id, "custom_only": "true"})

    def create_command(self, options: dict) -> dict:
        return self._request("POST", "/commands", json=options)

    def update_command(self, command_id: str, options: dict) -> dict:
        """PUT the full command object (token, creator and team stay as they are)."""
        return self._request(
            "PUT", "/commands/{command_id}", json={**options, "id": command_id}, command_id=command_id
        )

    def delete_command(self, command_id: str) -> None:
        self._request("DELETE", "/commands/{command_id}", command_id=command_id)

    def ping(self) -> dict:
        return self._request("GET", "/system/ping")

    def check_token(self) -> dict:
        """The bot's own user, asked afresh: proves Mattermost answers and the token is still valid."""
        return self._request("GET", "/users/me")

    # --- transport ---------------------------------------------------------

    def _request(
        self, method: str, route: str, *, params: dict | None = None, json: Any = None, **path_args: str
    ) -> Any:
        """One call; `route` names the endpoint ("/users/{user_id}") in logs and errors."""
        operation = f"{method} {route}"
        path = route.format(**{name: _seg(value) for name, value in path_args.items()})
        started = time.monotonic()
        try:
            response = self._session.request(
                method, self._base + path, params=params, json=json, timeout=self._timeout
            )
        except requests.RequestException as exc:
            count_mattermost_call(operation, None, time.monotonic() - started)
            landed, what = _classify(exc)
            log.info("mattermost %s: %s", operation, what)
            raise MattermostError(what, landed=landed, operation=operation) from None
        elapsed = time.monotonic() - started
        count_mattermost_call(operation, response.status_code, elapsed)
        log.debug("mattermost %s -> %s in %.3fs", operation, response.status_code, elapsed)
        if response.status_code >= 400:
            raise _error_from(response, operation)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise MattermostError(
                "answer is not JSON", status=response.status_code, operation=operation
            ) from None


def _seg(value: str) -> str:
    """One path segment, so a name with '/' or '?' cannot change the route."""
    return quote(str(value), safe="@")


def _classify(exc: requests.RequestException) -> tuple[bool | None, str]:
    """(landed, short description) for a request that got no HTTP answer."""
    if isinstance(exc, requests.ConnectTimeout):
        return False, "connect timeout"
    if isinstance(exc, requests.ReadTimeout):
        return None, "read timeout"
    if isinstance(exc, requests.ConnectionError):
        # Only a failure to open the connection proves nothing was sent; a
        # connection dropped later may have carried the whole request.
        cause: BaseException | None = exc
        for _ in range(10):
            if cause is None:
                break
            if isinstance(cause, (urllib3.exceptions.NewConnectionError, ConnectionRefusedError)):
                return False, "cannot connect"
            if isinstance(cause, urllib3.exceptions.MaxRetryError):
                cause = cause.reason
            elif cause.args and isinstance(cause.args[0], BaseException):
                cause = cause.args[0]
            else:
                cause = cause.__cause__ or cause.__context__
        return None, "connection lost before an answer"
    return None, type(exc).__name__


def _error_from(response: requests.Response, operation: str) -> MattermostError:
    error_id = None
    message = response.reason or "error"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error_id = body.get("id") or None
        message = body.get("message") or message
    elif response.text.strip():
        message = response.text.strip()[:200]
    retry_after = _seconds(response.headers.get("Retry-After"))
    if retry_after is None and response.status_code == 429:
        retry_after = _seconds(response.headers.get("X-RateLimit-Reset"))
    return MattermostError(
        message,
        status=response.status_code,
        error_id=error_id,
        retry_after=retry_after,
        operation=operation,
    )


def _seconds(value: str | None) -> float | None:
    """Delay-seconds, or an HTTP date turned into seconds from now."""
    if not value:
        return None
    try:
        seconds = float(value)
        return max(0.0, seconds) if math.isfinite(seconds) else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
