"""The Mattermost stand-in behaves as Mattermost does where nippo depends on it."""

from __future__ import annotations

import json
import re
import threading
import time
from urllib.parse import parse_qs

import flask
import pytest
import requests

from tests.standin import MattermostStandIn, flask_outgoing, openapi_check

needs_spec = pytest.mark.skipif(openapi_check.spec_path() is None, reason=openapi_check.SKIP_REASON)


def api(standin: MattermostStandIn, method: str, path: str, token: str | None = "bot", **kwargs) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {standin.bot_token if token == 'bot' else token}"
    return requests.request(method, standin.url + "/api/v4" + path, headers=headers, timeout=5, **kwargs)


def post_body(standin: MattermostStandIn, **fields) -> dict:
    return {"channel_id": standin.channel["id"], "message": "hello", **fields}


def button(action_id: str, url: str = "http://nippo.test/mattermost/actions", **context) -> dict:
    return {"id": action_id, "type": "button", "name": action_id, "integration": {"url": url, "context": context}}


# --- ids, auth, errors --------------------------------------------------------


def test_ids_are_26_lowercase_letters_and_digits(mattermost):
    ids = [mattermost.bot["id"], mattermost.team["id"], mattermost.channel["id"], mattermost.bot_token]
    assert all(re.fullmatch(r"[a-z0-9]{26}", i) for i in ids)
    assert len(set(ids)) == 4


def test_requests_without_a_valid_bearer_token_get_401(mattermost):
    for token in (None, "wrong"):
        answer = api(mattermost, "GET", "/users/me", token=token)
        assert answer.status_code == 401
        assert answer.json()["id"] == "api.context.session_expired.app_error"


def test_ping_needs_no_token(mattermost):
    assert api(mattermost, "GET", "/system/ping", token=None).json()["status"] == "OK"


def test_errors_are_app_error_json(mattermost):
    answer = api(mattermost, "GET", "/users/" + "a" * 26)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == "application/json"
    body = answer.json()
    assert set(body) == {"id", "message", "detailed_error", "request_id", "status_code"}
    assert body["status_code"] == 404 and body["id"] == "app.user.missing_account.const"


def test_a_malformed_id_is_400(mattermost):
    answer = api(mattermost, "GET", "/channels/not-an-id")
    assert answer.status_code == 400
    assert answer.json()["id"] == "api.context.invalid_url_param.app_error"


def test_recorded_requests_leave_out_the_token(mattermost):
    api(mattermost, "GET", "/users/me")
    recorded = mattermost.requests[-1]
    assert recorded["method"] == "GET" and recorded["path"] == "/api/v4/users/me"
    assert "Authorization" not in recorded["headers"]
    assert mattermost.bot_token not in json.dumps({k: v for k, v in recorded.items() if k != "body"})
    assert mattermost.count("GET", "/api/v4/users") == 1


# --- channels and members ------------------------------------------------------


def test_channel_members_come_200_to_a_page_at_most_60_by_default(mattermost):
    for n in range(250):
        user = mattermost.add_user(f"user{n}")
        mattermost.add_channel_member(mattermost.channel["id"], user["id"])
    path = f"/channels/{mattermost.channel['id']}/members"
    assert len(api(mattermost, "GET", path).json()) == 60
    assert len(api(mattermost, "GET", path, params={"per_page": 1000}).json()) == 200
    assert len(api(mattermost, "GET", path, params={"page": 1, "per_page": 200}).json()) == 51


def test_users_in_a_channel_come_by_username_200_to_a_page_deactivated_and_bots_too(mattermost):
    for n in reversed(range(250)):
        user = mattermost.add_user(f"user{n:03d}", active=n != 7)
        mattermost.add_channel_member(mattermost.channel["id"], user["id"])
    params = {"in_channel": mattermost.channel["id"], "per_page": 1000}
    first = api(mattermost, "GET", "/users", params=params).json()
    assert len(first) == 200 and [u["username"] for u in first[:2]] == ["nippo", "user000"]
    rest = api(mattermost, "GET", "/users", params={**params, "page": 1}).json()
    assert [u["username"] for u in rest][-1] == "user249" and len(rest) == 51
    assert len(api(mattermost, "GET", "/users", params={"in_channel": mattermost.channel["id"]}).json()) == 60
    assert len(api(mattermost, "GET", "/users", params={**params, "active": "true"}).json()) == 200
    assert [u["username"] for u in api(mattermost, "GET", "/users", params={**params, "inactive": "true"}).json()] \
        == ["user007"]


