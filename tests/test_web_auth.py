"""Signing in to the web pages: the one-time link from `/team web`,
the server-checked session, "Sign in with Mattermost", signing out, and the
5-minute re-check of Mattermost roles."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from bot.config import ConfigError, Settings
from bot.services import build_services
from db.models import LoginToken, WebSession
from tests.harness import start_nippo
from tests.web_helpers import (LINK, browser, form_token, link_url, people, sign_in,  # noqa: F401  (fixtures)
                               team_id, text_of)
from web.app import create_app


def sessions(database) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(WebSession).where(WebSession.user_id.is_not(None)))


# --- the link --------------------------------------------------------------------

def test_team_web_answers_the_caller_alone_with_a_link_under_the_public_url(nippo, people, team_id):
    response = nippo.command(people["alice"], "web", "/team")
    body = response.json()
    assert body["response_type"] == "ephemeral"
    assert f"{nippo.url}/web/login/" in body["text"]


def test_only_a_hash_of_the_link_is_stored(nippo, people, team_id, database):
    token = urlsplit(link_url(nippo, people["alice"])).path.rsplit("/", 1)[1]
    with database.read() as session:
        stored = session.scalars(select(LoginToken.token_hash)).all()
    assert len(stored) == 1 and token not in stored[0] and len(stored[0]) == 64


def test_the_link_signs_in_and_lands_on_the_team_page_with_a_strict_cookie(nippo, people, team_id):
    client = browser(nippo)
    response = client.get(urlsplit(link_url(nippo, people["alice"])).path)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/web/teams/{team_id}")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/web" in cookie
    assert "Secure" not in cookie  # NIPPO_PUBLIC_URL is http here
    assert "@alice" in text_of(client.get(f"/web/teams/{team_id}"))


def test_the_cookie_is_secure_when_the_public_url_is_https(database, mattermost, clock, people):
    running = start_nippo(database, mattermost, clock, NIPPO_PUBLIC_URL="https://nippo.example.com")
    try:
        path = urlsplit(link_url(running, people["alice"])).path
        response = browser(running).get(path, base_url="https://nippo.example.com")
        assert response.status_code == 303 and "Secure" in response.headers["Set-Cookie"]
    finally:
        running.stop()


def test_a_used_link_says_so_and_changes_nothing(nippo, people, team_id, database):
    path = urlsplit(link_url(nippo, people["alice"])).path
    assert browser(nippo).get(path).status_code == 303
    again = browser(nippo).get(path)
    assert again.status_code == 410 and "already used" in text_of(again)
    assert "Set-Cookie" not in again.headers and sessions(database) == 1


def test_an_expired_link_says_so_and_changes_nothing(nippo, people, team_id, clock, database):
    path = urlsplit(link_url(nippo, people["alice"])).path
    clock.advance(minutes=10, seconds=1)
    response = browser(nippo).get(path)
    assert response.status_code == 410 and "expired" in text_of(response)
    assert "Set-Cookie" not in response.headers and sessions(database) == 0


def test_a_forged_link_says_so_and_changes_nothing(nippo, people, team_id, database):
    response = browser(nippo).get("/web/login/" + "A" * 43)
    assert response.status_code == 404 and "not valid" in text_of(response)
    assert "Set-Cookie" not in response.headers and sessions(database) == 0


def test_a_chat_servers_link_preview_does_not_spend_the_link(nippo, people, team_id):
    path = urlsplit(link_url(nippo, people["alice"])).path
    preview = browser(nippo).get(path, headers={"User-Agent": "Mattermost-Bot/1.1"})
    assert preview.status_code == 200 and "Set-Cookie" not in preview.headers
    assert browser(nippo).get(path).status_code == 303


def test_a_deactivated_account_cannot_sign_in(nippo, people, team_id, mattermost, database):
    path = urlsplit(link_url(nippo, people["alice"])).path
    mattermost.deactivate_user(people["alice"]["id"])
    response = browser(nippo).get(path)
    assert response.status_code == 403 and sessions(database) == 0


def test_signing_in_starts_a_new_session_id(nippo, people, team_id):
    client = sign_in(nippo, people["alice"])
    first = client.get_cookie("nippo_session", path="/web").value
    response = client.get(urlsplit(link_url(nippo, people["bob"])).path)
    second = client.get_cookie("nippo_session", path="/web").value
    assert response.status_code == 303 and second != first
    stale = browser(nippo)
    stale.set_cookie("nippo_session", first, path="/web")
    assert stale.get("/web/").status_code == 302  # the old id signs nobody in


# --- the session -----------------------------------------------------------------

def test_pages_ask_to_sign_in_first(nippo, people, team_id):
    response = browser(nippo).get(f"/web/teams/{team_id}")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/web/login"


def test_a_session_ends_twelve_hours_after_sign_in(nippo, people, team_id, clock):
    client = sign_in(nippo, people["alice"])
    clock.advance(hours=11, minutes=59)
    assert client.get("/web/").status_code == 200
    clock.advance(minutes=2)
    assert client.get("/web/").status_code == 302


def test_logout_ends_the_session_on_the_server(nippo, people, team_id, database):
    client = sign_in(nippo, people["alice"])
    cookie = client.get_cookie("nippo_session", path="/web").value
    response = client.post("/web/logout", data={"csrf_token": form_token(client)})
    assert response.status_code == 303 and sessions(database) == 0
    replay = browser(nippo)
    replay.set_cookie("nippo_session", cookie, path="/web")
    assert replay.get("/web/").status_code == 302


def test_logout_without_the_form_token_is_refused(nippo, people, team_id, database):
    client = sign_in(nippo, people["alice"])
    response = client.post("/web/logout")
    assert response.status_code == 400 and sessions(database) == 1
    assert client.get("/web/").status_code == 200


# --- roles are re-checked ----------------------------------------------------------

def test_an_admins_rights_are_checked_again_after_five_minutes(nippo, people, team_id, mattermost, clock):
    client = sign_in(nippo, people["ada"])  # a channel admin on no roster: manages the team
    assert client.get(f"/web/teams/{team_id}/settings").status_code == 200
    mattermost.add_channel_member(mattermost.channel["id"], people["ada"]["id"], scheme_admin=False)
    clock.advance(minutes=4)
    assert client.get(f"/web/teams/{team_id}/settings").status_code == 200  # remembered a while
    clock.advance(minutes=1, seconds=1)
    assert client.get(f"/web/teams/{team_id}/settings").status_code == 404


def test_a_deactivated_account_is_signed_out_at_the_next_check(nippo, people, team_id, mattermost, clock):
    client = sign_in(nippo, people["alice"])
    mattermost.deactivate_user(people["alice"]["id"])
    clock.advance(minutes=5)
    assert client.get("/web/").status_code == 302


# --- Sign in with Mattermost -----------------------------------------------------------

@pytest.fixture
def oauth_nippo(database, mattermost, clock):
    """nippo with a Mattermost OAuth app registered for its callback."""
    from tests.harness import free_port

    port = free_port()
    public = f"http://127.0.0.1:{port}"
    client_id, secret = mattermost.add_oauth_app([f"{public}/web/oauth/callback"])
    running = start_nippo(database, mattermost, clock, NIPPO_OAUTH_CLIENT_ID=client_id,
                          NIPPO_OAUTH_CLIENT_SECRET=secret, NIPPO_PUBLIC_URL=public)
    yield running
    running.stop()


def mattermost_browser(mattermost, user) -> requests.Session:
    """A browser signed in to Mattermost as ``user``."""
    session = requests.Session()
    session.cookies.set("MMAUTHTOKEN", mattermost.create_token(user["id"]))
    return session


def test_sign_in_with_mattermost_goes_through_its_oauth_pages(oauth_nippo, people, mattermost):
    client = browser(oauth_nippo)
    assert "Sign in with Mattermost" in text_of(client.get("/web/login"))
    start = client.get("/web/login/mattermost?next=/web/me")
    assert start.status_code == 302 and start.headers["Location"].startswith(f"{mattermost.url}/oauth/authorize?")
    assert parse_qs(urlsplit(start.headers["Location"]).query)["state"]
    at_mattermost = mattermost_browser(mattermost, people["alice"]).get(start.headers["Location"],
                                                                        allow_redirects=False, timeout=5)
    assert at_mattermost.status_code == 302
    back = urlsplit(at_mattermost.headers["Location"])
    landed = client.get(f"{back.path}?{back.query}")
    assert landed.status_code == 303 and landed.headers["Location"].endswith("/web/me")
    assert "@alice" in text_of(client.get("/web/me"))


def test_an_oauth_answer_with_another_state_signs_nobody_in(oauth_nippo, people, mattermost):
    client = browser(oauth_nippo)
    start = client.get("/web/login/mattermost")
    forged = start.headers["Location"].replace("state=", "state=x")
    at_mattermost = mattermost_browser(mattermost, people["alice"]).get(forged, allow_redirects=False, timeout=5)
    back = urlsplit(at_mattermost.headers["Location"])
    answer = client.get(f"{back.path}?{back.query}")
    assert answer.status_code == 400 and "did not work" in text_of(answer)
    assert client.get("/web/").status_code == 302


def test_the_login_page_offers_mattermost_only_when_an_oauth_app_is_configured(nippo):
    page = text_of(browser(nippo).get("/web/login"))
    assert "/team web" in page and "Sign in with Mattermost" not in page
    assert browser(nippo).get("/web/login/mattermost").status_code == 404


@pytest.mark.parametrize("env, variable", [
    ({"NIPPO_OAUTH_CLIENT_ID": "a" * 26}, "NIPPO_OAUTH_CLIENT_SECRET"),
    ({"NIPPO_OAUTH_CLIENT_SECRET": "s3cret"}, "NIPPO_OAUTH_CLIENT_ID"),
    ({"NIPPO_OAUTH_CLIENT_ID": "not-an-id", "NIPPO_OAUTH_CLIENT_SECRET": "s3cret"}, "NIPPO_OAUTH_CLIENT_ID"),
])
def test_oauth_settings_come_both_or_neither(env, variable):
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"NIPPO_MATTERMOST_URL": "https://chat.example.com", **env})
    assert refused.value.variable == variable


def test_oauth_needs_a_mattermost_to_sign_in_with():
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"NIPPO_OAUTH_CLIENT_ID": "a" * 26, "NIPPO_OAUTH_CLIENT_SECRET": "s3cret"})
    assert refused.value.variable == "NIPPO_OAUTH_CLIENT_ID"


# --- console mode --------------------------------------------------------------------------

def test_console_mode_links_open_the_pages_for_the_console_user(database, clock):
    settings = Settings.from_env({"NIPPO_DATABASE_URL": database.url})
    services = build_services(settings, database=database, clock=clock, console_stream=io.StringIO())
    client = create_app(services=services).test_client()
    form = {"token": "any", "command": "/team", "user_id": "alice", "user_name": "alice", "channel_id": "dev",
            "channel_name": "dev", "team_id": "acme"}
    client.post("/mattermost/command", data={**form, "command": "/subscribe", "text": "at 09:00"})
    answer = client.post("/mattermost/command", data={**form, "text": "web"}).get_json()["text"]
    path = urlsplit(LINK.search(answer).group(1)).path
    landed = client.get(path)
    assert landed.status_code == 303
    assert "@alice" in text_of(client.get(landed.headers["Location"]))
    services.background.shutdown(wait=True)


def test_authlib_is_loaded_when_someone_first_signs_in_with_mattermost_not_at_start(tmp_path):
    # A fresh interpreter: which modules a process holds is the point.
    script = f"""
import sys
from bot.config import Settings
from db.migrate import upgrade
from db.session import Database
from web.app import create_app
url = "sqlite:///{tmp_path / 'nippo.db'}"
upgrade(Database(url))
settings = Settings.from_env({{"NIPPO_DATABASE_URL": url, "NIPPO_MATTERMOST_URL": "http://127.0.0.1:1",
    "NIPPO_BOT_TOKEN": "x", "NIPPO_COMMAND_TOKENS": "x", "NIPPO_SECRET_KEY": "k" * 32,
    "NIPPO_OAUTH_CLIENT_ID": "a" * 26, "NIPPO_OAUTH_CLIENT_SECRET": "s3cret"}})
web = create_app(settings).test_client()
page = web.get("/web/login").get_data(as_text=True)
print("Sign in with Mattermost" in page, "authlib" in sys.modules)
start = web.get("/web/login/mattermost")
print(start.status_code, start.headers["Location"].startswith("http://127.0.0.1:1/oauth/authorize?"),
      "authlib" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.stdout.split() == ["True", "False", "302", "True", "True"]
