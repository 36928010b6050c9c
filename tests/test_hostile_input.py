"""Whatever arrives at nippo's endpoints: no answer is a 5xx,
no reply is an apology, and nothing logs a traceback or an error.

Hypothesis throws arbitrary JSON (deep nesting, huge and odd strings, NUL,
wrong types) at the button, dialog and push endpoints, and slash commands
whose fields are too long or hold NUL, on SQLite and PostgreSQL, against the
Mattermost stand-in (which also fails the test if nippo's own calls stop
matching Mattermost's API)."""

from __future__ import annotations

import json
import logging
import os
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.buttons import ACTIONS, action_context
from tests.harness import API_TOKEN, COMMAND_TOKEN

# The same examples on every run; NIPPO_FUZZ_EXAMPLES=N explores N fresh ones instead.
EXPLORE = int(os.environ.get("NIPPO_FUZZ_EXAMPLES", "0"))
PROPERTY = settings(max_examples=EXPLORE or 60, deadline=None, derandomize=not EXPLORE,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
MONDAY = date(2026, 11, 30)
FAR = datetime(2100, 1, 1, tzinfo=timezone.utc)

odd_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\ud800", "\u202e\u200b", "@channel", "<!here>", "x" * 65,
                     "x" * 5000, "é" * 70, "\n\t\r", "2026-13-45", "9" * 400, "../../etc", "%00", "null"]),
)
form_text = odd_text.filter(lambda s: "\ud800" not in s)  # a form is UTF-8 on the wire
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | odd_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12)
deep = st.integers(30, 20_000).map(lambda n: b"[" * n + b"]" * n)  # a raw body


@pytest.fixture
def scene(nippo, mattermost, caplog):
    """A roster (boss leads, alice is on it) and a client for nippo's app."""
    from web.app import create_app

    caplog.set_level(logging.INFO)
    users = {}
    for username in ("boss", "alice", "bob"):
        user = users[username] = mattermost.add_user(username)
        mattermost.add_team_member(mattermost.team["id"], user["id"])
        mattermost.add_channel_member(mattermost.channel["id"], user["id"], scheme_admin=username == "boss")
    assert "alice" in nippo.reply(users["boss"], "add @alice", "/team")
    return {"nippo": nippo, "users": users, "client": create_app(services=nippo.services).test_client(),
            "caplog": caplog, "apologies": _apologies(nippo.services)}


def _apologies(services) -> list[str]:
    """The start of every persona's apology, in every language."""
    starts = []
    for name in services.personas.names():
        persona = services.personas.get(name)
        for lang in ("en", "ja"):
            for variant in persona.variants("error.internal", lang):
                starts.append(variant.split("{")[0])
    return [s for s in starts if s.strip()]


def assert_harmless(scene, answer) -> None:
    assert answer.status_code < 500, answer.get_data(as_text=True)[:300]
    records = scene["caplog"].records
    assert not [r for r in records if r.exc_info or r.levelno >= logging.ERROR], [r.getMessage() for r in records]
    text = answer.get_data(as_text=True)
    assert not any(apology in text for apology in scene["apologies"]), text[:300]
    scene["nippo"].services.wait_for_background()
    assert not [r for r in scene["caplog"].records if r.exc_info or r.levelno >= logging.ERROR]


def post_json(scene, path: str, body) -> object:
    scene["caplog"].clear()
    data = body if isinstance(body, bytes) else json.dumps(body)
    return scene["client"].post(path, data=data, content_type="application/json",
                                headers={"Authorization": f"Bearer {API_TOKEN}"})


@PROPERTY
@given(body=st.one_of(json_values, deep))
def test_any_json_at_any_json_endpoint_is_never_a_5xx(scene, body):
    for path in ("/mattermost/actions", "/mattermost/dialogs", "/api/v1/reports"):
        assert_harmless(scene, post_json(scene, path, body))


report_items = st.fixed_dictionaries({}, optional={
    "user": st.one_of(st.sampled_from(["alice", "@alice", "ALICE", "nobody"]), odd_text, json_values),
    "email": st.one_of(st.sampled_from(["alice@example.com"]), odd_text),
    "external_id": odd_text,
    "date": st.one_of(st.sampled_from(["2026-11-30", "2026-12-02", "2026-02-30", "0001-01-01"]), odd_text,
                      json_values),
    "text": st.one_of(odd_text, json_values),
    "extra": json_values,
})


@PROPERTY
@given(body=st.one_of(report_items, st.lists(report_items, max_size=4)))
def test_pushed_reports_of_any_shape_are_never_a_5xx(scene, body):
    assert_harmless(scene, post_json(scene, "/api/v1/reports", body))


@PROPERTY
@given(data=st.data(), action=st.sampled_from(ACTIONS),
       fields=st.dictionaries(st.sampled_from(["user_id", "post_id", "trigger_id", "channel_id", "team_id",
                                               "user_name", "channel_name", "type", "context"]),
                              st.one_of(odd_text, json_values), max_size=3))