def test_users_in_a_channel_the_caller_cannot_read_are_403(mattermost):
    private = mattermost.add_channel(mattermost.team["id"], "secret", type="P")
    answer = api(mattermost, "GET", "/users", params={"in_channel": private["id"]})
    assert answer.status_code == 403


def test_channel_member_carries_roles_and_scheme_admin(mattermost):
    lead = mattermost.add_user("lead")
    mattermost.add_channel_member(mattermost.channel["id"], lead["id"], scheme_admin=True, roles="channel_user")
    member = api(mattermost, "GET", f"/channels/{mattermost.channel['id']}/members/{lead['id']}").json()
    assert member["scheme_admin"] is True and member["roles"] == "channel_user"


def test_direct_channel_is_idempotent_201(mattermost):
    alice = mattermost.add_user("alice")
    first = api(mattermost, "POST", "/channels/direct", json=[mattermost.bot["id"], alice["id"]])
    again = api(mattermost, "POST", "/channels/direct", json=[alice["id"], mattermost.bot["id"]])
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["type"] == "D"


def test_direct_channel_between_two_others_is_forbidden(mattermost):
    alice, bob = mattermost.add_user("alice"), mattermost.add_user("bob")
    assert api(mattermost, "POST", "/channels/direct", json=[alice["id"], bob["id"]]).status_code == 403


# --- posts ---------------------------------------------------------------------


def test_post_limit_is_16383_characters(mattermost):
    assert api(mattermost, "POST", "/posts", json=post_body(mattermost, message="x" * 16383)).status_code == 201
    too_long = api(mattermost, "POST", "/posts", json=post_body(mattermost, message="ü" * 16384))
    assert too_long.status_code == 400
    assert too_long.json()["id"] == "model.post.is_valid.message_length.app_error"


def test_bot_must_be_a_channel_member_to_post(mattermost):
    other = mattermost.add_channel(mattermost.team["id"], "elsewhere")
    answer = api(mattermost, "POST", "/posts", json={"channel_id": other["id"], "message": "hi"})
    assert answer.status_code == 403
    assert answer.json()["id"] == "api.context.permissions.app_error"


def test_posting_in_an_archived_channel_is_refused(mattermost):
    mattermost.archive_channel(mattermost.channel["id"])
    answer = api(mattermost, "POST", "/posts", json=post_body(mattermost))
    assert answer.status_code == 400
    assert answer.json()["id"] == "api.post.create_post.can_not_post_to_deleted.error"


def test_same_pending_post_id_within_30_seconds_returns_the_same_post(mattermost):
    body = post_body(mattermost, pending_post_id="outbox:1")
    first = api(mattermost, "POST", "/posts", json=body).json()
    mattermost.advance(29)
    assert api(mattermost, "POST", "/posts", json=body).json()["id"] == first["id"]
    mattermost.advance(2)
    assert api(mattermost, "POST", "/posts", json=body).json()["id"] != first["id"]
    assert len(mattermost.posts_in(mattermost.channel["id"])) == 2


@pytest.mark.parametrize("action_id", ["write_report", "i-was-off", "snooze 1h", "レポート"])
def test_action_ids_must_be_letters_and_digits(mattermost, action_id):
    props = {"attachments": [{"actions": [button(action_id)]}]}
    answer = api(mattermost, "POST", "/posts", json=post_body(mattermost, props=props))
    assert answer.status_code == 400
    assert answer.json()["id"] == "standin.post.action_id.invalid"


def test_action_integration_stays_on_the_server(mattermost):
    props = {"attachments": [{"actions": [button("write", sig="secret")]}]}
    answer = api(mattermost, "POST", "/posts", json=post_body(mattermost, props=props)).json()
    assert "integration" not in answer["props"]["attachments"][0]["actions"][0]
    listed = api(mattermost, "GET", f"/channels/{mattermost.channel['id']}/posts").json()
    assert "secret" not in json.dumps(listed)
    stored = mattermost.posts_in(mattermost.channel["id"])[0]
    assert stored["props"]["attachments"][0]["actions"][0]["integration"]["context"] == {"sig": "secret"}


