"""The web pages in a real browser: Debian's headless Chromium, driven by
Playwright, with JavaScript switched off (the pages must read and submit
without it). A leader signs in through a fresh `/team web` link, opens every
page, changes the reminder time in the form and finds it in `/subscribe`'s
answer, then switches to Japanese; a plain member finds nothing that is not
theirs. Screenshots of each page land in ``screenshots/`` for review."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import Member, Report, RosterEntry
from tests.web_helpers import link_url, people, team_id  # noqa: F401  (fixtures)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parent.parent / "screenshots"
PAGES = {"team": "/web/teams/{id}", "quarter": "/web/teams/{id}?days=90", "settings": "/web/teams/{id}/settings",
         "roster": "/web/teams/{id}/roster", "runs": "/web/teams/{id}/runs", "home": "/web/", "me": "/web/me"}


@pytest.fixture(scope="module")
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (./scripts/test.sh does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def history(database, team_id, clock):
    """A quarter of reports: each member files most work days, some late."""
    today = clock.now.date()
    with database.write() as session:
        members = session.scalars(select_members(team_id)).all()
        session.execute(RosterEntry.__table__.update().where(RosterEntry.team_id == team_id)
                        .values(added_at=clock.now - timedelta(days=200)))
        for index, member_id in enumerate(members):
            for back in range(1, 130):
                day = today - timedelta(days=back)
                if day.weekday() >= 5 or (back * (index + 3)) % 7 == 0:
                    continue
                filed = datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(hours=8 + back % 30)
                session.add(Report(member_id=member_id, work_date=day, text="done", source="command",
                                   created_at=filed, updated_at=filed))
    return team_id


def select_members(team_id: int):
    return select(Member.id).join(RosterEntry, RosterEntry.member_id == Member.id).where(RosterEntry.team_id == team_id)


def open_page(context):
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("requestfailed", lambda request: _failed(request, problems))
    return page, problems


def _failed(request, problems: list[str]) -> None:
    # The next page.goto cancels what the last page still loads (its icon,
    # say): Chromium reports that as ERR_ABORTED, which no policy refused.
    if request.failure != "net::ERR_ABORTED":
        problems.append(f"failed: {request.url} ({request.failure})")


def test_a_leader_goes_from_a_link_to_a_quarter_of_reporting_and_changes_the_reminder(
        nippo, people, history, chromium):
    SHOTS.mkdir(exist_ok=True)
    context = chromium.new_context(java_script_enabled=False, locale="en-US", viewport={"width": 1280, "height": 900})
    page, problems = open_page(context)
    try:
        page.goto(link_url(nippo, people["boss"]))
        assert page.url.endswith(f"/web/teams/{history}")
        assert page.locator("h1").inner_text().startswith("~dev")

        for name, path in PAGES.items():
            response = page.goto(nippo.url + path.format(id=history))
            assert response.status == 200, name
            page.screenshot(path=SHOTS / f"en-{name}.png", full_page=True)
        page.goto(nippo.url + PAGES["quarter"].format(id=history))
        assert "Report rate over the last 90 work days" in page.content()

        page.goto(nippo.url + PAGES["settings"].format(id=history))
        page.fill("#f-at", "10:15")
        page.click("button.primary")
        assert "Saved. Next reminder:" in page.locator(".notice").inner_text()
        page.screenshot(path=SHOTS / "en-settings-saved.png", full_page=True)
        assert "at 10:15" in nippo.reply(people["boss"], "", "/subscribe")

        page.click("button[value=ja]")
        assert "設定" in page.locator("nav.tabs").inner_text()
        for name, path in PAGES.items():
            page.goto(nippo.url + path.format(id=history))
            page.screenshot(path=SHOTS / f"ja-{name}.png", full_page=True)
        page.goto(nippo.url + PAGES["team"].format(id=history))
        assert "直近30稼働日の提出率" in page.content()
    finally:
        context.close()
    assert problems == []  # no script, style or font refused by the policy, nothing fetched elsewhere


def test_the_runs_page_tells_a_leader_what_was_dropped_and_what_was_sent(nippo, people, team_id, clock, chromium):
    from bot.reminders.common import TickTime, process_id
    from bot.tick import plan_tick

    nippo.reply(people["boss"], "to dm", "/subscribe")
    plan_tick(nippo.services, TickTime(clock.now), process_id())  # Tuesday's run: nothing sends it in time
    nippo.tick(clock.now + timedelta(hours=3, minutes=1))
    nippo.tick(clock.now + timedelta(days=1, minutes=1))  # Wednesday's goes out
    nippo.services.wait_for_background()
    context = chromium.new_context(java_script_enabled=False, locale="en-US", viewport={"width": 1280, "height": 600})
    page, problems = open_page(context)
    try:
        page.goto(link_url(nippo, people["boss"]))
        page.goto(nippo.url + PAGES["runs"].format(id=team_id))
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=SHOTS / "en-runs-dropped.png", full_page=True)
        rows = page.locator("tbody tr")
        assert rows.count() == 2
        assert "3 × reminder DM dropped" in rows.nth(1).inner_text()
        assert "summary to the leaders dropped" in rows.nth(1).inner_text()
        assert "dropped" not in rows.nth(0).inner_text()
    finally:
        context.close()
    assert problems == []


def test_a_member_finds_nothing_that_is_not_theirs(nippo, people, history, chromium):
    context = chromium.new_context(java_script_enabled=False, locale="en-US")
    page, _ = open_page(context)
    try:
        page.goto(link_url(nippo, people["alice"]))
        assert page.url.endswith(f"/web/teams/{history}")
        assert "Settings" not in page.locator("nav.tabs").inner_text()
        for path in (PAGES["settings"], PAGES["roster"], PAGES["runs"]):
            response = page.goto(nippo.url + path.format(id=history))
            assert response.status == 404
            assert "Not found" in page.locator("h1").inner_text()
        page.goto(nippo.url + "/web/me")
        page.screenshot(path=SHOTS / "member-me.png", full_page=True)
    finally:
        context.close()


def test_signing_out_in_the_browser(nippo, people, team_id, chromium):
    context = chromium.new_context(java_script_enabled=False)
    page, _ = open_page(context)
    try:
        page.goto(link_url(nippo, people["alice"]))
        page.click("form[action='/web/logout'] button")
        assert page.url.split("?")[0].endswith("/web/login")
        page.goto(nippo.url + "/web/")
        assert page.url.split("?")[0].endswith("/web/login")
    finally:
        context.close()
