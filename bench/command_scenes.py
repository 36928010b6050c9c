"""The scenes bench/commands.py plays: Mattermost users in the stand-in,
teams seeded straight into the database, and the timed `/team` commands.

Every member is a real stand-in user (a Mattermost id, a username), so the
commands nippo receives are the ones Mattermost would send.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import requests
from sqlalchemy import delete, func, select

from db.models import Member, Report, RosterEntry, Subscription, Team
from db.session import Database

DAYS = 30  # of reports behind each /report-status team
FOLLOW_UP_WAIT = 300.0  # seconds a sync's response_url follow-up may take before the bench gives up


@dataclass
class Scene:
    """What one stand-in holds for the bench: shared by every database's run."""
    status_channels: dict[int, dict]  # member count -> channel
    status_users: dict[int, list[dict]]  # member count -> users, the leader first
    add_channel: dict
    add_leader: dict
    newcomers: list[list[dict]]  # one batch of names per timed /team add
    sync_channel: dict
    sync_users: list[dict]  # the channel's members, the leader first


def _users(mattermost, prefix: str, count: int) -> list[dict]:
    return [mattermost.add_user(f"{prefix}{n:04d}") for n in range(count)]


def build_scene(mattermost, member_counts: list[int], add_names: int, add_runs: int, sync_members: int) -> Scene:
    team = mattermost.add_team("acme")
    mattermost.add_team_member(team["id"], mattermost.bot["id"])
    status_channels, status_users = {}, {}
    for count in member_counts:
        channel = mattermost.add_channel(team["id"], f"status{count}")
        users = _users(mattermost, f"s{count}m", count)
        mattermost.add_channel_member(channel["id"], users[0]["id"])
        status_channels[count], status_users[count] = channel, users
    add_channel = mattermost.add_channel(team["id"], "roster")
    add_leader = mattermost.add_user("rosterlead")
    mattermost.add_channel_member(add_channel["id"], add_leader["id"])
    newcomers = []
    for run in range(add_runs):
        batch = _users(mattermost, f"new{run}n", add_names)
        for user in batch:  # team members, so Mattermost resolves the @mentions itself
            mattermost.add_team_member(team["id"], user["id"])
        newcomers.append(batch)
    sync_channel = mattermost.add_channel(team["id"], "everyone")
    sync_users = _users(mattermost, "everyone", sync_members)
    for user in sync_users:
        mattermost.add_channel_member(sync_channel["id"], user["id"])
    return Scene(status_channels, status_users, add_channel, add_leader, newcomers, sync_channel, sync_users)


def seed_team(session, channel: dict, now: datetime, created_at: datetime | None = None) -> Team:
    """A team on ``channel`` (its id and name) with a channel-mode subscription
    at 09:00 Tokyo time, the benches' usual; ``created_at`` back-dates the team."""
    team = Team(channel_id=channel["id"], channel_name=channel["name"], created_at=created_at or now)
    session.add(team)
    session.flush()
    session.add(Subscription(team_id=team.id, enabled=True, paused=False, at_time="09:00", timezone="Asia/Tokyo",
                             weekdays="0,1,2,3,4", delivery="channel", persona="emperor", language="en",
                             holidays="JP", check_day="previous", escalate=3, mention=True, failure_streak=0,
                             created_at=now, updated_at=now))
    return team


def _roster(session, team: Team, users: list[dict], now: datetime) -> list[Member]:
    members = [Member(user_id=u["id"], username=u["username"], active=True, is_bot=False) for u in users]
    session.add_all(members)
    session.flush()
    session.add_all(RosterEntry(team_id=team.id, member_id=m.id, role="leader" if i == 0 else "member", added_at=now)
                    for i, m in enumerate(members))
    return members


def seed(database: Database, scene: Scene) -> None:
    """Each /report-status team with 30 days of reports; the /team add and
    /team sync channels subscribed, with their leader alone on the roster."""
    now = datetime.now(timezone.utc)
    today = date.today()
    for count, channel in scene.status_channels.items():
        with database.write() as session:
            members = _roster(session, seed_team(session, channel, now), scene.status_users[count], now)
            member_ids = [m.id for m in members]
        for start in range(0, len(member_ids), 200):  # in batches: 2,000 members are ~50,000 reports
            with database.write() as session:
                session.add_all(Report(member_id=member_id, work_date=today - timedelta(days=d), text="did things " * 10,
                                       source="command", created_at=now, updated_at=now)
                                for d in range(1, DAYS + 1)
                                for i, member_id in enumerate(member_ids[start:start + 200], start) if (i + d) % 7)
    with database.write() as session:
        _roster(session, seed_team(session, scene.add_channel, now), [scene.add_leader], now)
        _roster(session, seed_team(session, scene.sync_channel, now), scene.sync_users[:1], now)


def roster_size(database: Database, channel: dict) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(RosterEntry).join(Team, Team.id == RosterEntry.team_id)
                              .where(Team.channel_id == channel["id"], RosterEntry.removed_at.is_(None)))


def forget(database: Database, users: list[dict]) -> None:
    """Undo what a timed command wrote about these users (members and their
    roster entries), so that every timed run starts from the same state."""
    ids = [u["id"] for u in users]
    with database.write() as session:
        for start in range(0, len(ids), 500):
            session.execute(delete(Member).where(Member.user_id.in_(ids[start:start + 500])))


@dataclass
class Timed:
    answer_ms: float
    text: str
    follow_up_ms: float | None = None
    follow_up: str = ""


def _send(mattermost, base: str, token: str, user: dict, channel: dict, text: str) -> tuple[requests.Response, str, float]:
    form = mattermost.slash_command_form(user, channel, "/team", text, token)
    started = time.perf_counter()
    answer = mattermost.send_command(f"{base}/mattermost/command", form)
    return answer, form["response_url"], started


def time_team_add(mattermost, base: str, token: str, scene: Scene, batch: list[dict]) -> Timed:
    text = "add " + " ".join("@" + u["username"] for u in batch)
    answer, _, started = _send(mattermost, base, token, scene.add_leader, scene.add_channel, text)
    elapsed = (time.perf_counter() - started) * 1000
    answer.raise_for_status()
    return Timed(elapsed, answer.json()["text"])


def time_team_sync(mattermost, base: str, token: str, scene: Scene) -> Timed:
    seen = len(mattermost.command_responses)
    answer, response_url, started = _send(mattermost, base, token, scene.sync_users[0], scene.sync_channel, "sync")
    elapsed = (time.perf_counter() - started) * 1000
    answer.raise_for_status()
    hook_id = response_url.rsplit("/", 1)[1]
    deadline = time.monotonic() + FOLLOW_UP_WAIT
    while time.monotonic() < deadline:
        arrived = [r for r in mattermost.command_responses[seen:] if r["hook_id"] == hook_id]
        if arrived:
            return Timed(elapsed, answer.json()["text"], (time.perf_counter() - started) * 1000,
                         arrived[0]["response"].get("text", ""))
        time.sleep(0.01)
    return Timed(elapsed, answer.json()["text"])
