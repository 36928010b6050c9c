"""Setting the scene for reminder tests: users in the Mattermost stand-in,
the same people on a roster in nippo's database, a subscription, and a
tick function. Nothing sleeps: the tick clock is a FrozenClock, Mattermost's
clock is the stand-in's (moved with ``advance``), and the delivery gate's
sleep moves a fake monotonic clock."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from bot.config import Settings
from bot.mattermost import MattermostClient
from bot.reminders.common import DeliveryOptions
from bot.services import build_services
from bot.tick import run_tick
from db.models import Absence, Member, OutboxMessage, ReminderRun, Report, RosterEntry, Subscription, Team, TeamDayOff

SECRET = "reminder-test-secret-thirty-two-ch"
ZWSP = "\u200b"
# 09:00 in Tokyo on Tuesday 2026-12-01: the conftest clock.
TUESDAY_9AM = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)


class FakeTime:
    """Monotonic time that only moves when the delivery gate sleeps; each
    sleep also moves the stand-in's clock, so its rate limiter refills."""

    def __init__(self, mattermost) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self._mattermost = mattermost
        self.on_sleep = None  # called after each sleep: what other processes do meanwhile

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        self._mattermost.advance(seconds)
        if self.on_sleep is not None:
            self.on_sleep()


class Scene:
    def __init__(self, database, mattermost, clock, **env: str) -> None:
        self.database, self.mattermost, self.clock = database, mattermost, clock
        settings = Settings.from_env({
            "NIPPO_DATABASE_URL": database.url, "NIPPO_MATTERMOST_URL": mattermost.url,
            "NIPPO_BOT_TOKEN": mattermost.bot_token, "NIPPO_SECRET_KEY": SECRET,
            "NIPPO_COMMAND_TOKENS": "x", "NIPPO_PUBLIC_URL": "http://nippo.test", **env})
        self.client = MattermostClient(mattermost.url, mattermost.bot_token, timeout=5.0)
        self.services = build_services(settings, database=database, mattermost=self.client, clock=clock)
        self.time = FakeTime(mattermost)
        self.services.delivery = DeliveryOptions(
            real_clock=mattermost.clock, monotonic=self.time.monotonic, sleep=self.time.sleep,
            random=random.Random(7))
        self.channel = mattermost.channel
        self.team_id = self.add_team(self.channel)
        self.users: dict[str, dict] = {}
        self._replicas: list = []

    def close(self) -> None:
        self.client.close()
        for services in self._replicas:
            services.mattermost.close()

    def replica(self):
        """The services of another process on the same database and Mattermost:
        its own client, rate gate and fake monotonic time."""
        client = MattermostClient(self.mattermost.url, self.mattermost.bot_token, timeout=5.0)
        services = build_services(self.services.settings, database=self.database, mattermost=client, clock=self.clock)
        time = FakeTime(self.mattermost)
        services.delivery = DeliveryOptions(real_clock=self.mattermost.clock, monotonic=time.monotonic,
                                            sleep=time.sleep, random=random.Random(8))
        self._replicas.append(services)
        return services

    # --- people and teams --------------------------------------------------

    def add_team(self, channel: dict) -> int:
        with self.database.write() as session:
            team = Team(channel_id=channel["id"], channel_name=channel["name"],
                        mattermost_team_id=channel["team_id"], created_at=self.clock())
            session.add(team)
            session.flush()
            return team.id

    def person(self, username: str, *, leader: bool = False, in_channel: bool = True, team_id: int | None = None,
               channel: dict | None = None, active: bool = True, bot: bool = False) -> dict:
        """A user in Mattermost and on the roster of ``team_id`` (the scene's team by default)."""
        channel = channel or self.channel
        user = self.users.get(username)
        if user is None:
            user = self.mattermost.add_user(username, bot=bot)
            self.mattermost.add_team_member(channel["team_id"], user["id"])
            self.users[username] = user
            with self.database.write() as session:
                session.add(Member(user_id=user["id"], username=username, email=user["email"], active=active,
                                   is_bot=bot, updated_at=self.clock()))
        if in_channel:
            self.mattermost.add_channel_member(channel["id"], user["id"])
        with self.database.write() as session:
            session.add(RosterEntry(team_id=team_id or self.team_id, member_id=self.member_id(username),
                                    role="leader" if leader else "member", added_at=self.clock()))
        return user

    def people(self, *usernames: str, in_channel: bool = True) -> None:
        """New users on the scene's roster, written in one transaction (fast for big teams)."""
        users = []
        for username in usernames:
            user = self.users[username] = self.mattermost.add_user(username)
            self.mattermost.add_team_member(self.channel["team_id"], user["id"])
            if in_channel:
                self.mattermost.add_channel_member(self.channel["id"], user["id"])
            users.append(user)
        with self.database.write() as session:
            members = [Member(user_id=u["id"], username=u["username"], email=u["email"], active=True, is_bot=False,
                              updated_at=self.clock()) for u in users]
            session.add_all(members)
            session.flush()
            session.add_all(RosterEntry(team_id=self.team_id, member_id=m.id, role="member", added_at=self.clock())
                            for m in members)

    def member_id(self, username: str) -> int:
        with self.database.read() as session:
            return session.scalar(select(Member.id).where(Member.username == username))

    def subscribe(self, team_id: int | None = None, **options) -> int:
        values = {"at_time": "09:00", "timezone": "Asia/Tokyo", "weekdays": "0,1,2,3,4", "delivery": "channel",
                  "persona": "plain", "language": "en", "holidays": None, "check_day": "previous",
                  "escalate": 3, "mention": True, **options}
        with self.database.write() as session:
            sub = Subscription(team_id=team_id or self.team_id, created_at=self.clock(), updated_at=self.clock(),
                               **values)
            session.add(sub)
            session.flush()
            return sub.id

    def change(self, sub_id: int, **values) -> None:
        with self.database.write() as session:
            sub = session.get(Subscription, sub_id)
            for name, value in values.items():
                setattr(sub, name, value)

    def report(self, username: str, work_date: date, text: str = "did things") -> None:
        with self.database.write() as session:
            session.add(Report(member_id=self.member_id(username), work_date=work_date, text=text,
                               created_at=self.clock(), updated_at=self.clock()))

    def absent(self, username: str, work_date: date) -> None:
        with self.database.write() as session:
            session.add(Absence(member_id=self.member_id(username), work_date=work_date, created_at=self.clock()))

    def day_off(self, day: date, team_id: int | None = None) -> None:
        with self.database.write() as session:
            session.add(TeamDayOff(team_id=team_id or self.team_id, day=day))

    # --- ticking -----------------------------------------------------------

    def tick(self, at: datetime | None = None, **options) -> list[str]:
        if at is not None:
            self.clock.set(at)
        return run_tick(self.services, self.clock(), **options)

    def real_clock_reads(self, moment: datetime) -> None:
        """Set the real clock (Mattermost's, and the one leases go by) to ``moment``."""
        self.mattermost.advance(moment.timestamp() - self.mattermost.clock())

    def later(self, **delta) -> list[str]:
        """Tick again after moving both clocks (the tick's and Mattermost's)."""
        self.mattermost.advance(timedelta(**delta).total_seconds())
        return self.tick(self.clock.advance(**delta))

    # --- what happened -----------------------------------------------------

    def channel_posts(self, channel: dict | None = None) -> list[dict]:
        channel = channel or self.channel
        return [p for p in self.mattermost.posts_in(channel["id"]) if p["user_id"] == self.mattermost.bot["id"]]

    def dms(self, username: str) -> list[dict]:
        return self.mattermost.dm_posts_to(self.users[username]["id"])

    def runs(self) -> list[ReminderRun]:
        with self.database.read() as session:
            return list(session.scalars(select(ReminderRun).order_by(ReminderRun.local_date, ReminderRun.id)))

    def outbox(self, **where) -> list[OutboxMessage]:
        with self.database.read() as session:
            query = select(OutboxMessage).order_by(OutboxMessage.id)
            for column, value in where.items():
                query = query.where(getattr(OutboxMessage, column) == value)
            return list(session.scalars(query))

    def post_calls(self) -> int:
        return self.mattermost.count("POST", "/api/v4/posts")


def mentions_in(text: str) -> set[str]:
    """The usernames a post really pings (an @ not followed by a zero-width space)."""
    import re

    return set(re.findall(r"(?<![\w@])@([A-Za-z0-9][A-Za-z0-9._-]*)", text))


def pings_everyone(text: str) -> bool:
    """Whether Mattermost would notify the whole channel: it reads ``@word``,
    and a word it does not know as a user loses trailing ``.``, ``-``, ``_``
    and ``:`` until it is one — ``@all.`` is ``@all``."""
    import re

    for word in re.findall(r"(?<![\w@])@([A-Za-z0-9][A-Za-z0-9._:-]*)", text):
        if word.rstrip(".-_:").lower() in ("all", "channel", "here"):
            return True
    return "<!channel>" in text or "<!all>" in text or "<!here>" in text


def tick_worker(database_url: str, mattermost_url: str, token: str, barrier, ticks: list[datetime],
                seed: int) -> None:
    """One replica in its own process: its own engine and Mattermost client,
    ticking each simulated minute when every replica is ready to."""
    from db.session import Database

    database = Database(database_url)
    settings = Settings.from_env({
        "NIPPO_DATABASE_URL": database_url, "NIPPO_MATTERMOST_URL": mattermost_url, "NIPPO_BOT_TOKEN": token,
        "NIPPO_SECRET_KEY": SECRET, "NIPPO_COMMAND_TOKENS": "x"})
    client = MattermostClient(mattermost_url, token, timeout=10.0)
    services = build_services(settings, database=database, mattermost=client)
    services.delivery = DeliveryOptions(random=random.Random(seed))
    try:
        for moment in ticks:
            barrier.wait(timeout=120)
            run_tick(services, moment)
    finally:
        client.close()
        services.background.shutdown(wait=False)
        database.dispose()
