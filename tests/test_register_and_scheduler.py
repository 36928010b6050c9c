"""`nippo register-commands` against the stand-in, and the scheduler thread."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from bot.register import COMMANDS, register_commands
from bot.scheduler import SchedulerThread


def test_register_creates_five_commands_then_updates_them(mattermost):
    admin = mattermost.add_user("admin", roles="system_user system_admin")
    token = mattermost.create_token(admin["id"])
    first = register_commands(mattermost.url, token, "acme", "https://nippo.example.com")
    assert [line.split()[0] for line in first[:5]] == ["created"] * 5
    tokens = first[-1].removeprefix("NIPPO_COMMAND_TOKENS=").split(",")
    assert len(tokens) == 5 and all(len(t) == 26 for t in tokens)
    commands = [c for c in mattermost.commands.values() if not c.get("delete_at")]
    assert sorted(c["trigger"] for c in commands) == sorted(c["trigger"] for c in COMMANDS)
    assert all(c["url"] == "https://nippo.example.com/mattermost/command" and c["method"] == "P" for c in commands)
    assert all(c["username"] == "" and c["icon_url"] == "" for c in commands)  # the persona decides how posts look

    again = register_commands(mattermost.url, token, "acme", "https://nippo2.example.com/")
    assert [line.split()[0] for line in again[:5]] == ["updated"] * 5
    assert again[-1] == first[-1]  # same commands, same tokens
    commands = [c for c in mattermost.commands.values() if not c.get("delete_at")]
    assert len(commands) == 5
    assert all(c["url"] == "https://nippo2.example.com/mattermost/command" for c in commands)


def test_a_tick_that_raises_is_logged_and_the_thread_goes_on(caplog):
    calls = []

    def tick(now, should_stop):
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("database went away")

    moments = iter([datetime(2026, 12, 1, tzinfo=timezone.utc) + timedelta(minutes=n) for n in range(10)])
    scheduler = SchedulerThread(tick, clock=lambda: next(moments))
    scheduler.run_tick()
    scheduler.run_tick()
    assert len(calls) == 2 and scheduler.ticks == 2
    assert "database went away" in caplog.text


def test_stopping_lets_the_tick_in_flight_finish():
    started, release, finished = threading.Event(), threading.Event(), threading.Event()
    seen_stop = []

    def tick(now, should_stop):
        started.set()
        release.wait(10)
        seen_stop.append(should_stop())
        finished.set()

    scheduler = SchedulerThread(tick, poll_seconds=0.01)
    scheduler.start()
    assert started.wait(10)
    stopper = threading.Thread(target=scheduler.stop)
    stopper.start()
    for _ in range(1000):
        if scheduler.stopping:
            break
        threading.Event().wait(0.01)
    release.set()
    stopper.join(10)
    assert finished.is_set() and not scheduler.is_alive()
    assert seen_stop == [True]  # the tick was told to hand back the rest
