"""Benchmark: planning and delivering the morning reminder (docs/operations.md, performance).

    .venv/bin/python bench/reminders.py [--databases sqlite,postgresql] [--skip-rate-limit]
        [--members 10000 --subscriptions 1000] [--no-analyse] [--only-planning] [--at-scale]
        [--history DAYS] [--joined DAYS] [--repeat N]

(a) Planning one tick for 10,000 members in 1,000 subscriptions (and for
    1,000 in 100, to show the query count does not grow): wall time and SQL
    statements counted with a ``before_cursor_execute`` listener. Then the
    same at 13:00, when every subscription has a nudge (`again 13:00`, after
    a morning run that was sent) and a weekly digest due.
    Target: <= 1 s, the same number of statements at both sizes.
    With --history DAYS, every member also filed on 99% of the DAYS
    Monday-to-Friday days before the work date: the streak walks of a team
    that has used nippo that long (docs/operations.md, report history).
    The rosters joined 90 days before the tick; --joined 0 adds them all
    that morning: the first digest after a whole organisation was added,
    which counts each member from their first expected day.
    After each 09:00 plan, closing its runs as delivery leaves them (every
    message sent, every missing member's escalation streak from the day
    before on record): the pass each tick makes after delivering, timed the
    same way. No target of its own; it must not grow faster than the runs.
(b) Delivering 300 DMs through the Mattermost stand-in with its rate limiter
    at 10/s, burst 100: cold (the DM channel is created first: 2 calls per
    DM) and warm (cached: 1 call), against the floor (calls beyond the
    burst / 10 per second). Target: <= 1.1x the floor, nothing failed.
    With --at-scale: 10,000 DMs at 100/s, burst 100, warm (floor 99 s) and
    cold. Target: <= 1.05x the floor, nothing failed, nothing twice.
(c) Delivering through an unlimited stand-in answering every call after
    20 ms, request validation off. Target: >= 200 posts/s.

Each part prints its figures and the ratio to its target.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

from sqlalchemy import event, insert, select, text, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import calendar  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.mattermost import ConsoleClient, MattermostClient  # noqa: E402
from bot.reminders.common import DeliveryOptions, TickTime, process_id  # noqa: E402
from bot.reminders.delivery import deliver  # noqa: E402
from bot.reminders.finish import finish_runs  # noqa: E402
from bot.services import build_services  # noqa: E402
from bot.tick import plan_tick  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import (Absence, Member, MissingStreak, OutboxMessage, ReminderRun, Report, RosterEntry,  # noqa: E402
                       Subscription, Team)
from db.session import Database  # noqa: E402
from tests.conftest import ensure_postgres_database  # noqa: E402
from tests.standin.server import MattermostStandIn  # noqa: E402

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/nippo_bench"
NOW = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)  # 09:00 in Tokyo, a Tuesday
AFTERNOON = datetime(2026, 12, 1, 4, 0, tzinfo=timezone.utc)  # 13:00: nudges and digests
WORK_DATE = datetime(2026, 11, 30).date()
JOINED_DAYS = 90  # the rosters' age: older than any digest's week
TARGET_SMALL, TARGET_LARGE = 1.0, 2.0  # seconds: up to 10,000 members, and beyond
MODES = ("channel", "dm", "both")


def fresh_database(kind: str, scratch: Path, postgres_url: str = POSTGRES_URL) -> Database:
    """An empty database at the newest schema: a new SQLite file in ``scratch``,
    or ``postgres_url``'s database emptied (each bench has its own)."""
    if kind == "sqlite":
        path = scratch / f"bench-{time.monotonic_ns()}.db"
        database = Database(f"sqlite:///{path}")
    else:
        ensure_postgres_database(postgres_url)
        database = Database(postgres_url)
        with database.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    upgrade(database)
    return database


