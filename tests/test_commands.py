"""Slash commands end to end (docs/commands.md): Mattermost's form in, nippo's
ephemeral answer out, state in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
import requests
from sqlalchemy import func, select

from db.models import Absence, Member, Report, RosterEntry, Subscription, TeamDayOff

ZWSP = "\u200b"


@pytest.fixture
def people(mattermost):
    """A channel admin (the future leader), three members, a bot and a deactivated user."""
    team, channel = mattermost.team, mattermost.channel
    made = {}
    for username, extra in [("boss", {}), ("alice", {}), ("bob", {}), ("carol", {}),
                            ("robot", {"bot": True}), ("ghost", {"active": False})]:
        user = mattermost.add_user(username, **extra)
        mattermost.add_team_member(team["id"], user["id"])
        mattermost.add_channel_member(channel["id"], user["id"], scheme_admin=username == "boss")
        made[username] = user
    return made


def subscribed(nippo, people, options="at 09:00 tz Asia/Tokyo"):
    text = nippo.reply(people["boss"], options, "/subscribe")
    assert "Asia/Tokyo" in text
    return text


def count(database, model, **where):
    with database.read() as session:
        query = select(func.count()).select_from(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return session.scalar(query)


# --- /report -------------------------------------------------------------------

def test_report_files_for_today_and_says_the_date(nippo, people, database):
    text = nippo.reply(people["alice"], "fixed the login bug", "/report")
    assert "2026-12-01" in text  # the clock reads 2026-12-01 00:00 UTC
    with database.read() as session:
        report = session.scalars(select(Report)).one()
        assert report.text == "fixed the login bug" and report.work_date == date(2026, 12, 1)


def test_report_keeps_text_verbatim_with_newlines(nippo, people, database):
    nippo.reply(people["alice"], "yesterday - did X\n- did *Y*\n\n  indented", "/report")
    with database.read() as session:
        assert session.scalars(select(Report.text)).one() == "- did X\n- did *Y*\n\n  indented"


def test_report_again_replaces_the_first(nippo, people, database):
    nippo.reply(people["alice"], "2026-11-30 first", "/report")
    text = nippo.reply(people["alice"], "2026-11-30 second", "/report")
    assert "2026-11-30" in text
    with database.read() as session:
        assert session.scalars(select(Report.text)).all() == ["second"]


def test_report_off_to_a_good_start_is_a_report(nippo, people, database):
    nippo.reply(people["alice"], "off to a good start", "/report")
    assert count(database, Report) == 1 and count(database, Absence) == 0


@pytest.mark.parametrize("text, fragment", [
    ("2026-13-45 did things", "2026-13-45"),
    ("02-30 did things", "02-30"),
    ("2026-12-25 too far ahead", "2026-12-25"),
    ("off 2026-01-01..2027-06-01", "366"),
    ("x" * 3001, "3000"),
])
def test_report_errors_say_what_was_wrong_and_show_the_usage(nippo, people, database, text, fragment):
    answer = nippo.reply(people["alice"], text, "/report")
    assert fragment in answer
    assert "/report [DATE] [TEXT...]" in answer
    assert count(database, Report) == 0 and count(database, Absence) == 0


def test_report_help_shows_the_usage(nippo, people):
    assert "/report off" in nippo.reply(people["alice"], "help", "/report")


def test_report_without_text_opens_the_dialog(nippo, people, mattermost):
    text = nippo.reply(people["alice"], "", "/report")
    assert len(mattermost.dialogs) == 1
    dialog = mattermost.dialogs[0]["dialog"]
    assert dialog["elements"][0]["default"] == "2026-12-01"
    assert text  # a short ephemeral line


def test_off_and_on_for_myself(nippo, people, database):
    nippo.reply(people["alice"], "off 2026-11-30", "/report")
    assert count(database, Absence) == 1
    nippo.reply(people["alice"], "on 2026-11-30", "/report")
    assert count(database, Absence) == 0


def test_off_for_a_range(nippo, people, database):
    nippo.reply(people["alice"], "off 2026-11-23..2026-11-27", "/report")
    assert count(database, Absence) == 5


def test_only_a_leader_or_admin_marks_someone_else_off(nippo, people, database):
    subscribed(nippo, people)
    nippo.reply(people["boss"], "add @alice @bob", "/team")
    refused = nippo.reply(people["alice"], "off @bob 2026-11-30", "/report")
    assert "/report [DATE] [TEXT...]" in refused
    assert count(database, Absence) == 0
    nippo.reply(people["boss"], "off @bob 2026-11-30", "/report")
    assert count(database, Absence) == 1


def test_unknown_user_is_named(nippo, people, database):
    subscribed(nippo, people)
    text = nippo.reply(people["boss"], "off @nobody 2026-11-30", "/report")
    assert "nobody" in text and "/report [DATE]" in text
    assert count(database, Absence) == 0


def test_report_names_a_chased_date_still_missing(nippo, people, database):
    """A run that listed alice as missing for 11-27 makes /report for 11-30 remind her."""
    from db.models import ReminderRun

    subscribed(nippo, people)
    nippo.reply(people["boss"], "add @alice", "/team")
    with database.write() as session:
        alice = session.scalars(select(Member).where(Member.username == "alice")).one()
        subscription = session.scalars(select(Subscription)).one()
        now = nippo.services.clock()
        session.add(ReminderRun(subscription_id=subscription.id, local_date=date(2026, 11, 30),
                                work_date=date(2026, 11, 27), state="sent", missing=[alice.id],
                                scheduled_at=now, deadline=now, created_at=now))
    text = nippo.reply(people["alice"], "2026-11-30 did things", "/report")
    assert "2026-11-27" in text and "/report 2026-11-27" in text


# --- /subscribe, /unsubscribe --------------------------------------------------------

def test_subscribe_shows_nothing_before_a_subscription(nippo, people):
    assert nippo.reply(people["boss"], "", "/subscribe")


def test_first_subscription_needs_an_admin_who_becomes_leader(nippo, people, database):
    refused = nippo.reply(people["alice"], "at 09:00", "/subscribe")
    assert "/subscribe [at HH:MM]" in refused
    assert count(database, Subscription) == 0
    text = subscribed(nippo, people)
    assert "2026-12-01" in text or "2026-12-02" in text  # says when the next reminder goes out
    with database.read() as session:
        role = session.execute(select(RosterEntry.role).join(Member).where(Member.username == "boss")).scalar_one()
        assert role == "leader"


def test_subscribe_defaults_then_updates_only_what_is_named(nippo, people, database):
    subscribed(nippo, people, "at 08:30 tz Asia/Tokyo")
    nippo.reply(people["boss"], "to dm mention off escalate 5 days mon,wed,fri lang ja holidays JP", "/subscribe")
    with database.read() as session:
        sub = session.scalars(select(Subscription)).one()
    assert (sub.at_time, sub.timezone, sub.delivery, sub.mention, sub.escalate) == ("08:30", "Asia/Tokyo", "dm", False, 5)
    assert (sub.weekdays, sub.language, sub.holidays, sub.check_day, sub.persona) == ("0,2,4", "ja", "JP", "previous", "emperor")


@pytest.mark.parametrize("options, fragment", [
    ("at 25:00", "25:00"),
    ("tz Mars/Olympus", "Mars/Olympus"),
    ("days funday", "funday"),
    ("to pigeon", "pigeon"),
    ("persona nobody", "nobody"),
    ("lang fr", "fr"),
    ("holidays QQ", "QQ"),
    ("check tomorrow", "tomorrow"),
    ("escalate lots", "lots"),
    ("mention maybe", "maybe"),
    ("frequency daily", "frequency"),
    ("at 09:00 at 10:00", "at"),
])
def test_subscribe_validates_everything_before_writing(nippo, people, database, options, fragment):
    typed = options if options.startswith("tz ") else f"tz Asia/Tokyo {options}"  # tz once: twice is its own error
    text = nippo.reply(people["boss"], typed, "/subscribe")
    assert fragment in text and "/subscribe [at HH:MM]" in text
    assert count(database, Subscription) == 0


def test_subscribe_refuses_when_the_bot_cannot_post(nippo, people, mattermost, database):
    other = mattermost.add_channel(mattermost.team["id"], "elsewhere")
    mattermost.add_channel_member(other["id"], people["boss"]["id"], scheme_admin=True)
    text = nippo.reply(people["boss"], "at 09:00", "/subscribe", channel=other)
    assert "@" in text and "invite" in text.lower() or "招待" in text
    assert count(database, Subscription) == 0


def test_subscribe_refused_in_a_direct_message(nippo, people, mattermost, database):
    dm = mattermost.add_channel(mattermost.team["id"], f"{people['boss']['id']}__{people['alice']['id']}", type="D")
    text = nippo.reply(people["boss"], "at 09:00", "/subscribe", channel=dm)
    assert "/subscribe [at HH:MM]" in text
    assert count(database, Subscription) == 0


def test_unsubscribe_disables_and_subscribe_reenables_the_same(nippo, people, database):
    subscribed(nippo, people)
    nippo.reply(people["boss"], "", "/unsubscribe")
    with database.read() as session:
        first = session.scalars(select(Subscription)).one()
        assert not first.enabled
    nippo.reply(people["boss"], "at 10:00", "/subscribe")
    with database.read() as session:
        again = session.scalars(select(Subscription)).one()
    assert again.id == first.id and again.enabled and again.at_time == "10:00"


def test_a_leader_may_change_the_subscription_a_member_may_not(nippo, people, database):
    subscribed(nippo, people)
    nippo.reply(people["boss"], "add @alice @bob", "/team")
    nippo.reply(people["boss"], "leader @bob", "/team")
    nippo.reply(people["bob"], "at 11:00", "/subscribe")
    refused = nippo.reply(people["alice"], "at 12:00", "/subscribe")
    assert "/subscribe [at HH:MM]" in refused
    with database.read() as session:
        assert session.scalars(select(Subscription.at_time)).one() == "11:00"


# --- /team ------------------------------------------------------------------------

def test_team_add_remove_and_list(nippo, people, database):
    subscribed(nippo, people)
    nippo.reply(people["boss"], "add @alice @bob", "/team")
    listed = nippo.reply(people["alice"], "list", "/team")
    assert "alice" in listed and "bob" in listed and "boss" in listed
    nippo.reply(people["boss"], "remove @bob", "/team")
    assert "bob" not in nippo.reply(people["alice"], "list", "/team")


@pytest.mark.parametrize("back", ["add @alice", "leader @alice"])
def test_coming_back_to_the_roster_restarts_the_members_expected_days(nippo, people, database, clock, back):
    """Both ways back on a roster set a new join time: the days before are not
    counted for them (calendar.first_expected_day)."""
    subscribed(nippo, people)
    nippo.reply(people["boss"], "add @alice", "/team")
    nippo.reply(people["boss"], "remove @alice", "/team")
    clock.advance(days=3)
    nippo.reply(people["boss"], back, "/team")
    with database.read() as session:
        entry = session.scalars(select(RosterEntry).join(Member, Member.id == RosterEntry.member_id)
                                .where(Member.username == "alice")).one()
        assert entry.removed_at is None and entry.added_at == clock()


def test_team_add_refuses_bots_and_deactivated_users_by_name(nippo, people, database):
    subscribed(nippo, people)
    text = nippo.reply(people["boss"], "add @robot @ghost @alice", "/team")
    assert "robot" in text and "ghost" in text
    assert count(database, RosterEntry) == 1  # only the leader


def test_team_sync_adds_humans_never_removes_and_respects_removals(nippo, people, mattermost, database):
    subscribed(nippo, people)
    nippo.reply(people["boss"], "add @alice @bob", "/team")
    nippo.reply(people["boss"], "remove @bob", "/team")
    mattermost.remove_channel_member(mattermost.channel["id"], people["alice"]["id"])
    text = nippo.reply(people["boss"], "sync", "/team")
    listed = nippo.reply(people["boss"], "list", "/team")
    assert "carol" in listed  # added by sync
    assert "bob" not in listed  # removed before: not added back
    assert "robot" not in listed and "ghost" not in listed
    assert "alice" in listed and "alice" in text  # kept, and named as no longer in the channel


def test_team_list_flags_deactivated_members(nippo, people, mattermost):
    subscribed(nippo, people)
    nippo.reply(people["boss"], "add @alice", "/team")
    mattermost.deactivate_user(people["alice"]["id"])
    text = nippo.reply(people["boss"], "list", "/team")
    assert text.count("alice") >= 2  # listed, and flagged as deactivated


def test_team_link_and_days_off(nippo, people, database):
    subscribed(nippo, people)
    nippo.reply(people["boss"], "add @alice @bob", "/team")
    nippo.reply(people["boss"], "link @alice E-1234", "/team")
    with database.read() as session:
        assert session.scalars(select(RosterEntry.external_id).join(Member, Member.id == RosterEntry.member_id)
                               .where(Member.username == "alice")).one() == "E-1234"
    nippo.reply(people["boss"], "off 2026-12-29..2027-01-03", "/team")
    assert count(database, TeamDayOff) == 6
    nippo.reply(people["boss"], "on 2026-12-29", "/team")
    assert count(database, TeamDayOff) == 5


def test_team_link_only_for_this_roster_and_unique_ids(nippo, people, mattermost, database):
    subscribed(nippo, people)
    nippo.reply(people["boss"], "add @alice @bob", "/team")
    nippo.reply(people["boss"], "link @alice E-1", "/team")
    taken = nippo.reply(people["boss"], "link @bob e-1", "/team")
    assert "alice" in taken and "/team add" in taken
    stranger = nippo.reply(people["boss"], "link @carol E-9", "/team")
    assert "carol" in stranger
    with database.read() as session:
        links = dict(session.execute(select(Member.username, RosterEntry.external_id)
                                     .join(RosterEntry, RosterEntry.member_id == Member.id)).all())
    assert links.get("alice") == "E-1" and links.get("bob") is None and links.get("carol") is None


def test_an_admin_of_another_channel_cannot_mark_my_absence(nippo, people, mattermost, database):
    subscribed(nippo, people)
    nippo.reply(people["boss"], "add @alice", "/team")
    den = mattermost.add_channel(mattermost.team["id"], "mallorys-den")
    mattermost.add_channel_member(den["id"], people["bob"]["id"], scheme_admin=True)
    mattermost.add_channel_member(den["id"], mattermost.bot["id"])
    refused = nippo.reply(people["bob"], "off @alice 2026-11-30..2026-12-01", "/report", channel=den)
    assert "/report [DATE]" in refused
    assert count(database, Absence) == 0


def test_team_changes_need_a_leader(nippo, people, database):
    subscribed(nippo, people)
    nippo.reply(people["boss"], "add @alice", "/team")
    text = nippo.reply(people["alice"], "add @carol", "/team")
    assert "/team add" in text
    assert count(database, RosterEntry) == 2


@pytest.mark.parametrize("text", ["frobnicate", "add", "add bob", "leader", "link @alice", "off someday"])
def test_team_errors_show_the_usage(nippo, people, text):
    assert "/team add @user" in nippo.reply(people["boss"], text, "/team")


# --- /report-status ------------------------------------------------------------------

def test_status_lists_who_reported_missing_and_off(nippo, people):
    subscribed(nippo, people)
    nippo.reply(people["boss"], "add @alice @bob @carol", "/team")
    nippo.reply(people["alice"], "2026-11-30 did it", "/report")
    nippo.reply(people["bob"], "off 2026-11-30", "/report")
    text = nippo.reply(people["carol"], "2026-11-30", "/report-status")
    assert "2026-11-30" in text
    for who in ("alice", "bob", "carol", "boss"):
        assert f"@{ZWSP}{who}" in text  # named, never pinged


def test_status_default_date_is_the_next_runs_work_date(nippo, people):
    subscribed(nippo, people, "at 09:00 tz Asia/Tokyo")
    # 2026-12-01 00:00 UTC is Tuesday 09:00 in Tokyo: the run checks Monday 11-30
    assert "2026-11-30" in nippo.reply(people["boss"], "", "/report-status")


def test_status_without_subscription_says_which_day_it_chose(nippo, people):
    nippo.reply(people["boss"], "add @alice", "/team")
    text = nippo.reply(people["alice"], "", "/report-status")
    assert "2026-11-30" in text and "UTC" in text


def test_status_of_a_large_team_is_counts(nippo, people, mattermost):
    subscribed(nippo, people)
    names = []
    for n in range(60):
        user = mattermost.add_user(f"member{n:02d}")
        mattermost.add_team_member(mattermost.team["id"], user["id"])
        mattermost.add_channel_member(mattermost.channel["id"], user["id"])
        names.append(f"@member{n:02d}")
    nippo.reply(people["boss"], "add " + " ".join(names), "/team")
    text = nippo.reply(people["boss"], "2026-11-30", "/report-status")
    assert "61" in text and "member05" not in text


def test_status_public_posts_in_the_channel(nippo, people, mattermost):
    subscribed(nippo, people)
    ack = nippo.reply(people["boss"], "public", "/report-status")
    nippo.services.wait_for_background()  # the post goes out right after the answer
    posts = mattermost.posts_in(mattermost.channel["id"])
    assert len(posts) == 1 and "2026-11-30" in posts[0]["message"]
    assert ack and "2026-11-30" not in ack


# --- inert echo ---------------------------------------------------------------------

def test_user_text_never_pings(nippo, people, database):
    text = nippo.reply(people["alice"], "2026-13-01 @channel <!here>", "/report")
    assert "@channel" not in text and "<!here>" not in text


def test_status_answers_are_fresh_after_a_write_on_another_replica(nippo, people, database, mattermost, clock):
    """Status answers are reused while nothing changed. A report filed through
    another replica (its own process, its own Database) shows in this
    replica's very next answer: no time has to pass."""
    from db.status_cache import StatusCache
    from db.session import Database
    from tests.harness import start_nippo

    nippo.services.status_cache = StatusCache(monotonic=lambda: 1000.0)  # the clock never moves
    subscribed(nippo, people)
    nippo.reply(people["boss"], "add @alice", "/team")
    before = nippo.reply(people["boss"], "2026-11-30", "/report-status")
    assert nippo.reply(people["boss"], "2026-11-30", "/report-status") == before
    assert nippo.services.status_cache.hits == 1
    elsewhere = Database(database.url)
    other = start_nippo(elsewhere, mattermost, clock)
    try:
        other.reply(people["alice"], "2026-11-30 did it", "/report")
    finally:
        other.stop()
        elsewhere.dispose()
    after = nippo.reply(people["boss"], "2026-11-30", "/report-status")

    def missing_line(text):  # boss never reports: the line naming him is the missing line
        return next(line for line in text.splitlines() if "boss" in line)

    assert "alice" in missing_line(before) and "alice" not in missing_line(after) and "alice" in after


