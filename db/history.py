"""What the web pages read: a team's roster, filings and runs over a span of
dates, and one member's own history. Each function is a handful of queries
whatever the team's size (never one per member), and returns plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Absence, Member, OutboxMessage, ReminderRun, Report, RosterEntry, Subscription, Team
from db.queries import counts_for


@dataclass(frozen=True)
class RosterRow:
    member_id: int
    user_id: str
    username: str
    role: str
    added_at: datetime
    external_id: str | None
    active: bool


def roster_rows(session: Session, team_id: int, *, include_inactive: bool = False) -> list[RosterRow]:
    """Everyone on the roster (bots never), leaders first, then by name."""
    query = (
        select(Member.id, Member.user_id, Member.username, RosterEntry.role, RosterEntry.added_at,
               RosterEntry.external_id, Member.active)
        .join(RosterEntry, RosterEntry.member_id == Member.id)
        .where(RosterEntry.team_id == team_id, RosterEntry.removed_at.is_(None), Member.is_bot.is_(False))
        .order_by(RosterEntry.role != "leader", Member.username)
    )
    if not include_inactive:
        query = query.where(Member.active.is_(True))
    return [RosterRow(*row) for row in session.execute(query)]


def role_on(session: Session, team_id: int, user_id: str) -> str | None:
    """``leader``, ``member``, or None when the user is not on the team's roster."""
    return session.scalar(
        select(RosterEntry.role).join(Member, Member.id == RosterEntry.member_id)
        .where(RosterEntry.team_id == team_id, Member.user_id == user_id, RosterEntry.removed_at.is_(None)))


def team_and_role(session: Session, team_id: int, user_id: str) -> tuple[Team | None, str | None]:
    """The team, and the user's role on its roster (None when not on it), in one query."""
    role = (select(RosterEntry.role).join(Member, Member.id == RosterEntry.member_id)
            .where(RosterEntry.team_id == Team.id, Member.user_id == user_id, RosterEntry.removed_at.is_(None))
            .scalar_subquery())
    row = session.execute(select(Team, role).where(Team.id == team_id)).first()
    return (row[0], row[1]) if row is not None else (None, None)


def teams_of(session: Session, user_id: str) -> list[int]:
    """The teams whose roster has this user on it."""
    return list(session.scalars(
        select(RosterEntry.team_id).join(Member, Member.id == RosterEntry.member_id)
        .where(Member.user_id == user_id, RosterEntry.removed_at.is_(None))))


def teams_by_id(session: Session, team_ids) -> list[Team]:
    return list(session.scalars(select(Team).where(Team.id.in_(list(team_ids))).order_by(Team.channel_name, Team.id)))


def all_team_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Team.id)))


def filings(session: Session, team_id: int, since: date, until: date) -> list[tuple[int, date, datetime]]:
    """(member id, work date, first filed at) of the roster's reports in the span."""
    return [tuple(row) for row in session.execute(
        select(Report.member_id, Report.work_date, Report.created_at)
        .join(RosterEntry, RosterEntry.member_id == Report.member_id)
        .where(RosterEntry.team_id == team_id, RosterEntry.removed_at.is_(None),
               Report.work_date >= since, Report.work_date <= until))]


def days_off_of(session: Session, team_id: int, since: date, until: date) -> list[tuple[int, date]]:
    """(member id, date) of the roster's absences that count for this team in the span."""
    return [tuple(row) for row in session.execute(
        select(Absence.member_id, Absence.work_date)
        .join(RosterEntry, RosterEntry.member_id == Absence.member_id)
        .where(RosterEntry.team_id == team_id, RosterEntry.removed_at.is_(None),
               Absence.work_date >= since, Absence.work_date <= until, counts_for(team_id)))]


def run_times(session: Session, team_id: int, since: date, until: date) -> dict[date, datetime]:
    """When the reminder that checked each work date went out (runs that did not skip)."""
    return dict(session.execute(
        select(ReminderRun.work_date, func.min(ReminderRun.scheduled_at))
        .join(Subscription, Subscription.id == ReminderRun.subscription_id)
        .where(Subscription.team_id == team_id, ReminderRun.state != "skipped",
               ReminderRun.work_date >= since, ReminderRun.work_date <= until)
        .group_by(ReminderRun.work_date)).all())