def test_a_click_with_odd_fields_is_never_a_5xx(scene, data, action, fields):
    alice = scene["users"]["alice"]
    signer = scene["nippo"].services.signer
    work_date = data.draw(st.sampled_from([MONDAY, MONDAY - timedelta(days=400), MONDAY + timedelta(days=3)]))
    payload = {"user_id": alice["id"], "user_name": "alice", "channel_id": scene["nippo"].mattermost.channel["id"],
               "post_id": "", "trigger_id": "", "type": "button",
               "context": action_context(signer, action, alice["id"], work_date, FAR), **fields}
    assert_harmless(scene, post_json(scene, "/mattermost/actions", payload))


@PROPERTY
@given(submission=st.one_of(json_values, st.fixed_dictionaries({}, optional={
           "work_date": st.one_of(st.sampled_from(["2026-11-30", "11-30", "yesterday"]), odd_text, json_values),
           "text": st.one_of(odd_text, json_values)})),
       fields=st.dictionaries(st.sampled_from(["user_id", "channel_id", "team_id", "callback_id", "state",
                                               "cancelled", "type"]),
                              st.one_of(odd_text, json_values), max_size=2))
def test_a_dialog_submission_with_odd_fields_is_never_a_5xx(scene, submission, fields):
    alice = scene["users"]["alice"]
    state = scene["nippo"].services.signer.sign_text({
        "k": "report", "u": alice["id"], "d": MONDAY.isoformat(), "e": int(FAR.timestamp()), "p": "", "r": ""})
    payload = {"type": "dialog_submission", "callback_id": "report", "state": state, "user_id": alice["id"],
               "channel_id": "", "team_id": "", "submission": submission, "cancelled": False, **fields}
    assert_harmless(scene, post_json(scene, "/mattermost/dialogs", payload))


WORDS = ["add", "remove", "leader", "link", "list", "sync", "off", "on", "help", "public", "@alice", "@bob",
         "@nobody", "@alice,@bob", "2026-11-30", "11-30..12-01", "today", "at", "09:00", "tz", "Asia/Tokyo",
         "days", "mon-fri", "to", "dm", "persona", "plain", "lang", "ja", "again", "escalate", "3", "mention"]
words = st.lists(st.one_of(st.sampled_from(WORDS), form_text), max_size=6).map(" ".join)


@PROPERTY
@given(command=st.sampled_from(["/report", "/report-status", "/subscribe", "/unsubscribe", "/team"]),
       text=st.one_of(form_text, words),
       fields=st.dictionaries(st.sampled_from(["channel_name", "user_name", "team_id", "team_domain", "root_id",
                                               "trigger_id", "response_url", "user_mentions", "channel_id",
                                               "user_id", "command"]),
                              form_text, max_size=2),
       who=st.sampled_from(["boss", "alice"]))
def test_a_slash_command_with_odd_fields_is_never_a_5xx(scene, command, text, fields, who):
    nippo = scene["nippo"]
    form = nippo.mattermost.slash_command_form(scene["users"][who], nippo.mattermost.channel, command, text,
                                               COMMAND_TOKEN)
    form.update(fields)
    scene["caplog"].clear()
    answer = scene["client"].post("/mattermost/command", data=form)
    assert_harmless(scene, answer)
    if answer.status_code == 200:
        assert answer.get_json()["response_type"] == "ephemeral"


# Where an odd value meets each argument of each command, typed by a leader.
TEMPLATES = [
    ("/report", "{x}"), ("/report", "2026-11-30 {x}"), ("/report", "off @alice {x}"), ("/report", "on {x}"),
    ("/report", "off {x}..2026-12-01"), ("/report-status", "{x}"), ("/report-status", "{x} public"),
    ("/subscribe", "tz {x}"), ("/subscribe", "at {x}"), ("/subscribe", "days {x}"), ("/subscribe", "persona {x}"),
    ("/subscribe", "holidays {x}"), ("/subscribe", "escalate {x}"), ("/subscribe", "again {x}"),
    ("/subscribe", "digest {x} 17:00"), ("/unsubscribe", "{x}"), ("/team", "add @{x}"), ("/team", "add {x}"),
    ("/team", "remove @alice @{x}"), ("/team", "leader @{x}"), ("/team", "link @alice {x}"),
    ("/team", "link @{x} E-1"), ("/team", "off {x}"), ("/team", "{x}"),
]
ODD_VALUES = ["\x00", "a\x00b", "x" * 65, "x" * 201, "x" * 5000, "é" * 70, "\u202e", "@channel", "9" * 400,
              "2026-13-45", "..", ",", "@", "\u3000"]


@pytest.mark.parametrize("command, template", TEMPLATES)
@settings(PROPERTY, max_examples=EXPLORE or 12)
@given(value=st.one_of(st.sampled_from(ODD_VALUES), form_text))
def test_an_odd_value_in_any_argument_gets_an_answer_not_an_apology(scene, command, template, value):
    nippo = scene["nippo"]
    form = nippo.mattermost.slash_command_form(scene["users"]["boss"], nippo.mattermost.channel, command,
                                               template.format(x=value), COMMAND_TOKEN)
    scene["caplog"].clear()
    answer = scene["client"].post("/mattermost/command", data=form)
    assert answer.status_code == 200
    assert_harmless(scene, answer)
