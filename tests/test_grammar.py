"""The slash-command grammar of docs/commands.md, table by table."""
from datetime import date, time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.grammar import (
    PARSERS, REPORT_TEXT_LIMIT, DateSpan, FileReport, Help, MarkAbsence, ShowStatus,
    Subscribe, TeamAdd, TeamDaysOff, TeamLeader, TeamLink, TeamList, TeamRemove, TeamSync,
    Unsubscribe, UsageError, parse_date, parse_report, parse_report_status, parse_span,
    parse_subscribe, parse_team, parse_unsubscribe,
)

TODAY = date(2026, 11, 27)  # a Friday
D = date


def span(start, end=None):
    return DateSpan(start, end or start)


def error(command, key, **params):
    return UsageError(command, key, params)


# --- DATE -------------------------------------------------------------------

@pytest.mark.parametrize("token, today, expected", [
    ("today", TODAY, TODAY),
    ("Today", TODAY, TODAY),
    ("TODAY", TODAY, TODAY),
    ("yesterday", TODAY, D(2026, 11, 26)),
    ("YESTERDAY", D(2026, 1, 1), D(2025, 12, 31)),
    ("2026-11-20", TODAY, D(2026, 11, 20)),
    ("2024-02-29", TODAY, D(2024, 2, 29)),
    ("2030-01-01", TODAY, D(2030, 1, 1)),  # far ahead is a date; reports refuse it later
    # MM-DD: the nearest such date at most one day ahead
    ("11-27", TODAY, TODAY),
    ("11-28", TODAY, D(2026, 11, 28)),
    ("11-29", TODAY, D(2025, 11, 29)),
    ("12-31", D(2026, 1, 2), D(2025, 12, 31)),
    ("01-01", D(2026, 12, 31), D(2027, 1, 1)),
    ("01-02", D(2026, 12, 31), D(2026, 1, 2)),
    ("01-05", D(2026, 1, 2), D(2025, 1, 5)),
    ("01-03", D(2026, 1, 2), D(2026, 1, 3)),
    ("02-29", TODAY, D(2024, 2, 29)),
    ("02-29", D(2028, 2, 28), D(2028, 2, 29)),
    ("02-29", D(2028, 2, 27), D(2024, 2, 29)),
])
def test_date_forms(token, today, expected):
    assert parse_date(token, today) == expected


@pytest.mark.parametrize("token", [
    "2026-13-45", "2026-02-29", "2026-04-31", "0000-01-01", "2026-00-10", "2026-01-00",
    "02-30", "13-01", "00-10", "11-31", "04-31",
])
def test_date_shaped_but_no_real_date_is_bad_date(token):
    assert parse_date(token, TODAY, command="report") == error("report", "error.bad_date", token=token)


@pytest.mark.parametrize("token", [
    "3-4", "2026-1-05", "2026-01-5", "1-05", "11-5", "tomorrow", "20261127", "2026/11/27",
    "11-27-", "-11-27", "12026-11-27", "１１-２７", "todays", "hours", "", "@bob",
])
def test_not_date_shaped_is_none(token):
    assert parse_date(token, TODAY) is None


# --- DATE..DATE ---------------------------------------------------------------

@pytest.mark.parametrize("token, today, expected", [
    ("2026-11-20..2026-11-24", TODAY, span(D(2026, 11, 20), D(2026, 11, 24))),
    ("11-20..11-24", TODAY, span(D(2026, 11, 20), D(2026, 11, 24))),
    ("11-27..11-27", TODAY, span(TODAY)),
    ("yesterday..today", TODAY, span(D(2026, 11, 26), TODAY)),
    ("2026-11-20", TODAY, span(D(2026, 11, 20))),
    ("today", TODAY, span(TODAY)),
    ("2026-01-01..2026-12-31", TODAY, span(D(2026, 1, 1), D(2026, 12, 31))),  # 365 days
    ("2024-01-01..2024-12-31", TODAY, span(D(2024, 1, 1), D(2024, 12, 31))),  # 366 days
    ("2026-12-01..2027-12-01", TODAY, span(D(2026, 12, 1), D(2027, 12, 1))),  # 366 days
    # each MM-DD is read on its own, so a range may span New Year once it is past
    ("12-30..01-02", D(2027, 1, 5), span(D(2026, 12, 30), D(2027, 1, 2))),
    ("12-30..01-01", D(2026, 12, 31), span(D(2026, 12, 30), D(2027, 1, 1))),
])
def test_span_forms(token, today, expected):
    assert parse_span(token, today) == expected


