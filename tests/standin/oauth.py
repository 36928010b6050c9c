"""Mattermost as an OAuth 2.0 provider, as the server implements it
(server/channels/web/oauth.go and app/oauth.go): ``GET /oauth/authorize``,
``POST /oauth/authorize`` (the webapp's "Allow"), ``POST /oauth/access_token``.

- The person must be signed in to Mattermost (the ``MMAUTHTOKEN`` cookie, or
  an ``Authorization`` header); otherwise the answer is a redirect to
  ``/login?redirect_to=…``.
- Parameters are checked as ``AuthorizeRequest.IsValid`` does; problems
  with the request or the app are a redirect to ``/error?type=…`` (what
  ``RenderWebError`` does), never a redirect to the app.
- A trusted app, or one the person allowed before, gets the code at once:
  ``302 redirect_uri?code=…&state=…``. Otherwise the webapp's page shows.
- The token endpoint reads ``client_id`` and ``client_secret`` from the form
  (never Basic auth); a code is single use, expires after 10 minutes and is
  bound to its ``redirect_uri``. Errors are AppError JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tests.standin.state import VALID_ID, ApiError

AUTH_CODE_TTL = 10 * 60.0
ACCESS_TOKEN_TTL = 30 * 24 * 3600
_HTTP_URL = re.compile(r"https?://[^\s/]+(/\S*)?")


class OAuthProvider:
    """Mixed into the stand-in; uses its users, tokens, ids, lock and clock."""

    def _init_oauth(self) -> None:
        self.oauth_apps: dict[str, dict] = {}
        self._auth_codes: dict[str, dict] = {}
        self._authorized: set[tuple[str, str]] = set()  # (user id, client id) the person allowed

    def add_oauth_app(self, callback_urls: list[str], *, trusted: bool = True) -> tuple[str, str]:
        """Register an OAuth app as a system admin would; returns (client id, client secret)."""
        client_id, secret = self.new_id(), self.new_id()
        with self._lock:
            self.oauth_apps[client_id] = {"secret": secret, "callback_urls": list(callback_urls), "trusted": trusted}
        return client_id, secret

    def handle_oauth(self, method: str, path: str, query: dict, headers: dict, body: bytes,
                     content_type: str) -> tuple[int, dict, bytes] | None:
        if path == "/oauth/authorize" and method == "GET":
            return self._authorize_page(query, headers, path)
        if path == "/oauth/authorize" and method == "POST":
            return self._authorize_app(headers, body)
        if path == "/oauth/access_token" and method == "POST":
            return self._access_token(body, content_type)
        return None

    # --- the person's browser ------------------------------------------------

    def _browser_user(self, headers: dict) -> dict | None:
        cookies = dict(part.strip().split("=", 1) for part in headers.get("Cookie", "").split(";") if "=" in part)
        token = cookies.get("MMAUTHTOKEN")
        if token:
            user = self.users.get(self._tokens.get(token, ""))
            return user if user and not user["delete_at"] else None
        return self._session_user(headers)

    def _authorize_page(self, query: dict, headers: dict, path: str) -> tuple[int, dict, bytes]:
        request = {k: query.get(k, "") for k in ("response_type", "client_id", "redirect_uri", "state", "scope")}
        problem = _invalid(request)
        if problem:
            return _redirect("/error?" + urlencode({"type": "oauth_invalid_param", "message": problem}))
        with self._lock:
            app = self.oauth_apps.get(request["client_id"])
            user = self._browser_user(headers)
        if app is None:
            return _redirect("/error?" + urlencode({"type": "app.oauth.get_app.find.app_error"}))
        if user is None:
            return _redirect("/login?" + urlencode({"redirect_to": path + "?" + urlencode(query)}))
        if request["redirect_uri"] not in app["callback_urls"]:
            return _redirect("/error?" + urlencode({"type": "oauth_invalid_redirect_url"}))
        if app["trusted"] or (user["id"], request["client_id"]) in self._authorized:
            return _redirect(self._code_redirect(user["id"], request))
        return 200, {"Content-Type": "text/html; charset=utf-8"}, b"<!doctype html><title>Mattermost</title>"

    def _authorize_app(self, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        """The webapp's "Allow" button: JSON in, ``{"redirect": …}`` out."""
        try:
            with self._lock:
                user = self._session_user(headers)
            if user is None:
                raise ApiError(401, "api.context.session_expired.app_error", "Invalid or expired session.")
            try:
                request = json.loads(body or b"null")
            except ValueError:
                request = None
            if not isinstance(request, dict):
                raise ApiError(400, "api.context.invalid_body_param.app_error", "Invalid authorize_request.")
            request = {k: str(request.get(k, "")) for k in ("response_type", "client_id", "redirect_uri", "state",
                                                            "scope")}
            if _invalid(request):
                raise ApiError(400, "model.authorize.is_valid.app_error", _invalid(request))
            app = self.oauth_apps.get(request["client_id"])
            if app is None:
                raise ApiError(404, "app.oauth.get_app.find.app_error", "Unable to find the app.")
            if request["redirect_uri"] not in app["callback_urls"]:
                raise ApiError(400, "api.oauth.allow_oauth.redirect_callback.app_error", "Invalid redirect URL.")
            self._authorized.add((user["id"], request["client_id"]))
            redirect = self._code_redirect(user["id"], request)
        except ApiError as error:
            return self._error(error, {})
        return 200, {"Content-Type": "application/json"}, json.dumps({"redirect": redirect}).encode()

    def _code_redirect(self, user_id: str, request: dict) -> str:
        if request["response_type"] != "code":
            return request["redirect_uri"] + "?error=unsupported_response_type&state=" + request["state"]
        code = self.new_id() + self.new_id()
        with self._lock:
            self._auth_codes[code] = {"user_id": user_id, "client_id": request["client_id"],
                                      "redirect_uri": request["redirect_uri"], "state": request["state"],
                                      "scope": request["scope"] or "user", "created": self.clock()}
        parts = urlsplit(request["redirect_uri"])
        params = dict(parse_qsl(parts.query))
        params.update(code=code, state=request["state"])
        return urlunsplit(parts._replace(query=urlencode(params)))

    # --- the app's server ------------------------------------------------------

    def _access_token(self, body: bytes, content_type: str) -> tuple[int, dict, bytes]:
        try:
            if not content_type.startswith("application/x-www-form-urlencoded"):
                raise ApiError(400, "api.oauth.get_access_token.bad_request.app_error", "Bad request.")
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            answer = self._exchange(form)
        except ApiError as error:
            return self._error(error, {})
        return 200, {"Content-Type": "application/json", "Cache-Control": "no-store"}, json.dumps(answer).encode()

    def _exchange(self, form: dict) -> dict[str, Any]:
        if form.get("grant_type") != "authorization_code":
            raise ApiError(400, "api.oauth.get_access_token.bad_grant.app_error", "Invalid grant type.")
        code = form.get("code", "")
        if not code:
            raise ApiError(400, "api.oauth.get_access_token.missing_code.app_error", "Missing code.")
        client_id = form.get("client_id", "")
        if not VALID_ID.fullmatch(client_id):
            raise ApiError(400, "api.oauth.get_access_token.bad_client_id.app_error", "Bad client_id.")
        with self._lock:
            app = self.oauth_apps.get(client_id)
            if app is None:
                raise ApiError(404, "api.oauth.get_access_token.credentials.app_error", "Invalid client credentials.")
            if form.get("client_secret", "") != app["secret"]:
                raise ApiError(403, "api.oauth.get_access_token.credentials.app_error", "Invalid client credentials.")
            data = self._auth_codes.get(code)
            if data is None or data["client_id"] != client_id:
                raise ApiError(400, "api.oauth.get_access_token.expired_code.app_error", "Invalid or expired code.")
            if self.clock() - data["created"] > AUTH_CODE_TTL:
                del self._auth_codes[code]
                raise ApiError(403, "api.oauth.get_access_token.expired_code.app_error", "Invalid or expired code.")
            if data["redirect_uri"] != form.get("redirect_uri", ""):
                raise ApiError(400, "api.oauth.get_access_token.redirect_uri.app_error", "Redirect URI mismatch.")
            user = self.users.get(data["user_id"])
            if user is None or user["delete_at"]:
                raise ApiError(403, "api.oauth.get_access_token.expired_code.app_error", "Invalid or expired code.")
            del self._auth_codes[code]
        token = self.create_token(user["id"])
        return {"access_token": token, "token_type": "bearer", "expires_in": ACCESS_TOKEN_TTL,
                "scope": data["scope"], "refresh_token": self.new_id(), "id_token": ""}


def _invalid(request: dict) -> str:
    """What ``AuthorizeRequest.IsValid`` refuses, or ''."""
    if not VALID_ID.fullmatch(request["client_id"]):
        return "Invalid client id."
    if not request["response_type"]:
        return "Invalid response type."
    uri = request["redirect_uri"]
    if not uri or len(uri) > 256 or not _HTTP_URL.fullmatch(uri):
        return "Invalid redirect URI."
    if len(request["state"]) > 1024:
        return "Invalid state."
    if len(request["scope"]) > 128:
        return "Invalid scope."
    return ""


def _redirect(location: str) -> tuple[int, dict, bytes]:
    return 302, {"Location": location, "Content-Type": "text/html; charset=utf-8"}, b""
