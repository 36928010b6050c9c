"""POST /api/v1/reports (docs/api.md): other systems push reports, all or nothing."""

from __future__ import annotations

from datetime import date

import json

import pytest
import requests
from sqlalchemy import select

from db.models import Member, Report, RosterEntry, Team
from tests.harness import API_TOKEN, start_nippo

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
def members(database, clock):
    with database.write() as session:
        alice = Member(user_id="u-alice", username="alice", email="Alice@Example.com")
        bob = Member(user_id="u-bob", username="bob", email="bob@example.com")
        team = Team(channel_id="c-dev", channel_name="dev", created_at=clock())
        session.add_all([alice, bob, team])
        session.flush()
        # External ids are a team's: set on the roster entries.
        session.add_all([RosterEntry(team_id=team.id, member_id=alice.id, added_at=clock(), external_id="E-1"),
                         RosterEntry(team_id=team.id, member_id=bob.id, added_at=clock(), external_id="E-2")])


def post(nippo, body, headers=AUTH, **kwargs):
    return requests.post(f"{nippo.url}/api/v1/reports", json=body, headers=headers, timeout=10, **kwargs)


def stored(database):
    with database.read() as session:
        return sorted((r.member_id, r.work_date, r.text) for r in session.scalars(select(Report)))


def test_one_report_by_username(nippo, members, database):
    answer = post(nippo, {"user": "alice", "date": "2026-11-30", "text": "did things"})
    assert answer.status_code == 200 and answer.json() == {"stored": 1}
    assert [(d, t) for _, d, t in stored(database)] == [(date(2026, 11, 30), "did things")]


def test_a_list_by_email_and_external_id_case_insensitively(nippo, members, database):
    answer = post(nippo, [
        {"email": "alice@example.COM", "date": "2026-11-30", "text": "a"},
        {"external_id": "e-2", "date": "2026-11-30", "text": "b"},
    ])
    assert answer.status_code == 200
    assert len(stored(database)) == 2


def test_pushing_again_replaces(nippo, members, database):
    post(nippo, {"user": "alice", "date": "2026-11-30", "text": "first"})
    post(nippo, {"user": "alice", "date": "2026-11-30", "text": "second"})
    assert [t for _, _, t in stored(database)] == ["second"]


def test_any_bad_item_stores_nothing_and_lists_every_bad_item(nippo, members, database):
    answer = post(nippo, [
        {"user": "alice", "date": "2026-11-30", "text": "fine"},
        {"user": "nobody", "date": "2026-11-30", "text": "x"},
        {"user": "bob", "email": "bob@example.com", "date": "2026-11-30", "text": "x"},
        {"user": "bob", "date": "2026-02-30", "text": "x"},
        {"user": "bob", "date": "2026-11-30", "text": "x" * 3001},
        {"user": "bob", "date": "2026-11-30"},
        "not an object",
    ])
    assert answer.status_code == 400
    assert [item["index"] for item in answer.json()["items"]] == [1, 2, 3, 4, 5, 6]
    assert stored(database) == []


@pytest.mark.parametrize("headers, status", [
    ({}, 401),
    ({"Authorization": "Bearer wrong"}, 401),
    ({"Authorization": f"Token {API_TOKEN}"}, 401),
])
def test_the_bearer_token_is_required(nippo, members, database, headers, status):
    assert post(nippo, {"user": "alice", "date": "2026-11-30", "text": "x"}, headers=headers).status_code == status
    assert stored(database) == []


def test_more_than_a_thousand_is_refused(nippo, members, database):
    body = [{"user": "alice", "date": "2026-11-30", "text": "x"}] * 1001
    assert post(nippo, body).status_code == 400
    assert stored(database) == []


def test_a_full_list_of_long_japanese_reports_fits(nippo, members, database):
    """1,000 reports of 3,000 characters, sent with \\uXXXX escapes: about 18 MB of JSON."""
    from datetime import timedelta

    body = [{"user": "alice", "date": (date(2026, 11, 30) - timedelta(days=n)).isoformat(), "text": "日報" * 1500}
            for n in range(1000)]
    answer = post(nippo, body)
    assert answer.status_code == 200 and answer.json() == {"stored": 1000}


def test_an_oversized_body_is_413(nippo, members, database):
    huge = [{"user": "alice", "date": "2026-11-30", "text": "x" * 3000}] * 7500
    assert post(nippo, huge).status_code == 413
    assert stored(database) == []


@pytest.mark.parametrize("item, fragment", [
    ({"user": "alice", "date": "2099-01-01", "text": "x"}, "ahead"),
    ({"user": "alice", "date": "2026-W01-1", "text": "x"}, "YYYY-MM-DD"),
    ({"user": "alice", "date": "2026-11-30", "text": "a\u0000b"}, "stored"),
    ({"user": "alice", "date": "2026-11-30", "text": "\ud800"}, "stored"),
])
def test_dates_ahead_and_unstorable_text_are_bad_items(nippo, members, database, item, fragment):
    answer = requests.post(f"{nippo.url}/api/v1/reports", data=json.dumps(item),
                           headers={**AUTH, "Content-Type": "application/json"}, timeout=10)
    assert answer.status_code == 400 and fragment in answer.json()["items"][0]["error"]
    assert stored(database) == []


def test_malformed_json_is_400(nippo, members):
    answer = requests.post(f"{nippo.url}/api/v1/reports", data="{not json",
                           headers={**AUTH, "Content-Type": "application/json"}, timeout=10)
    assert answer.status_code == 400


def test_without_an_api_token_every_method_is_404(database, mattermost, clock):
    running = start_nippo(database, mattermost, clock, NIPPO_API_TOKEN=None)
    try:
        for method in ("POST", "GET", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"):
            answer = requests.request(method, f"{running.url}/api/v1/reports", headers=AUTH, timeout=10,
                                      json={"user": "alice", "date": "2026-11-30", "text": "x"})
            assert answer.status_code == 404, method
    finally:
        running.stop()


def test_with_an_api_token_other_methods_are_405(nippo):
    assert requests.get(f"{nippo.url}/api/v1/reports", headers=AUTH, timeout=10).status_code == 405


def test_a_json_null_body_is_valid_json_but_not_a_report(nippo, members, database):
    answer = requests.post(f"{nippo.url}/api/v1/reports", data="null", timeout=10,
                           headers={**AUTH, "Content-Type": "application/json"})
    assert answer.status_code == 400
    assert "object" in answer.json()["error"] and "list" in answer.json()["error"]
    assert "not valid JSON" not in answer.json()["error"]
    assert stored(database) == []


@pytest.mark.parametrize("body", ["42", '"a report"', "true"])
def test_a_json_scalar_body_is_refused_as_not_an_object_or_list(nippo, body):
    answer = requests.post(f"{nippo.url}/api/v1/reports", data=body, timeout=10,
                           headers={**AUTH, "Content-Type": "application/json"})
    assert answer.status_code == 400 and "object" in answer.json()["error"]
