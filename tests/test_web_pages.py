"""The web pages: who sees what, what each page shows, the headers
that keep them safe, and their two languages. Played on ~dev where boss leads
alice and bob; it is Tuesday 2026-12-01, 09:00 in Tokyo, and the morning's
reminder (for Monday 11-30) is due."""

from __future__ import annotations

import csv
import io
import re
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from bot.reminders.common import CHANNEL, DIGEST, DM, DMS, MEMBERSHIP, NOTICE, SNOOZE, STATUS, SUMMARY
from tests.web_helpers import browser, form_token, people, sign_in, team_id, text_of  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent
# Every kind of outbox row, each named in words on the runs page.
KINDS = (CHANNEL, DM, DMS, SUMMARY, MEMBERSHIP, SNOOZE, NOTICE, STATUS, DIGEST)
TEAM_PAGES = ["/web/teams/{id}", "/web/teams/{id}/settings", "/web/teams/{id}/roster", "/web/teams/{id}/runs",
              "/web/teams/{id}/reports.csv"]
MANAGER_PAGES = TEAM_PAGES[1:]


@pytest.fixture
def monday(nippo, people, team_id):
    """alice filed Monday's report, bob was off, boss has not filed."""
    nippo.reply(people["alice"], "2026-11-30 fixed the login bug", "/report")
    nippo.reply(people["bob"], "off 2026-11-30", "/report")
    return team_id


def without_form_tokens(html: str) -> str:
    """The page, less its form tokens: signed with the time, they differ from one second to the next."""
    return re.sub(r'name="csrf_token" value="[^"]*"', "", html)


# --- who sees what -------------------------------------------------------------------

@pytest.mark.parametrize("page", TEAM_PAGES)
def test_a_leader_sees_every_page_of_their_team(nippo, people, team_id, page):
    assert sign_in(nippo, people["boss"]).get(page.format(id=team_id)).status_code == 200


@pytest.mark.parametrize("page", TEAM_PAGES)
def test_an_admin_of_the_channel_sees_every_page_without_being_on_the_roster(nippo, people, team_id, page):
    assert sign_in(nippo, people["ada"]).get(page.format(id=team_id)).status_code == 200


def test_a_member_sees_the_overview_of_their_team(nippo, people, team_id):
    assert sign_in(nippo, people["alice"]).get(f"/web/teams/{team_id}").status_code == 200


@pytest.mark.parametrize("page", MANAGER_PAGES)
def test_a_member_gets_404_for_settings_roster_runs_and_export(nippo, people, team_id, page):
    assert sign_in(nippo, people["alice"]).get(page.format(id=team_id)).status_code == 404


@pytest.mark.parametrize("page", TEAM_PAGES)
def test_an_outsider_gets_the_same_404_as_for_a_team_that_does_not_exist(nippo, people, team_id, page):
    client = sign_in(nippo, people["mallory"])
    refused = client.get(page.format(id=team_id))
    missing = client.get(page.format(id=team_id + 1000))
    nowhere = client.get("/web/no-such-page")
    assert refused.status_code == missing.status_code == nowhere.status_code == 404
    assert without_form_tokens(text_of(refused)) == without_form_tokens(text_of(missing)) \
        == without_form_tokens(text_of(nowhere))


def test_a_member_cannot_change_the_roster_even_with_a_form_token(nippo, people, team_id):
    client = sign_in(nippo, people["alice"])
    response = client.post(f"/web/teams/{team_id}/roster/add",
                           data={"csrf_token": form_token(client), "users": "@mallory"})
    assert response.status_code == 404
    assert "mallory" not in nippo.reply(people["boss"], "list", "/team")


def test_my_teams_lists_only_the_teams_i_am_on(nippo, people, team_id, mattermost):
    other = mattermost.add_channel(mattermost.team["id"], "ops")
    mattermost.add_channel_member(other["id"], mattermost.bot["id"])
    mattermost.add_channel_member(other["id"], people["mallory"]["id"], scheme_admin=True)
    nippo.reply(people["mallory"], "add @mallory", "/team", channel=other)
    page = text_of(sign_in(nippo, people["alice"]).get("/web/"))
    assert "~dev" in page and "~ops" not in page