def team_days_off(session: Session, team_id: int, since: date, limit: int) -> list[date]:
    """The team's first ``limit`` days off from ``since`` on."""
    from db.models import TeamDayOff

    return list(session.scalars(select(TeamDayOff.day).where(TeamDayOff.team_id == team_id, TeamDayOff.day >= since)
                                .order_by(TeamDayOff.day).limit(limit)))


def team_absences(session: Session, team_id: int, since: date, limit: int) -> list[tuple[str, date, bool]]:
    """(username, date, set for this team) of the roster's first ``limit`` absences from ``since`` on
    (any member can mark a year at a time, as often as they like: a page lists a bounded number)."""
    return [(username, day, team is not None) for username, day, team in session.execute(
        select(Member.username, Absence.work_date, Absence.team_id)
        .join(RosterEntry, RosterEntry.member_id == Absence.member_id)
        .join(Member, Member.id == Absence.member_id)
        .where(RosterEntry.team_id == team_id, RosterEntry.removed_at.is_(None), Absence.work_date >= since,
               counts_for(team_id))
        .order_by(Absence.work_date, Member.username).limit(limit))]


# --- runs ----------------------------------------------------------------------

class Problem(NamedTuple):
    """A run's message (or step of DMs) that failed or was dropped."""

    state: str
    kind: str
    error: str | None
    count: int = 1  # a step of DMs dropped before its DMs were made: each of them


class Steps(NamedTuple):
    """Rows that each stand for several messages until delivery makes them."""

    kind: str
    made: str  # the state of a row whose messages were made
    messages_in: Callable[[str, dict], int]  # (kind, payload) -> how many it stands for


@dataclass(frozen=True)
class RunRow:
    id: int
    local_date: date
    work_date: date
    state: str
    reason: str | None
    scheduled_at: datetime
    missing: int
    counts: dict  # outbox state -> messages
    problems: list[Problem]  # messages that failed or were dropped
    slot: str = ""  # '' the morning reminder, 'again HH:MM' a nudge, 'digest' the weekly digest


def runs(session: Session, team_id: int, kinds: tuple[str, ...], limit: int = 90, *,
         steps: Steps | None = None) -> list[RunRow]:
    """The team's latest reminder runs, newest first, with what became of their messages.
    A ``steps`` row not yet made into its messages counts, and is listed, as each of them."""
    rows = session.execute(
        select(ReminderRun.id, ReminderRun.local_date, ReminderRun.work_date, ReminderRun.state, ReminderRun.reason,
               ReminderRun.scheduled_at, ReminderRun.missing, ReminderRun.slot)
        .join(Subscription, Subscription.id == ReminderRun.subscription_id)
        .where(Subscription.team_id == team_id)
        .order_by(ReminderRun.local_date.desc(), ReminderRun.scheduled_at.desc()).limit(limit)).all()
    ids = [row.id for row in rows]
    counts: dict[int, dict[str, int]] = {}
    problems: dict[int, list] = {}
    if ids:
        for run_id, state, count in session.execute(
                select(OutboxMessage.run_id, OutboxMessage.state, func.count())
                .where(OutboxMessage.run_id.in_(ids), OutboxMessage.kind.in_(kinds))
                .group_by(OutboxMessage.run_id, OutboxMessage.state)):
            counts.setdefault(run_id, {})[state] = count
        sizes: dict[int, int] = {}  # a step of DMs not yet made into rows -> how many it holds
        if steps is not None:
            for message_id, run_id, state, payload in session.execute(
                    select(OutboxMessage.id, OutboxMessage.run_id, OutboxMessage.state, OutboxMessage.payload)
                    .where(OutboxMessage.run_id.in_(ids), OutboxMessage.kind == steps.kind,
                           OutboxMessage.state != steps.made)):
                sizes[message_id] = steps.messages_in(steps.kind, payload)
                tally = counts.setdefault(run_id, {})
                tally[state] = tally.get(state, 0) + sizes[message_id]
        for message_id, run_id, state, kind, error in session.execute(
                select(OutboxMessage.id, OutboxMessage.run_id, OutboxMessage.state, OutboxMessage.kind,
                       OutboxMessage.last_error)
                .where(OutboxMessage.run_id.in_(ids), OutboxMessage.state.in_(("failed", "dropped")))
                .order_by(OutboxMessage.id)):
            problems.setdefault(run_id, []).append(Problem(state, kind, error, sizes.get(message_id, 1)))
    return [RunRow(row.id, row.local_date, row.work_date, row.state, row.reason, row.scheduled_at,
                   len(row.missing or []), counts.get(row.id, {}), problems.get(row.id, []), row.slot or "")
            for row in rows]


