"""`nippo register-commands` against the stand-in, and the scheduler thread."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.config import ConfigError
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


def _admin_token(mattermost):
    admin = mattermost.add_user("admin", roles="system_user system_admin")
    return mattermost.create_token(admin["id"])


def _foreign_report(mattermost, trigger="report"):
    carol = mattermost.add_user("carol")
    mattermost.add_team_member(mattermost.team["id"], carol["id"])
    return mattermost.add_command(mattermost.team["id"], trigger, "https://other.example.com/hook", carol["id"])


def test_register_refuses_a_foreign_report_naming_its_url_and_creator_and_changes_nothing(mattermost):
    foreign = _foreign_report(mattermost)
    before = {k: dict(v) for k, v in mattermost.commands.items()}
    with pytest.raises(ConfigError) as refused:
        register_commands(mattermost.url, _admin_token(mattermost), "acme", "https://nippo.example.com")
    assert "/report" in str(refused.value) and "https://other.example.com/hook" in str(refused.value)
    assert "@carol" in str(refused.value) and "--force" in str(refused.value)
    assert mattermost.commands == before and mattermost.commands[foreign["id"]]["url"].endswith("/hook")


def test_register_with_force_points_the_foreign_command_at_nippo(mattermost):
    foreign = _foreign_report(mattermost)
    lines = register_commands(mattermost.url, _admin_token(mattermost), "acme", "https://nippo.example.com", force=True)
    assert lines[0].startswith("updated /report (taken over from https://other.example.com/hook")
    assert [line.split()[0] for line in lines[1:5]] == ["created"] * 4
    assert mattermost.commands[foreign["id"]]["url"] == "https://nippo.example.com/mattermost/command"
    assert foreign["token"] in lines[-1]


def test_a_trigger_taken_by_a_command_the_token_cannot_see_is_explained_and_nothing_stays_made(mattermost):
    _foreign_report(mattermost, trigger="team")  # the last of the five: four are made before it fails
    dave = mattermost.add_user("dave")
    mattermost.add_team_member(mattermost.team["id"], dave["id"])
    mattermost.grant_own_slash_commands_only(dave["id"])
    with pytest.raises(ConfigError) as refused:
        register_commands(mattermost.url, mattermost.create_token(dave["id"]), "acme", "https://nippo.example.com")
    message = str(refused.value)
    assert "/team is already taken" in message and "cannot see" in message and "Nothing was changed" in message
    assert "app_error" not in message
    assert [c["trigger"] for c in mattermost.commands.values() if not c["delete_at"]] == ["team"]


def test_register_commands_on_the_command_line_refuses_then_forces(mattermost):
    from tests.test_cli import run

    _foreign_report(mattermost)
    args = ["register-commands", "--team", "acme", "--url", "https://nippo.example.com",
            "--token", _admin_token(mattermost)]
    refused = run(args, env={"NIPPO_MATTERMOST_URL": mattermost.url})
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    [line] = [line for line in refused.stderr.splitlines() if line.startswith("nippo:")]
    assert "https://other.example.com/hook" in line and "--force" in line
    forced = run(args + ["--force"], env={"NIPPO_MATTERMOST_URL": mattermost.url})
    assert forced.returncode == 0, forced.stderr
    assert "NIPPO_COMMAND_TOKENS=" in forced.stdout


def test_the_team_commands_autocomplete_hint_names_every_subcommand():
    [team] = [c for c in COMMANDS if c["trigger"] == "team"]
    hint = team["auto_complete_hint"].split()
    for verb in ("add", "remove", "leader", "list", "sync", "web", "link", "off", "on"):
        assert verb in hint, verb


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


def test_after_each_tick_what_it_freed_goes_back_to_the_system(monkeypatch):
    released = []
    monkeypatch.setattr("bot.scheduler.release_free_memory", lambda: released.append("trim"))

    def tick(now, should_stop):
        if not released:
            raise RuntimeError("database went away")

    scheduler = SchedulerThread(tick, clock=lambda: datetime(2026, 12, 1, tzinfo=timezone.utc))
    scheduler.run_tick()
    scheduler.run_tick()
    assert released == ["trim", "trim"]  # after a tick that failed too


def test_free_memory_goes_back_where_the_allocator_allows_it():
    import platform

    from bot.memory import release_free_memory

    assert release_free_memory() is (platform.libc_ver()[0] == "glibc")


def test_a_large_block_freed_leaves_the_next_one_mapped_of_its_own_and_not_in_the_heap():
    """In a fresh process: glibc on its own raises its threshold when a mapped
    block is freed, so the next block of that size comes from the heap; kept
    fixed, it is mapped again (and given back whole when freed)."""
    import platform
    import subprocess
    import sys

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("the threshold is glibc's")
    program = """
import sys
sys.path.insert(0, sys.argv[2])
from bot.memory import heap_figures, keep_large_blocks_mapped

if sys.argv[1] == "fixed":
    assert keep_large_blocks_mapped()
block = bytearray(4 << 20)
del block
before = heap_figures().mapped
block = bytearray(4 << 20)
print(heap_figures().mapped - before >= 4 << 20)
"""
    root = str(Path(__file__).resolve().parent.parent)

    def mapped(mode: str) -> str:
        return subprocess.run([sys.executable, "-c", program, mode, root], capture_output=True, text=True,
                              check=True).stdout.strip()

    assert (mapped("glibc's own"), mapped("fixed")) == ("False", "True")


def test_a_ticks_garbage_in_reference_cycles_is_gone_when_the_tick_ends():
    import gc
    import weakref

    class Node:
        pass

    left = []

    def tick(now, should_stop):
        node = Node()
        node.itself = node  # a cycle: reference counting alone never frees it
        left.append(weakref.ref(node))

    was_enabled = gc.isenabled()
    gc.disable()  # the collector's own schedule must not be what frees it
    try:
        SchedulerThread(tick, clock=lambda: datetime(2026, 12, 1, tzinfo=timezone.utc)).run_tick()
        assert left and left[0]() is None
    finally:
        if was_enabled:
            gc.enable()


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
