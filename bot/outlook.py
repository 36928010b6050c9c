"""A subscription row as the calendar sees it, and the run-date questions
commands ask about it (which work date, when next)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import calendar
from db.models import DIGEST, MORNING, ReminderRun, Subscription, TeamDayOff

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekdays_of(text: str) -> frozenset[int]:
    return frozenset(int(d) for d in text.split(",") if d.strip().isdigit())


def weekdays_text(days) -> str:
    return ",".join(str(d) for d in sorted(days))


def days_off(session: Session, team_id: int) -> frozenset[date]:
    return frozenset(session.scalars(select(TeamDayOff.day).where(TeamDayOff.team_id == team_id)))


def schedule_of(subscription: Subscription, team_days_off: frozenset[date]) -> calendar.Schedule:
    hour, minute = (int(p) for p in subscription.at_time.split(":"))
    return calendar.Schedule(
        at=time(hour, minute),
        timezone=subscription.timezone,
        weekdays=weekdays_of(subscription.weekdays),
        holiday_country=subscription.holidays or None,
        days_off=team_days_off,
        check=subscription.check_day,
    )


MONDAY_TO_FRIDAY = frozenset(range(5))


def work_day_test(session: Session, team_id: int) -> Callable[[date], bool]:
    """Whether a date is a work day for this team: its subscription's days,
    public holidays and team days off; Monday to Friday when it has none."""
    subscription = session.scalars(select(Subscription).where(Subscription.team_id == team_id)).first()
    off = days_off(session, team_id)
    if subscription is None:
        return lambda day: day.weekday() in MONDAY_TO_FRIDAY and day not in off
    schedule = schedule_of(subscription, off)
    return lambda day: calendar.is_work_day(schedule, day)


@dataclass(frozen=True)
class RunOutlook:
    todays_work_date: date | None  # the work date today's run checked, if it happened
    next_at: datetime | None  # when the next reminder goes out
    next_work_date: date | None


def outlook(session: Session, subscription: Subscription, now: datetime, catchup: timedelta) -> RunOutlook:
    schedule = schedule_of(subscription, days_off(session, subscription.team_id))
    local_today = calendar.local_date_at(schedule, now)
    todays_run = session.execute(
        select(ReminderRun.work_date, ReminderRun.state)
        .where(ReminderRun.subscription_id == subscription.id, ReminderRun.local_date == local_today,
               ReminderRun.slot == MORNING)
    ).first()
    next_at = calendar.next_run_at(schedule, now, had_run_today=todays_run is not None, catchup=catchup)
    next_work_date = None
    if next_at is not None:
        next_work_date = calendar.work_date_for(schedule, calendar.local_date_at(schedule, next_at))
    todays = todays_run.work_date if todays_run is not None and todays_run.state != "skipped" else None
    return RunOutlook(todays, next_at, next_work_date)


def next_digest_at(session: Session, subscription: Subscription, now: datetime, catchup: timedelta) -> datetime | None:
    """When the next weekly digest goes out; None with `digest off`."""
    if subscription.digest_day is None or not subscription.digest_time:
        return None
    last = session.scalar(select(func.max(ReminderRun.local_date)).where(
        ReminderRun.subscription_id == subscription.id, ReminderRun.slot == DIGEST))
    hour, minute = (int(p) for p in subscription.digest_time.split(":"))
    return calendar.next_weekly_at(schedule_of(subscription, frozenset()), subscription.digest_day,
                                   time(hour, minute), now, last=last, catchup=catchup)
