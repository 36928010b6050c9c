"""A whole walkthrough against real processes (``nippo db upgrade``, then
``nippo serve`` with its scheduler), logged in each format: every line is
well formed, each answer's ``X-Request-Id`` names one access line, and no
token, secret, report text or request body appears anywhere."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone

import pytest
import requests

from bot.clock import FrozenClock
from db.session import Database
from tests.harness import API_TOKEN, COMMAND_TOKEN, SECRET_KEY
from tests.reminder_helpers import Scene
from tests.serving import (METRICS_TOKEN, NIPPO, PUBLIC_URL, RoundRobin, serve_env, start_serve, wait_for,
                           wait_until_up)

SECRET_TEXTS = ("zebra-report-7431", "walrus-dialog-2290", "okapi-pushed-5517", "narwhal-typo-0042")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_walkthrough_logs_every_request_and_nothing_secret(log_format, mattermost, tmp_path):
    url = f"sqlite:///{tmp_path}/nippo.db"
    env = serve_env(url, mattermost, NIPPO_LOG_FORMAT=log_format, NIPPO_API_TOKEN=API_TOKEN, NIPPO_PERSONA="plain")
    upgrade = subprocess.run([NIPPO, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=60)
    assert upgrade.returncode == 0, upgrade.stderr

    now = datetime.now(timezone.utc)
    database = Database(url)
    scene = Scene(database, mattermost, FrozenClock(now))
    people = {name: scene.person(name, leader=name == "boss") for name in ("boss", "alice", "bob")}
    scene.subscribe(at_time=now.strftime("%H:%M"), timezone="UTC", weekdays="0,1,2,3,4,5,6", delivery="dm")
    scene.close()

    served = start_serve(env, tmp_path / "serve.log")
    answers: list[requests.Response] = []
    try:
        wait_until_up(served)
        mattermost.outgoing = RoundRobin([served])
        wait_for(lambda: mattermost.dm_posts_to(people["alice"]["id"]), what="the morning's DMs")
        work_date = (now.date().toordinal() - 1)
        work_date = datetime.fromordinal(work_date).date().isoformat()

        def command(user, command, text, token=COMMAND_TOKEN):
            form = mattermost.slash_command_form(people[user], mattermost.channel, command, text, token)
            answers.append(mattermost.send_command(f"{PUBLIC_URL}/mattermost/command", form))
            return answers[-1]

        assert command("alice", "/report", f"{work_date} {SECRET_TEXTS[0]}").status_code == 200
        assert command("bob", "/report", f"{work_date} {SECRET_TEXTS[3]}", token="not-the-token").status_code == 401
        command("boss", "/report-status", work_date)
        command("boss", "/team", "list")
        mattermost.fail("GET", r"/api/v4/users", status=500)  # sync reads the channel's users
        apology = command("boss", "/team", "sync")
        dm = next(p for p in mattermost.dm_posts_to(people["bob"]["id"]) if p["props"].get("attachments"))
        answers.append(mattermost.click(dm["id"], "write", people["bob"]))
        answers.append(mattermost.submit_dialog(mattermost.dialogs[-1], people["bob"],
                                                {"work_date": work_date, "text": SECRET_TEXTS[1]}))
        answers.append(requests.post(f"{served.url}/api/v1/reports", timeout=10,
                                     headers={"Authorization": f"Bearer {API_TOKEN}"},
                                     json={"user": "boss", "date": work_date, "text": SECRET_TEXTS[2]}))
        answers.append(requests.post(f"{served.url}/api/v1/reports", timeout=10, data="{not json",
                                     headers={"Authorization": f"Bearer {API_TOKEN}",
                                              "Content-Type": "application/json"}))
        answers.append(requests.get(f"{served.url}/readyz", timeout=10))
        answers.append(requests.get(f"{served.url}/metrics", timeout=10,
                                    headers={"Authorization": f"Bearer {METRICS_TOKEN}"}))
    finally:
        log = served.stop()
        database.dispose()
    assert [a.status_code for a in answers] == [200, 401, 200, 200, 200, 200, 200, 200, 400, 200, 200]

    lines = upgrade.stderr.splitlines() + log.splitlines()
    if log_format == "json":
        records = [json.loads(line) for line in lines]  # every line, of every logger, is one object
        assert {"alembic.runtime.migration", "nippo.access", "nippo.tick"} <= {r["logger"] for r in records}
        assert all(isinstance(r["run_id"], int) for r in records if r["logger"] == "nippo.tick")
        access = [r["request_id"] for r in records if r["logger"] == "nippo.access"]
    else:
        access = [line.rsplit("request_id=", 1)[1].rstrip("]") for line in lines if " nippo.access: " in line]
    for answer in answers:
        assert access.count(answer.headers["X-Request-Id"]) == 1
    reference = apology.headers["X-Request-Id"]
    assert f"`{reference}`" in apology.json()["text"]
    assert any(reference in line and "Mattermost" in line for line in lines)  # the apology leads to its cause

    secrets = [mattermost.bot_token, COMMAND_TOKEN, "not-the-token", SECRET_KEY, API_TOKEN, METRICS_TOKEN,
               *SECRET_TEXTS, "{not json", "trigger_id", "response_url"]
    text = "\n".join(lines)
    assert [s for s in secrets if s in text] == []
    assert "Traceback" not in log
