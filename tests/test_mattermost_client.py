"""MattermostClient against the stand-in; ConsoleClient on its own."""

from __future__ import annotations

import io
import logging
import socket
import threading

import pytest

from bot.mattermost import ConsoleClient, MattermostClient, MattermostError
from tests.standin.fixtures import mattermost, mattermost_client  # noqa: F401  (also imported by conftest)


@pytest.fixture
def client(mattermost_client):
    return mattermost_client


def member(mattermost, name, **kwargs):
    user = mattermost.add_user(name)
    mattermost.add_channel_member(mattermost.channel["id"], user["id"], **kwargs)
    return user


def admin_client(mattermost) -> MattermostClient:
    admin = mattermost.add_user("admin")
    mattermost.add_team_member(mattermost.team["id"], admin["id"], scheme_admin=True)
    return MattermostClient(mattermost.url, mattermost.create_token(admin["id"]), timeout=5)


def raised(call, *args, **kwargs) -> MattermostError:
    with pytest.raises(MattermostError) as caught:
        call(*args, **kwargs)
    return caught.value


# --- construction ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url, base",
    [
        ("https://chat.example.com", "https://chat.example.com:443/api/v4"),
        ("https://chat.example.com/mm/", "https://chat.example.com:443/mm/api/v4"),
        ("http://10.0.0.5:8065", "http://10.0.0.5:8065/api/v4"),
        ("chat.example.com", "https://chat.example.com:443/api/v4"),
    ],
)
def test_url_becomes_scheme_host_port_and_basepath(url, base):
    assert MattermostClient(url, "token")._base == base


def test_constructor_does_no_network_io():
    # Port 9 on a TEST-NET address: any connection attempt would hang or fail.
    client = MattermostClient("http://192.0.2.1:9", "token", timeout=0.1)
    assert repr(client) == "MattermostClient('http://192.0.2.1:9/api/v4')"


def test_a_non_http_url_is_refused():
    with pytest.raises(ValueError):
        MattermostClient("ftp://chat.example.com", "token")


# --- users ----------------------------------------------------------------------------


def test_me_is_fetched_once(client, mattermost):
    assert client.me()["id"] == mattermost.bot["id"]
    assert client.bot_user_id == mattermost.bot["id"]
    assert mattermost.count("GET", "/api/v4/users/me") == 1


def test_user_lookups(client, mattermost):
    alice = mattermost.add_user("alice", email="Alice@Example.com", timezone="Asia/Tokyo")
    assert client.get_user(alice["id"])["username"] == "alice"
    assert client.get_user_by_username("alice")["id"] == alice["id"]
    assert client.get_user_by_email("alice@example.com")["id"] == alice["id"]
    assert client.get_user(alice["id"])["timezone"]["manualTimezone"] == "Asia/Tokyo"


def test_bulk_lookups_omit_unknown_users(client, mattermost):
    alice, bob = mattermost.add_user("alice"), mattermost.add_user("bob")
    by_ids = client.get_users_by_ids([alice["id"], "z" * 26, bob["id"], alice["id"]])
    assert sorted(u["username"] for u in by_ids) == ["alice", "bob"]
    assert [u["id"] for u in client.get_users_by_usernames(["bob", "nobody"])] == [bob["id"]]
    assert client.get_users_by_ids([]) == []
    assert mattermost.count("POST", "/api/v4/users") == 2


def test_unknown_user_is_404_with_the_error_id(client):
    error = raised(client.get_user_by_username, "nobody")
    assert error.status == 404 and error.error_id == "app.user.get_by_username.app_error"
    assert error.permanent and not error.transient and error.landed is True


def test_a_name_cannot_change_the_route(client, mattermost):
    raised(client.get_user_by_username, "../../system/ping")
    assert mattermost.requests[-1]["path"] == "/api/v4/users/username/..%2F..%2Fsystem%2Fping"


# --- channels and teams ---------------------------------------------------------------


def test_get_channel(client, mattermost):
    assert client.get_channel(mattermost.channel["id"])["name"] == "dev"


def test_channel_member_ids_pages_through_450_members(client, mattermost):
    ids = {mattermost.bot["id"]} | {member(mattermost, f"user{n}")["id"] for n in range(449)}
    assert set(client.channel_member_ids(mattermost.channel["id"])) == ids
    pages = [r["query"] for r in mattermost.requests if r["path"].endswith("/members")]
    assert pages == [{"page": str(n), "per_page": "200"} for n in range(3)]