def test_dm_posts_to_lists_the_bots_dms(mattermost):
    alice = mattermost.add_user("alice")
    channel = api(mattermost, "POST", "/channels/direct", json=[mattermost.bot["id"], alice["id"]]).json()
    api(mattermost, "POST", "/posts", json={"channel_id": channel["id"], "message": "report please"})
    assert [p["message"] for p in mattermost.dm_posts_to(alice["id"])] == ["report please"]


def test_patch_replaces_message_and_props(mattermost):
    post = api(mattermost, "POST", "/posts", json=post_body(mattermost, props={"a": 1})).json()
    patched = api(mattermost, "PUT", f"/posts/{post['id']}/patch", json={"message": "done", "props": {"b": 2}})
    assert patched.status_code == 200
    assert patched.json()["message"] == "done" and patched.json()["props"]["b"] == 2
    assert "a" not in patched.json()["props"]


PERSONA_PROPS = {"from_webhook": "true", "override_username": "The Emperor",
                 "override_icon_url": "https://example.com/e.png", "nippo_outbox_id": "7"}


def test_patch_keeps_nothing_of_the_old_props_not_even_the_persona(mattermost):
    post = api(mattermost, "POST", "/posts", json=post_body(mattermost, props=PERSONA_PROPS)).json()
    patched = api(mattermost, "PUT", f"/posts/{post['id']}/patch", json={"props": {"attachments": []}}).json()
    assert patched["props"] == {"attachments": []}
    assert patched["message"] == "hello"  # no message in the patch: the message stays


def test_an_action_update_keeps_only_from_webhook_and_the_overrides(mattermost, integration):
    @integration.post("/mattermost/new-props")
    def new_props():
        return {"update": {"message": "m", "props": {"attachments": []}}, "ephemeral_text": "Done."}

    mattermost.outgoing = flask_outgoing(integration.test_client())
    alice = mattermost.add_user("alice")
    channel = api(mattermost, "POST", "/channels/direct", json=[mattermost.bot["id"], alice["id"]]).json()
    props = {**PERSONA_PROPS, "attachments": [{"actions": [button("write", url="http://nippo.test/mattermost/new-props")]}]}
    post = api(mattermost, "POST", "/posts", json={"channel_id": channel["id"], "message": "m", "props": props}).json()
    mattermost.click(post["id"], "write", alice)
    kept = mattermost.posts_by_id[post["id"]]["props"]
    assert kept == {"attachments": [], **{k: PERSONA_PROPS[k] for k in ("from_webhook", "override_username", "override_icon_url")}}
    assert mattermost.ephemerals[-1]["props"]["override_username"] == "The Emperor"


def test_past_the_edit_time_limit_a_patch_may_change_props_but_not_the_message(mattermost):
    mattermost.post_edit_time_limit = 300
    post = api(mattermost, "POST", "/posts", json=post_body(mattermost)).json()
    mattermost.advance(301)
    refused = api(mattermost, "PUT", f"/posts/{post['id']}/patch", json={"message": "edited"})
    assert refused.status_code == 400
    assert refused.json()["id"] == "api.post.update_post.permissions_time_limit.app_error"
    assert api(mattermost, "PUT", f"/posts/{post['id']}/patch", json={"props": {"a": "1"}}).status_code == 200
    mattermost.edit_time_limit_applies_to = "any"
    assert api(mattermost, "PUT", f"/posts/{post['id']}/patch", json={"props": {"a": "2"}}).status_code == 400
    assert mattermost.posts_by_id[post["id"]]["message"] == "hello"


def test_an_action_update_that_changes_the_message_past_the_limit_is_a_violation(mattermost, integration):
    mattermost.outgoing = flask_outgoing(integration.test_client())
    mattermost.post_edit_time_limit = 60
    alice = mattermost.add_user("alice")
    channel = api(mattermost, "POST", "/channels/direct", json=[mattermost.bot["id"], alice["id"]]).json()
    props = {"attachments": [{"actions": [button("write")]}]}
    post = api(mattermost, "POST", "/posts", json={"channel_id": channel["id"], "message": "m", "props": props}).json()
    mattermost.advance(61)
    mattermost.click(post["id"], "write", alice)
    assert mattermost.posts_by_id[post["id"]]["message"] == "m"
    assert any("time limit" in v or "only allowed" in v for v in mattermost.violations)
    mattermost.violations.clear()