def test_span_is_inclusive():
    got = parse_span("11-20..11-24", TODAY)
    assert got.days == 5
    assert list(got.each_day()) == [D(2026, 11, d) for d in range(20, 25)]


@pytest.mark.parametrize("token, today, key, params", [
    ("2026-12-01..2027-12-02", TODAY, "error.range_too_long", {"days": 367, "limit": 366}),
    ("2025-01-01..2026-12-31", TODAY, "error.range_too_long", {"days": 730, "limit": 366}),
    ("2026-11-24..2026-11-20", TODAY, "error.range_backwards", {"token": "2026-11-24..2026-11-20"}),
    ("today..yesterday", TODAY, "error.range_backwards", {"token": "today..yesterday"}),
    ("11-24..11-20", TODAY, "error.range_backwards", {"token": "11-24..11-20"}),
    # 01-02 is two days ahead on 12-31, so it is last January's: YYYY-MM-DD plans ahead
    ("12-30..01-02", D(2026, 12, 31), "error.range_backwards", {"token": "12-30..01-02"}),
    ("2026-02-30..2026-03-02", TODAY, "error.bad_date", {"token": "2026-02-30"}),
    ("11-20..11-31", TODAY, "error.bad_date", {"token": "11-31"}),
])
def test_span_errors(token, today, key, params):
    assert parse_span(token, today, command="team") == UsageError("team", key, params)


@pytest.mark.parametrize("token", ["11-20..", "..11-20", "11-20...11-24", "a..b", "3-4..5-6", "hours"])
def test_not_span_shaped_is_none(token):
    assert parse_span(token, TODAY) is None


def test_date_span_refuses_backwards_construction():
    with pytest.raises(ValueError):
        DateSpan(D(2026, 11, 2), D(2026, 11, 1))


# --- /report ------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("", FileReport(TODAY, None)),
    ("   \n\t ", FileReport(TODAY, None)),
    ("did X", FileReport(TODAY, "did X")),
    ("  did X", FileReport(TODAY, "did X")),
    ("2026-11-26 did X\n- did Y", FileReport(D(2026, 11, 26), "did X\n- did Y")),
    ("2026-11-26\n- did X\n- did Y", FileReport(D(2026, 11, 26), "- did X\n- did Y")),
    ("yesterday   fixed  the   build\n\n  indented\n", FileReport(D(2026, 11, 26), "fixed  the   build\n\n  indented\n")),
    ("Yesterday", FileReport(D(2026, 11, 26), None)),
    ("11-26 \n\t ", FileReport(D(2026, 11, 26), None)),
    ("11-28 planning", FileReport(D(2026, 11, 28), "planning")),  # one day ahead is allowed
    ("today 日報です\u3000よろしく", FileReport(TODAY, "日報です\u3000よろしく")),
    ("today\u3000日報", FileReport(TODAY, "日報")),
    ("3-4 hours on review", FileReport(TODAY, "3-4 hours on review")),
    ("tomorrow I start", FileReport(TODAY, "tomorrow I start")),
    ("did 02-30 stuff", FileReport(TODAY, "did 02-30 stuff")),  # only the first word can be DATE
    # off / on / help are subcommands only when followed by dates, ranges, @users or nothing
    ("off to a good start", FileReport(TODAY, "off to a good start")),
    ("on time today", FileReport(TODAY, "on time today")),
    ("help me please", FileReport(TODAY, "help me please")),
    ("off 11-20 because I was ill", FileReport(TODAY, "off 11-20 because I was ill")),
    ("help", Help("report")),
    ("HELP", Help("report")),
    ("help 11-20", Help("report")),
    ("off", MarkAbsence(False, None, span(TODAY))),
    ("OFF", MarkAbsence(False, None, span(TODAY))),
    ("on", MarkAbsence(True, None, span(TODAY))),
    ("off yesterday", MarkAbsence(False, None, span(D(2026, 11, 26)))),
    ("off 2026-12-24..2026-12-26", MarkAbsence(False, None, span(D(2026, 12, 24), D(2026, 12, 26)))),
    ("off @bob 11-20..11-24", MarkAbsence(False, "bob", span(D(2026, 11, 20), D(2026, 11, 24)))),
    ("off 11-20..11-24 @Bob", MarkAbsence(False, "bob", span(D(2026, 11, 20), D(2026, 11, 24)))),
    ("on @alice.b", MarkAbsence(True, "alice.b", span(TODAY))),
    ("  off\n@bob  today ", MarkAbsence(False, "bob", span(TODAY))),
    ("off 2027-01-04", MarkAbsence(False, None, span(D(2027, 1, 4)))),  # absences may be ahead
])
def test_report(text, expected):
    assert parse_report(text, TODAY) == expected


