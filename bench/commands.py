"""Benchmark: /report-status against /healthz on the same `nippo serve` (docs/operations.md, performance).

    .venv/bin/python bench/commands.py [--seconds 10] [--databases sqlite,postgresql]

For each database: a 200-member team with 30 days of reports, `nippo serve`
(the production server, scheduler off) talking to the Mattermost stand-in,
and wrk on loopback with 8 connections, first on GET /healthz (the floor),
then on POST /mattermost/command with /report-status. Prints throughput,
p50/p99 latency and the ratio. Targets: ratio >= 0.5, p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from db.migrate import upgrade  # noqa: E402
from db.models import Member, Report, RosterEntry, Subscription, Team  # noqa: E402
from db.session import Database, normalize_url  # noqa: E402
from tests.conftest import drop_postgres_database, ensure_postgres_database  # noqa: E402
from tests.harness import free_port  # noqa: E402
from tests.standin.server import MattermostStandIn  # noqa: E402

TOKEN = "benchtoken00000000000000000"
MEMBERS = 200
DAYS = 30


def seed(url: str, channel_id: str) -> None:
    database = Database(url)
    upgrade(database)
    now = datetime.now(timezone.utc)
    with database.write() as session:
        team = Team(channel_id=channel_id, channel_name="dev", created_at=now)
        session.add(team)
        session.flush()
        session.add(Subscription(team_id=team.id, enabled=True, paused=False, at_time="09:00", timezone="Asia/Tokyo",
                                 weekdays="0,1,2,3,4", delivery="channel", persona="emperor", language="en",
                                 holidays="JP", check_day="previous", escalate=3, mention=True, failure_streak=0,
                                 created_at=now, updated_at=now))
        members = [Member(user_id=f"user{n:04d}", username=f"member{n:03d}", active=True, is_bot=False)
                   for n in range(MEMBERS)]
        session.add_all(members)
        session.flush()
        session.add_all(RosterEntry(team_id=team.id, member_id=m.id, role="leader" if i == 0 else "member",
                                    added_at=now) for i, m in enumerate(members))
        today = date.today()
        session.add_all(Report(member_id=m.id, work_date=today - timedelta(days=d), text="did things " * 10,
                               source="command", created_at=now, updated_at=now)
                        for d in range(1, DAYS + 1) for i, m in enumerate(members) if (i + d) % 7)
    database.dispose()


def start_server(url: str, mattermost: MattermostStandIn, port: int, log_path: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIPPO_")}
    env.update({
        "NIPPO_DATABASE_URL": url, "NIPPO_MATTERMOST_URL": mattermost.url, "NIPPO_BOT_TOKEN": mattermost.bot_token,
        "NIPPO_COMMAND_TOKENS": TOKEN, "NIPPO_SECRET_KEY": "bench", "NIPPO_SCHEDULER": "off",
    })
    nippo = str(Path(sys.executable).with_name("nippo"))
    # A file, not a pipe nobody reads: one access line per request would fill a pipe and stall the server.
    with open(log_path, "w") as log_file:
        process = subprocess.Popen([nippo, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                                   stdout=subprocess.DEVNULL, stderr=log_file)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("nippo serve did not start: " + Path(log_path).read_text()[-2000:])


def wrk(url: str, seconds: int, script: str | None = None) -> dict:
    args = ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency"]
    if script:
        args += ["-s", script]
    output = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)

    def percentile(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", output).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"rps": rps, "p50": percentile("50"), "p99": percentile("99"), "errors": int(errors.group(1)) if errors else 0}


def status_script(channel_id: str, user_id: str, folder: str) -> str:
    body = urlencode({"channel_id": channel_id, "channel_name": "dev", "command": "/report-status",
                      "response_url": "", "team_id": "", "text": "", "token": TOKEN,
                      "trigger_id": "", "user_id": user_id, "user_name": "member000"})
    path = os.path.join(folder, "status.lua")
    with open(path, "w") as script:
        script.write('wrk.method = "POST"\n')
        script.write(f'wrk.body = "{body}"\n')
        script.write('wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n')
    return path


def bench(kind: str, seconds: int, folder: str) -> dict:
    mattermost = MattermostStandIn(validate=False).start()
    team = mattermost.add_team("acme")
    channel = mattermost.add_channel(team["id"], "dev")
    if kind == "sqlite":
        url = f"sqlite:///{folder}/bench.db"
    else:
        server = os.environ.get("NIPPO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        url = normalize_url(server).set(database="nippo_bench_commands").render_as_string(hide_password=False)
        drop_postgres_database(url)
        ensure_postgres_database(url)
    seed(url, channel["id"])
    port = free_port()
    process = start_server(url, mattermost, port, os.path.join(folder, "serve.log"))
    try:
        base = f"http://127.0.0.1:{port}"
        check = requests.post(f"{base}/mattermost/command", data={
            "channel_id": channel["id"], "command": "/report-status", "text": "", "token": TOKEN,
            "user_id": "user0000", "user_name": "member000", "channel_name": "dev"}, timeout=5)
        assert check.status_code == 200 and "200" in check.json()["text"], check.text
        wrk(f"{base}/healthz", 2)  # warm-up
        health = wrk(f"{base}/healthz", seconds)
        status = wrk(f"{base}/mattermost/command", seconds, status_script(channel["id"], "user0000", folder))
    finally:
        process.terminate()
        process.wait(30)
        mattermost.stop()
        if kind == "postgresql":
            drop_postgres_database(url)
    return {"health": health, "status": status}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench/commands.py needs wrk (Debian package wrk)")
    ok = True
    for kind in args.databases.split(","):
        with tempfile.TemporaryDirectory() as folder:
            result = bench(kind, args.seconds, folder)
        health, status = result["health"], result["status"]
        ratio = status["rps"] / health["rps"]
        met = ratio >= 0.5 and status["p99"] <= 50 and not status["errors"]
        ok &= met
        print(f"{kind:10s} /healthz {health['rps']:8.0f} req/s p50 {health['p50']:6.2f} ms p99 {health['p99']:6.2f} ms")
        print(f"{kind:10s} /report-status (200 members, 30 days) {status['rps']:8.0f} req/s "
              f"p50 {status['p50']:6.2f} ms p99 {status['p99']:6.2f} ms non-2xx {status['errors']}")
        print(f"{kind:10s} ratio {ratio:.2f} (target >= 0.5), p99 {status['p99']:.1f} ms (target <= 50): "
              f"{'met' if met else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