def test_a_write_through_this_replica_shows_at_once(nippo, people):
    from db.status_cache import StatusCache

    nippo.services.status_cache = StatusCache(monotonic=lambda: 1000.0)  # the clock never moves
    subscribed(nippo, people)
    nippo.reply(people["boss"], "add @alice", "/team")
    before = nippo.reply(people["boss"], "2026-11-30", "/report-status")
    nippo.reply(people["alice"], "2026-11-30 did it", "/report")
    assert nippo.reply(people["boss"], "2026-11-30", "/report-status") != before


def test_a_member_whose_client_reports_an_unknown_zone_still_gets_answers(nippo, people, mattermost):
    odd = mattermost.add_user("odd", timezone={"useAutomaticTimezone": "true", "automaticTimezone": "Etc/Unknown",
                                               "manualTimezone": ""})
    mattermost.add_channel_member(mattermost.channel["id"], odd["id"])
    for _ in range(2):
        assert "2026-12-01" in nippo.reply(odd, "did things", "/report")


@pytest.mark.parametrize("change", ["remove @bob", "off 2026-11-30"])
def test_cached_status_follows_roster_and_day_off_changes(nippo, people, change):
    subscribed(nippo, people)
    nippo.reply(people["boss"], "add @alice @bob", "/team")
    before = nippo.reply(people["alice"], "", "/report-status")
    nippo.reply(people["boss"], change, "/team")
    after = nippo.reply(people["alice"], "", "/report-status")
    assert after != before


