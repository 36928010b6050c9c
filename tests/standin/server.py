"""A real HTTP server on 127.0.0.1 that behaves as Mattermost does for nippo.

    standin = MattermostStandIn().start()
    client = MattermostClient(standin.url, standin.bot_token)
    ...
    standin.assert_no_violations()
    standin.stop()

Every request is recorded (``requests``, tokens left out) and, unless
``validate=False``, checked against Mattermost's OpenAPI bundle
(``openapi_check``); mismatches land in ``violations``. Time is
``clock()`` (epoch seconds, injectable) so tests move it instead of
sleeping; only ``latency()`` sleeps for real.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from tests.standin import openapi_check
from tests.standin.api import PENDING_POST_TTL, ApiRoutes
from tests.standin.faults import Fault, FaultBook, Gcra
from tests.standin.interactions import Interactions, Outgoing
from tests.standin.oauth import OAuthProvider
from tests.standin.state import ApiError, Call, StandInState

_HIDDEN_HEADERS = {"authorization", "cookie", "x-auth-token"}
_HOOK = re.compile(r"/hooks/commands/(?P<hook_id>[A-Za-z0-9]+)")


class OffsetClock:
    """Real time plus an offset that tests move forward: ``advance(31)``."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class MattermostStandIn(OAuthProvider, Interactions, ApiRoutes, StandInState):
    def __init__(
        self,
        *,
        clock: Callable[[], float] | None = None,
        validate: bool = True,
        outgoing: Outgoing | None = None,
        bot_username: str = "nippo",
        bot_roles: str = "system_user",
        seed: int | None = None,
    ) -> None:
        self._clock_obj = clock or OffsetClock()
        StandInState.__init__(self, self._clock_obj, seed)
        self._init_interactions(outgoing)
        self._init_oauth()
        self._route_table = self._routes()
        self.requests: list[dict] = []
        self.violations: list[str] = []
        self._checker = openapi_check.default_checker() if validate else None
        self.validating = self._checker is not None
        self._faults = FaultBook()
        self._stalled: list[tuple] = []  # requests "still being saved" (stall_posts)
        self._limiter: Gcra | None = None
        self._latency = 0.0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        self.bot = self.add_user(bot_username, bot=True, roles=bot_roles)
        self.bot_token = self.create_token(self.bot["id"])
        self.team: dict | None = None  # set by the fixture: team "acme"
        self.channel: dict | None = None  # set by the fixture: channel "dev"

    # --- lifecycle ---------------------------------------------------------

    def start(self) -> "MattermostStandIn":
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.standin = self
        self._serve()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._drop_connections()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> "MattermostStandIn":
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def _serve(self) -> None:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), name="mattermost-standin", daemon=True)
        self._thread.start()

    # --- time --------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move the stand-in's clock (needs the default OffsetClock or a clock with advance())."""
        self._clock_obj.advance(seconds)

    # --- knobs -------------------------------------------------------------

    def fail(self, method: str, path_re: str, status: int = 503, times: int = 1, error_id: str = "") -> None:
        """The next `times` matching requests get an AppError with this status, unprocessed."""
        self._faults.add(Fault("fail", method, re.compile(path_re), times, status, error_id))

    def rate_limit_next(
        self,
        method: str = "*",
        path_re: str = r".*",
        times: int = 1,
        retry_after: int | None = 1,
        reset: int = 1,
    ) -> None:
        """The next matching requests get 429 ``limit exceeded`` as Mattermost's limiter sends it.

        ``retry_after=None`` leaves out Retry-After, so only X-RateLimit-Reset says when.
        """
        headers = {"X-RateLimit-Limit": "101", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        self._faults.add(Fault("rate_limit", method, re.compile(path_re), times, 429, headers=headers))

    def enable_rate_limit(self, per_sec: float = 10, burst: int = 100) -> None:
        """Mattermost's GCRA limiter, on every route, headers on every answer."""
        self._limiter = Gcra(per_sec, burst, self.clock)

    def disable_rate_limit(self) -> None:
        self._limiter = None

    def latency(self, seconds: float) -> None:
        """Every request waits this long (real sleep) before it is processed; 0 turns it off."""
        self._latency = seconds

    def cut(self, method: str, path_re: str, times: int = 1) -> None:
        """Matching requests are dropped unprocessed: the connection closes without an answer."""
        self._faults.add(Fault("cut", method, re.compile(path_re), times))

    def lose_answer(self, method: str, path_re: str, times: int = 1) -> None:
        """Matching requests ARE processed, then the connection closes without an answer."""
        self._faults.add(Fault("lose_answer", method, re.compile(path_re), times))

    def stall_posts(self, times: int = 1) -> None:
        """The next ``POST /posts`` are still being saved when their connection
        drops: until ``finish_stalled()``, their pending_post_id is in flight
        and a retry with it gets Mattermost's 500 ``deduplicate_create_post.pending``."""
        self._faults.add(Fault("stall", "POST", re.compile(r"/api/v4/posts"), times))

    def finish_stalled(self) -> None:
        """The stalled posts are saved now, as the server would have carried on."""
        with self._lock:
            stalled, self._stalled = self._stalled, []
            for pending in (s[-1].get("pending_post_id") for s in stalled if isinstance(s[-1], dict)):
                self._pending_posts.pop(pending or "", None)
        for request in stalled:
            self._process(*request)

    def clustered(self) -> None:
        """Every request reaches another node of a cluster. Mattermost keeps the
        pending_post_id dedup in each node's memory, so a repeat is posted again."""
        self.one_node = False

    def clear_faults(self) -> None:
        self._faults.clear()

    def down(self) -> "_Down":
        """Stop listening: new connections are refused and open ones closed, until up().

        Usable as ``with standin.down(): ...``.
        """
        self._httpd.shutdown()
        self._httpd.socket.close()
        self._drop_connections()
        return _Down(self)

    def up(self) -> None:
        self._httpd.socket = socket.socket(self._httpd.address_family, self._httpd.socket_type)
        self._httpd.server_bind()
        self._httpd.server_activate()
        self._serve()

    def _drop_connections(self) -> None:
        with self._conn_lock:
            connections, self._connections = self._connections, set()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # --- assertions --------------------------------------------------------

    def count(self, method: str, path_prefix: str = "") -> int:
        return sum(1 for r in self.requests if r["method"] == method and r["path"].startswith(path_prefix))

    def assert_no_violations(self) -> None:
        if self.violations:
            listing = "\n  ".join(self.violations)
            raise AssertionError(f"requests that do not match Mattermost's API:\n  {listing}")

    # --- one request -------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, bytes] | None:
        """The answer to one request, or None to close the connection without one."""
        parts = urlsplit(target)
        path, query = parts.path, parse_qsl(parts.query, keep_blank_values=True)
        content_type = headers.get("Content-Type", "")
        data = _json_or_none(body) if content_type.startswith("application/json") else None
        with self._lock:
            self.requests.append(
                {
                    "method": method,
                    "path": path,
                    "query": dict(query),
                    "json": data,
                    "body": body,
                    "headers": {k: v for k, v in headers.items() if k.lower() not in _HIDDEN_HEADERS},
                }
            )
        if self._checker is not None and path.startswith("/api/v4/"):
            for problem in self._checker.problems(method, path, query, headers, body, content_type):
                self.violations.append(f"{method} {path}: {problem}")

        fault = self._faults.take(method, path)
        if fault is not None and fault.kind == "cut":
            return None
        if fault is not None and fault.kind == "stall":
            self._stall(method, path, dict(query), headers, body, content_type, data)
            return None
        if self._latency:
            time.sleep(self._latency)
        limit_headers: dict[str, str] = {}
        if self._limiter is not None:
            limited, limit_headers = self._limiter.take()
            if limited:
                return _text(429, "limit exceeded\n", limit_headers)
        if fault is not None and fault.kind == "rate_limit":
            return _text(429, "limit exceeded\n", {**fault.headers, **limit_headers})
        if fault is not None and fault.kind == "fail":
            error = ApiError(fault.status, fault.error_id or "standin.injected_failure", "Injected failure.")
            return self._error(error, limit_headers)

        try:
            answer = self._process(method, path, dict(query), headers, body, content_type, data)
        except Exception as exc:  # a stand-in bug must fail the test, not hang it
            self.violations.append(f"stand-in crashed on {method} {path}: {exc!r}")
            answer = self._error(ApiError(500, "standin.crash", "The stand-in crashed."), {})
        if fault is not None and fault.kind == "lose_answer":
            return None
        status, extra, payload = answer
        return status, {**extra, **limit_headers}, payload

    def _process(self, method, path, query, headers, body, content_type, data) -> tuple[int, dict, bytes]:
        try:
            if path.startswith("/oauth/"):
                answer = self.handle_oauth(method, path, query, headers, body, content_type)
                if answer is not None:
                    return answer
            hook = _HOOK.fullmatch(path)
            if hook and method == "POST":
                status, text = self.handle_hook(hook["hook_id"], content_type, body)
                return _text(status, text, {})
            handler, args, needs_session = self.route(method, path)
            with self._lock:
                user = self._session_user(headers)
                if needs_session and user is None:
                    raise ApiError(401, "api.context.session_expired.app_error", "Invalid or expired session, please login again.")
                status, result = handler(Call(method, path, query, data, user, args))
            return status, {"Content-Type": "application/json"}, json.dumps(result).encode()
        except ApiError as error:
            return self._error(error, {})

    def _stall(self, method, path, query, headers, body, content_type, data) -> None:
        pending = data.get("pending_post_id") if isinstance(data, dict) else None
        with self._lock:
            if pending:
                self._pending_posts[pending] = ("", self.clock() + PENDING_POST_TTL)
            self._stalled.append((method, path, query, headers, body, content_type, data))

    def _session_user(self, headers: dict[str, str]) -> dict | None:
        auth = headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() not in ("bearer", "token") or not token:
            return None
        user = self.users.get(self._tokens.get(token.strip(), ""))
        return user if user and not user["delete_at"] else None

    def _error(self, error: ApiError, headers: dict[str, str]) -> tuple[int, dict, bytes]:
        body = {
            "id": error.error_id,
            "message": error.message,
            "detailed_error": "",
            "request_id": self.new_id(),
            "status_code": error.status,
        }
        return error.status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()


def _text(status: int, text: str, headers: dict[str, str]) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "text/plain; charset=utf-8", **headers}, text.encode()


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


class _Down:
    def __init__(self, standin: MattermostStandIn) -> None:
        self._standin = standin

    def __enter__(self) -> MattermostStandIn:
        return self._standin

    def __exit__(self, *exc: object) -> None:
        self._standin.up()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 256  # the default 5 drops bursts of new connections for a second
    standin: MattermostStandIn

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (read timeout) or a connection down() closed
        # is nothing to report; anything else is a stand-in bug.
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            self.standin.violations.append(f"stand-in crashed: {error!r}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MattermostStandIn"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body in one segment, sent at once: without this,
        # Nagle plus the client's delayed ACK adds ~40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.standin._conn_lock:
            self.server.standin._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.standin._conn_lock:
            self.server.standin._connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.title(): value for name, value in self.headers.items()}
        answer = self.server.standin.handle(self.command, self.path, headers, body)
        if answer is None:
            self.close_connection = True
            return
        status, headers, payload = answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("X-Version-Id", "10.11.0.standin")
        self.send_header("Content-Length", str(len(payload)))
        self._headers_buffer.append(b"\r\n" + payload)
        self.flush_headers()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch
