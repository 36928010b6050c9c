"""The data model of docs/concepts.md: teams, members, reports, absences, subscriptions,
reminder runs and the outbox.

Reports and absences belong to the member, not to a team, so a member on two
rosters files once. Uniqueness that the product promises (one report per member
and work date, one run per subscription and local date, one outbox message per
delivery key) is enforced by the database, not by application checks, because
several replicas write at once.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

REPORT_TEXT_LIMIT = 3000


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    pass


class Member(Base):
    """A Mattermost user nippo knows about."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), unique=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    timezone: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Team(Base):
    """A roster bound to one Mattermost channel."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(64), unique=True)
    mattermost_team_id: Mapped[str | None] = mapped_column(String(64))
    channel_name: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    roster: Mapped[list[RosterEntry]] = relationship(back_populates="team")


class RosterEntry(Base):
    """A member's place on a team's roster. ``removed_at`` remembers a removal so
    ``/team sync`` does not add that member back. ``external_id`` is the member's
    id in the outside work-report system as this team's leaders set it: it is
    used for this team only."""

    __tablename__ = "roster"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), default="member")  # leader | member
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    external_id: Mapped[str | None] = mapped_column(String(200))

    team: Mapped[Team] = relationship(back_populates="roster")
    member: Mapped[Member] = relationship()

    __table_args__ = (Index("ix_roster_member", "member_id"), Index("ix_roster_external_id", "external_id"))


class Report(Base):
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    work_date: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="command")  # command | dialog | api
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("member_id", "work_date", name="uq_reports_member_date"),
        Index("ix_reports_work_date", "work_date"),
    )


_OWN = text("team_id IS NULL")
_TEAMS = text("team_id IS NOT NULL")


class Absence(Base):
    """A member's day off. ``team_id`` NULL: the member set it, and it counts for
    every team they are on. Otherwise a leader or admin of that team set it, and
    it counts for that team only (whatever a leader does to a member's data
    reaches no further than the leader's own team)."""

    __tablename__ = "absences"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    work_date: Mapped[date] = mapped_column(Date)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        # One own absence per member and date, and one per team: NULLs are
        # distinct in a plain unique constraint, so two partial indexes.
        Index("uq_absences_own", "member_id", "work_date", unique=True, sqlite_where=_OWN, postgresql_where=_OWN),
        Index("uq_absences_team", "member_id", "work_date", "team_id", unique=True,
              sqlite_where=_TEAMS, postgresql_where=_TEAMS),
        Index("ix_absences_work_date", "work_date"),
    )


class TeamDayOff(Base):
    __tablename__ = "team_days_off"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class Subscription(Base):
    """A team's reminder schedule. Unsubscribing disables it; subscribing again
    re-enables the same row, so its run history (and exactly-once) carries on."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    at_time: Mapped[str] = mapped_column(String(5), default="09:00")  # HH:MM local
    timezone: Mapped[str] = mapped_column(String(64))
    weekdays: Mapped[str] = mapped_column(String(32), default="0,1,2,3,4")  # Mon=0
    delivery: Mapped[str] = mapped_column(String(8), default="channel")  # dm | channel | both
    persona: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    holidays: Mapped[str | None] = mapped_column(String(8))
    check_day: Mapped[str] = mapped_column(String(16), default="previous")  # previous | same-day
    escalate: Mapped[int] = mapped_column(Integer, default=3)
    mention: Mapped[bool] = mapped_column(Boolean, default=True)
    # `again 13:00,17:00`: nudge times, sorted, comma-separated; '' for none.
    again_times: Mapped[str] = mapped_column(String(32), default="", server_default="")
    # `digest fri 17:00`: weekday (Mon=0) and local time; both None for `digest off`.
    digest_day: Mapped[int | None] = mapped_column(Integer)
    digest_time: Mapped[str | None] = mapped_column(String(5))
    failure_streak: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    team: Mapped[Team] = relationship()


MORNING = ""  # the slot of the morning reminder
DIGEST = "digest"  # the slot of the weekly digest


class ReminderRun(Base):
    """One subscription's reminder on one local date: at most one, ever, per slot.

    The slot says which reminder of the day: ``''`` the morning run, ``'again
    HH:MM'`` a nudge, ``'digest'`` the weekly digest. Whatever counts mornings
    (escalation, chased dates, the work date of today's run) reads slot ``''``.
    A tick writes the row once, already planned, in the transaction that
    plans it: the unique key lets one process have it. A row left claimed
    (waiting for the report source, or its planning failed) holds a lease;
    ``lease_until`` lets another replica take it over when that runs out.
    """

    __tablename__ = "reminder_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    local_date: Mapped[date] = mapped_column(Date)
    slot: Mapped[str] = mapped_column(String(16), default=MORNING, server_default=MORNING)
    work_date: Mapped[date] = mapped_column(Date)  # a digest: the last work day it covers
    state: Mapped[str] = mapped_column(String(16))  # claimed | planned | sent | skipped | failed
    reason: Mapped[str | None] = mapped_column(String(64))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)  # end of the catch-up window
    missing: Mapped[list | None] = mapped_column(JSON)  # member ids missing when planned
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("subscription_id", "local_date", "slot", name="uq_runs_subscription_local_date_slot"),
        Index("ix_runs_state", "state"),
    )


class MissingStreak(Base):
    """How many sent runs in a row of one subscription listed a member as missing."""

    __tablename__ = "missing_streaks"

    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    streak: Mapped[int] = mapped_column(Integer, default=0)
    last_run_id: Mapped[int | None] = mapped_column(Integer)
    leaders_told: Mapped[bool] = mapped_column(Boolean, default=False)


class OutboxMessage(Base):
    """A message nippo owes Mattermost. Planning writes these; delivery sends them.

    ``key`` makes planning idempotent (a replanned run does not add messages);
    ``outbox_id`` travels in the post's props so a lost answer can be checked.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    # Checked at commit by a tick, which writes a run after its messages (migration 0005).
    run_id: Mapped[int | None] = mapped_column(ForeignKey("reminder_runs.id", ondelete="CASCADE", deferrable=True,
                                                          initially="IMMEDIATE"))
    kind: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(64))  # None: a DM to recipient_user_id
    recipient_user_id: Mapped[str | None] = mapped_column(String(64))
    work_date: Mapped[date | None] = mapped_column(Date)
    payload: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sending | sent | failed | dropped | cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Which process holds the lease: a sender whose lease was taken over must
    # not record over the new holder's result.
    leased_by: Mapped[str | None] = mapped_column(String(64))
    unknown_since: Mapped[datetime | None] = mapped_column(UTCDateTime)  # real clock of a send whose answer was lost
    pending_post_id: Mapped[str] = mapped_column(String(64))
    post_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_outbox_due", "state", "not_before"),
        Index("ix_outbox_run", "run_id"),
    )


class DataVersion(Base):
    """One counter, bumped in the same transaction as every write that can
    change what ``/report-status`` shows, so any replica can tell in one tiny
    query whether an answer it rendered before is still true."""

    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class LoginToken(Base):
    """A one-time sign-in link to the web pages (``/team web``), bound to the
    Mattermost user who asked. Only a hash of the token is kept: the link in
    the chat is the one copy of the secret."""

    __tablename__ = "login_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(64))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A browser session of the web pages, checked on the server at every
    request. The cookie holds a random id; the row is found by its hash.
    ``user_id`` is None before sign-in (the session then only carries a form
    token or an OAuth ``state``)."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(64), index=True)
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