def test_report_text_with_a_nul_is_refused_with_the_usage(nippo, people, database):
    text = nippo.reply(people["alice"], "did a\x00b", "/report")
    assert "/report [DATE]" in text
    assert count(database, Report) == 0


def test_a_large_sync_answers_at_once_and_follows_up_through_response_url(nippo, people, mattermost, database):
    subscribed(nippo, people)
    for n in range(230):
        user = mattermost.add_user(f"crowd{n:03d}")
        mattermost.add_channel_member(mattermost.channel["id"], user["id"])
    first = nippo.reply(people["boss"], "sync", "/team")
    nippo.services.wait_for_background()
    [follow_up] = [r["response"] for r in mattermost.command_responses]
    assert follow_up["response_type"] == "ephemeral" and "233" in follow_up["text"]  # alice, bob, carol and the crowd
    assert first != follow_up["text"]
    assert count(database, RosterEntry) == 1 + 3 + 230  # boss, alice, bob, carol and the crowd; no bots


# --- authenticity ---------------------------------------------------------------------

@pytest.mark.parametrize("token", ["", "wrong-token", "cmdtoken000000000000000000"])
def test_a_wrong_command_token_is_401_and_changes_nothing(nippo, people, database, token, caplog):
    form = nippo.mattermost.slash_command_form(people["alice"], nippo.mattermost.channel, "/report", "secret text", token)
    answer = requests.post(f"{nippo.url}/mattermost/command", data=form, timeout=10)
    assert answer.status_code == 401
    assert count(database, Report) == 0
    assert "secret text" not in caplog.text and (not token or token not in caplog.text)


def test_the_token_may_come_in_the_authorization_header(nippo, people, database):
    from tests.harness import COMMAND_TOKEN

    form = nippo.mattermost.slash_command_form(people["alice"], nippo.mattermost.channel, "/report", "via header", "")
    form.pop("token")
    answer = requests.post(f"{nippo.url}/mattermost/command", data=form,
                           headers={"Authorization": f"Token {COMMAND_TOKEN}"}, timeout=10)
    assert answer.status_code == 200
    assert count(database, Report) == 1


def test_a_command_that_is_not_form_encoded_is_400(nippo, people, database):
    answer = requests.post(f"{nippo.url}/mattermost/command", json={"command": "/report", "text": "x"}, timeout=10)
    assert answer.status_code == 400
    assert count(database, Report) == 0


def test_subscribe_answers_in_the_language_just_chosen(nippo, people):
    def japanese(text):
        return any("\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff" for c in text)

    first = nippo.reply(people["boss"], "tz Asia/Tokyo lang ja", "/subscribe")
    assert "Asia/Tokyo" in first and japanese(first)
    assert japanese(nippo.reply(people["boss"], "persona plain", "/subscribe"))
    assert not japanese(nippo.reply(people["boss"], "lang en", "/subscribe"))
