""""Sign in with Mattermost": Mattermost as the OAuth 2.0 provider
(``/oauth/authorize``, ``/oauth/access_token``, then ``/api/v4/users/me``),
through Authlib, which keeps and checks the ``state`` in the session."""

from __future__ import annotations

from authlib.integrations.flask_client import OAuth

PROVIDER = "mattermost"
TIMEOUT_SECONDS = 10


def init_oauth(app, settings) -> None:
    oauth = OAuth(app)
    app.extensions["nippo_oauth"] = None
    if not settings.oauth_enabled:
        return
    base = settings.mattermost_url
    oauth.register(
        PROVIDER,
        client_id=settings.oauth_client_id,
        client_secret=settings.oauth_client_secret,
        authorize_url=f"{base}/oauth/authorize",
        access_token_url=f"{base}/oauth/access_token",
        api_base_url=f"{base}/api/v4/",
        # Mattermost reads client_id and client_secret from the form, not from Basic auth.
        client_kwargs={"token_endpoint_auth_method": "client_secret_post", "default_timeout": TIMEOUT_SECONDS},
    )
    app.extensions["nippo_oauth"] = oauth.create_client(PROVIDER)


def client(app):
    """The OAuth client, or None when no Mattermost OAuth app is configured."""
    return app.extensions.get("nippo_oauth")