@pytest.mark.parametrize("text, key, params", [
    ("2026-13-45 did X", "error.bad_date", {"token": "2026-13-45"}),
    ("02-30 did X", "error.bad_date", {"token": "02-30"}),
    ("2026-02-29", "error.bad_date", {"token": "2026-02-29"}),
    ("11-20..11-24 away", "error.bad_date", {"token": "11-20..11-24"}),
    ("2026-11-29 did X", "error.future_date", {"date": "2026-11-29"}),
    ("2027-01-01", "error.future_date", {"date": "2027-01-01"}),
    ("off 02-30", "error.bad_date", {"token": "02-30"}),
    ("off 11-24..11-20", "error.range_backwards", {"token": "11-24..11-20"}),
    ("off 2026-01-01..2027-01-02", "error.range_too_long", {"days": 367, "limit": 366}),
    ("off @bob @alice", "error.unknown_option", {"token": "@alice"}),
    ("on today yesterday", "error.unknown_option", {"token": "yesterday"}),
])
def test_report_errors(text, key, params):
    assert parse_report(text, TODAY) == UsageError("report", key, params)


def test_report_text_at_the_limit_is_filed():
    text = "x" * REPORT_TEXT_LIMIT
    assert parse_report(f"today {text}", TODAY) == FileReport(TODAY, text)


def test_report_text_over_the_limit_is_refused():
    text = "x" * 2999 + "\n\n"
    assert parse_report(text, TODAY) == error("report", "error.text_too_long", limit=3000, length=3001)


# --- /report-status -------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("", ShowStatus(None, False)),
    ("public", ShowStatus(None, True)),
    ("PUBLIC", ShowStatus(None, True)),
    ("yesterday", ShowStatus(D(2026, 11, 26), False)),
    ("11-20 public", ShowStatus(D(2026, 11, 20), True)),
    ("Public 2026-11-20", ShowStatus(D(2026, 11, 20), True)),
    ("help", Help("report-status")),
])
def test_report_status(text, expected):
    assert parse_report_status(text, TODAY) == expected


@pytest.mark.parametrize("text, key, params", [
    ("02-30", "error.bad_date", {"token": "02-30"}),
    ("11-20..11-24", "error.bad_date", {"token": "11-20..11-24"}),
    ("2026-12-01", "error.future_date", {"date": "2026-12-01"}),
    ("loudly", "error.unknown_option", {"token": "loudly"}),
    ("today yesterday", "error.unknown_option", {"token": "yesterday"}),
    ("public public", "error.given_twice", {"option": "public"}),
    ("help public", "error.unknown_option", {"token": "help"}),
])
def test_report_status_errors(text, key, params):
    assert parse_report_status(text, TODAY) == UsageError("report-status", key, params)


# --- /subscribe -----------------------------------------------------------------

WEEKDAYS = frozenset(range(5))


