"""Benchmark: the web team overview against /healthz on the same `nippo serve`.

    .venv/bin/python bench/web.py [--seconds 10] [--databases sqlite,postgresql]

For each database: a 200-member team with one year of reports and absences,
`nippo serve` (the production server, scheduler off) talking to the
Mattermost stand-in, a leader signed in through a `/team web` link, and wrk
on loopback with 8 connections: GET /healthz (the floor), then the overview
of the last 30 and of the last 90 work days, asking for gzip as browsers do
(the target) and uncompressed (for comparison). Also prints how long the
first, uncached rendering of each takes. Target: p99 <= 100 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.command_scenes import seed_team  # noqa: E402
from bench.commands import TOKEN, start_server, wrk  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Absence, Member, Report, RosterEntry  # noqa: E402
from db.session import Database, normalize_url  # noqa: E402
from tests.conftest import drop_postgres_database, ensure_postgres_database  # noqa: E402
from tests.harness import free_port  # noqa: E402
from tests.standin.server import MattermostStandIn  # noqa: E402

MEMBERS = 200
DAYS = 365
TARGET_P99_MS = 100


def seed(url: str, channel_id: str, leader_id: str) -> int:
    """The team, its subscription, and a year: most members file most work days, some late, some off."""
    database = Database(url)
    upgrade(database)
    now = datetime.now(timezone.utc)
    rng = random.Random(7)
    with database.write() as session:
        team = seed_team(session, {"id": channel_id, "name": "dev"}, now, created_at=now - timedelta(days=DAYS + 30))
        members = [Member(user_id=leader_id if n == 0 else f"user{n:04d}", username=f"member{n:03d}", active=True,
                          is_bot=False) for n in range(MEMBERS)]
        session.add_all(members)
        session.flush()
        session.add_all(RosterEntry(team_id=team.id, member_id=m.id, role="leader" if i == 0 else "member",
                                    added_at=now - timedelta(days=DAYS + 30)) for i, m in enumerate(members))
        team_id = team.id
        member_ids = [m.id for m in members]
    today = now.date()
    for start in range(0, MEMBERS, 20):  # in batches: a year of 200 members is ~50,000 rows
        reports, absences = [], []
        for member_id in member_ids[start:start + 20]:
            diligence = rng.uniform(0.7, 0.99)
            for back in range(1, DAYS + 1):
                day = today - timedelta(days=back)
                if day.weekday() >= 5:
                    continue
                draw = rng.random()
                if draw < diligence:
                    filed = datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(hours=rng.randint(8, 34))
                    reports.append({"member_id": member_id, "work_date": day, "text": "did things", "source": "command",
                                    "created_at": filed, "updated_at": filed})
                elif draw < diligence + 0.03:
                    absences.append({"member_id": member_id, "work_date": day, "team_id": None, "created_by": None,
                                     "created_at": now})
        with database.write() as session:
            session.execute(Report.__table__.insert(), reports)
            if absences:
                session.execute(Absence.__table__.insert(), absences)
    database.dispose()
    return team_id


def sign_in(base: str, channel_id: str, leader: dict) -> str:
    """The session cookie of the leader, signed in through a fresh `/team web` link."""
    answer = requests.post(f"{base}/mattermost/command", data={
        "channel_id": channel_id, "channel_name": "dev", "command": "/team", "text": "web", "token": TOKEN,
        "user_id": leader["id"], "user_name": leader["username"]}, timeout=10).json()["text"]
    path = urlsplit(re.search(r"(https?://\S+/web/login/[A-Za-z0-9_-]+)", answer).group(1)).path
    landed = requests.get(base + path, allow_redirects=False, timeout=10)
    assert landed.status_code == 303, landed.status_code
    return landed.cookies["nippo_session"]


def browser_script(cookie: str, folder: str, gzip: bool) -> str:
    """wrk sends the session cookie and, as a browser does, asks for gzip (or not)."""
    path = os.path.join(folder, f"browser-{gzip}.lua")
    with open(path, "w") as script:
        script.write(f'wrk.headers["Cookie"] = "nippo_session={cookie}"\n')
        if gzip:
            script.write('wrk.headers["Accept-Encoding"] = "gzip, deflate, br"\n')
    return path


def first_render_ms(url: str, cookie: str) -> float:
    started = time.perf_counter()
    response = requests.get(url, cookies={"nippo_session": cookie}, timeout=30)
    assert response.status_code == 200 and "member199" in response.text, response.status_code
    return (time.perf_counter() - started) * 1000


def bench(kind: str, seconds: int, folder: str) -> dict:
    mattermost = MattermostStandIn(validate=False).start()
    team = mattermost.add_team("acme")
    channel = mattermost.add_channel(team["id"], "dev")
    leader = mattermost.add_user("member000")
    mattermost.add_channel_member(channel["id"], mattermost.bot["id"])
    mattermost.add_channel_member(channel["id"], leader["id"])
    if kind == "sqlite":
        url = f"sqlite:///{folder}/bench.db"
    else:
        server = os.environ.get("NIPPO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        url = normalize_url(server).set(database="nippo_bench_web").render_as_string(hide_password=False)
        drop_postgres_database(url)
        ensure_postgres_database(url)
    team_id = seed(url, channel["id"], leader["id"])
    port = free_port()
    process = start_server(url, mattermost, port, os.path.join(folder, "serve.log"))
    try:
        base = f"http://127.0.0.1:{port}"
        cookie = sign_in(base, channel["id"], leader)
        overview = f"{base}/web/teams/{team_id}"
        cold = {days: first_render_ms(f"{overview}?days={days}", cookie) for days in (30, 90)}
        wrk(f"{base}/healthz", 2)  # warm-up
        health = wrk(f"{base}/healthz", seconds)
        results = {(days, gzip): wrk(f"{overview}?days={days}", seconds, browser_script(cookie, folder, gzip))
                   for gzip in (True, False) for days in (30, 90)}
    finally:
        process.terminate()
        process.wait(30)
        mattermost.stop()
        if kind == "postgresql":
            drop_postgres_database(url)
    return {"health": health, "overview": results, "cold": cold}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench/web.py needs wrk (Debian package wrk: apt-get install -y wrk)")
    ok = True
    for kind in args.databases.split(","):
        with tempfile.TemporaryDirectory() as folder:
            result = bench(kind, args.seconds, folder)
        health = result["health"]
        print(f"{kind:10s} /healthz {health['rps']:8.0f} req/s p50 {health['p50']:6.2f} ms p99 {health['p99']:6.2f} ms")
        for (days, gzip), figures in result["overview"].items():
            met = figures["p99"] <= TARGET_P99_MS and not figures["errors"]
            if gzip:  # the target is the page as browsers fetch it
                ok &= met
            print(f"{kind:10s} overview, {MEMBERS} members, a year, last {days} work days, "
                  f"{'gzip (as browsers ask)' if gzip else 'uncompressed'}: "
                  f"{figures['rps']:6.0f} req/s p50 {figures['p50']:6.2f} ms p99 {figures['p99']:6.2f} ms "
                  f"non-2xx {figures['errors']} (first render {result['cold'][days]:.0f} ms): "
                  f"p99 <= {TARGET_P99_MS} ms {'met' if met else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