# --- what the pages show ----------------------------------------------------------------

def test_my_teams_shows_todays_status_of_each(nippo, people, monday):
    page = text_of(sign_in(nippo, people["alice"]).get("/web/"))
    assert "Reports for 2026-11-30" in page
    assert "2026-11-30: 1 filed, 1 missing, 1 off, of 3" in page  # the status bar's label


def test_the_overview_names_who_filed_and_who_is_missing(nippo, people, monday):
    page = text_of(sign_in(nippo, people["alice"]).get(f"/web/teams/{monday}"))
    missing = re.search(r'class="missing"><dt>Missing \(1\)</dt><dd>([^<]*)</dd>', page)
    filed = re.search(r'class="filed"><dt>Filed \(1\)</dt><dd>([^<]*)</dd>', page)
    assert missing.group(1) == "boss" and filed.group(1) == "alice"


def test_the_overview_charts_the_rate_per_work_day_with_its_numbers_in_a_table(nippo, people, monday):
    page = text_of(sign_in(nippo, people["alice"]).get(f"/web/teams/{monday}"))
    assert "<svg" in page and "2026-11-30: 1 of 2 filed (50%)" in page  # bar and its title
    assert "<tr><td>2026-11-30</td><td>1</td><td>2</td><td>50%</td></tr>" in page


def rate_row(page: str, day: str) -> tuple[str, str]:
    """(filed, expected) of a work day in the overview's table."""
    return re.search(rf"<tr><td>{day}</td><td>(\d+)</td><td>(\d+)</td>", page).groups()


def test_the_overview_expects_a_member_from_the_day_the_first_reminder_after_joining_checks(nippo, people, team_id):
    """The team was put together this Tuesday: with `check previous` its
    reminders check Monday, so Friday counts nobody, not even alice's report;
    with `same-day` they check Tuesday, so Monday counts nobody either."""
    nippo.reply(people["alice"], "2026-11-27 a report from before the team", "/report")
    nippo.reply(people["alice"], "2026-11-30 fixed the login bug", "/report")
    client = sign_in(nippo, people["alice"])
    page = text_of(client.get(f"/web/teams/{team_id}"))
    assert rate_row(page, "2026-11-30") == ("1", "3") and rate_row(page, "2026-11-27") == ("0", "0")
    nippo.reply(people["boss"], "check same-day", "/subscribe")
    page = text_of(client.get(f"/web/teams/{team_id}"))
    assert rate_row(page, "2026-12-01") == ("0", "3") and rate_row(page, "2026-11-30") == ("0", "0")


def test_the_overview_shows_each_members_streak_and_on_time_rate(nippo, people, monday):
    page = text_of(sign_in(nippo, people["alice"]).get(f"/web/teams/{monday}"))
    row = re.search(r"<th scope=\"row\">alice</th>\s*<td class=\"num\">(\d+)</td>\s*<td class=\"num\">([^<]+)</td>",
                    page)
    assert row.groups() == ("1", "100%")


def test_the_overview_offers_a_quarter(nippo, people, monday):
    page = text_of(sign_in(nippo, people["boss"]).get(f"/web/teams/{monday}?days=90"))
    assert "Report rate over the last 90 work days" in page


def test_a_change_shows_on_the_overview_at_once(nippo, people, monday):
    client = sign_in(nippo, people["boss"])
    assert "Missing (1)" in text_of(client.get(f"/web/teams/{monday}"))
    nippo.reply(people["boss"], "2026-11-30 planned the sprint", "/report")
    assert "Missing (0)" in text_of(client.get(f"/web/teams/{monday}"))


def test_runs_show_each_reminder_with_its_messages(nippo, people, monday, clock):
    nippo.tick(clock.now)
    nippo.services.wait_for_background()
    page = text_of(sign_in(nippo, people["boss"]).get(f"/web/teams/{monday}/runs"))
    row = re.search(r"<td>2026-12-01 <span class=\"help\">09:00</span></td>\s*<td>2026-11-30</td>(.*?)</tr>", page,
                    re.S)
    assert row, page
    cells = re.findall(r'<td class="num">(\d+)</td>', row.group(1))
    assert cells[0] == "1"  # boss was missing