def test_a_retry_while_the_first_post_is_still_saving_gets_500_pending(mattermost):
    body = post_body(mattermost, pending_post_id="outbox:9")
    mattermost.stall_posts()
    with pytest.raises(requests.ConnectionError):
        api(mattermost, "POST", "/posts", json=body)
    retry = api(mattermost, "POST", "/posts", json=body)
    assert retry.status_code == 500 and retry.json()["id"] == "api.post.deduplicate_create_post.pending"
    mattermost.finish_stalled()
    saved = mattermost.posts_in(mattermost.channel["id"])
    assert len(saved) == 1
    assert api(mattermost, "POST", "/posts", json=body).json()["id"] == saved[0]["id"]


# --- dialogs -------------------------------------------------------------------


def dialog(**overrides) -> dict:
    element = {"display_name": "Report", "name": "text", "type": "textarea"}
    element.update(overrides.pop("element", {}))
    return {"callback_id": "report", "title": "Daily report", "elements": [element], **overrides}


def open_dialog(standin, trigger_id, body_dialog):
    payload = {"trigger_id": trigger_id, "url": "http://nippo.test/mattermost/dialogs", "dialog": body_dialog}
    return api(standin, "POST", "/actions/dialogs/open", json=payload)


def test_dialog_opens_for_the_user_of_the_trigger(mattermost):
    alice = mattermost.add_user("alice")
    answer = open_dialog(mattermost, mattermost.make_trigger_id(alice, mattermost.channel), dialog())
    assert answer.status_code == 200 and answer.json() == {"status": "OK"}
    assert mattermost.dialogs[-1]["user_id"] == alice["id"]
    assert mattermost.dialogs[-1]["channel_id"] == mattermost.channel["id"]


def test_trigger_id_expires_after_30_seconds(mattermost):
    trigger_id = mattermost.make_trigger_id(mattermost.add_user("alice"))
    mattermost.advance(31)
    answer = open_dialog(mattermost, trigger_id, dialog())
    assert answer.status_code == 400
    assert answer.json()["id"] == "interactive_message.decode_trigger_id.expired"


def test_a_forged_trigger_id_is_refused(mattermost):
    import base64

    forged = base64.b64encode(f"x:{mattermost.bot['id']}:{int(time.time() * 1000)}:c2ln".encode()).decode()
    answer = open_dialog(mattermost, forged, dialog())
    assert answer.json()["id"] == "interactive_message.decode_trigger_id.verify_signature_failed"


@pytest.mark.parametrize(
    "bad",
    [
        {"title": "x" * 25},
        {"element": {"display_name": "x" * 25}},
        {"element": {"help_text": "x" * 151}},
        {"element": {"default": "x" * 3001}},
        {"element": {"placeholder": "x" * 3001}},
        {"element": {"type": "text", "default": "x" * 151}},
        {"elements": [{"display_name": "A", "name": "a", "type": "text"}] * 2},
    ],
    ids=["title", "display_name", "help_text", "textarea-default", "textarea-placeholder", "text-default", "dup-name"],
)
def test_dialog_limits_are_enforced(mattermost, bad):
    answer = open_dialog(mattermost, mattermost.make_trigger_id(mattermost.bot), dialog(**bad))
    assert answer.status_code == 400
    assert answer.json()["id"] == "standin.dialog.invalid"


def test_dialog_limits_count_utf8_bytes(mattermost):
    trigger = mattermost.make_trigger_id(mattermost.bot)
    assert open_dialog(mattermost, trigger, dialog(title="日報" * 4)).status_code == 200  # 8 characters, 24 bytes
    answer = open_dialog(mattermost, mattermost.make_trigger_id(mattermost.bot), dialog(title="日報を書く日報を書く"))
    assert answer.status_code == 400 and "bytes" in answer.json()["message"]
    label = open_dialog(mattermost, mattermost.make_trigger_id(mattermost.bot), dialog(element={"display_name": "業務内容の詳細を記入"}))
    assert label.status_code == 400


def test_dialog_at_the_limits_opens(mattermost):
    at_limits = dialog(title="x" * 24, element={"display_name": "y" * 24, "help_text": "z" * 150, "default": "d" * 3000})
    assert open_dialog(mattermost, mattermost.make_trigger_id(mattermost.bot), at_limits).status_code == 200


# --- what Mattermost sends to nippo -------------------------------------------