def seed_teams(database: Database, subscriptions: int, per_team: int, *, delivery=None, user_ids=None,
               leaders: bool = True, afternoon: bool = False, history: int = 0, joined: int = JOINED_DAYS) -> None:
    """``subscriptions`` teams of ``per_team`` members, all due at NOW; about a
    third of each team filed, one in ten is off. ``afternoon``: each also has
    a nudge and its digest due at AFTERNOON, the morning run sent.
    ``history``: Monday-to-Friday days before the work date on which each
    member filed, 99 in 100 of them. ``joined``: days before NOW the
    rosters were made (0: at NOW itself)."""
    rng = random.Random(subscriptions)
    with database.engine.begin() as connection:
        connection.execute(insert(Team), [{"id": t + 1, "channel_id": f"channel{t:05d}", "channel_name": f"team-{t}",
                                           "created_at": NOW} for t in range(subscriptions)])
        count = subscriptions * per_team
        connection.execute(insert(Member), [{
            "id": m + 1, "user_id": user_ids[m] if user_ids else f"user{m:06d}", "username": f"member{m:06d}",
            "email": f"member{m:06d}@example.com", "active": True, "is_bot": False} for m in range(count)])
        connection.execute(insert(RosterEntry), [{
            "team_id": m // per_team + 1, "member_id": m + 1, "added_at": NOW - timedelta(days=joined),
            "role": "leader" if leaders and m % per_team == 0 else "member"} for m in range(count)])
        connection.execute(insert(Subscription), [{
            "id": t + 1, "team_id": t + 1, "enabled": True, "paused": False, "at_time": "09:00",
            "timezone": "Asia/Tokyo", "weekdays": "0,1,2,3,4", "delivery": delivery or MODES[t % 3],
            "persona": "emperor", "language": "en" if t % 2 else "ja", "holidays": "JP", "check_day": "previous",
            "escalate": 3, "mention": True, "failure_streak": 0, "created_at": NOW, "updated_at": NOW,
            "again_times": "13:00" if afternoon else "", "digest_day": 1 if afternoon else None,
            "digest_time": "13:00" if afternoon else None}
            for t in range(subscriptions)])
        if afternoon:
            connection.execute(insert(ReminderRun), [{
                "subscription_id": t + 1, "local_date": NOW.date(), "slot": "", "work_date": WORK_DATE,
                "state": "sent", "scheduled_at": NOW, "deadline": NOW, "created_at": NOW} for t in range(subscriptions)])
        off = [m + 1 for m in range(count) if rng.random() < 0.1]
        if off:
            connection.execute(insert(Absence), [{"member_id": m, "team_id": None, "work_date": WORK_DATE,
                                                  "created_at": NOW} for m in off])
        filed = [m + 1 for m in range(count) if rng.random() < 0.35]
        if filed:
            connection.execute(insert(Report), [{"member_id": m, "work_date": WORK_DATE, "text": "did things",
                                                 "source": "command", "created_at": NOW, "updated_at": NOW}
                                                for m in filed])
        for day in weekdays_before(WORK_DATE, history):
            connection.execute(insert(Report), [{"member_id": m + 1, "work_date": day, "text": "did things",
                                                 "source": "command", "created_at": NOW, "updated_at": NOW}
                                                for m in range(count) if rng.random() < 0.99])


def weekdays_before(day: date, count: int) -> list[date]:
    """The ``count`` Monday-to-Friday days before ``day``, newest first."""
    found = []
    while len(found) < count:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            found.append(day)
    return found


def services_for(database: Database, mattermost=None, mattermost_url: str = "http://localhost:1"):
    settings = Settings.from_env({"NIPPO_DATABASE_URL": database.url, "NIPPO_MATTERMOST_URL": mattermost_url,
                                  "NIPPO_BOT_TOKEN": "x", "NIPPO_SECRET_KEY": "bench-" * 6, "NIPPO_COMMAND_TOKENS": "x"})
    return build_services(settings, database=database, mattermost=mattermost or ConsoleClient(stream=io.StringIO()))


# --- (a) planning ----------------------------------------------------------------

def bench_planning(kinds: list[str], scratch: Path, members: int, subscriptions: int, analyse: bool,
                   explain: bool = False, history: int = 0, repeat: int = 1, joined: int = JOINED_DAYS) -> None:
    target = TARGET_SMALL if members <= 10_000 else TARGET_LARGE
    smaller = max(subscriptions // 10, 1)
    per_team = max(members // subscriptions, 1)
    print(f"(a) planning one tick for {members:,} members in {subscriptions:,} subscriptions "
          f"(target: <= {target:.0f} s; statements the same as at {smaller:,} subscriptions)"
          + (f", each member with {history} work days of reports before" if history else "")
          + (", every roster joined that morning" if joined == 0 else
             f", the rosters {joined} days old" if joined != JOINED_DAYS else ""))
    # What a process pays once, at its first tick: loading the public-holiday calendar.
    started = time.perf_counter()
    calendar.public_holidays("JP", NOW.year)
    print(f"  (once per process, not counted: loading the public-holiday calendars, "
          f"{(time.perf_counter() - started) * 1000:.0f} ms)")
    print(f"  (the machine's speed now: {machine_speed():.2f} s for a fixed Python loop; "
          "a shared virtual machine varies by half and more)")
    states = ("fresh", "analysed") if analyse else ("fresh",)
    for kind in kinds:
        for afternoon in (False, True):
            when = "13:00, nudges and digests" if afternoon else "09:00, morning runs"
            counts = {}
            for size in (smaller, subscriptions):
                for state in states if size == subscriptions else ("fresh",):
                    times = []
                    for _ in range(repeat if size == subscriptions else 1):
                        elapsed, statements, planned, messages, closing = plan_once(
                            kind, scratch, size, per_team, afternoon, analysed=state == "analysed",
                            explain=explain and not afternoon and not times, history=history, joined=joined)
                        times.append(elapsed)
                        counts[size] = statements
                        print(f"  {kind:10} {when}: {size:6,} subscriptions {size * per_team:7,} members, "
                              f"{state:8}: {elapsed * 1000:7.0f} ms, {statements} SQL statements, {planned:,} runs "
                              f"planned, {messages:,} outbox messages  ({elapsed / target:.2f}x the {target:.0f} s "
                              "target)")
                        if closing:
                            seconds, closed, statements = closing
                            print(f"  {kind:10} {when}: {'':>46} then closing the {closed:,} runs, all sent: "
                                  f"{seconds * 1000:7.0f} ms, {statements} SQL statements")
                    if len(times) > 1:
                        middle = statistics.median(times)
                        print(f"  {kind:10} {when}: {size:6,} subscriptions, {state:8}, median of {len(times)} "
                              f"(each on a fresh database; the machine's loop {machine_speed():.2f} s "
                              f"after them): {middle * 1000:7.0f} ms  ({middle / target:.2f}x the {target:.0f} s "
                              "target)")
            verdict = "constant" if counts[smaller] == counts[subscriptions] else "NOT constant"
            print(f"  {kind:10} {when}: statements at {smaller:,} vs {subscriptions:,} subscriptions: "
                  f"{counts[smaller]} vs {counts[subscriptions]} ({verdict})")


def machine_speed() -> float:
    """Seconds for ten million additions in a Python loop: figures from
    different runs compare only next to it."""
    started = time.perf_counter()
    total = 0
    for number in range(10_000_000):
        total += number
    return time.perf_counter() - started


def plan_once(kind: str, scratch: Path, subscriptions: int, per_team: int, afternoon: bool, *,
              analysed: bool, explain: bool = False, history: int = 0,
              joined: int = JOINED_DAYS) -> tuple[float, int, int, int, tuple | None]:
    """Seed a fresh database, optionally ANALYZE it, and plan one tick:
    (seconds, SQL statements, runs planned, outbox messages, closing them);
    closing, after a morning: (seconds, runs closed, SQL statements)."""
    database = fresh_database(kind, scratch)
    seed_teams(database, subscriptions, per_team, afternoon=afternoon, history=history, joined=joined)
    if analysed:
        with database.engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    services = services_for(database)
    reads: list | None = [] if explain else None
    with statements_of(database, reads) as statements:
        started = time.perf_counter()
        lines = plan_tick(services, TickTime(AFTERNOON if afternoon else NOW), process_id())
        elapsed = time.perf_counter() - started
    with database.read() as session:
        # A run's DMs are one step row until delivery makes them: each counts here.
        messages = sum(len(payload["dms"]) if kind == "dms" else 1 for kind, payload in session.execute(
            select(OutboxMessage.kind, OutboxMessage.payload)))
    for statement, parameters in reads or []:
        print_plan(database, statement, parameters)
    closing = None if afternoon else close_runs(services, database)
    services.background.shutdown(wait=False)
    database.dispose()
    return elapsed, statements["sql"], sum(line.status == "planned" for line in lines), messages, closing


def close_runs(services, database: Database) -> tuple[float, int, int]:
    """The pass after delivery (``finish_runs``) over the morning just
    planned, every message sent and every missing member on a streak of
    one from the day before: (seconds, runs closed, SQL statements)."""
    with database.write() as session:
        session.execute(update(OutboxMessage).values(state="sent"))
        runs = session.execute(select(ReminderRun.subscription_id, ReminderRun.missing)).all()
        session.execute(insert(MissingStreak), [
            {"subscription_id": sub_id, "member_id": member_id, "streak": 1, "leaders_told": False}
            for sub_id, missing in runs for member_id in missing or []])
    with statements_of(database) as statements:
        started = time.perf_counter()
        closed = finish_runs(services, TickTime(NOW))
        elapsed = time.perf_counter() - started
    return elapsed, len(closed), statements["sql"]


@contextmanager
def statements_of(database: Database, reads: list | None = None) -> Iterator[Counter]:
    """The SQL statements run in the block, counted (``["sql"]``); given
    ``reads``, the reads that take a set of ids are kept there for
    ``--explain``."""
    statements = Counter()

    def count(connection, cursor, statement, parameters, context, executemany):
        statements["sql"] += 1
        if reads is not None and statement.lstrip().upper().startswith("SELECT") and (
                "json_each" in statement or "integer[]" in statement):
            reads.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", count)


def print_plan(database: Database, statement: str, parameters) -> None:
    """The plan the database chose for one of planning's reads (ids passed as one parameter)."""
    prefix = "EXPLAIN QUERY PLAN " if database.kind == "sqlite" else "EXPLAIN "
    with database.engine.connect() as connection:
        plan = connection.exec_driver_sql(prefix + statement, parameters).all()
    first = " ".join(statement.split())[:110]
    print(f"      {first}…")
    for row in plan:
        line = str(row[-1])
        print(f"        {line if len(line) <= 150 else line[:120] + ' …'}")


# --- (b), (c) delivery -------------------------------------------------------------

def delivery_scene(kind: str, scratch: Path, standin: MattermostStandIn, dms: int):
    """One dm-mode subscription whose ``dms`` members are all missing, planned."""
    team = standin.add_team("bench")
    users = [standin.add_user(f"member{m:06d}") for m in range(dms)]
    database = fresh_database(kind, scratch)
    seed_teams(database, 1, dms, delivery="dm", user_ids=[u["id"] for u in users], leaders=False)
    with database.write() as session:  # every member missing: no report, nobody off
        session.execute(text("DELETE FROM reports"))
        session.execute(text("DELETE FROM absences"))
    client = MattermostClient(standin.url, standin.bot_token, timeout=30.0)
    services = services_for(database, client, standin.url)
    del team
    plan_tick(services, TickTime(NOW), process_id())
    return database, client, services, users


def warm_up(services, users) -> None:
    """The DM channels exist and this process knows them, as after yesterday's reminders."""
    services.delivery = DeliveryOptions()
    for user in users:
        services.delivery.dm_channels[user["id"]] = services.mattermost.direct_channel_id(user["id"])


def timed_delivery(services) -> tuple[float, Counter]:
    if getattr(services, "delivery", None) is None:
        services.delivery = DeliveryOptions()
    started = time.perf_counter()
    counts = deliver(services, TickTime(NOW), process_id())
    return time.perf_counter() - started, counts


def bench_rate_limited(kind: str, scratch: Path, dms: int = 300, per_sec: int = 10, burst: int = 100,
                       target: float = 1.1, modes: tuple[bool, ...] = (False, True)) -> None:
    print(f"(b) {dms:,} DMs through the stand-in's rate limiter, {per_sec}/s burst {burst} ({kind}; "
          f"target <= {target}x the floor, nothing failed, nothing twice)")
    for warm in modes:
        with MattermostStandIn(validate=False) as standin:
            database, client, services, users = delivery_scene(kind, scratch, standin, dms)
            if warm:
                warm_up(services, users)
            client.me()
            calls_before = len(standin.requests)
            standin.enable_rate_limit(per_sec=per_sec, burst=burst)
            elapsed, counts = timed_delivery(services)
            calls = len(standin.requests) - calls_before
            ok_calls = dms * (1 if warm else 2)
            floor = max(ok_calls - burst, 0) / per_sec
            posts = len(standin.posts)
            recipients = Counter(post["channel_id"] for post in standin.posts)
            twice = sum(1 for n in recipients.values() if n > 1)
            print(f"  {'warm' if warm else 'cold'}: {elapsed:6.1f} s for {posts:,} posts ({ok_calls:,} calls needed, "
                  f"{calls:,} made, {calls - ok_calls:,} answered 429), floor {floor:.1f} s, "
                  f"ratio {elapsed / floor:.3f} ({elapsed / floor / target:.2f}x the target), "
                  f"{twice} channels posted to twice, outcomes {dict(counts)}")
            assert posts == dms and counts.get("failed", 0) == 0 and twice == 0
            client.close()
            services.background.shutdown(wait=False)
            database.dispose()


def bench_latency(kind: str, scratch: Path, dms: int = 600) -> None:
    print(f"(c) {dms} DMs, stand-in unlimited, 20 ms per call, validation off ({kind}; target >= 200 posts/s)")
    for warm in (True, False):
        with MattermostStandIn(validate=False) as standin:
            database, client, services, users = delivery_scene(kind, scratch, standin, dms)
            if warm:
                warm_up(services, users)
            client.me()
            standin.latency(0.020)
            elapsed, counts = timed_delivery(services)
            posts = len(standin.posts)
            verdict = (f"{posts / elapsed / 200:.2f}x the target" if warm else
                       f"{2 * posts / elapsed:.0f} calls/s; for information, the target is for one call a post")
            print(f"  {'warm' if warm else 'cold'} ({1 if warm else 2} calls per DM): {posts} posts in "
                  f"{elapsed:5.2f} s = {posts / elapsed:6.1f} posts/s ({verdict}), outcomes {dict(counts)}")
            assert posts == dms
            client.close()
            services.background.shutdown(wait=False)
            database.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--members", type=int, default=10_000, help="members planned in (a) (default 10,000)")
    parser.add_argument("--subscriptions", type=int, default=1_000,
                        help="subscriptions they are spread over (default 1,000); (a) also plans a tenth of it")
    parser.add_argument("--no-analyse", action="store_true",
                        help="plan only straight after the bulk load, not also after ANALYZE")
    parser.add_argument("--only-planning", action="store_true", help="run (a) alone")
    parser.add_argument("--history", type=int, default=0, metavar="DAYS",
                        help="(a) with DAYS work days of reports before the work date, 99%% filed (default 0)")
    parser.add_argument("--explain", action="store_true",
                        help="print the plan of each of the morning's reads that takes a set of ids")
    parser.add_argument("--joined", type=int, default=JOINED_DAYS, metavar="DAYS",
                        help=f"the rosters joined DAYS days before the tick (default {JOINED_DAYS}); 0: that "
                             "morning, so each digest counts every member from their first expected day")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="plan each full-size tick N times and print the median too (default 1): this machine's "
                             "speed moves by a third from one run to the next")
    parser.add_argument("--skip-rate-limit", action="store_true", help="skip (b), which takes over a minute")
    parser.add_argument("--at-scale", action="store_true",
                        help="(b) at scale instead: 10,000 DMs at 100/s burst 100, warm (floor 99 s, target 1.05x) "
                             "and cold (two calls a DM)")
    args = parser.parse_args()
    kinds = [k for k in args.databases.split(",") if k]
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        bench_planning(kinds, scratch, args.members, args.subscriptions, not args.no_analyse, args.explain,
                       args.history, max(args.repeat, 1), args.joined)
        if args.only_planning:
            return 0
        for kind in kinds:
            bench_latency(kind, scratch)
        if args.at_scale:
            bench_rate_limited(kinds[0], scratch, dms=10_000, per_sec=100, burst=100, target=1.05,
                               modes=(True, False))
        elif not args.skip_rate_limit:
            bench_rate_limited(kinds[0], scratch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
