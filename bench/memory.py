"""Benchmark: the resident memory of `nippo serve` (docs/operations.md, performance).

    .venv/bin/python bench/memory.py [--database sqlite|postgresql] [--dms 10000] [--mornings 30] [--trace 25] [--allocators]

The measured process is a real `nippo serve` in a child process
(bench/memory_child.py: settings from the environment, personas, migrations,
the Flask app, waitress listening, the scheduler's objects), so nothing this
script imports (the Mattermost stand-in, the seeding) counts. Its resident
size is VmRSS from its /proc/self/status, in MiB.

The database holds ``--dms`` members in dm-mode subscriptions of 10, every one
missing every morning, each a user of the stand-in (one process here, no
rate limit, request validation off). The stand-in forgets its posts after
each morning, so only the serve's memory can grow.

(a) Idle: started, its first scheduler tick done (nothing due yet) and one
    GET /healthz answered (as a container's probe asks). Target: <= 80 MiB.
(b) After the first morning: one scheduler tick that plans and sends
    ``--dms`` DMs (creating every DM channel first: 2 calls per DM).
    Target: <= 120 MiB.
(c) ``--mornings`` mornings, one work day apart (the work date changes each
    morning; the later ones find the DM channels known): the resident size
    after each, and the growth from the first to the last. Target: none.

``--allocators`` prints, after each morning, what Python's small-object
allocator holds in its arenas against what is in use, and glibc's heaps in
use against free in them (mallinfo2: free pages malloc_trim gave back to the
system count as free too, so that figure is an upper bound of what is held).

``--trace N`` runs the serve under tracemalloc (which costs memory itself:
the figures are then no measure against the targets) and prints the N lines
whose allocations grew most from the first morning to the last.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, time as clock_time, timedelta, timezone
from pathlib import Path

import requests
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.reminders import fresh_database, seed_teams  # noqa: E402
from bot import calendar  # noqa: E402
from db.session import Database  # noqa: E402
from tests.harness import free_port  # noqa: E402
from tests.standin.server import MattermostStandIn  # noqa: E402

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/nippo_bench_memory"
PER_TEAM = 10
IDLE_TARGET, MORNING_TARGET = 80.0, 120.0  # MiB
# The teams' schedule (bench.reminders.seed_teams): 09:00 in Tokyo, Monday to Friday, Japan's holidays.
TEAMS = calendar.Schedule(at=clock_time(9, 0), timezone="Asia/Tokyo", weekdays=frozenset(range(5)),
                          holiday_country="JP", days_off=frozenset())


def mornings(count: int, today: date) -> list[datetime]:
    """``count`` work-day mornings, a minute after the reminder's time, all
    before ``today``: ticks in the past are what a serve sees (a tick ahead
    of the real clock leases only its own runs' messages)."""
    day = today - timedelta(days=count * 2 + 14)
    found = []
    while len(found) < count:
        if calendar.work_date_for(TEAMS, day) is not None:
            found.append(calendar.scheduled_at(TEAMS, day) + timedelta(minutes=1))
        day += timedelta(days=1)
    return found


def seed(database: Database, standin: MattermostStandIn, dms: int) -> None:
    users = [standin.add_user(f"member{m:06d}") for m in range(dms)]
    seed_teams(database, dms // PER_TEAM, PER_TEAM, delivery="dm", user_ids=[u["id"] for u in users], leaders=False)
    with database.write() as session:
        session.execute(text("DELETE FROM reports"))  # everyone missing, every morning


def forget_posts(standin: MattermostStandIn) -> int:
    """The morning's posts, counted and dropped: the stand-in lives in this
    process, and 30 mornings of posts would only slow it down."""
    with standin._lock:
        count = len(standin.posts)
        standin.posts.clear()
        standin.posts_by_id.clear()
        standin.requests.clear()
        standin._pending_posts.clear()
    return count


class Serve:
    """The child process and its one-line-at-a-time conversation."""

    program = ROOT / "bench" / "memory_child.py"

    def __init__(self, database_url: str, standin: MattermostStandIn, log_path: Path, trace: bool) -> None:
        self.port = free_port()
        env = {**os.environ, "NIPPO_DATABASE_URL": database_url, "NIPPO_MATTERMOST_URL": standin.url,
               "NIPPO_BOT_TOKEN": standin.bot_token, "NIPPO_COMMAND_TOKENS": "benchtoken",
               "NIPPO_SECRET_KEY": "bench-memory-" * 3, "NIPPO_SCHEDULER": "off"}
        command = [sys.executable, *(["-X", "tracemalloc=1"] if trace else []), str(self.program),
                   "serve", "--port", str(self.port)]
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
                                        text=True, env=env, cwd=ROOT)

    def wait_healthy(self, timeout: float = 60) -> float:
        """Seconds until the first GET /healthz answered 200."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"the serve ended at start:\n{self.log_path.read_text()[-2000:]}")
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the serve did not answer /healthz")

    def ask(self, **command) -> dict:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the serve ended:\n{self.log_path.read_text()[-2000:]}")
        return json.loads(line)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.ask(do="stop")
            self.process.wait(timeout=60)
        self._log.close()


def ratio(mib: float, target: float) -> str:
    return f"{mib / target:.2f}x the {target:.0f} MiB target"


def allocators_line(n: int, answer: dict) -> str:
    python, c = answer["python"], answer["c"]
    line = f"    morning {n}: {answer['rss_mib']:.1f} MiB resident"
    if python["arenas_mib"] is not None:  # not under tracemalloc, whose hooks hide Python's allocator
        line += f"; Python's arenas {python['arenas_mib']:.1f} MiB, {python['used_mib']:.1f} in use"
    if c is not None:
        line += f"; glibc {c['used_mib']:.1f} MiB in use, {c['free_mib']:.1f} free in its heaps"
    return line


def run(kind: str, dms: int, count: int, trace: int, scratch: Path, allocators: bool = False) -> None:
    started = time.perf_counter()
    database = fresh_database(kind, scratch, POSTGRES_URL)
    with MattermostStandIn(validate=False) as standin:
        seed(database, standin, dms)
        url = database.url
        database.dispose()
        print(f"{kind}: {dms} members in {dms // PER_TEAM} dm-mode subscriptions, all missing "
              f"(seeded in {time.perf_counter() - started:.0f} s)")
        serve = Serve(url, standin, scratch / f"serve-{kind}.log", trace=bool(trace))
        try:
            serve.wait_healthy()
            days = mornings(count, datetime.now(timezone.utc).date())
            # A serve ticks once as it starts: here an hour before the first morning, when nothing is due.
            serve.ask(do="tick", at=(days[0] - timedelta(hours=1)).isoformat())
            time.sleep(2)  # let start-up settle: the figure is the idle serve's
            idle = serve.ask(do="rss")
            print(f"(a) idle after start (its first tick, nothing due, and one /healthz): {idle['rss_mib']:.1f} MiB, "
                  f"{idle['objects']} objects ({ratio(idle['rss_mib'], IDLE_TARGET)})")
            figures, seconds = [], []
            for n, at in enumerate(days, start=1):
                tick_started = time.perf_counter()
                after = serve.ask(do="tick", at=at.isoformat())
                seconds.append(time.perf_counter() - tick_started)
                posts = forget_posts(standin)
                if trace and n in (1, count):
                    serve.ask(do="snapshot")
                figures.append(after["rss_mib"])
                if allocators:
                    print(allocators_line(n, serve.ask(do="allocators")), flush=True)
                if n == 1:
                    traced = (f"; Python's own: {after['traced_mib'][0]:.1f} MiB, {after['traced_mib'][1]:.1f} at the "
                              f"tick's peak" if after["traced_mib"] else "")
                    print(f"(b) after the first morning ({at:%a %Y-%m-%d}, {posts} DMs in {seconds[0]:.1f} s): "
                          f"{after['rss_mib']:.1f} MiB, {after['objects']} objects{traced} "
                          f"({ratio(after['rss_mib'], MORNING_TARGET)})")
                if posts != dms:
                    print(f"    morning {n} ({at:%Y-%m-%d}): {posts} DMs sent, not {dms}: see {serve.log_path}")
            growth = figures[-1] - figures[0]
            print(f"(c) {count} mornings ({sum(seconds) / count:.1f} s each on average), MiB after each: "
                  + " ".join(f"{mib:.1f}" for mib in figures))
            print(f"    first -> last: {figures[0]:.1f} -> {figures[-1]:.1f} MiB, growth {growth:+.1f} MiB "
                  f"({growth / figures[0] * 100:+.1f}%); highest {max(figures):.1f} MiB "
                  f"({ratio(max(figures), MORNING_TARGET)}); {after['objects']} objects after the last")
            if trace:
                print(f"    tracemalloc, first morning -> last, top {trace}:")
                for line in serve.ask(do="compare", top=trace)["lines"]:
                    print(f"      {line}")
        finally:
            serve.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--dms", type=int, default=10_000, help="members, all missing: DMs a morning (default 10000)")
    parser.add_argument("--mornings", type=int, default=30, help="simulated mornings (default 30)")
    parser.add_argument("--trace", type=int, default=0, metavar="N",
                        help="under tracemalloc: print the N lines that grew most (figures then inflated)")
    parser.add_argument("--allocators", action="store_true",
                        help="after each morning, print what Python's and glibc's allocators hold")
    args = parser.parse_args()
    if args.dms % PER_TEAM or args.mornings < 1:
        parser.error(f"--dms must be a multiple of {PER_TEAM}, --mornings at least 1")
    with tempfile.TemporaryDirectory() as folder:
        run(args.database, args.dms, args.mornings, args.trace, Path(folder), args.allocators)
    return 0


if __name__ == "__main__":
    sys.exit(main())