def test_runs_count_a_step_dropped_before_its_dms_were_made_as_each_dm_and_say_what_it_was(nippo, people, team_id,
                                                                                         clock):
    from bot.reminders.common import TickTime, process_id
    from bot.tick import plan_tick

    nippo.reply(people["boss"], "to dm", "/subscribe")
    plan_tick(nippo.services, TickTime(clock.now), process_id())  # planned; nothing sends it until too late
    nippo.tick(clock.now + timedelta(hours=3, minutes=1))
    nippo.services.wait_for_background()
    page = text_of(sign_in(nippo, people["boss"]).get(f"/web/teams/{team_id}/runs"))
    row = re.search(r"<td>2026-12-01 <span class=\"help\">09:00</span></td>\s*<td>2026-11-30</td>(.*?)</tr>", page,
                    re.S)
    assert row, page
    missing, sent, failed, dropped = re.findall(r'<td class="num">(\d+)</td>', row.group(1))
    assert (missing, sent, failed, dropped) == ("3", "0", "0", "4")  # three DMs in the step, and the summary
    assert "3 × reminder DM dropped" in row.group(1) and "summary to the leaders dropped" in row.group(1)
    assert "dms" not in row.group(1)


def test_runs_tell_a_nudge_from_the_morning_reminder(nippo, people, monday, clock):
    nippo.reply(people["boss"], "to dm again 13:00", "/subscribe")
    nippo.tick(clock.now)
    nippo.tick(clock.now + timedelta(hours=4, minutes=5))
    nippo.services.wait_for_background()
    page = text_of(sign_in(nippo, people["boss"]).get(f"/web/teams/{monday}/runs"))
    assert re.search(r'<span class="help">13:00</span> <span class="badge">nudge</span></td>', page), page
    assert re.search(r'<span class="help">09:00</span></td>', page)


def test_the_export_lists_reports_and_absences_in_the_range(nippo, people, monday):
    client = sign_in(nippo, people["boss"])
    response = client.get(f"/web/teams/{monday}/reports.csv?from=2026-11-30&to=2026-11-30")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(text_of(response))))
    assert rows[0] == ["member", "work_date", "kind", "filed_at", "source"]
    assert [(r[0], r[1], r[2], r[4]) for r in rows[1:]] == [("alice", "2026-11-30", "report", "command"),
                                                            ("bob", "2026-11-30", "absence", "member")]


@pytest.mark.parametrize("query", ["from=2026-12-02&to=2026-11-30", "from=2025-01-01&to=2026-11-30",
                                   "from=2026-13-01", "from=yesterday..today"])
def test_the_export_refuses_a_bad_range(nippo, people, team_id, query):
    response = sign_in(nippo, people["boss"]).get(f"/web/teams/{team_id}/reports.csv?{query}")
    assert response.status_code == 400


def test_my_page_shows_my_reports_absences_reminders_and_streak(nippo, people, monday, clock):
    nippo.reply(people["boss"], "off 2026-12-03", "/report")
    nippo.tick(clock.now)
    page = text_of(sign_in(nippo, people["boss"]).get("/web/me"))
    assert "2026-12-03" in page  # my absence
    assert "2026-12-01 · ~dev · for 2026-11-30" in page  # the reminder that chased me
    nippo.reply(people["boss"], "2026-11-30 planned the sprint", "/report")
    page = text_of(sign_in(nippo, people["boss"]).get("/web/me"))
    assert "planned the sprint" in page and re.search(r'<p class="big">1</p>', page)


# --- safe headers, nothing from elsewhere -------------------------------------------------

PAGES_TO_SCAN = ["/web/", "/web/me", "/web/teams/{id}", "/web/teams/{id}?days=90", "/web/teams/{id}/settings",
                 "/web/teams/{id}/roster", "/web/teams/{id}/runs"]