def test_slash_command_form_has_every_field_sorted_with_mentions(mattermost):
    alice, bob = mattermost.add_user("alice"), mattermost.add_user("bob.smith")
    mattermost.add_team_member(mattermost.team["id"], alice["id"])
    mattermost.add_team_member(mattermost.team["id"], bob["id"])
    mattermost.add_user("carol")  # not in the team: never a mention
    form = mattermost.slash_command_form(alice, mattermost.channel, "/report", "off @bob.smith. @carol @alice ~dev", "tok")
    assert list(form) == sorted(form)
    assert form["command"] == "/report" and form["text"] == "off @bob.smith. @carol @alice ~dev"
    assert form["user_mentions"] == ["bob.smith", "alice"]
    assert form["user_mentions_ids"] == [bob["id"], alice["id"]]
    assert form["channel_mentions"] == ["dev"] and form["channel_mentions_ids"] == [mattermost.channel["id"]]
    assert form["team_domain"] == "acme" and form["root_id"] == "" and form["token"] == "tok"
    assert form["response_url"].startswith(mattermost.url + "/hooks/commands/")
    assert mattermost.decode_trigger_id(form["trigger_id"])[0] == alice["id"]


def test_slash_command_form_without_mentions_has_no_mention_fields(mattermost):
    form = mattermost.slash_command_form(mattermost.bot, mattermost.channel, "report", "yesterday", "tok")
    assert not {"user_mentions", "channel_mentions"} & set(form)


def test_response_url_records_responses_five_times_for_30_minutes(mattermost):
    url = mattermost.response_url(mattermost.bot, mattermost.channel)
    for n in range(5):
        assert requests.post(url, json={"text": f"part {n}"}, timeout=5).text == "ok"
    sixth = requests.post(url, json={"text": "too many"}, timeout=5)
    assert sixth.status_code == 400 and sixth.json()["id"] == "app.command_webhook.try_use.invalid"
    assert [r["response"]["text"] for r in mattermost.command_responses] == [f"part {n}" for n in range(5)]
    late = mattermost.response_url(mattermost.bot, mattermost.channel)
    mattermost.advance(30 * 60 + 1)
    assert requests.post(late, json={"text": "late"}, timeout=5).status_code == 404


@pytest.fixture
def integration():
    """A tiny nippo-like integration the stand-in delivers to through Flask's test client."""
    app = flask.Flask("integration")
    app.received = []

    @app.post("/mattermost/actions")
    def action():
        app.received.append(flask.request.get_json())
        return {"update": {"message": "Thanks, filed."}, "ephemeral_text": "Done."}

    @app.post("/mattermost/dialogs")
    def dialogs():
        app.received.append(flask.request.get_json())
        return {"errors": {"text": "Too short"}}

    @app.post("/mattermost/command")
    def command():
        app.received.append({"form": flask.request.form.to_dict(flat=False), "auth": flask.request.headers["Authorization"]})
        return {"text": "ok"}

    return app


def test_click_posts_the_action_request_and_applies_the_answer(mattermost, integration):
    mattermost.outgoing = flask_outgoing(integration.test_client())
    alice = mattermost.add_user("alice")
    channel = api(mattermost, "POST", "/channels/direct", json=[mattermost.bot["id"], alice["id"]]).json()
    props = {"attachments": [{"actions": [button("write", member="alice", sig="s")]}]}
    post = api(mattermost, "POST", "/posts", json={"channel_id": channel["id"], "message": "m", "props": props}).json()

    answer = mattermost.click(post["id"], "write", alice)

    assert answer.status_code == 200
    sent = integration.received[-1]
    assert sent["context"] == {"member": "alice", "sig": "s"}
    assert sent["user_id"] == alice["id"] and sent["user_name"] == "alice" and sent["post_id"] == post["id"]
    assert sent["team_id"] == "" and sent["team_domain"] == "" and sent["type"] == "button"
    assert mattermost.decode_trigger_id(sent["trigger_id"])[0] == alice["id"]
    assert mattermost.posts_by_id[post["id"]]["message"] == "Thanks, filed."
    assert mattermost.ephemerals[-1]["message"] == "Done."