def test_channel_users_come_a_page_per_call(client, mattermost):
    names = {"nippo"} | {member(mattermost, f"user{n}")["username"] for n in range(449)}
    pages = [client.channel_users(mattermost.channel["id"], page) for page in range(3)]
    assert [len(p) for p in pages] == [200, 200, 50]
    assert {u["username"] for p in pages for u in p} == names
    queries = [r["query"] for r in mattermost.requests if r["path"] == "/api/v4/users"]
    assert queries == [{"in_channel": mattermost.channel["id"], "page": str(n), "per_page": "200"} for n in range(3)]


def test_channel_member_has_roles_and_scheme_admin(client, mattermost):
    lead = member(mattermost, "lead", scheme_admin=True)
    got = client.get_channel_member(mattermost.channel["id"], lead["id"])
    assert got["scheme_admin"] is True and got["roles"] == "channel_user"


def test_channel_member_of_a_non_member_is_404(client, mattermost):
    outsider = mattermost.add_user("outsider")
    error = raised(client.get_channel_member, mattermost.channel["id"], outsider["id"])
    assert error.status == 404 and error.error_id == "app.channel.get_member.missing.app_error"


def test_team_member_and_team_by_name(client, mattermost):
    team = client.get_team_by_name("acme")
    assert team["id"] == mattermost.team["id"]
    assert client.get_team_member(team["id"], mattermost.bot["id"])["roles"] == "team_user"
    assert raised(client.get_team_by_name, "nope").status == 404


def test_direct_channel_is_created_once_and_cached(client, mattermost):
    alice = mattermost.add_user("alice")
    channel_id = client.direct_channel_id(alice["id"])
    assert client.direct_channel_id(alice["id"]) == channel_id
    assert mattermost.count("POST", "/api/v4/channels/direct") == 1
    assert mattermost.channels[channel_id]["type"] == "D"


# --- posts --------------------------------------------------------------------------


def test_create_post_as_the_bot_offline(client, mattermost):
    props = {"nippo_outbox_id": "42", "attachments": [{"actions": [{"id": "write", "name": "Write report",
             "integration": {"url": "http://nippo.test/a", "context": {"s": "1"}}}]}]}  # fmt: skip
    post = client.create_post(mattermost.channel["id"], "Report, please", props=props, pending_post_id="ob:42")
    assert post["user_id"] == mattermost.bot["id"] and post["props"]["nippo_outbox_id"] == "42"
    assert mattermost.requests[-1]["query"] == {"set_online": "false"}
    assert mattermost.requests[-1]["json"]["pending_post_id"] == "ob:42"


def test_resending_within_30_seconds_returns_the_same_post(client, mattermost):
    first = client.create_post(mattermost.channel["id"], "hi", pending_post_id="ob:1")
    mattermost.advance(25)
    assert client.create_post(mattermost.channel["id"], "hi", pending_post_id="ob:1")["id"] == first["id"]
    mattermost.advance(10)
    assert client.create_post(mattermost.channel["id"], "hi", pending_post_id="ob:1")["id"] != first["id"]


def test_recent_posts_finds_an_outbox_id_newest_first(client, mattermost):
    for n in range(3):
        client.create_post(mattermost.channel["id"], f"m{n}", props={"nippo_outbox_id": str(n)})
        mattermost.advance(1)
    recent = client.recent_posts(mattermost.channel["id"])
    assert [p["props"]["nippo_outbox_id"] for p in recent] == ["2", "1", "0"]
    since = recent[1]["update_at"]
    assert [p["message"] for p in client.recent_posts(mattermost.channel["id"], since_ms=since)] == ["m2"]


def test_patch_post(client, mattermost):
    post = client.create_post(mattermost.channel["id"], "before", props={"a": "1"})
    patched = client.patch_post(post["id"], message="after", props={"b": "2"})
    assert patched["message"] == "after" and patched["props"]["b"] == "2"
    assert client.patch_post(post["id"], message="again")["props"]["b"] == "2"