@pytest.mark.parametrize("page", PAGES_TO_SCAN)
def test_pages_carry_a_strict_policy_and_load_nothing_from_elsewhere(nippo, people, monday, page):
    response = sign_in(nippo, people["boss"]).get(page.format(id=monday))
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["Referrer-Policy"] == "same-origin"
    html = text_of(response)
    assert "<script" not in html and " style=" not in html and "<style" not in html
    assert not re.findall(r'(?:src|href|action)="(?!/|#|\?)[^"]*"', html)  # only nippo's own paths


def test_pages_come_gzipped_to_browsers_that_ask(nippo, people, monday):
    import gzip

    client = sign_in(nippo, people["boss"])
    packed = client.get(f"/web/teams/{monday}", headers={"Accept-Encoding": "gzip, deflate"})
    plain = client.get(f"/web/teams/{monday}")
    assert packed.headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain.headers
    assert without_form_tokens(gzip.decompress(packed.get_data()).decode()) == without_form_tokens(text_of(plain))


def test_a_page_never_echoes_its_own_address(nippo, people, monday):
    page = text_of(sign_in(nippo, people["boss"]).get(f"/web/teams/{monday}?days=30&x=ECHOED"))
    assert "ECHOED" not in page


# --- languages ------------------------------------------------------------------------------

def test_pages_speak_the_persons_mattermost_language(nippo, people, team_id, mattermost):
    kenji = mattermost.add_user("kenji", locale="ja")
    mattermost.add_channel_member(mattermost.channel["id"], kenji["id"])
    nippo.reply(people["boss"], "add @kenji", "/team")
    page = text_of(sign_in(nippo, kenji).get(f"/web/teams/{team_id}"))
    assert '<html lang="ja">' in page and "直近30稼働日の提出率" in page


def test_the_language_can_be_switched_on_the_page(nippo, people, team_id):
    client = sign_in(nippo, people["alice"])
    response = client.post("/web/lang", data={"csrf_token": form_token(client), "lang": "ja"},
                           headers={"Referer": f"http://localhost/web/teams/{team_id}"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/web/teams/{team_id}")
    assert "直近30稼働日の提出率" in text_of(client.get(f"/web/teams/{team_id}"))


def test_a_language_switch_never_sends_the_browser_elsewhere(nippo, people, team_id):
    client = sign_in(nippo, people["alice"])
    response = client.post("/web/lang", data={"csrf_token": form_token(client), "lang": "en"},
                           headers={"Referer": "http://evil.example.com/web/teams/1"})
    assert response.headers["Location"].endswith("/web/")
    assert "evil" not in response.headers["Location"]


def catalogue(lang: str) -> dict:
    from web.pages.i18n import catalogue as load

    return load(lang)


def test_both_languages_have_every_text():
    assert catalogue("en").keys() == catalogue("ja").keys()


def test_every_text_a_template_asks_for_is_in_the_catalogue():
    from commands.subscribe import current_options
    from db.models import Subscription

    keys = set()
    for template in (ROOT / "web/pages/templates").glob("*.html"):
        keys |= {k for k in re.findall(r"""\bt\(\s*'([a-z_.]+)'""", template.read_text()) if not k.endswith((".", "_"))}
    # Texts named by a value: every value they can take.
    keys |= {f"role.{r}" for r in ("leader", "member", "admin")}
    keys |= {f"link.{o}{s}" for o in ("used", "expired", "unknown", "refused", "oauth", "preview") for s in ("", "_title")}
    keys |= {f"runs.state_{s}" for s in ("claimed", "planned", "sent", "skipped", "failed")}
    keys |= {f"runs.msg_{s}" for s in ("failed", "dropped")} | {"runs.problems"}
    keys |= {f"runs.what_{kind}" for kind in KINDS}
    options = current_options(Subscription(at_time="09:00", timezone="UTC", weekdays="0", delivery="dm", persona="p",
                                           language="en", holidays=None, check_day="previous", escalate=3,
                                           mention=True))
    keys |= {f"settings.{name}.{part}" for name in options for part in ("label", "help")}
    assert keys - catalogue("en").keys() == set()


def test_the_catalogues_are_plain_toml():
    for lang in ("en", "ja"):
        with open(ROOT / f"web/pages/texts/{lang}.toml", "rb") as file:
            assert tomllib.load(file)