# --- export --------------------------------------------------------------------

def export_rows(session: Session, team_id: int, since: date, until: date) -> list[tuple[str, date, str, datetime, str]]:
    """(member, work date, kind, filed at, source) of the roster's reports and
    of the absences that count for the team, in the span, by date then name."""
    on_roster = (RosterEntry.team_id == team_id, RosterEntry.removed_at.is_(None))
    reports = session.execute(
        select(Member.username, Report.work_date, Report.created_at, Report.source)
        .join(RosterEntry, RosterEntry.member_id == Report.member_id).join(Member, Member.id == Report.member_id)
        .where(*on_roster, Report.work_date >= since, Report.work_date <= until)).all()
    absences = session.execute(
        select(Member.username, Absence.work_date, Absence.created_at, Absence.team_id)
        .join(RosterEntry, RosterEntry.member_id == Absence.member_id).join(Member, Member.id == Absence.member_id)
        .where(*on_roster, Absence.work_date >= since, Absence.work_date <= until, counts_for(team_id))).all()
    rows = [(name, day, "report", at, source) for name, day, at, source in reports]
    rows += [(name, day, "absence", at, "team" if team is not None else "member") for name, day, at, team in absences]
    return sorted(rows, key=lambda row: (row[1], row[0], row[2]))


# --- one member ----------------------------------------------------------------

def member_by_user(session: Session, user_id: str) -> Member | None:
    return session.scalars(select(Member).where(Member.user_id == user_id)).first()


def my_reports(session: Session, member_id: int, since: date) -> list[tuple[date, datetime, str, str]]:
    """(work date, filed at, source, text) of a member's reports from ``since``, newest first."""
    return [tuple(row) for row in session.execute(
        select(Report.work_date, Report.created_at, Report.source, Report.text)
        .where(Report.member_id == member_id, Report.work_date >= since).order_by(Report.work_date.desc()))]


def my_absences(session: Session, member_id: int, since: date, until: date,
                limit: int) -> list[tuple[date, int | None]]:
    """(date, team id or None for the member's own) of a member's absences from ``since`` to ``until``,
    the latest ``limit`` of them."""
    return [tuple(row) for row in session.execute(
        select(Absence.work_date, Absence.team_id)
        .where(Absence.member_id == member_id, Absence.work_date >= since, Absence.work_date <= until)
        .order_by(Absence.work_date.desc()).limit(limit))]


def runs_that_chased(session: Session, member_id: int, team_ids: list[int], since: date) -> list[tuple[int, date, date, str]]:
    """(team id, local date, work date, delivery) of sent reminders that listed this member as missing."""
    if not team_ids:
        return []
    found = []
    for team_id, local_date, work_date, missing, delivery in session.execute(
            select(Subscription.team_id, ReminderRun.local_date, ReminderRun.work_date, ReminderRun.missing,
                   Subscription.delivery)
            .join(Subscription, Subscription.id == ReminderRun.subscription_id)
            .where(Subscription.team_id.in_(team_ids), ReminderRun.state.in_(("planned", "sent")),
                   ReminderRun.local_date >= since)
            .order_by(ReminderRun.local_date.desc())):
        if missing and member_id in missing:
            found.append((team_id, local_date, work_date, delivery))
    return found
