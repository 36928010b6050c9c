"""The web pages tried as a hostile member or outsider would: racing a
sign-in link, keeping a session alive past sign-out, telling a hidden team
from a missing one by the answer's headers, an error page kept by a shared
cache, addresses a database cannot look up, redirects to elsewhere, and the
headers every answer carries. Played on ~dev, where boss leads alice and bob
and mallory is on no roster."""

from __future__ import annotations

import io
import logging
import re
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import request as flask_request
from sqlalchemy import func, select

from bot.logs import make_handler
from db.models import WebSession
from tests.test_web_auth import mattermost_browser, oauth_nippo  # noqa: F401  (fixture)
from tests.web_helpers import (browser, form_token, link_url, people, sign_in,  # noqa: F401  (fixtures)
                               team_id, text_of)

TEAM_PAGES = ["/web/teams/{id}", "/web/teams/{id}/settings", "/web/teams/{id}/roster", "/web/teams/{id}/runs",
              "/web/teams/{id}/reports.csv"]
SAFE_HEADERS = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
# Headers that differ from one answer to the next whatever was asked.
PER_ANSWER = {"X-Request-Id", "Date", "Content-Length"}


def signed_in_sessions(database) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(WebSession).where(WebSession.user_id.is_not(None)))


def without_form_tokens(html: str) -> str:
    """The page, less its form tokens: signed with the time, they differ from one second to the next."""
    return re.sub(r'name="csrf_token" value="[^"]*"', "", html)


def assert_safe_headers(response) -> None:
    for name, value in SAFE_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.status_code)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


# --- the sign-in link ------------------------------------------------------------------