@pytest.mark.parametrize("text, options", [
    ("", {}),
    ("at 9:05", {"at": time(9, 5)}),
    ("at 09:05", {"at": time(9, 5)}),
    ("at 00:00", {"at": time(0, 0)}),
    ("at 23:59", {"at": time(23, 59)}),
    ("tz Asia/Tokyo", {"tz": "Asia/Tokyo"}),
    ("tz UTC", {"tz": "UTC"}),
    ("tz america/new_york", {"tz": "America/New_York"}),
    ("tz utc", {"tz": "UTC"}),
    ("days mon-fri", {"days": WEEKDAYS}),
    ("days Mon-Fri", {"days": WEEKDAYS}),
    ("days mon,wed,fri", {"days": frozenset({0, 2, 4})}),
    ("days mon, wed, fri", {"days": frozenset({0, 2, 4})}),
    ("days mon-wed,fri", {"days": frozenset({0, 1, 2, 4})}),
    ("days sat-mon", {"days": frozenset({5, 6, 0})}),
    ("days sun", {"days": frozenset({6})}),
    ("days monday-friday", {"days": WEEKDAYS}),
    ("days 月-金", {"days": WEEKDAYS}),
    ("to dm", {"to": "dm"}),
    ("to Channel", {"to": "channel"}),
    ("to both", {"to": "both"}),
    ("persona emperor", {"persona": "emperor"}),
    ("persona my_own-2", {"persona": "my_own-2"}),
    ("lang en", {"lang": "en"}),
    ("lang JA", {"lang": "ja"}),
    ("holidays jp", {"holidays": "JP"}),
    ("holidays US", {"holidays": "US"}),
    ("holidays none", {"holidays": None}),
    ("holidays NONE", {"holidays": None}),
    ("check previous", {"check": "previous"}),
    ("check same-day", {"check": "same-day"}),
    ("escalate 0", {"escalate": 0}),
    ("escalate 3", {"escalate": 3}),
    ("escalate 365", {"escalate": 365}),
    ("escalate 007", {"escalate": 7}),
    ("mention on", {"mention": True}),
    ("mention OFF", {"mention": False}),
    ("MENTION off AT 7:30", {"mention": False, "at": time(7, 30)}),
])
def test_subscribe_option(text, options):
    assert parse_subscribe(text) == Subscribe(options)


def test_subscribe_takes_every_option_in_any_order():
    text = ("mention off escalate 5 check same-day holidays JP lang ja persona polite "
            "to both days mon-fri tz Asia/Tokyo at 8:30")
    assert parse_subscribe(text) == Subscribe({
        "at": time(8, 30), "tz": "Asia/Tokyo", "days": WEEKDAYS, "to": "both",
        "persona": "polite", "lang": "ja", "holidays": "JP", "check": "same-day",
        "escalate": 5, "mention": False,
    })


def bad_value(option, value, expected):
    return error("subscribe", "error.bad_value", option=option, value=value, expected=expected)


