""""Sign in with Mattermost": Mattermost as the OAuth 2.0 provider
(``/oauth/authorize``, ``/oauth/access_token``, then ``/api/v4/users/me``),
through Authlib, which keeps and checks the ``state`` in the session.

Authlib (with cryptography and joserfc) costs a process some 10 MiB that it
holds for good, so it is loaded when someone first signs in this way, not at
start: a serve without a Mattermost OAuth app never loads it.
"""

from __future__ import annotations

import threading

PROVIDER = "mattermost"
TIMEOUT_SECONDS = 10


class _Client:
    """The app's OAuth client, registered on first use."""

    def __init__(self, settings) -> None:
        self._settings = settings
        self._client = None
        self._lock = threading.Lock()

    def get(self, app):
        with self._lock:
            if self._client is None:
                self._client = _register(app, self._settings)
            return self._client


def init_oauth(app, settings) -> None:
    app.extensions["nippo_oauth"] = _Client(settings) if settings.oauth_enabled else None


def enabled(app) -> bool:
    """Whether a Mattermost OAuth app is configured (the login page offers the button)."""
    return app.extensions.get("nippo_oauth") is not None


def client(app):
    """The OAuth client, or None when no Mattermost OAuth app is configured."""
    lazy = app.extensions.get("nippo_oauth")
    return None if lazy is None else lazy.get(app)


def sign_in_error() -> type[Exception]:
    """What Authlib raises when the provider refuses (only asked once a client exists)."""
    from authlib.integrations.base_client import OAuthError

    return OAuthError


def _register(app, settings):
    from authlib.integrations.flask_client import OAuth

    base = settings.mattermost_url
    return OAuth(app).register(
        PROVIDER,
        client_id=settings.oauth_client_id,
        client_secret=settings.oauth_client_secret,
        authorize_url=f"{base}/oauth/authorize",
        access_token_url=f"{base}/oauth/access_token",
        api_base_url=f"{base}/api/v4/",
        # Mattermost reads client_id and client_secret from the form, not from Basic auth.
        client_kwargs={"token_endpoint_auth_method": "client_secret_post", "default_timeout": TIMEOUT_SECONDS},
    )
