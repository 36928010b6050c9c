"""Replicas, proven: two ``nippo serve`` processes on one PostgreSQL answer
alike. Mattermost's requests alternate between them through a round-robin
balancer, so every read lands on the other replica than the write before it;
and both schedulers tick the same due run on the real clock, which is sent once."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timezone

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bot.clock import FrozenClock
from db.models import OutboxMessage, ReminderRun
from tests.harness import COMMAND_TOKEN
from tests.reminder_helpers import Scene
from tests.serving import PUBLIC_URL, RoundRobin, serve_env, start_serve, wait_for, wait_until_up

HEADER = re.compile(r"\*\*(?P<date>[\d-]+)\*\*: (?P<reported>\d+) reported, (?P<missing>\d+) missing, (?P<off>\d+) off")


def metric(text: str, name: str, **labels) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_serve_processes_answer_alike_and_send_each_run_once(database, mattermost, tmp_path):
    now = datetime.now(timezone.utc)
    scene = Scene(database, mattermost, FrozenClock(now))
    people = {name: scene.person(name, leader=name == "alice") for name in ("alice", "bob", "carol", "dave")}
    # Due this very minute in UTC, every day: both schedulers find it on their first tick.
    scene.subscribe(at_time=now.strftime("%H:%M"), timezone="UTC", weekdays="0,1,2,3,4,5,6", delivery="dm")
    scene.close()

    env = serve_env(database.url, mattermost, NIPPO_LOG_FORMAT="json")
    replicas = [start_serve(env, tmp_path / f"replica{n}.log") for n in (1, 2)]
    try:
        for replica in replicas:
            wait_until_up(replica)
        balancer = mattermost.outgoing = RoundRobin(replicas)

        def run_state():
            with database.read() as session:
                return session.execute(select(ReminderRun.state, ReminderRun.work_date)).all()

        runs = wait_for(lambda: [r for r in run_state() if r.state == "sent"] or None, what="the run to be sent")
        wait_for(lambda: all(metric(r.metrics(), "nippo_scheduler_last_tick_timestamp_seconds") for r in replicas),
                 what="both schedulers to tick")
        assert len(run_state()) == 1
        work_date = runs[0].work_date.isoformat()

        def command(user: str, command: str, text: str) -> str:
            form = mattermost.slash_command_form(people[user], mattermost.channel, command, text, COMMAND_TOKEN)
            answer = mattermost.send_command(f"{PUBLIC_URL}/mattermost/command", form)
            assert answer.status_code == 200, answer.text
            return answer.json()["text"]

        def status() -> dict[str, int]:
            found = HEADER.search(command("alice", "/report-status", work_date))
            assert found, "no status header"
            return {key: int(found[key]) for key in ("reported", "missing", "off")}

        def dm(user: str) -> dict:
            return next(p for p in mattermost.dm_posts_to(people[user]["id"]) if p["props"].get("attachments"))

        assert status() == {"reported": 0, "missing": 4, "off": 0}
        command("bob", "/report", f"{work_date} fixed the login page")
        assert status() == {"reported": 1, "missing": 3, "off": 0}

        assert mattermost.click(dm("carol")["id"], "write", people["carol"]).status_code == 200
        submitted = mattermost.submit_dialog(mattermost.dialogs[-1], people["carol"],
                                             {"work_date": work_date, "text": "reviewed the release"})
        assert submitted.status_code == 200
        assert status() == {"reported": 2, "missing": 2, "off": 0}

        assert mattermost.click(dm("dave")["id"], "off", people["dave"]).status_code == 200
        assert status() == {"reported": 2, "missing": 1, "off": 1}

        command("alice", "/team", "remove @dave")
        assert status() == {"reported": 2, "missing": 1, "off": 0}
        command("alice", "/report", f"{work_date} planned the week")
        assert status() == {"reported": 3, "missing": 0, "off": 0}

        command("alice", "/subscribe", "at 07:30")
        assert "07:30" in command("alice", "/subscribe", "")
        assert set(balancer.served.values()) == {balancer.sent // 2}  # strictly alternated

        scrapes = [replica.metrics() for replica in replicas]
    finally:
        logs = [replica.stop() for replica in replicas]
    assert all("Traceback" not in log for log in logs), logs

    with database.read() as session:
        sent = dict(session.execute(select(OutboxMessage.id, OutboxMessage.post_id)
                                    .where(OutboxMessage.state == "sent", OutboxMessage.kind != "membership")).all())
        steps = session.scalars(select(OutboxMessage.id).where(OutboxMessage.state == "sent")).all()
    assert len(sent) == 5  # four DMs and the leaders' summary
    posts = Counter(p["id"] for p in mattermost.posts if p["user_id"] == mattermost.bot["id"])
    assert posts == Counter({post_id: 1 for post_id in sent.values()})  # each once, nothing else
    # Counts come from the database: both replicas report the same, whichever sent.
    for scrape in scrapes:
        assert metric(scrape, "nippo_reminder_runs_total", state="sent") == 1
        assert metric(scrape, "nippo_outbox_messages", state="sent") == len(steps)