@pytest.mark.parametrize("text, expected", [
    ("help", Help("subscribe")),
    ("at", bad_value("at", "", "HH:MM (00:00-23:59)")),
    ("at 24:00", bad_value("at", "24:00", "HH:MM (00:00-23:59)")),
    ("at 9:5", bad_value("at", "9:5", "HH:MM (00:00-23:59)")),
    ("at 9:60", bad_value("at", "9:60", "HH:MM (00:00-23:59)")),
    ("at 0900", bad_value("at", "0900", "HH:MM (00:00-23:59)")),
    ("at 9am", bad_value("at", "9am", "HH:MM (00:00-23:59)")),
    ("at ０９:００", bad_value("at", "０９:００", "HH:MM (00:00-23:59)")),
    ("tz", bad_value("tz", "", "ZONE")),
    ("tz Mars/Olympus", error("subscribe", "error.bad_timezone", value="Mars/Olympus")),
    ("tz JST", error("subscribe", "error.bad_timezone", value="JST")),
    ("tz ../../etc/passwd", error("subscribe", "error.bad_timezone", value="../../etc/passwd")),
    ("tz /usr/share/zoneinfo/UTC", error("subscribe", "error.bad_timezone", value="/usr/share/zoneinfo/UTC")),
    ("tz Asia/../Asia/Tokyo", error("subscribe", "error.bad_timezone", value="Asia/../Asia/Tokyo")),
    ("tz localtime", error("subscribe", "error.bad_timezone", value="localtime")),
    ("days mon-", bad_value("days", "mon-", "mon-fri | mon,wed,fri")),
    ("days mon,,fri", bad_value("days", "mon,,fri", "mon-fri | mon,wed,fri")),
    ("days weekdays", bad_value("days", "weekdays", "mon-fri | mon,wed,fri")),
    ("days mon-tue-wed", bad_value("days", "mon-tue-wed", "mon-fri | mon,wed,fri")),
    ("to email", bad_value("to", "email", "dm|channel|both")),
    ("persona ../../secrets", bad_value("persona", "../../secrets", "NAME")),
    ("persona emperor.toml", bad_value("persona", "emperor.toml", "NAME")),
    ("lang fr", bad_value("lang", "fr", "en|ja")),
    ("holidays XX", bad_value("holidays", "XX", "CC|none")),
    ("holidays JPN", bad_value("holidays", "JPN", "CC|none")),
    ("holidays ß", bad_value("holidays", "ß", "CC|none")),
    ("check next", bad_value("check", "next", "previous|same-day")),
    ("escalate 366", bad_value("escalate", "366", "0-365")),
    ("escalate -1", bad_value("escalate", "-1", "0-365")),
    ("escalate 2.5", bad_value("escalate", "2.5", "0-365")),
    ("escalate ３", bad_value("escalate", "３", "0-365")),
    ("escalate " + "9" * 5000, bad_value("escalate", "9" * 5000, "0-365")),
    ("mention yes", bad_value("mention", "yes", "on|off")),
    ("at tz Asia/Tokyo", bad_value("at", "tz", "HH:MM (00:00-23:59)")),
    ("colour red", error("subscribe", "error.unknown_option", token="colour")),
    ("at 9:00 loudly", error("subscribe", "error.unknown_option", token="loudly")),
    ("help me", error("subscribe", "error.unknown_option", token="help")),
    # an option named twice is an error, even with the same value
    ("at 9:00 at 10:00", error("subscribe", "error.given_twice", option="at")),
    ("tz UTC lang en TZ UTC", error("subscribe", "error.given_twice", option="tz")),
])
def test_subscribe_errors(text, expected):
    assert parse_subscribe(text) == expected


# --- /unsubscribe ----------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("", Unsubscribe()),
    ("  \n", Unsubscribe()),
    ("help", Help("unsubscribe")),
    ("Help", Help("unsubscribe")),
    ("now", error("unsubscribe", "error.unknown_option", token="now")),
    ("help me", error("unsubscribe", "error.unknown_option", token="help")),
])
def test_unsubscribe(text, expected):
    assert parse_unsubscribe(text) == expected


# --- /team ------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("", Help("team")),
    ("help", Help("team")),
    ("HELP", Help("team")),
    ("add @bob", TeamAdd(("bob",))),
    ("add @bob @Alice @bob", TeamAdd(("bob", "alice"))),
    ("add @bob,@alice", TeamAdd(("bob", "alice"))),
    ("add @bob, @alice", TeamAdd(("bob", "alice"))),
    ("Remove @bob", TeamRemove(("bob",))),
    ("leader @carol", TeamLeader("carol")),
    ("list", TeamList()),
    ("sync", TeamSync()),
    ("link @bob EMP-0042", TeamLink("bob", "EMP-0042")),
    ("off 12-29..01-03", TeamDaysOff(False, span(D(2025, 12, 29), D(2026, 1, 3)))),
    ("off 2026-12-29..2027-01-03", TeamDaysOff(False, span(D(2026, 12, 29), D(2027, 1, 3)))),
    ("on 2026-12-29", TeamDaysOff(True, span(D(2026, 12, 29)))),
    ("off today", TeamDaysOff(False, span(TODAY))),
])
def test_team(text, expected):
    assert parse_team(text, TODAY) == expected


def team_bad_value(option, value, expected):
    return error("team", "error.bad_value", option=option, value=value, expected=expected)


