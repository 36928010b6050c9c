"""The ``nippo`` command line, run as a user runs it: a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.harness import free_port

NIPPO = str(Path(sys.executable).with_name("nippo"))


def run(args, env=None, cwd=None, timeout=60):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("NIPPO_")}
    full_env.update(env or {})
    return subprocess.run([NIPPO, *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout)


@pytest.mark.parametrize("env, variable", [
    ({"NIPPO_DATABASE_URL": "bogus://x"}, "NIPPO_DATABASE_URL"),
    ({"NIPPO_TIMEZONE": "Nowhere/Land"}, "NIPPO_TIMEZONE"),
    ({"NIPPO_MATTERMOST_URL": "http://mm.local", "NIPPO_BOT_TOKEN": "t", "NIPPO_SECRET_KEY": "k" * 32},
     "NIPPO_COMMAND_TOKENS"),
    ({"NIPPO_PERSONA": "nobody"}, "NIPPO_PERSONA"),
    ({"NIPPO_PERSONA_DIR": "/no/such/folder"}, "NIPPO_PERSONA_DIR"),
    ({"NIPPO_SECRET_KEY": ""}, "NIPPO_SECRET_KEY"),
    ({"NIPPO_SECRET_KEY": "changeme"}, "NIPPO_SECRET_KEY"),
    ({"NIPPO_LOG_FORMAT": "xml"}, "NIPPO_LOG_FORMAT"),
])
def test_bad_configuration_stops_serve_with_one_line_and_status_2(tmp_path, env, variable):
    result = run(["serve", "--port", str(free_port())], env={"NIPPO_DATABASE_URL": f"sqlite:///{tmp_path}/n.db", **env})
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("nippo:")]
    assert len(lines) == 1 and variable in lines[0]
    assert "Traceback" not in result.stderr


def start_serve(args, env) -> tuple[subprocess.Popen, str]:
    """``nippo serve`` as a process, once it answers /healthz; returns it and its base URL."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("NIPPO_")} | env
    process = subprocess.Popen([NIPPO, "serve", "--port", str(port), *args], env=full_env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"{url}/healthz", timeout=1)
            return process, url
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError("nippo serve did not come up: " + process.communicate()[1])
            time.sleep(0.1)


def stop_serve(process: subprocess.Popen) -> tuple[str, str]:
    process.send_signal(signal.SIGTERM)
    try:
        return process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()


@pytest.fixture
def empty_postgres(postgres_url):
    """A PostgreSQL database with nothing in it, dropped afterwards."""
    from tests.conftest import drop_postgres_database, ensure_postgres_database
    from db.session import normalize_url

    url = normalize_url(postgres_url).set(database=f"nippo_fresh_{os.getpid()}").render_as_string(hide_password=False)
    drop_postgres_database(url)
    ensure_postgres_database(url)
    yield url
    drop_postgres_database(url)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_serve_applies_pending_migrations_to_a_fresh_database(tmp_path, request, kind):
    url = f"sqlite:///{tmp_path}/fresh.db" if kind == "sqlite" else request.getfixturevalue("empty_postgres")
    process, base = start_serve([], {"NIPPO_DATABASE_URL": url})
    try:
        assert requests.get(f"{base}/readyz", timeout=5).status_code == 200
        answer = requests.post(f"{base}/mattermost/command", timeout=10, data={
            "token": "any", "command": "/report", "text": "yesterday fixed it", "user_id": "alice",
            "user_name": "alice", "channel_id": "dev", "channel_name": "dev", "team_id": "acme"})
        assert answer.status_code == 200 and "2026" in answer.json()["text"] or answer.json()["text"]
    finally:
        _out, err = stop_serve(process)
    assert "database migrated" in err and "Traceback" not in err
    assert run(["db", "upgrade"], env={"NIPPO_DATABASE_URL": url}).returncode == 0  # nothing left to do


def test_serve_listens_on_loopback_unless_host_says_otherwise(tmp_path):
    process, base = start_serve([], {"NIPPO_DATABASE_URL": f"sqlite:///{tmp_path}/n.db"})
    try:
        port = int(base.rsplit(":", 1)[1])
        outside = _outward_address()
        if outside is not None:
            with pytest.raises(requests.ConnectionError):
                requests.get(f"http://{outside}:{port}/healthz", timeout=2)
    finally:
        _out, err = stop_serve(process)
    assert f"listening on http://127.0.0.1:{port}" in err


def _outward_address() -> str | None:
    """This machine's address on its default route (no packet is sent), if it has one."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def one_line_exit_2(result, *expected: str) -> str:
    """The failure is one line of stderr, exit status 2, naming what was given."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("nippo: ")
    for text in expected:
        assert text in lines[0]
    return lines[0]


