"""What planning reads, in a handful of queries whatever the number of
subscriptions or members (docs/operations.md: one tick for 10,000 members in 1,000
subscriptions within a second). Every function returns plain values.
"""

from __future__ import annotations

import functools
import operator
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from sqlalchemy import extract, select, text
from sqlalchemy.orm import Session

from bot import calendar
from bot.reminders.common import CLAIMED, OPEN_STATES, SNOOZE
from db.driver_rows import driver_rows
from db.idsets import id_parameter, id_table_sql, in_ids, join_in_order, keep_ids
from db.models import Absence, Member, MissingStreak, OutboxMessage, ReminderRun, Report, RosterEntry, Subscription, Team, TeamDayOff

# Team days off further back than this cannot change today's work date.
DAYS_OFF_LOOKBACK = timedelta(days=400)


class Sub(NamedTuple):
    """An active subscription as the scheduler and planning see it (a tuple: thousands are read each tick)."""

    id: int
    team_id: int
    channel_id: str
    channel_name: str
    at_time: str
    timezone: str
    weekdays: str
    holidays: str | None
    check_day: str
    delivery: str  # dm | channel | both
    persona: str
    language: str
    escalate: int
    mention: bool
    again_times: str  # '13:00,17:00'; '' for none
    digest_day: int | None  # Mon=0; None: no digest
    digest_time: str | None

    def nudges(self) -> tuple[time, ...]:
        """The `again` times; none outside dm and both modes (never in channel mode)."""
        if self.delivery not in ("dm", "both"):
            return ()
        return _clocks(self.again_times)

    def digest(self) -> tuple[int, time] | None:
        if self.digest_day is None or not self.digest_time:
            return None
        return self.digest_day, _clock(self.digest_time)

    def schedule(self, days_off: frozenset[date]) -> calendar.Schedule:
        return _schedule(self.at_time, self.timezone, self.weekdays, self.holidays or None, days_off, self.check_day)


@functools.lru_cache(maxsize=1024)
def _schedule(at_time: str, timezone: str, weekdays: str, holidays: str | None, days_off: frozenset[date],
              check_day: str) -> calendar.Schedule:
    """Most of ten thousand subscriptions share a handful of schedules: each is
    built (and checked) once. Schedules are immutable."""
    return calendar.Schedule(
        at=_clock(at_time),
        timezone=timezone,
        weekdays=frozenset(int(d) for d in weekdays.split(",") if d.strip().isdigit()),
        holiday_country=holidays,
        days_off=days_off,
        check=check_day,
    )


@functools.lru_cache(maxsize=256)
def _clocks(texts: str) -> tuple[time, ...]:
    """'13:00,17:00' as times: thousands of subscriptions share a few."""
    return tuple(_clock(text) for text in texts.split(",") if text)


@functools.lru_cache(maxsize=256)
def _clock(text: str) -> time:
    hour, minute = (int(part) for part in text.split(":"))
    return time(hour, minute)


class Person(NamedTuple):
    """A roster member as planning sees them (a tuple: a morning makes a hundred thousand)."""

    member_id: int
    user_id: str
    username: str
    key: str | None  # lower-cased, per the source's member_key
    leader: bool


@dataclass(frozen=True)
class Stale:
    """A claimed run whose lease ran out: its claimant died, or it waits for the source."""

    run_id: int
    subscription_id: int
    local_date: date
    work_date: date
    deadline: datetime
    reason: str | None
    slot: str


_SUB_COLUMNS = (
    Subscription.id, Subscription.team_id, Team.channel_id, Team.channel_name, Subscription.at_time,
    Subscription.timezone, Subscription.weekdays, Subscription.holidays, Subscription.check_day,
    Subscription.delivery, Subscription.persona, Subscription.language, Subscription.escalate,
    Subscription.mention, Subscription.again_times, Subscription.digest_day, Subscription.digest_time,
)


def _sub(row) -> Sub:
    sub = Sub._make(row)
    return sub if sub.channel_name else sub._replace(channel_name=sub.channel_id)  # a name nippo never learned


def active_subscriptions(session: Session) -> list[Sub]:
    rows = session.connection().execute(
        select(*_SUB_COLUMNS).join(Team, Team.id == Subscription.team_id)
        .where(Subscription.enabled.is_(True), Subscription.paused.is_(False))
        .order_by(Subscription.id)
    )
    return [_sub(row) for row in rows]


def subscriptions_by_id(session: Session, ids: set[int]) -> dict[int, Sub]:
    if not ids:
        return {}
    rows = session.execute(select(*_SUB_COLUMNS).join(Team, Team.id == Subscription.team_id)
                           .where(in_ids(session, Subscription.id, ids, "subs")))
    return {row[0]: _sub(row) for row in rows}


def days_off(session: Session, since: date) -> dict[int, frozenset[date]]:
    found: dict[int, set[date]] = defaultdict(set)
    for team_id, day in session.execute(select(TeamDayOff.team_id, TeamDayOff.day).where(TeamDayOff.day >= since)):
        found[team_id].add(day)
    return {team_id: frozenset(days) for team_id, days in found.items()}


def runs_on(session: Session, local_dates: set[date]) -> dict[tuple[int, date, str], str]:
    """(subscription, local date, slot) of the runs these dates had -> their state."""
    if not local_dates:
        return {}
    rows = session.connection().execute(select(ReminderRun.subscription_id, ReminderRun.local_date, ReminderRun.slot,
                                  ReminderRun.state)
                           .where(ReminderRun.local_date.in_(sorted(local_dates))))
    return {(sub_id, local_date, slot): state for sub_id, local_date, slot, state in rows}