@pytest.mark.parametrize("text, expected", [
    ("frobnicate", error("team", "error.unknown_option", token="frobnicate")),
    ("@bob", error("team", "error.unknown_option", token="@bob")),
    ("add", team_bad_value("add", "", "@user")),
    ("add bob", team_bad_value("add", "bob", "@user")),
    ("add @bob carol", team_bad_value("add", "carol", "@user")),
    ("remove", team_bad_value("remove", "", "@user")),
    ("leader", team_bad_value("leader", "", "@user")),
    ("leader carol", team_bad_value("leader", "carol", "@user")),
    ("leader @carol @dave", error("team", "error.one_user", option="leader", token="@dave")),
    ("leader @carol now", error("team", "error.unknown_option", token="now")),
    ("list all", error("team", "error.unknown_option", token="all")),
    ("sync now", error("team", "error.unknown_option", token="now")),
    ("link", team_bad_value("link", "", "@user EXTERNAL_ID")),
    ("link @bob", team_bad_value("link", "", "@user EXTERNAL_ID")),
    ("link bob E1", team_bad_value("link", "bob", "@user EXTERNAL_ID")),
    ("link @bob " + "x" * 256, team_bad_value("link", "x" * 256, "@user EXTERNAL_ID")),
    ("link @bob E1 E2", error("team", "error.unknown_option", token="E2")),
    ("off", team_bad_value("off", "", "DATE | DATE..DATE")),
    ("on", team_bad_value("on", "", "DATE | DATE..DATE")),
    ("off christmas", error("team", "error.bad_date", token="christmas")),
    ("off 02-30", error("team", "error.bad_date", token="02-30")),
    ("off 11-03..10-29", error("team", "error.range_backwards", token="11-03..10-29")),
    ("off 2026-01-01..2027-01-02", error("team", "error.range_too_long", days=367, limit=366)),
    ("off today yesterday", error("team", "error.unknown_option", token="yesterday")),
])
def test_team_errors(text, expected):
    assert parse_team(text, TODAY) == expected


# --- every parser is total ----------------------------------------------------------

RESULT_TYPES = {
    "/report": (FileReport, MarkAbsence, Help, UsageError),
    "/report-status": (ShowStatus, Help, UsageError),
    "/subscribe": (Subscribe, Help, UsageError),
    "/unsubscribe": (Unsubscribe, Help, UsageError),
    "/team": (TeamAdd, TeamRemove, TeamLeader, TeamList, TeamSync, TeamLink, TeamDaysOff,
              Help, UsageError),
}

GRAMMAR_WORDS = [
    "off", "on", "help", "public", "today", "yesterday", "Today", "OFF", "add", "remove",
    "leader", "list", "sync", "link", "at", "tz", "days", "to", "persona", "lang", "holidays",
    "check", "escalate", "mention", "none", "dm", "channel", "both", "mon-fri", "sat-mon",
    "mon,wed,fri", "9:00", "24:00", "Asia/Tokyo", "UTC", "../etc", "JP", "same-day", "365",
    "11-27", "02-30", "2026-11-20", "2026-13-45", "11-20..11-24", "12-30..01-02", "3-4",
    "@bob", "@", "@Alice", "..", "-", ",",
]
SEPARATORS = [" ", "  ", "\n", "\t", "\u3000", " \n "]

words = st.one_of(st.sampled_from(GRAMMAR_WORDS), st.text(max_size=8))
grammar_text = st.lists(st.tuples(words, st.sampled_from(SEPARATORS)), max_size=8).map(
    lambda parts: "".join(w + s for w, s in parts))
any_text = st.one_of(st.text(), grammar_text)
any_day = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))


def test_parsers_cover_the_five_triggers():
    assert set(PARSERS) == set(RESULT_TYPES)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=any_text, today=st.one_of(st.just(TODAY), any_day),
       trigger=st.sampled_from(sorted(RESULT_TYPES)))
def test_every_parser_returns_one_of_its_results_and_never_raises(text, today, trigger):
    assert isinstance(PARSERS[trigger](text, today), RESULT_TYPES[trigger])


@settings(max_examples=200, deadline=None)
@given(body=st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
                    min_size=1, max_size=REPORT_TEXT_LIMIT))
def test_report_text_after_a_date_is_kept_verbatim(body):
    body = body.lstrip()
    got = parse_report("2026-11-26 " + body, TODAY)
    assert got == FileReport(D(2026, 11, 26), body or None)


@pytest.mark.parametrize("text", ["did a\x00b", "broken \ud800 text"])
def test_report_text_that_cannot_be_stored_is_refused(text):
    assert parse_report("2026-11-26 " + text, TODAY) == UsageError("report", "error.bad_characters", {})