def test_eight_browsers_racing_with_one_link_sign_in_exactly_once(nippo, people, team_id, database):
    url = nippo.url + urlsplit(link_url(nippo, people["alice"])).path
    start = threading.Barrier(8)
    statuses: list[int] = []

    def open_link():
        start.wait()
        statuses.append(requests.get(url, allow_redirects=False, timeout=30).status_code)

    racers = [threading.Thread(target=open_link) for _ in range(8)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert sorted(statuses) == [303] + [410] * 7
    assert signed_in_sessions(database) == 1


def test_a_link_checker_asking_for_the_headers_alone_does_not_spend_the_link(nippo, people, team_id, database):
    path = urlsplit(link_url(nippo, people["alice"])).path
    checked = browser(nippo).head(path)
    assert checked.status_code == 200 and "Set-Cookie" not in checked.headers
    assert signed_in_sessions(database) == 0
    assert browser(nippo).get(path).status_code == 303


def test_a_link_opened_in_a_signed_in_browser_signs_in_its_owner_under_a_new_id(nippo, people, team_id):
    client = sign_in(nippo, people["bob"])
    bobs = client.get_cookie("nippo_session", path="/web").value
    client.get(urlsplit(link_url(nippo, people["alice"])).path)
    assert "@alice" in text_of(client.get("/web/me"))
    assert client.get_cookie("nippo_session", path="/web").value != bobs


# --- the session -----------------------------------------------------------------------

def test_a_request_in_flight_at_sign_out_does_not_bring_the_session_back(nippo, people, team_id, database):
    client = sign_in(nippo, people["alice"])
    cookie = client.get_cookie("nippo_session", path="/web").value
    app = nippo.server.app
    with app.test_request_context("/web/", headers={"Cookie": f"nippo_session={cookie}"}):
        slow = app.session_interface.open_session(app, flask_request)  # a slow page, read before the sign-out
        assert slow.get("uid") == people["alice"]["id"]
        assert client.post("/web/logout", data={"csrf_token": form_token(client)}).status_code == 303
        slow["admin"] = {str(team_id): True}  # ... which then remembers something and is saved
        app.session_interface.save_session(app, slow, app.response_class())
    assert signed_in_sessions(database) == 0
    replay = browser(nippo)
    replay.set_cookie("nippo_session", cookie, path="/web")
    assert replay.get("/web/").status_code == 302


def test_a_deactivated_persons_other_browsers_stay_signed_out(nippo, people, team_id, mattermost, clock, database):
    laptop, phone = sign_in(nippo, people["alice"]), sign_in(nippo, people["alice"])
    mattermost.deactivate_user(people["alice"]["id"])
    clock.advance(minutes=5)
    assert laptop.get("/web/").status_code == 302  # the re-check signs her out everywhere
    assert phone.get(f"/web/teams/{team_id}").status_code == 302
    assert signed_in_sessions(database) == 0


# --- a hidden team looks missing, headers included ---------------------------------------

def comparable(response) -> dict:
    return {name: value for name, value in response.headers.items() if name not in PER_ANSWER}


@pytest.fixture
def outsider(nippo, people, team_id, mattermost):
    """mallory, signed in through a link asked for in a channel with no team, a page already seen (so
    her form token exists): nothing yet tells her whether ~dev's team exists."""
    lobby = mattermost.add_channel(mattermost.team["id"], "lobby")
    mattermost.add_channel_member(lobby["id"], people["mallory"]["id"])
    client = sign_in(nippo, people["mallory"], lobby)
    form_token(client)
    return client


@pytest.mark.parametrize("page", TEAM_PAGES)
def test_an_outsider_cannot_tell_a_hidden_team_from_a_missing_one_by_the_headers(outsider, team_id, page):
    client = outsider
    refused = client.get(page.format(id=team_id))
    missing = client.get(page.format(id=team_id + 1000))
    assert refused.status_code == missing.status_code == 404
    assert comparable(refused) == comparable(missing)
    assert "Set-Cookie" not in refused.headers


@pytest.mark.parametrize("form", ["roster/add", "roster/remove", "roster/absence", "settings"])
def test_an_outsiders_post_to_a_hidden_team_answers_as_to_a_missing_one(outsider, team_id, form):
    client = outsider
    token = form_token(client)
    refused = client.post(f"/web/teams/{team_id}/{form}", data={"csrf_token": token, "user": "alice"})
    missing = client.post(f"/web/teams/{team_id + 1000}/{form}", data={"csrf_token": token, "user": "alice"})
    assert refused.status_code == missing.status_code == 404
    assert comparable(refused) == comparable(missing)


@pytest.mark.parametrize("page", ["/web/teams/99999999999999999999", "/web/teams/2147483648/settings",
                                  "/web/teams/99999999999999999999/reports.csv", "/web/teams/0/runs"])
def test_a_team_id_no_database_holds_is_the_same_404_not_a_failure(nippo, people, team_id, page):
    client = sign_in(nippo, people["boss"])
    response = client.get(page)
    nowhere = client.get("/web/no-such-page")
    assert response.status_code == 404 and without_form_tokens(text_of(response)) == without_form_tokens(
        text_of(nowhere))


def test_a_form_posted_to_a_team_id_no_database_holds_is_a_404(nippo, people, team_id):
    client = sign_in(nippo, people["boss"])
    response = client.post("/web/teams/99999999999999999999/roster/add",
                           data={"csrf_token": form_token(client), "users": "bob"})
    assert response.status_code == 404


# --- headers on every answer ------------------------------------------------------------

@pytest.mark.parametrize("path, status", [("/web", 308), ("/web/static/nippo.css", 200),
                                          ("/web/static/no-such.css", 404), ("/web/login", 200),
                                          ("/web/login/" + "A" * 43, 404), ("/nowhere", 404), ("/healthz", 200)])
def test_every_answer_carries_the_safe_headers(nippo, path, status):
    response = browser(nippo).get(path)
    assert response.status_code == status
    assert_safe_headers(response)


def test_an_over_long_form_is_refused_with_the_safe_headers(nippo, people, team_id):
    response = requests.post(f"{nippo.url}/web/teams/{team_id}/roster/add", data={"users": "x" * (2 << 20)},
                             timeout=30)
    assert response.status_code == 413
    assert_safe_headers(response)


def test_an_error_page_in_place_of_a_static_file_is_never_kept_by_a_shared_cache(nippo, people, team_id):
    client = sign_in(nippo, people["alice"])
    missing = client.get("/web/static/no-such.css")
    assert missing.status_code == 404 and "@alice" in text_of(missing)  # it names the person...
    assert missing.headers["Cache-Control"] == "no-store"  # ... so no proxy may hand it to anyone else
    assert client.get("/web/static/nippo.css").headers["Cache-Control"].startswith("public")


@pytest.mark.parametrize("path", ["/web/", "/web/me", "/web/teams/{id}", "/web/teams/{id}/reports.csv",
                                  "/web/login"])
def test_pages_are_never_stored_and_vary_with_the_cookie(nippo, people, team_id, path):
    response = sign_in(nippo, people["boss"]).get(path.format(id=team_id))
    assert response.headers["Cache-Control"] == "no-store" and "Cookie" in response.headers["Vary"]


def test_an_apology_names_the_request_id_the_logs_and_headers_carry(nippo, people, team_id, mattermost):
    path = urlsplit(link_url(nippo, people["alice"])).path
    mattermost.fail("GET", r"^/api/v4/users/[a-z0-9]+$", status=400, times=5)
    response = browser(nippo).get(path)
    assert response.status_code == 500
    assert f"request {response.headers['X-Request-Id']}" in text_of(response)


# --- redirects stay on nippo's pages -----------------------------------------------------

ELSEWHERE = ["//evil.example.com/web/", "https://evil.example.com/web/", "/\\evil.example.com/web/",
             "/web/\\\\evil.example.com", "javascript:alert(1)//web/"]


@pytest.mark.parametrize("target", ELSEWHERE)
def test_the_sign_in_page_never_offers_a_way_elsewhere(nippo, target):
    page = text_of(browser(nippo).get("/web/login", query_string={"next": target}))
    assert "evil" not in page and "javascript" not in page


@pytest.mark.parametrize("target", ELSEWHERE)
def test_sign_in_with_mattermost_never_lands_elsewhere(oauth_nippo, people, mattermost, target):
    client = browser(oauth_nippo)
    start = client.get("/web/login/mattermost", query_string={"next": target})
    at_mattermost = mattermost_browser(mattermost, people["alice"]).get(start.headers["Location"],
                                                                        allow_redirects=False, timeout=5)
    back = urlsplit(at_mattermost.headers["Location"])
    landed = client.get(f"{back.path}?{back.query}")
    assert landed.status_code == 303 and urlsplit(landed.headers["Location"]).path == "/web/"
    assert urlsplit(landed.headers["Location"]).netloc in ("", "localhost")


@pytest.mark.parametrize("referer", ["http://evil.example.com/web/me", "//evil.example.com/web/me",
                                     "http://localhost@evil.example.com/web/me", "http:evil.example.com/web/me"])
def test_the_language_switch_never_follows_a_referer_elsewhere(nippo, people, team_id, referer):
    client = sign_in(nippo, people["alice"])
    response = client.post("/web/lang", data={"csrf_token": form_token(client), "lang": "ja"},
                           headers={"Referer": referer})
    assert response.status_code == 303 and response.headers["Location"] in ("/web/", "http://localhost/web/")


# --- nothing secret in a log line ---------------------------------------------------------


@pytest.fixture
def log_lines(caplog):
    """What nippo's log handler writes from now on, as it writes it."""
    caplog.set_level(logging.INFO)
    stream = io.StringIO()
    handler = make_handler("text", stream)
    logging.getLogger().addHandler(handler)
    yield stream
    logging.getLogger().removeHandler(handler)


def test_no_link_token_reaches_a_log_line_even_when_signing_in_fails(nippo, people, team_id, mattermost, log_lines):
    used = urlsplit(link_url(nippo, people["alice"])).path
    browser(nippo).get(used)
    browser(nippo).get(used)  # a second time: refused
    failing = urlsplit(link_url(nippo, people["bob"])).path
    mattermost.fail("GET", r"^/api/v4/users/[a-z0-9]+$", status=400, times=5)
    apology = browser(nippo).get(failing)
    written = log_lines.getvalue()
    assert apology.status_code == 500 and f"request_id={apology.headers['X-Request-Id']}" in written
    for path in (used, failing):
        assert path.rsplit("/", 1)[1] not in written


def test_no_oauth_code_state_or_secret_reaches_a_log_line(oauth_nippo, people, mattermost, log_lines):
    client = browser(oauth_nippo)
    secrets = []
    for forge in (False, True):
        start = client.get("/web/login/mattermost").headers["Location"]
        if forge:
            start = start.replace("state=", "state=x")
        at_mattermost = mattermost_browser(mattermost, people["alice"]).get(start, allow_redirects=False, timeout=5)
        back = urlsplit(at_mattermost.headers["Location"])
        query = parse_qs(back.query)
        secrets += query["code"] + query["state"]
        client.get(f"{back.path}?{back.query}")
    secrets.append(oauth_nippo.services.settings.oauth_client_secret)
    written = log_lines.getvalue()
    assert "Mattermost sign-in failed (MismatchingStateError)" in written  # the forged one was logged...
    assert not [secret for secret in secrets if secret in written]  # ... without what it carried
