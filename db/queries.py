"""Queries shared by commands, the API and the reminder: small, explicit, and
safe when two replicas write the same row at once (upserts, not check-then-insert)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models import MORNING, Absence, Member, ReminderRun, Report, RosterEntry, Subscription

CHASE_LOOKBACK_DAYS = 60


def insert_for(session: Session, model):
    """An INSERT that knows ON CONFLICT, in the session's dialect."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


_insert = insert_for


def ensure_roster_entry(session: Session, team_id: int, member_id: int, role: str, now: datetime) -> RosterEntry:
    """The member's roster entry on a team, created if missing (race-free)."""
    session.execute(insert_for(session, RosterEntry)
                    .values(team_id=team_id, member_id=member_id, role=role, added_at=now)
                    .on_conflict_do_nothing(index_elements=[RosterEntry.team_id, RosterEntry.member_id]))
    return session.scalars(select(RosterEntry).where(RosterEntry.team_id == team_id,
                                                     RosterEntry.member_id == member_id)).one()


def rejoin(entry: RosterEntry, now: datetime) -> None:
    """A removed member back on the roster from ``now``: their expected days
    start again (calendar.first_expected_day)."""
    entry.removed_at, entry.added_at = None, now


def ensure_leader(session: Session, team_id: int, member_id: int, now: datetime) -> RosterEntry:
    """The member as a leader on the team's roster: added if missing, back
    from ``now`` (``rejoin``) if they had been removed."""
    entry = ensure_roster_entry(session, team_id, member_id, "leader", now)
    if entry.removed_at is not None:
        rejoin(entry, now)
    entry.role = "leader"
    return entry


# Member ids in one IN list: well inside SQLite's 32,766 bound parameters.
IDS_PER_QUERY = 500


def add_roster_entries(session: Session, team_id: int, member_ids: list[int], now: datetime) -> set[int]:
    """Roster entries (role member) for those of these members who have none
    on the team, removed or not; which members got one (race-free)."""
    if not member_ids:
        return set()
    table = RosterEntry.__table__
    insert = (insert_for(session, table).on_conflict_do_nothing(index_elements=[table.c.team_id, table.c.member_id])
              .returning(table.c.member_id))
    # Many rows to one compiled statement: SQLAlchemy sends them a batch at a time ("insertmanyvalues").
    rows = [{"team_id": team_id, "member_id": m, "role": "member", "added_at": now} for m in member_ids]
    return set(session.connection().execute(insert, rows).scalars())


def roster_entries(session: Session, team_id: int, member_ids: list[int]) -> dict[int, RosterEntry]:
    """member id -> these members' entries on the team, removed ones included."""
    found: dict[int, RosterEntry] = {}
    for start in range(0, len(member_ids), IDS_PER_QUERY):
        found.update((e.member_id, e) for e in session.scalars(select(RosterEntry).where(
            RosterEntry.team_id == team_id, RosterEntry.member_id.in_(member_ids[start:start + IDS_PER_QUERY]))))
    return found


def save_report(session: Session, member_id: int, work_date: date, text: str, source: str, now: datetime) -> bool:
    """File or replace a member's report; True when it replaced an earlier one."""
    existed = session.scalar(select(exists().where(Report.member_id == member_id, Report.work_date == work_date)))
    statement = _insert(session, Report).values(
        member_id=member_id, work_date=work_date, text=text, source=source, created_at=now, updated_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[Report.member_id, Report.work_date],
        set_={"text": text, "source": source, "updated_at": now})
    session.execute(statement)
    return bool(existed)


def add_absences(session: Session, member_id: int, days: list[date], created_by: str | None, now: datetime,
                 team_id: int | None = None) -> None:
    """Mark days off: the member's own (``team_id`` None, for every team) or
    one team's, as a leader or admin of that team sets them."""
    if not days:
        return
    statement = _insert(session, Absence).values(
        [{"member_id": member_id, "work_date": d, "team_id": team_id, "created_by": created_by, "created_at": now}
         for d in days])
    if team_id is None:
        statement = statement.on_conflict_do_nothing(index_elements=[Absence.member_id, Absence.work_date],
                                                     index_where=Absence.team_id.is_(None))
    else:
        statement = statement.on_conflict_do_nothing(
            index_elements=[Absence.member_id, Absence.work_date, Absence.team_id],
            index_where=Absence.team_id.is_not(None))
    session.execute(statement)


def remove_absences(session: Session, member_id: int, days: list[date], team_id: int | None = None) -> int:
    """Cancel the member's own absences (``team_id`` None) or one team's; how many."""
    scope = Absence.team_id.is_(None) if team_id is None else Absence.team_id == team_id
    return session.execute(delete(Absence).where(Absence.member_id == member_id, Absence.work_date.in_(days), scope)
                           ).rowcount