def test_a_port_already_in_use_is_one_line_and_status_2(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(["serve", "--port", str(port)], env={"NIPPO_DATABASE_URL": f"sqlite:///{tmp_path}/n.db"})
    one_line_exit_2(result, "--port", str(port), "already in use")


@pytest.mark.parametrize("host", ["no-such-host.invalid", "999.1.1.1"])
def test_an_invalid_host_is_one_line_and_status_2(tmp_path, host):
    result = run(["serve", "--host", host, "--port", str(free_port())],
                 env={"NIPPO_DATABASE_URL": f"sqlite:///{tmp_path}/n.db"})
    one_line_exit_2(result, "--host", host)


def test_a_broken_persona_folder_is_one_line_naming_the_variable(tmp_path):
    folder = tmp_path / "personas"
    folder.mkdir()
    (folder / "pirate.toml").write_text('name = "pirate"\ndisplay_name = "P"\n[en]\npraise = ["Yo ho"]\n')
    result = run(["serve", "--port", str(free_port())],
                 env={"NIPPO_DATABASE_URL": f"sqlite:///{tmp_path}/n.db", "NIPPO_PERSONA_DIR": str(folder)})
    line = one_line_exit_2(result, "NIPPO_PERSONA_DIR", "pirate.toml", "nippo persona check")
    assert line.startswith("nippo: NIPPO_PERSONA_DIR: ")


def test_a_missing_sqlite_folder_names_the_absolute_path(tmp_path):
    result = run(["serve", "--port", str(free_port())], env={"NIPPO_DATABASE_URL": "sqlite:///no/such/dir/n.db"},
                 cwd=tmp_path)
    one_line_exit_2(result, "NIPPO_DATABASE_URL", f"{tmp_path}/no/such/dir", "does not exist")


@pytest.mark.parametrize("url, says", [
    ("postgresql://nippo:hunter2@127.0.0.1:1/nippo", "nothing answers at 127.0.0.1:1"),
    ("postgresql://nippo:hunter2@no-such-host.invalid/nippo", "unknown host no-such-host.invalid"),
])
def test_an_unreachable_database_says_which_without_the_password(url, says):
    result = run(["remind"], env={"NIPPO_DATABASE_URL": url})
    line = one_line_exit_2(result, "NIPPO_DATABASE_URL", says, "postgresql://nippo:***@")
    assert "hunter2" not in result.stderr + result.stdout and "Traceback" not in line


def test_a_missing_postgres_database_says_so(postgres_url):
    from db.session import normalize_url

    url = normalize_url(postgres_url).set(database="nippo_no_such_db", password="hunter2")
    result = run(["remind"], env={"NIPPO_DATABASE_URL": url.render_as_string(hide_password=False)})
    one_line_exit_2(result, "NIPPO_DATABASE_URL", "the database nippo_no_such_db does not exist")
    assert "hunter2" not in result.stderr


def test_remind_refuses_an_unmigrated_database_and_says_what_applies_it(tmp_path):
    result = run(["remind"], env={"NIPPO_DATABASE_URL": f"sqlite:///{tmp_path}/n.db"})
    one_line_exit_2(result, "nippo db upgrade", "nippo serve")


def test_a_blank_mattermost_url_stops_serve_instead_of_console_mode(tmp_path):
    result = run(["serve", "--port", str(free_port())], env={
        "NIPPO_DATABASE_URL": f"sqlite:///{tmp_path}/n.db", "NIPPO_MATTERMOST_URL": "", "NIPPO_BOT_TOKEN": "t",
        "NIPPO_COMMAND_TOKENS": "c", "NIPPO_SECRET_KEY": "k" * 32})
    one_line_exit_2(result, "NIPPO_MATTERMOST_URL", "blank")


def test_console_mode_with_a_bot_token_stops_remind(tmp_path):
    env = {"NIPPO_DATABASE_URL": f"sqlite:///{tmp_path}/n.db"}
    assert run(["db", "upgrade"], env=env).returncode == 0
    result = run(["remind"], env={**env, "NIPPO_BOT_TOKEN": "a-real-token"})
    one_line_exit_2(result, "NIPPO_BOT_TOKEN", "NIPPO_MATTERMOST_URL")


def test_db_upgrade_twice_on_both_databases(tmp_path, postgres_url):
    for url in (f"sqlite:///{tmp_path}/n.db", postgres_url):
        for _ in range(2):
            result = run(["db", "upgrade"], env={"NIPPO_DATABASE_URL": url})
            assert result.returncode == 0, result.stderr
            assert "revision" in result.stdout


def test_console_mode_serves_health_and_stops_on_sigterm(tmp_path):
    env = {"NIPPO_DATABASE_URL": f"sqlite:///{tmp_path}/n.db"}
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("NIPPO_")} | env
    process = subprocess.Popen([NIPPO, "serve", "--host", "127.0.0.1", "--port", str(port)], env=full_env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "nippo serve did not come up"
                time.sleep(0.1)
        assert health.status_code == 200
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
        answer = requests.post(f"http://127.0.0.1:{port}/mattermost/command", timeout=5, data={
            "token": "anything", "command": "/report", "text": "yesterday fixed it", "user_id": "alice",
            "user_name": "alice", "channel_id": "dev", "channel_name": "dev", "team_id": "acme"})
        assert answer.status_code == 200 and "response_type" in answer.json()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "console mode" in err and "sqlite" in err
    assert "Traceback" not in err


def test_persona_list_and_check(tmp_path):
    listed = run(["persona", "list"])
    assert listed.returncode == 0
    assert {line.split("\t")[0] for line in listed.stdout.splitlines()} >= {"emperor", "polite", "plain"}
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[en]\n"reminder.channel" = ["{mentions}さん {command}"]\n')
    checked = run(["persona", "check", str(bad)])
    assert checked.returncode == 1 and "bad.toml" in checked.stdout


def test_remind_on_an_empty_database_says_there_is_nothing_to_do(tmp_path):
    env = {"NIPPO_DATABASE_URL": f"sqlite:///{tmp_path}/n.db"}
    assert run(["db", "upgrade"], env=env).returncode == 0
    result = run(["remind", "--at", "2026-12-01T09:05:00+09:00", "--dry-run"], env=env)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first.startswith("tick at 2026-12-01T09:05:00+09:00 = 2026-12-01T00:05:00Z (--at)")
    assert "no active subscription" in second


def test_remind_reads_at_without_an_offset_in_the_default_time_zone_and_says_so(tmp_path):
    env = {"NIPPO_DATABASE_URL": f"sqlite:///{tmp_path}/n.db", "NIPPO_TIMEZONE": "Asia/Tokyo"}
    assert run(["db", "upgrade"], env=env).returncode == 0
    result = run(["remind", "--at", "2026-12-14T09:05"], env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith(
        "tick at 2026-12-14T09:05:00+09:00 Asia/Tokyo = 2026-12-14T00:05:00Z (--at read in NIPPO_TIMEZONE")


def test_remind_warns_in_console_mode(tmp_path):
    env = {"NIPPO_DATABASE_URL": f"sqlite:///{tmp_path}/n.db"}
    assert run(["db", "upgrade"], env=env).returncode == 0
    result = run(["remind"], env=env)
    assert result.returncode == 0 and "console mode" in result.stderr and "not sent to Mattermost" in result.stderr


def test_remind_with_an_unknown_channel_is_one_line_and_status_2(tmp_path):
    env = {"NIPPO_DATABASE_URL": f"sqlite:///{tmp_path}/n.db"}
    assert run(["db", "upgrade"], env=env).returncode == 0
    result = run(["remind", "--channel", "nowhere"], env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert [line for line in result.stderr.splitlines() if line.startswith("nippo:")] == [
        "nippo: --channel nowhere: no active subscription in a channel called nowhere (subscribed: none)"]


@pytest.mark.parametrize("verb", ["persona", "db"])
def test_a_verb_without_its_action_shows_its_own_usage(verb):
    result = run([verb])
    assert result.returncode == 2
    assert result.stderr.startswith(f"usage: nippo {verb} ")


@pytest.mark.parametrize("verb, options", [
    ("serve", ["--host", "--port"]),
    ("remind", ["--at", "--dry-run", "--channel"]),
])
def test_help_describes_every_option_with_its_default(verb, options):
    import re

    result = run([verb, "--help"])
    assert result.returncode == 0
    listing = result.stdout.split("options:", 1)[1]
    # each option's entry: from its line to the next option's
    entries = {match.group(1): match.group(2) for match in
               re.finditer(r"^  (--[a-z-]+)(.*?)(?=^  -|\Z)", listing, re.M | re.S)}
    for option in options:
        described = " ".join(entries[option].split())
        assert re.search(r"\w{4,}.*\(default: [^)]+\)", described), (option, described)


def test_persona_new_writes_a_complete_file_that_check_accepts(tmp_path):
    from persona.keys import LANGUAGES, VOICE_KEYS

    made = run(["persona", "new", "pirate", "--from", "emperor"], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    written = tmp_path / "pirate.toml"
    import tomllib

    data = tomllib.loads(written.read_text(encoding="utf-8"))
    assert data["name"] == "pirate"
    for language in LANGUAGES:
        assert set(data[language]) == VOICE_KEYS
    checked = run(["persona", "check", str(written)])
    assert checked.returncode == 0 and checked.stdout.strip() == f"{written}: ok"


def test_persona_new_never_overwrites_a_file(tmp_path):
    (tmp_path / "pirate.toml").write_text("mine")
    result = run(["persona", "new", "pirate"], cwd=tmp_path)
    assert result.returncode == 2 and "exists" in result.stderr
    assert (tmp_path / "pirate.toml").read_text() == "mine"


def test_the_persona_readme_example_passes_check(tmp_path):
    import re

    readme = (Path(__file__).resolve().parent.parent / "persona" / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```toml\n(.*?)```", readme, re.S).group(1)
    (tmp_path / "pirate.toml").write_text(example, encoding="utf-8")
    checked = run(["persona", "check", str(tmp_path / "pirate.toml")])
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout.strip() == f"{tmp_path / 'pirate.toml'}: ok"
