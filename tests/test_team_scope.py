"""A leader's reach ends at their team: what a leader or admin sets about a
member (an absence, an external id) belongs to that team's roster entry and
changes nothing another team sees or sends. Played as the attacker would: a
member creates a channel (which makes them its admin), puts a victim on its
roster, and then tries to excuse, un-excuse and re-key the victim."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
import requests
from sqlalchemy import select

from db.models import Absence, Member, RosterEntry, Team
from tests.harness import API_TOKEN

# Tuesday 2026-12-01 09:05 in Tokyo: the morning run checks Monday 11-30.
MORNING = datetime(2026, 12, 1, 0, 5, tzinfo=timezone.utc)


@pytest.fixture
def people(mattermost):
    """boss runs ~dev; alice and bob work there; mallory has a channel of her own, ~den."""
    team, dev = mattermost.team, mattermost.channel
    made = {}
    for username in ("boss", "alice", "bob", "mallory"):
        user = mattermost.add_user(username)
        mattermost.add_team_member(team["id"], user["id"])
        mattermost.add_channel_member(dev["id"], user["id"], scheme_admin=username == "boss")
        made[username] = user
    den = mattermost.add_channel(team["id"], "den")
    mattermost.add_channel_member(den["id"], made["mallory"]["id"], scheme_admin=True)  # she created it
    mattermost.add_channel_member(den["id"], made["bob"]["id"])
    mattermost.add_channel_member(den["id"], mattermost.bot["id"])
    made["den"] = den
    return made


def dev_team(nippo, people, delivery="dm"):
    nippo.reply(people["boss"], f"at 09:00 tz Asia/Tokyo to {delivery}", "/subscribe")
    nippo.reply(people["boss"], "add @alice @bob", "/team")


def status_line(text: str, label: str) -> str:
    """The line of /report-status that lists one kind of people (``**Missing:** …``), or ''."""
    return next((line for line in text.splitlines() if line.startswith(f"**{label}:**")), "")


def test_a_channel_creator_cannot_excuse_a_member_of_another_team(nippo, people, mattermost):
    dev_team(nippo, people)
    den = people["den"]
    nippo.reply(people["mallory"], "add @bob", "/team", channel=den)
    answer = nippo.reply(people["mallory"], "off @bob 2026-11-20..2026-12-02", "/report", channel=den)
    assert "bob" in answer

    status = nippo.reply(people["boss"], "2026-11-30", "/report-status")
    assert status.count("bob") == 1 and "bob" in status_line(status, "Missing")
    lines = nippo.tick(MORNING)
    assert any("missing 3" in line for line in lines), lines  # boss, alice and bob
    assert len(mattermost.dm_posts_to(people["bob"]["id"])) == 1  # chased in ~dev all the same


def test_a_channel_creator_cannot_cancel_the_absence_a_member_set_himself(nippo, people, mattermost, database):
    dev_team(nippo, people)
    nippo.reply(people["bob"], "off 2026-11-30", "/report")
    den = people["den"]
    nippo.reply(people["mallory"], "add @bob", "/team", channel=den)
    nippo.reply(people["mallory"], "on @bob 2026-11-30", "/report", channel=den)

    with database.read() as session:
        own = session.execute(select(Absence.work_date, Absence.team_id)).all()
    assert own == [(date(2026, 11, 30), None)]
    nippo.tick(MORNING)
    assert mattermost.dm_posts_to(people["bob"]["id"]) == []  # still off: nobody chases him


def test_a_channel_creator_cannot_relink_a_member_for_another_team(nippo, people, database):
    dev_team(nippo, people)
    nippo.reply(people["boss"], "link @bob E-2", "/team")
    den = people["den"]
    nippo.reply(people["mallory"], "add @bob", "/team", channel=den)
    nippo.reply(people["mallory"], "link @bob bogus-id", "/team", channel=den)

    with database.read() as session:
        links = dict(session.execute(
            select(Team.channel_name, RosterEntry.external_id).join(Team, Team.id == RosterEntry.team_id)
            .join(Member, Member.id == RosterEntry.member_id).where(Member.username == "bob")).all())
    assert links == {"dev": "E-2", "den": "bogus-id"}


def test_the_push_api_refuses_an_external_id_that_two_teams_give_different_members(nippo, people):
    dev_team(nippo, people)
    nippo.reply(people["boss"], "link @bob E-2", "/team")
    den = people["den"]
    nippo.reply(people["mallory"], "add @mallory", "/team", channel=den)
    nippo.reply(people["mallory"], "link @mallory E-2", "/team", channel=den)
    answer = requests.post(f"{nippo.url}/api/v1/reports", json={"external_id": "E-2", "date": "2026-11-30",
                                                                  "text": "x"},
                           headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=10)
    assert answer.status_code == 400 and "several" in answer.text


def test_a_leaders_absence_excuses_the_member_in_that_team_only(nippo, people, mattermost):
    dev_team(nippo, people)
    nippo.reply(people["boss"], "off @alice 2026-11-30", "/report")
    status = nippo.reply(people["boss"], "2026-11-30", "/report-status")
    assert "alice" in status_line(status, "Off") and "alice" not in status_line(status, "Missing")
    nippo.tick(MORNING)
    assert mattermost.dm_posts_to(people["alice"]["id"]) == []
    assert len(mattermost.dm_posts_to(people["bob"]["id"])) == 1


def test_only_the_leaders_of_that_team_cancel_its_absence(nippo, people, database):
    dev_team(nippo, people)
    nippo.reply(people["boss"], "off @alice 2026-11-30", "/report")
    answer = nippo.reply(people["alice"], "on 2026-11-30", "/report")  # her own absences: none there
    assert "alice" in answer
    with database.read() as session:
        assert session.scalar(select(Absence.team_id)) is not None
    nippo.reply(people["boss"], "on @alice 2026-11-30", "/report")
    with database.read() as session:
        assert session.scalar(select(Absence.id)) is None


def test_naming_someone_not_on_this_roster_changes_nothing(nippo, people, database):
    dev_team(nippo, people)
    answer = nippo.reply(people["boss"], "off @mallory 2026-11-30", "/report")
    assert "mallory" in answer and "/report [DATE]" in answer
    with database.read() as session:
        assert session.scalar(select(Absence.id)) is None