def stale_claims(session: Session, now: datetime) -> list[Stale]:
    rows = session.execute(
        select(ReminderRun.id, ReminderRun.subscription_id, ReminderRun.local_date, ReminderRun.work_date,
               ReminderRun.deadline, ReminderRun.reason, ReminderRun.slot)
        .where(ReminderRun.state == CLAIMED, ReminderRun.lease_until <= now)
        .order_by(ReminderRun.id)
    )
    return [Stale(*row) for row in rows]


def rosters(session: Session, team_ids: set[int], member_key: str) -> dict[int, list[Person]]:
    """Who each team expects a report from: on the roster, active, human. A
    member's key is the team's own external id when the source keys by it."""
    if not team_ids:
        return {}
    key_column = {"email": "members.email", "external_id": "roster.external_id"}.get(member_key, "members.username")
    join = join_in_order(session)
    rows = driver_rows(session, text(
        f"SELECT roster.team_id, roster.role, members.id, members.user_id, members.username, {key_column}"
        f" FROM {id_table_sql(session, 'teams')} AS t"
        f" {join} roster ON roster.team_id = t.id {join} members ON members.id = roster.member_id"
        " WHERE roster.removed_at IS NULL AND members.active AND NOT members.is_bot"),
        {"teams": id_parameter(session, team_ids)})
    # Each roster by username (code point order, on either database): sorting
    # a hundred thousand rows here costs a fifth of what SQLite's ORDER BY did.
    rows.sort(key=operator.itemgetter(0, 4, 2))
    found: dict[int, list[Person]] = defaultdict(list)
    for team_id, role, member_id, user_id, username, key in rows:
        found[team_id].append(Person(member_id, user_id, username, key.lower() if key else None, role == "leader"))
    return found


def joined_since(session: Session, team_ids: set[int], since: datetime) -> dict[int, dict[int, int]]:
    """team -> member -> when they joined its roster, in whole seconds since
    the epoch, for who joined (or came back) at ``since`` or later and is
    still on it: the few a digest must not count before they were expected.
    Seconds, not datetimes: on the day a whole organisation is added, a
    hundred thousand rows come back, and the database's own conversion is
    the cheap one."""
    if not team_ids:
        return {}
    rows = session.connection().execute(
        select(RosterEntry.team_id, RosterEntry.member_id, extract("epoch", RosterEntry.added_at))
        .where(in_ids(session, RosterEntry.team_id, team_ids, "teams"), RosterEntry.removed_at.is_(None),
               RosterEntry.added_at >= since))
    found: dict[int, dict[int, int]] = defaultdict(dict)
    for team_id, member_id, seconds in rows:
        found[team_id][member_id] = int(seconds)  # PostgreSQL: a decimal with the microseconds
    return found


def filed(session: Session, rosters: dict[int, list[Person]], work_dates: set[date]) -> tuple[set, set]:
    """``filed_by`` the members of these rosters."""
    return filed_by(session, {person.member_id for roster in rosters.values() for person in roster}, work_dates)


def filed_by(session: Session, member_ids: set[int], work_dates: set[date]) -> tuple[set, set]:
    """(member id, work date) pairs with a report, and (team id or None, member
    id, work date) triples with an absence — None for a member's own absence,
    which counts for every team — for these members on these work dates."""
    if not member_ids or not work_dates:
        return set(), set()
    dates, members = sorted(work_dates), id_parameter(session, member_ids)
    connection = session.connection()  # plain rows: tens of thousands, no ORM needed
    reported = connection.execute(keep_ids(session, select(Report.member_id, Report.work_date).where(
        Report.work_date.in_(dates)), Report.member_id, members, "members")).all()
    absent = connection.execute(keep_ids(session, select(Absence.team_id, Absence.member_id, Absence.work_date).where(
        Absence.work_date.in_(dates)), Absence.member_id, members, "members")).all()
    return set(map(tuple, reported)), set(map(tuple, absent))


class Missed(NamedTuple):
    """A member's escalation streak in one subscription: sent morning runs in a row that listed them."""

    streak: int
    told: bool  # the leaders were told about this streak
    last_run_id: int | None  # the run that last changed it


NEVER_MISSED = Missed(0, False, None)  # no streak on record


def streaks(session: Session, subscription_ids: set[int]) -> dict[tuple[int, int], Missed]:
    """(subscription, member) -> their escalation streak."""
    if not subscription_ids:
        return {}
    rows = session.connection().execute(
        select(MissingStreak.subscription_id, MissingStreak.member_id, MissingStreak.streak,
               MissingStreak.leaders_told, MissingStreak.last_run_id)
        .where(in_ids(session, MissingStreak.subscription_id, subscription_ids, "subscriptions"))
    )
    return {(sub_id, member_id): Missed(streak, told, last) for sub_id, member_id, streak, told, last in rows}


def snoozes_pending(session: Session, work_dates: set[date]) -> set[tuple[str, date]]:
    """(user id, work date) of every snoozed DM still waiting to go out."""
    if not work_dates:
        return set()
    rows = session.execute(select(OutboxMessage.recipient_user_id, OutboxMessage.work_date)
                           .where(OutboxMessage.kind == SNOOZE, OutboxMessage.state.in_(OPEN_STATES),
                                  OutboxMessage.work_date.in_(sorted(work_dates))))
    return {(user_id, work_date) for user_id, work_date in rows}