def test_open_dialog(client, mattermost):
    alice = mattermost.add_user("alice")
    dialog = {"title": "Daily report", "elements": [{"display_name": "Report", "name": "text", "type": "textarea"}]}
    trigger = mattermost.make_trigger_id(alice)
    assert client.open_dialog(trigger, "http://nippo.test/d", dialog) == {"status": "OK"}
    assert mattermost.dialogs[-1]["user_id"] == alice["id"]
    mattermost.advance(31)
    error = raised(client.open_dialog, trigger, "http://nippo.test/d", dialog)
    assert error.status == 400 and error.error_id == "interactive_message.decode_trigger_id.expired"


# --- commands -------------------------------------------------------------------


def command(mattermost, trigger="report"):
    return {"team_id": mattermost.team["id"], "trigger": trigger, "method": "P",
            "url": "https://nippo.example.com/mattermost/command", "display_name": "Report",
            "auto_complete": True}  # fmt: skip


def test_commands_need_a_team_admin(client, mattermost):
    error = raised(client.create_command, command(mattermost))
    assert error.status == 403 and error.error_id == "api.context.permissions.app_error"


def test_create_list_and_update_commands(mattermost):
    admin = admin_client(mattermost)
    created = admin.create_command(command(mattermost))
    assert len(created["token"]) == 26
    assert [c["trigger"] for c in admin.list_commands(mattermost.team["id"])] == ["report"]
    updated = admin.update_command(created["id"], {**created, "url": "https://new.example.com/mattermost/command"})
    assert updated["url"].startswith("https://new.") and updated["token"] == created["token"]
    assert mattermost.requests[-1]["path"] == f"/api/v4/commands/{created['id']}"
    error = raised(admin.create_command, command(mattermost))
    assert error.status == 400 and error.error_id == "api.command.duplicate_trigger.app_error"
    admin.close()


def test_ping(client):
    assert client.ping()["status"] == "OK"


# --- errors -------------------------------------------------------------------------


def test_403_when_the_bot_is_not_in_the_channel(client, mattermost):
    elsewhere = mattermost.add_channel(mattermost.team["id"], "elsewhere")
    error = raised(client.create_post, elsewhere["id"], "hi")
    assert error.status == 403 and error.error_id == "api.context.permissions.app_error" and error.permanent


def test_archived_channel_is_permanent(client, mattermost):
    mattermost.archive_channel(mattermost.channel["id"])
    error = raised(client.create_post, mattermost.channel["id"], "hi")
    assert error.status == 400 and error.permanent


def test_429_with_retry_after(client, mattermost):
    mattermost.rate_limit_next("POST", r"/api/v4/posts", retry_after=7, reset=9)
    error = raised(client.create_post, mattermost.channel["id"], "hi")
    assert error.status == 429 and error.transient and error.retry_after == 7.0
    assert error.error_id is None and error.message == "limit exceeded"


def test_429_with_only_x_ratelimit_reset(client, mattermost):
    mattermost.rate_limit_next("POST", r"/api/v4/posts", retry_after=None, reset=4)
    error = raised(client.create_post, mattermost.channel["id"], "hi")
    assert error.status == 429 and error.retry_after == 4.0


def test_503_is_transient(client, mattermost):
    mattermost.fail("GET", r"/api/v4/system/ping", status=503)
    error = raised(client.ping)
    assert error.status == 503 and error.transient and error.retry_after is None


def test_401_with_a_wrong_token(mattermost):
    with MattermostClient(mattermost.url, "not-the-token", timeout=5) as client:
        error = raised(client.me)
    assert error.status == 401 and error.permanent
    assert "not-the-token" not in str(error) + repr(error)


def test_cut_request_outcome_is_unknown_and_nothing_happened(client, mattermost):
    # The connection closes after the request went out: from the wire alone
    # nobody can tell whether it was processed, so landed is None.
    mattermost.cut("POST", r"/api/v4/posts")
    error = raised(client.create_post, mattermost.channel["id"], "hi")
    assert error.status is None and error.landed is None and error.transient
    assert mattermost.posts_in(mattermost.channel["id"]) == []


def test_lost_answer_outcome_is_unknown_but_the_post_exists(client, mattermost):
    mattermost.lose_answer("POST", r"/api/v4/posts")
    error = raised(client.create_post, mattermost.channel["id"], "hi", props={"nippo_outbox_id": "7"})
    assert error.landed is None and error.transient
    assert [p["props"]["nippo_outbox_id"] for p in client.recent_posts(mattermost.channel["id"])] == ["7"]