def test_submit_dialog_posts_the_submission(mattermost, integration):
    mattermost.outgoing = flask_outgoing(integration.test_client())
    alice = mattermost.add_user("alice")
    open_dialog(mattermost, mattermost.make_trigger_id(alice, mattermost.channel), dialog(state="st"))
    answer = mattermost.submit_dialog(mattermost.dialogs[-1], alice, {"text": "x"})
    assert answer.status_code == 200 and answer.get_json() == {"errors": {"text": "Too short"}}
    assert integration.received[-1] == {
        "type": "dialog_submission",
        "callback_id": "report",
        "state": "st",
        "user_id": alice["id"],
        "channel_id": mattermost.channel["id"],
        "team_id": mattermost.team["id"],
        "submission": {"text": "x"},
        "cancelled": False,
    }
    assert mattermost.submit_dialog(mattermost.dialogs[-1], alice, {}, cancelled=True) is None


def test_send_command_posts_the_form_as_mattermost_does(mattermost, integration):
    mattermost.outgoing = flask_outgoing(integration.test_client())
    alice = mattermost.add_user("alice")
    mattermost.add_team_member(mattermost.team["id"], alice["id"])
    form = mattermost.slash_command_form(alice, mattermost.channel, "/team", "add @alice", "tok")
    mattermost.send_command("http://nippo.test/mattermost/command", form)
    received = integration.received[-1]
    assert received["auth"] == "Token tok"
    assert received["form"]["user_mentions_ids"] == [alice["id"]]


def test_a_get_command_arrives_with_the_form_in_the_query_string(mattermost, integration):
    received = []

    @integration.get("/mattermost/get-command")
    def get_command():
        received.append({"args": flask.request.args.to_dict(), "type": flask.request.content_type})
        return {"text": "ok"}

    mattermost.outgoing = flask_outgoing(integration.test_client())
    form = mattermost.slash_command_form(mattermost.bot, mattermost.channel, "/report", "a b", "tok")
    assert mattermost.send_command("http://nippo.test/mattermost/get-command", form, method="G").status_code == 200
    assert received[-1]["args"]["text"] == "a b" and received[-1]["args"]["token"] == "tok"
    assert received[-1]["type"] is None


def test_a_response_url_answer_shows_the_username_and_icon_it_names(mattermost):
    url = mattermost.response_url(mattermost.bot, mattermost.channel)
    body = {"text": "filed", "username": "The Emperor", "icon_url": "https://example.com/e.png"}
    assert requests.post(url, json=body, timeout=5).text == "ok"
    props = mattermost.ephemerals[-1]["props"]
    assert props["override_username"] == "The Emperor" and props["override_icon_url"] == "https://example.com/e.png"
    assert props["from_webhook"] == "true"


def test_without_manage_others_a_user_sees_and_changes_only_their_own_commands(mattermost):
    carol, dave = mattermost.add_user("carol"), mattermost.add_user("dave")
    for user in (carol, dave):
        mattermost.add_team_member(mattermost.team["id"], user["id"])
        mattermost.grant_own_slash_commands_only(user["id"])
    foreign = mattermost.add_command(mattermost.team["id"], "report", "https://other.example.com/hook", carol["id"])
    token = mattermost.create_token(dave["id"])
    listed = api(mattermost, "GET", "/commands", token=token, params={"team_id": mattermost.team["id"], "custom_only": "true"})
    assert listed.status_code == 200 and listed.json() == []
    body = {"team_id": mattermost.team["id"], "trigger": "report", "method": "P", "url": "https://nippo.example.com/mattermost/command"}
    created = api(mattermost, "POST", "/commands", token=token, json=body)
    assert created.status_code == 400 and created.json()["id"] == "api.command.duplicate_trigger.app_error"
    update = api(mattermost, "PUT", f"/commands/{foreign['id']}", token=token, json={**foreign, "url": body["url"]})
    assert update.status_code == 403
    assert mattermost.commands[foreign["id"]]["url"] == "https://other.example.com/hook"


# --- fault knobs and rate limits --------------------------------------------------


def test_fail_answers_the_next_matching_requests(mattermost):
    mattermost.fail("GET", r"/api/v4/users/me", status=502, times=2)
    assert [api(mattermost, "GET", "/users/me").status_code for _ in range(3)] == [502, 502, 200]


def test_rate_limit_next_answers_429_text_plain(mattermost):
    mattermost.rate_limit_next("POST", r"/api/v4/posts", retry_after=3)
    answer = api(mattermost, "POST", "/posts", json=post_body(mattermost))
    assert answer.status_code == 429
    assert answer.text == "limit exceeded\n"
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert answer.headers["Retry-After"] == "3" and "X-RateLimit-Reset" in answer.headers
    assert mattermost.posts_in(mattermost.channel["id"]) == []


