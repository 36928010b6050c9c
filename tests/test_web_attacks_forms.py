"""The web forms and pages tried as a hostile member would: posting to
leaders' forms, reaching another team by editing ids and names in a form,
forms without their token, thousands of names, ten thousand days, markup and
formulas in names and reports, and a flood of absences on a leader's page.
Played on ~dev (boss leads alice and bob; ada is its channel admin) and ~ops
(mallory, its channel admin, leads carol)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from db.models import Absence, Member, RosterEntry, Subscription, Team, TeamDayOff
from tests.web_helpers import form_token, people, sign_in, team_id, text_of  # noqa: F401  (fixtures)

LOOKUPS = ("/api/v4/users/usernames", "/api/v4/users/ids", "/api/v4/users/username/")
# Every leaders' form, filled in as a leader would.
LEADER_FORMS = [("roster/add", {"users": "mallory"}), ("roster/remove", {"user": "alice"}),
                ("roster/leader", {"user": "alice"}), ("roster/link", {"user": "alice", "external_id": "X-1"}),
                ("roster/absence", {"user": "alice", "dates": "2026-12-03", "action": "off"}),
                ("roster/days-off", {"dates": "2026-12-03", "action": "off"}), ("settings", {"at": "07:00"})]


@pytest.fixture
def ops(nippo, people, mattermost, database) -> int:
    """~ops: mallory (its channel admin) subscribed it and leads carol there."""
    channel = mattermost.add_channel(mattermost.team["id"], "ops")
    carol = mattermost.add_user("carol")
    mattermost.add_team_member(mattermost.team["id"], carol["id"])
    for user, admin in ((mattermost.bot, False), (people["mallory"], True), (carol, False)):
        mattermost.add_channel_member(channel["id"], user["id"], scheme_admin=admin)
    assert "10:00" in nippo.reply(people["mallory"], "at 10:00 tz Asia/Tokyo", "/subscribe", channel=channel)
    assert "carol" in nippo.reply(people["mallory"], "add @carol", "/team", channel=channel)
    with database.read() as session:
        return session.scalar(select(Team.id).where(Team.channel_id == channel["id"]))


def everything(database) -> tuple:
    """All a form can change, in every team."""
    with database.read() as session:
        return (sorted((e.team_id, e.member_id, e.role, e.removed_at is None, e.external_id)
                       for e in session.scalars(select(RosterEntry))),
                sorted((a.member_id, a.work_date, a.team_id) for a in session.scalars(select(Absence))),
                sorted((d.team_id, d.day) for d in session.scalars(select(TeamDayOff))),
                sorted((s.team_id, s.at_time) for s in session.scalars(select(Subscription))))


def user_lookups(mattermost) -> int:
    return sum(1 for r in mattermost.requests if r["path"].startswith(LOOKUPS))


def post(client, team_id: int, form: str, fields: dict):
    return client.post(f"/web/teams/{team_id}/{form}", data={"csrf_token": form_token(client), **fields})


# --- reaching what is not one's own --------------------------------------------------------

@pytest.mark.parametrize("form, fields", LEADER_FORMS)
def test_a_member_posting_a_leaders_form_gets_404_and_changes_nothing(nippo, people, team_id, database, form,
                                                                     fields):
    client = sign_in(nippo, people["alice"])
    before = everything(database)
    assert post(client, team_id, form, fields).status_code == 404
    assert everything(database) == before


@pytest.mark.parametrize("form, fields", LEADER_FORMS)
def test_the_leader_of_another_team_posting_to_this_ones_forms_gets_404(nippo, people, team_id, ops, database,
                                                                       form, fields):
    client = sign_in(nippo, people["mallory"])
    before = everything(database)
    assert post(client, team_id, form, fields).status_code == 404
    assert everything(database) == before


@pytest.mark.parametrize("form, fields", [
    ("roster/remove", {"user": "alice"}), ("roster/link", {"user": "alice", "external_id": "X-1"}),
    ("roster/absence", {"user": "alice", "dates": "2026-12-03", "action": "off"}),
    ("roster/absence", {"user": "bob", "dates": "2026-11-30", "action": "on"})])
def test_a_leader_naming_another_teams_member_in_their_own_form_changes_nothing_there(nippo, people, team_id, ops,
                                                                                    database, form, fields):
    nippo.reply(people["bob"], "off 2026-11-30", "/report")  # bob's own absence, which counts for ~dev
    client = sign_in(nippo, people["mallory"])
    before = everything(database)
    answer = client.post(f"/web/teams/{ops}/{form}", data={"csrf_token": form_token(client), **fields},
                         follow_redirects=True)
    assert re.search(r"Not on my roster: @\u200b(alice|bob)", text_of(answer))
    assert everything(database) == before


@pytest.mark.parametrize("page", ["", "/settings", "/roster", "/runs", "/reports.csv"])
def test_a_channel_admins_reach_ends_at_their_own_channels_team(nippo, people, team_id, ops, page):
    client = sign_in(nippo, people["ada"])  # admin of ~dev's channel, not of ~ops's
    assert client.get(f"/web/teams/{team_id}{page}").status_code == 200
    assert client.get(f"/web/teams/{ops}{page}").status_code == 404


def test_a_leader_taken_off_the_roster_loses_the_leaders_pages_at_once(nippo, people, team_id, database):
    nippo.reply(people["boss"], "leader @alice", "/team")
    client = sign_in(nippo, people["alice"])
    assert client.get(f"/web/teams/{team_id}/roster").status_code == 200
    token = form_token(client)
    nippo.reply(people["boss"], "remove @alice", "/team")
    assert client.get(f"/web/teams/{team_id}/roster").status_code == 404
    before = everything(database)
    response = client.post(f"/web/teams/{team_id}/roster/add", data={"csrf_token": token, "users": "mallory"})
    assert response.status_code == 404 and everything(database) == before


# --- every POST needs its form token -------------------------------------------------------

def post_routes(app, team_id: int) -> list[str]:
    rules = [rule for rule in app.url_map.iter_rules()
             if rule.endpoint.startswith("web.") and "POST" in rule.methods and "<path:" not in rule.rule]
    return [rule.rule.replace("<int:team_id>", str(team_id)) for rule in rules]


def test_the_token_check_below_meets_every_form(nippo, team_id):
    assert len(post_routes(nippo.server.app, team_id)) >= 9  # seven leaders' forms, sign-out, language


def test_no_form_is_taken_without_its_token(nippo, people, team_id, database):
    client = sign_in(nippo, people["boss"])
    before = everything(database)
    for path in post_routes(nippo.server.app, team_id):
        response = client.post(path, data={"users": "mallory", "user": "alice", "dates": "2026-12-03",
                                           "at": "07:00", "lang": "ja"})
        assert response.status_code == 400, path
    assert everything(database) == before
    page = client.get("/web/")
    assert page.status_code == 200 and '<html lang="en">' in text_of(page)  # still signed in, still English


# --- thousands of names, ten thousand days ----------------------------------------------------

def test_a_members_thousands_of_names_in_the_add_form_cost_no_lookup(nippo, people, team_id, mattermost):
    client = sign_in(nippo, people["alice"])
    before = user_lookups(mattermost)
    names = " ".join(f"user{n:05d}" for n in range(37_000))
    assert post(client, team_id, "roster/add", {"users": names}).status_code == 404
    assert user_lookups(mattermost) == before


def test_a_leaders_201_names_in_the_add_form_get_the_limit_without_any_lookup(nippo, people, team_id, mattermost,
                                                                            database):
    client = sign_in(nippo, people["boss"])
    before, state = user_lookups(mattermost), everything(database)
    refused = post(client, team_id, "roster/add", {"users": " ".join(f"user{n:05d}" for n in range(201))})
    assert refused.status_code == 400 and "201" in text_of(refused) and "200" in text_of(refused)
    assert user_lookups(mattermost) == before and everything(database) == state


@pytest.mark.parametrize("form, fields", [
    ("roster/absence", {"user": "alice", "dates": "2000-01-01..2027-05-19", "action": "off"}),
    ("roster/days-off", {"dates": "2000-01-01..2027-05-19", "action": "off"}),
    ("roster/days-off", {"dates": "2000-01-01..2027-05-19", "action": "on"})])
def test_ten_thousand_days_in_a_form_are_refused_with_the_limit(nippo, people, team_id, database, form, fields):
    client = sign_in(nippo, people["boss"])
    before = everything(database)
    refused = post(client, team_id, form, fields)
    assert refused.status_code == 400 and "366" in text_of(refused)
    assert everything(database) == before


def test_a_members_flood_of_absences_lists_a_bounded_number_on_the_leaders_page(nippo, people, team_id):
    for year in (2027, 2028, 2029, 2030):
        assert f"{year}-12-31" in nippo.reply(people["alice"], f"off {year}-01-01..{year}-12-31", "/report")
    page = text_of(sign_in(nippo, people["boss"]).get(f"/web/teams/{team_id}/roster"))
    assert len(re.findall(r"<li>\d{4}-\d\d-\d\d · alice", page)) == 200
    assert "Only the first 200 are listed." in page


def test_my_page_lists_my_absences_of_the_coming_year_only(nippo, people, team_id):
    nippo.reply(people["alice"], "off 2027-06-01..2027-06-30", "/report")
    nippo.reply(people["alice"], "off 2031-01-01..2031-12-31", "/report")
    page = text_of(sign_in(nippo, people["alice"]).get("/web/me"))
    assert "2027-06-30" in page and "2031-" not in page


# --- markup and formulas stay text ---------------------------------------------------------------

MARKUP = '<img src=x onerror=alert(1)>'


def test_markup_in_names_reports_and_ids_is_shown_as_text_on_every_page(nippo, people, team_id, mattermost):
    hostile = mattermost.add_user(MARKUP)
    mattermost.add_team_member(mattermost.team["id"], hostile["id"])
    mattermost.add_channel_member(mattermost.channel["id"], hostile["id"])
    nippo.reply(people["boss"], "sync", "/team")
    nippo.reply(hostile, f"2026-11-30 <script>alert(1)</script> {MARKUP}", "/report")
    boss = sign_in(nippo, people["boss"])
    post(boss, team_id, "roster/link", {"user": "alice", "external_id": '"><svg onload=alert(1)>'})
    refused = post(boss, team_id, "roster/add", {"users": f"{MARKUP} <script>"})
    pages = [text_of(refused)] + [text_of(boss.get(path.format(id=team_id))) for path in (
        "/web/", "/web/teams/{id}", "/web/teams/{id}?days=90", "/web/teams/{id}/roster", "/web/teams/{id}/settings")]
    pages.append(text_of(sign_in(nippo, hostile).get("/web/me")))
    for page in pages:
        assert "<img" not in page and "<script" not in page and "<svg onload" not in page
    assert sum("&lt;img src=x onerror=alert(1)&gt;" in page for page in pages) >= 5  # shown, as text


@pytest.mark.parametrize("username", ["=HYPERLINK(\"http://evil.example.com\",\"x\")", "+cmd|' /C calc'!A0",
                                      "-2+3", "@SUM(1+1)"])
def test_a_name_a_spreadsheet_would_run_as_a_formula_is_exported_as_text(nippo, people, team_id, mattermost,
                                                                         username):
    hostile = mattermost.add_user(username)
    mattermost.add_channel_member(mattermost.channel["id"], hostile["id"])
    nippo.reply(people["boss"], "sync", "/team")
    nippo.reply(hostile, "2026-11-30 done", "/report")
    export = sign_in(nippo, people["boss"]).get(f"/web/teams/{team_id}/reports.csv?from=2026-11-30&to=2026-11-30")
    names = [row[0] for row in csv.reader(io.StringIO(text_of(export)))][1:]
    assert names == ["'" + username]


def test_ordinary_names_are_exported_as_they_are(nippo, people, team_id):
    nippo.reply(people["alice"], "2026-11-30 done", "/report")
    export = sign_in(nippo, people["boss"]).get(f"/web/teams/{team_id}/reports.csv?from=2026-11-30&to=2026-11-30")
    assert [row[0] for row in csv.reader(io.StringIO(text_of(export)))][1:] == ["alice"]