def test_mattermost_down_means_the_request_never_landed(client, mattermost):
    client.ping()  # leaves a pooled keep-alive connection behind
    with mattermost.down():
        error = raised(client.create_post, mattermost.channel["id"], "hi")
    assert error.landed is False and error.status is None and error.transient
    assert mattermost.posts_in(mattermost.channel["id"]) == []


def test_refused_connection_never_landed():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    error = raised(MattermostClient(f"http://127.0.0.1:{port}", "t", timeout=1).ping)
    assert error.landed is False


def test_read_timeout_outcome_is_unknown(mattermost):
    mattermost.latency(0.5)
    with MattermostClient(mattermost.url, mattermost.bot_token, timeout=0.2) as client:
        error = raised(client.create_post, mattermost.channel["id"], "slow")
    assert error.landed is None and error.status is None and error.transient
    assert error.message == "read timeout"


def test_errors_and_logs_never_carry_the_token_or_body(client, mattermost, caplog):
    caplog.set_level(logging.DEBUG, logger="bot.mattermost")
    mattermost.cut("POST", r"/api/v4/posts")
    error = raised(client.create_post, mattermost.channel["id"], "secret report text")
    mattermost.fail("POST", r"/api/v4/posts", status=500)
    error2 = raised(client.create_post, mattermost.channel["id"], "secret report text")
    text = " ".join([str(error), repr(error), str(error2), repr(error2), caplog.text])
    assert mattermost.bot_token not in text and "secret report text" not in text
    assert "POST /posts" in str(error)


def test_the_client_is_shared_by_threads(client, mattermost):
    users = [mattermost.add_user(f"u{n}") for n in range(8)]
    failures = []

    def deliver(user):
        try:
            for n in range(3):
                client.create_post(client.direct_channel_id(user["id"]), f"dm {n}")
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            failures.append(exc)

    threads = [threading.Thread(target=deliver, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert all(len(mattermost.dm_posts_to(u["id"])) == 3 for u in users)


# --- console mode ---------------------------------------------------------------------


def test_console_prints_posts_with_channel_message_and_buttons():
    out = io.StringIO()
    console = ConsoleClient(out)
    channel_id = console.direct_channel_id("bob")
    props = {"attachments": [{"actions": [{"id": "write", "name": "Write report"}, {"id": "off", "name": "I was off"}]}]}
    post = console.create_post(channel_id, "Your report for 2026-03-02, please.", props=props)
    printed = out.getvalue()
    assert "@bob (direct message)" in printed and "Your report for 2026-03-02, please." in printed
    assert "[Write report]  [I was off]" in printed
    assert post["channel_id"] == channel_id and post["user_id"] == console.bot_user_id


def test_console_ids_are_deterministic():
    a, b = ConsoleClient(io.StringIO()), ConsoleClient(io.StringIO())
    assert a.direct_channel_id("bob") == b.direct_channel_id("bob")
    assert a.create_post("c", "x")["id"] == b.create_post("c", "x")["id"]
    assert len(a.direct_channel_id("bob")) == 26


def test_console_takes_at_name_as_the_user_name():
    console = ConsoleClient(io.StringIO())
    bob = console.get_user_by_username("bob")
    assert bob["id"] == "bob" and bob["username"] == "bob" and not bob["is_bot"] and bob["delete_at"] == 0
    assert console.get_users_by_usernames(["bob", "carol"])[1]["id"] == "carol"
    assert "system_admin" in bob["roles"].split()
    assert console.get_channel_member("c", "bob")["scheme_admin"] is True
    assert console.channel_member_ids("c") == [] and console.channel_users("c", 0) == []


def test_console_cannot_open_dialogs():
    error = raised(ConsoleClient(io.StringIO()).open_dialog, "t", "http://x", {"title": "t"})
    assert error.error_id == "console.no_dialog" and error.status is None and error.landed is True
    assert error.permanent


def test_console_patch_and_recent_posts():
    console = ConsoleClient(io.StringIO())
    post = console.create_post("c", "before", props={"nippo_outbox_id": "1"}, pending_post_id="p")
    assert console.create_post("c", "before", pending_post_id="p")["id"] == post["id"]
    console.patch_post(post["id"], message="after")
    assert [p["message"] for p in console.recent_posts("c")] == ["after"]


def test_console_has_the_clients_interface():
    public = {n for n in dir(MattermostClient) if not n.startswith("_")}
    assert public <= set(dir(ConsoleClient))
