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
    ({"NIPPO_MATTERMOST_URL": "http://mm.local", "NIPPO_BOT_TOKEN": "t", "NIPPO_SECRET_KEY": "k"},
     "NIPPO_COMMAND_TOKENS"),
    ({"NIPPO_PERSONA": "nobody"}, "NIPPO_PERSONA"),
    ({"NIPPO_LOG_FORMAT": "xml"}, "NIPPO_LOG_FORMAT"),
])
def test_bad_configuration_stops_serve_with_one_line_and_status_2(tmp_path, env, variable):
    result = run(["serve", "--port", str(free_port())], env={"NIPPO_DATABASE_URL": f"sqlite:///{tmp_path}/n.db", **env})
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("nippo:")]
    assert len(lines) == 1 and variable in lines[0]
    assert "Traceback" not in result.stderr


def test_serve_refuses_an_unmigrated_database(tmp_path):
    result = run(["serve", "--port", str(free_port())], env={"NIPPO_DATABASE_URL": f"sqlite:///{tmp_path}/n.db"})
    assert result.returncode == 2 and "nippo db upgrade" in result.stderr


def test_db_upgrade_twice_on_both_databases(tmp_path, postgres_url):
    for url in (f"sqlite:///{tmp_path}/n.db", postgres_url):
        for _ in range(2):
            result = run(["db", "upgrade"], env={"NIPPO_DATABASE_URL": url})
            assert result.returncode == 0, result.stderr
            assert "revision" in result.stdout


def test_console_mode_serves_health_and_stops_on_sigterm(tmp_path):
    env = {"NIPPO_DATABASE_URL": f"sqlite:///{tmp_path}/n.db"}
    assert run(["db", "upgrade"], env=env).returncode == 0
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


def test_remind_dry_run_on_an_empty_database(tmp_path):
    env = {"NIPPO_DATABASE_URL": f"sqlite:///{tmp_path}/n.db"}
    assert run(["db", "upgrade"], env=env).returncode == 0
    result = run(["remind", "--at", "2026-12-01T09:05:00+09:00", "--dry-run"], env=env)
    assert result.returncode == 0, result.stderr
