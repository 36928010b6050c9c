"""The web forms change things exactly as the slash commands do:
the same code path, the same validation and messages next to the field, a
CSRF token on every POST, and the change shows in the next `/subscribe`."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from db.models import Absence, RosterEntry, Subscription, TeamDayOff
from tests.web_helpers import form_token, people, sign_in, team_id, text_of  # noqa: F401  (fixtures)

SETTINGS = {"at": "09:00", "tz": "Asia/Tokyo", "days": "mon-fri", "to": "channel", "persona": "emperor",
            "lang": "en", "holidays": "none", "check": "previous", "escalate": "3", "mention": "on",
            "again": "off", "digest": "off"}


def save_settings(client, team_id, **changes):
    data = {**SETTINGS, **changes, "csrf_token": form_token(client, f"/web/teams/{team_id}/settings")}
    return client.post(f"/web/teams/{team_id}/settings", data=data)


def subscription(database) -> Subscription:
    with database.read() as session:
        return session.scalars(select(Subscription)).one()


# --- settings --------------------------------------------------------------------------

def test_nudges_and_the_digest_are_set_in_the_form_as_by_the_command(nippo, people, team_id):
    client = sign_in(nippo, people["boss"])
    saved = save_settings(client, team_id, to="dm", again="13:00, 17:00", digest="fri  17:00")
    assert saved.status_code == 303
    answer = nippo.reply(people["boss"], "", "/subscribe")
    assert "again 13:00,17:00" in answer and "digest fri 17:00" in answer


def test_a_nudge_before_the_morning_reminder_is_refused_next_to_its_field(nippo, people, team_id):
    client = sign_in(nippo, people["boss"])
    refused = save_settings(client, team_id, to="dm", again="08:00")
    assert refused.status_code == 400
    assert 'class="field invalid"' in text_of(refused) and "e-again" in text_of(refused)
    assert subscription(nippo.services.database).again_times in (None, "")


def test_the_settings_form_shows_every_option_and_the_next_reminder(nippo, people, team_id):
    page = text_of(sign_in(nippo, people["boss"]).get(f"/web/teams/{team_id}/settings"))
    for name in SETTINGS:
        assert f'name="{name}"' in page
    assert "Next reminder: 2026-12-01 (Tue) 09:00 Asia/Tokyo" in page


def test_a_change_in_the_form_shows_in_the_next_subscribe_answer(nippo, people, team_id):
    client = sign_in(nippo, people["boss"])
    saved = save_settings(client, team_id, at="10:30", to="both")
    assert saved.status_code == 303
    assert "at 10:30" in nippo.reply(people["boss"], "", "/subscribe")
    assert "to both" in nippo.reply(people["boss"], "", "/subscribe")


def test_after_saving_the_page_says_when_the_next_reminder_goes_out(nippo, people, team_id):
    client = sign_in(nippo, people["boss"])
    saved = save_settings(client, team_id, at="10:30")
    page = text_of(client.get(saved.headers["Location"]))
    assert "Saved. Next reminder: 2026-12-01 (Tue) 10:30 Asia/Tokyo → 2026-11-30" in page


@pytest.mark.parametrize("field, value, message", [
    ("at", "25:00", "25:00"),
    ("tz", "Mars/Olympus", "Mars/Olympus"),
    ("days", "someday", "someday"),
    ("escalate", "9999", "9999"),
    ("holidays", "XX", "XX"),
    ("persona", "nobody", "nobody"),
])
def test_a_bad_value_gets_the_commands_message_next_to_its_field_and_changes_nothing(
        nippo, people, team_id, database, field, value, message):
    before = subscription(database).updated_at
    response = save_settings(sign_in(nippo, people["boss"]), team_id, **{field: value, "at": "11:00"}
                             if field != "at" else {field: value})
    assert response.status_code == 400
    error = re.search(rf'<p class="error" id="e-{field}" role="alert">([^<]*)</p>', text_of(response))
    assert error and message in error.group(1)
    assert subscription(database).updated_at == before and subscription(database).at_time == "09:00"


def test_the_form_and_the_command_word_a_refusal_alike(nippo, people, team_id):
    typed = nippo.reply(people["boss"], "at 25:00", "/subscribe").splitlines()[0]
    response = save_settings(sign_in(nippo, people["boss"]), team_id, at="25:00")
    shown = re.search(r'id="e-at" role="alert">([^<]*)</p>', text_of(response)).group(1)
    plain = typed.replace("**", "").replace("`", "")
    assert shown.replace("&#39;", "'").replace("&#34;", '"') == plain


def test_a_form_without_its_token_is_refused_and_changes_nothing(nippo, people, team_id, database):
    client = sign_in(nippo, people["boss"])
    response = client.post(f"/web/teams/{team_id}/settings", data={**SETTINGS, "at": "11:00"})
    assert response.status_code == 400 and "expired" in text_of(response)
    assert subscription(database).at_time == "09:00"


def test_a_token_from_another_session_is_refused(nippo, people, team_id, database):
    stolen = form_token(sign_in(nippo, people["alice"]))
    client = sign_in(nippo, people["boss"])
    response = client.post(f"/web/teams/{team_id}/settings", data={**SETTINGS, "at": "11:00", "csrf_token": stolen})
    assert response.status_code == 400 and subscription(database).at_time == "09:00"


# --- roster --------------------------------------------------------------------------------

def post_roster(client, team_id, form, **data):
    token = form_token(client, f"/web/teams/{team_id}/roster")
    return client.post(f"/web/teams/{team_id}/roster/{form}", data={**data, "csrf_token": token})


def notice(client, response) -> str:
    assert response.status_code == 303, text_of(response)
    page = text_of(client.get(response.headers["Location"]))
    return re.search(r'<p class="notice" role="status">([^<]*)</p>', page).group(1)


def test_adding_members_in_the_form_answers_as_the_command_does(nippo, people, team_id):
    client = sign_in(nippo, people["boss"])
    said = notice(client, post_roster(client, team_id, "add", users="mallory, @ada"))
    assert "mallory" in said and "ada" in said
    assert "mallory" in nippo.reply(people["boss"], "list", "/team")


def test_an_unknown_user_is_named_next_to_the_add_form(nippo, people, team_id):
    response = post_roster(sign_in(nippo, people["boss"]), team_id, "add", users="@nosuchperson")
    assert response.status_code == 400
    assert re.search(r'id="e-add" role="alert">[^<]*nosuchperson', text_of(response))


def test_a_bot_is_refused_by_name_in_the_form(nippo, people, team_id, mattermost):
    mattermost.add_user("robot", bot=True)
    response = post_roster(sign_in(nippo, people["boss"]), team_id, "add", users="@robot")
    assert response.status_code == 400 and "robot" in text_of(response)


def test_removing_and_making_leader_in_the_form(nippo, people, team_id, database):
    client = sign_in(nippo, people["boss"])
    notice(client, post_roster(client, team_id, "leader", user="alice"))
    notice(client, post_roster(client, team_id, "remove", user="bob"))
    listing = nippo.reply(people["boss"], "list", "/team")
    assert "bob" not in listing
    with database.read() as session:
        roles = dict(session.execute(select(RosterEntry.member_id, RosterEntry.role)
                                     .where(RosterEntry.removed_at.is_(None))).all())
    assert sorted(roles.values()) == ["leader", "leader"]


def test_linking_an_external_id_in_the_form(nippo, people, team_id, database):
    client = sign_in(nippo, people["boss"])
    said = notice(client, post_roster(client, team_id, "link", user="alice", external_id="E-42"))
    assert "E-42" in said
    with database.read() as session:
        assert "E-42" in session.scalars(select(RosterEntry.external_id)).all()


def test_an_absence_a_leader_sets_in_the_form_is_the_teams(nippo, people, team_id, database):
    client = sign_in(nippo, people["boss"])
    notice(client, post_roster(client, team_id, "absence", user="alice", dates="2026-12-03..2026-12-04",
                               action="off"))
    with database.read() as session:
        rows = session.execute(select(Absence.work_date, Absence.team_id)).all()
    assert len(rows) == 2 and {team for _, team in rows} == {team_id}


def test_a_bad_date_gets_the_commands_message_next_to_the_absence_form(nippo, people, team_id, database):
    response = post_roster(sign_in(nippo, people["boss"]), team_id, "absence", user="alice", dates="2026-02-30",
                           action="off")
    assert response.status_code == 400
    assert re.search(r'id="e-absence" role="alert">[^<]*2026-02-30', text_of(response))
    with database.read() as session:
        assert session.scalars(select(Absence)).all() == []


def test_team_days_off_in_the_form(nippo, people, team_id, database):
    client = sign_in(nippo, people["boss"])
    notice(client, post_roster(client, team_id, "days-off", dates="2026-12-29..2026-12-31", action="off"))
    notice(client, post_roster(client, team_id, "days-off", dates="2026-12-31", action="on"))
    with database.read() as session:
        days = sorted(d.isoformat() for d in session.scalars(select(TeamDayOff.day)))
    assert days == ["2026-12-29", "2026-12-30"]


def test_a_leader_who_lost_the_role_is_refused_by_the_command_check(nippo, people, team_id):
    client = sign_in(nippo, people["alice"])
    nippo.reply(people["boss"], "leader @alice", "/team")
    token = form_token(client, f"/web/teams/{team_id}/roster")
    nippo.reply(people["boss"], "remove @alice", "/team")
    response = client.post(f"/web/teams/{team_id}/roster/add", data={"csrf_token": token, "users": "@mallory"})
    assert response.status_code == 404
    assert "mallory" not in nippo.reply(people["boss"], "list", "/team")