def test_gcra_limiter_allows_burst_plus_one_then_per_sec():
    now = [1_000_000.0]
    with MattermostStandIn(clock=lambda: now[0]) as standin:
        standin.enable_rate_limit(per_sec=10, burst=4)
        answers = [api(standin, "GET", "/system/ping", token=None) for _ in range(6)]
        assert [a.status_code for a in answers] == [200] * 5 + [429]
        assert all(a.headers["X-RateLimit-Limit"] == "5" for a in answers)
        assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["4", "3", "2", "1", "0", "0"]
        assert answers[5].headers["Retry-After"] == "1" and answers[5].text == "limit exceeded\n"
        now[0] += 0.1
        assert api(standin, "GET", "/system/ping", token=None).status_code == 200


def test_cut_drops_the_request_unprocessed(mattermost):
    mattermost.cut("POST", r"/api/v4/posts")
    with pytest.raises(requests.ConnectionError):
        api(mattermost, "POST", "/posts", json=post_body(mattermost))
    assert mattermost.posts_in(mattermost.channel["id"]) == []


def test_lose_answer_processes_the_request(mattermost):
    mattermost.lose_answer("POST", r"/api/v4/posts")
    with pytest.raises(requests.ConnectionError):
        api(mattermost, "POST", "/posts", json=post_body(mattermost))
    assert len(mattermost.posts_in(mattermost.channel["id"])) == 1


def test_down_refuses_connections_until_up(mattermost):
    with mattermost.down():
        with pytest.raises(requests.ConnectionError):
            api(mattermost, "GET", "/system/ping")
    assert api(mattermost, "GET", "/system/ping").status_code == 200


def test_latency_delays_answers(mattermost):
    mattermost.latency(0.2)
    started = time.monotonic()
    api(mattermost, "GET", "/system/ping")
    assert time.monotonic() - started >= 0.2


def test_concurrent_posts_are_all_stored(mattermost):
    def send(n):
        api(mattermost, "POST", "/posts", json=post_body(mattermost, message=f"m{n}"))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(p["message"] for p in mattermost.posts_in(mattermost.channel["id"])) == sorted(f"m{n}" for n in range(20))


# --- request validation against the OpenAPI bundle ------------------------------------


@needs_spec
@pytest.mark.parametrize(
    "method, path, body",
    [
        ("POST", "/posts", {"channel_id": 12345, "message": "hi"}),
        ("POST", "/posts", {"message": "no channel"}),
        ("POST", "/channels/direct", {"user_ids": ["a", "b"]}),
        ("POST", "/users/ids", "not a list"),
        ("GET", "/no/such/route", None),
    ],
    ids=["channel_id-number", "missing-channel_id", "direct-object", "ids-string", "unknown-route"],
)
def test_a_request_off_the_spec_is_a_violation(method, path, body):
    with MattermostStandIn() as standin:
        api(standin, method, path, json=body)
        assert standin.violations, "expected a violation"
        assert standin.violations[0].startswith(f"{method} /api/v4{path}")
        with pytest.raises(AssertionError, match="do not match Mattermost's API"):
            standin.assert_no_violations()


@needs_spec
def test_query_parameters_are_checked(mattermost):
    api(mattermost, "GET", f"/channels/{mattermost.channel['id']}/members", params={"page": "first"})
    assert any("page" in v for v in mattermost.violations)
    mattermost.violations.clear()


def test_validation_can_be_turned_off():
    with MattermostStandIn(validate=False) as standin:
        api(standin, "POST", "/channels/direct", json={"user_ids": []})
        assert standin.violations == []
        standin.assert_no_violations()


@needs_spec
def test_patch_props_as_an_object_is_accepted(mattermost):
    assert openapi_check.check_json("PUT", "/api/v4/posts/" + "a" * 26 + "/patch", {"props": {"x": 1}}) == []


def test_command_form_round_trips_through_url_encoding(mattermost):
    form = mattermost.slash_command_form(mattermost.bot, mattermost.channel, "/report", "a b&c=d", "tok")
    from urllib.parse import urlencode

    decoded = parse_qs(urlencode(list(form.items()), doseq=True), keep_blank_values=True)
    assert decoded["text"] == ["a b&c=d"] and decoded["root_id"] == [""]