def counts_for(team_id: int | None):
    """The absences that count for a team: the members' own and the team's."""
    if team_id is None:
        return Absence.team_id.is_(None)
    return or_(Absence.team_id.is_(None), Absence.team_id == team_id)


def chased_dates_still_missing(session: Session, member_id: int, exclude: date | None = None,
                               today: date | None = None) -> list[date]:
    """Earlier work dates a reminder chased this member for that are still
    neither reported nor marked off (by the member, or for the team that
    chased them), newest first."""
    teams = select(RosterEntry.team_id).where(RosterEntry.member_id == member_id)
    query = (
        select(ReminderRun.work_date, ReminderRun.missing, Subscription.team_id)
        .join(Subscription, Subscription.id == ReminderRun.subscription_id)
        .where(Subscription.team_id.in_(teams), ReminderRun.state.in_(("planned", "sent")),
               ReminderRun.slot == MORNING)
        .order_by(ReminderRun.work_date.desc())
        .limit(200)
    )
    if today is not None:
        query = query.where(ReminderRun.work_date >= today - timedelta(days=CHASE_LOOKBACK_DAYS))
    chasers: dict[date, set[int]] = {}
    for work_date, missing, team_id in session.execute(query):
        if missing and member_id in missing and work_date != exclude:
            chasers.setdefault(work_date, set()).add(team_id)
    if not chasers:
        return []
    reported = set(session.scalars(select(Report.work_date).where(Report.member_id == member_id,
                                                                 Report.work_date.in_(chasers))))
    off = {(team_id, work_date) for team_id, work_date in session.execute(
        select(Absence.team_id, Absence.work_date).where(Absence.member_id == member_id,
                                                         Absence.work_date.in_(chasers)))}

    def settled(work_date: date) -> bool:
        if work_date in reported or (None, work_date) in off:
            return True
        return all((team_id, work_date) in off for team_id in chasers[work_date])

    return [d for d in sorted(chasers, reverse=True) if not settled(d)]


def team_by_channel(session: Session, channel_id: str):
    from db.models import Team

    return session.scalars(select(Team).where(Team.channel_id == channel_id)).first()


def subscription_of(session: Session, team_id: int) -> Subscription | None:
    return session.scalars(select(Subscription).where(Subscription.team_id == team_id)).first()


def roster(session: Session, team_id: int, *, include_inactive: bool = False) -> list[tuple[Member, str]]:
    """(member, role) of everyone on the roster, leaders first, then by name."""
    query = (
        select(Member, RosterEntry.role)
        .join(RosterEntry, RosterEntry.member_id == Member.id)
        .where(RosterEntry.team_id == team_id, RosterEntry.removed_at.is_(None))
        .order_by(RosterEntry.role != "leader", Member.username)
    )
    if not include_inactive:
        query = query.where(Member.active.is_(True), Member.is_bot.is_(False))
    return [(member, role) for member, role in session.execute(query)]


def roster_user_names(session: Session, team_id: int) -> list[tuple[str, str]]:
    """(user id, username) of everyone on the roster, deactivated members and
    bots too, in ``roster``'s order: plain rows, where thousands of members
    would be too many objects to build."""
    return [tuple(row) for row in session.execute(
        select(Member.user_id, Member.username)
        .join(RosterEntry, RosterEntry.member_id == Member.id)
        .where(RosterEntry.team_id == team_id, RosterEntry.removed_at.is_(None))
        .order_by(RosterEntry.role != "leader", Member.username))]


def roster_count(session: Session, team_id: int) -> int:
    """How many are on the roster, as ``roster`` counts them (no deactivated members, no bots)."""
    return session.scalar(
        select(func.count()).select_from(RosterEntry).join(Member, Member.id == RosterEntry.member_id)
        .where(RosterEntry.team_id == team_id, RosterEntry.removed_at.is_(None),
               Member.active.is_(True), Member.is_bot.is_(False)))


def filed_and_off(session: Session, member_ids: list[int], work_date: date,
                  team_id: int | None = None) -> tuple[set[int], set[int]]:
    """Which of these members reported, and which are off, on a work date: off
    by their own absence, or by one set for ``team_id``."""
    if not member_ids:
        return set(), set()
    reported = set(session.scalars(select(Report.member_id).where(
        Report.work_date == work_date, Report.member_id.in_(member_ids))))
    off = set(session.scalars(select(Absence.member_id).where(
        Absence.work_date == work_date, Absence.member_id.in_(member_ids), counts_for(team_id))))
    return reported, off - reported  # a report wins over an absence


def external_ids(session: Session, team_id: int) -> dict[int, str]:
    """member id -> the id this team's leaders linked the member to."""
    return dict(session.execute(select(RosterEntry.member_id, RosterEntry.external_id).where(
        RosterEntry.team_id == team_id, RosterEntry.external_id.is_not(None))).all())
