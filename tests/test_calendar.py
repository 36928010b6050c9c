"""The work-day calendar (docs/reminders.md: work dates, due runs)."""
from __future__ import annotations

import subprocess
import sys
import threading
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import calendar as cal
from bot.calendar import Schedule

UTC = timezone.utc
MON_FRI = frozenset(range(5))
EVERY_DAY = frozenset(range(7))
CATCHUP = timedelta(minutes=180)


def schedule(
    *,
    at: time = time(9, 0),
    tz: str = "Asia/Tokyo",
    weekdays: frozenset[int] = MON_FRI,
    country: str | None = "JP",
    days_off: frozenset[date] = frozenset(),
    check: str = "previous",
) -> Schedule:
    return Schedule(at, tz, weekdays, country, days_off, check)


def local(tz: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


NENMATSU_NENSHI = frozenset(date(2026, 12, 29) + timedelta(days=i) for i in range(6))  # Dec 29 – Jan 3


# --- public holidays -------------------------------------------------------

@pytest.mark.parametrize(
    "day, name",
    [
        (date(2026, 5, 3), "Constitution Day"),
        (date(2026, 5, 4), "Greenery Day"),
        (date(2026, 5, 5), "Children's Day"),
        (date(2026, 5, 6), "振替休日 (May 3 fell on a Sunday)"),
        (date(2026, 7, 20), "Marine Day"),
        (date(2026, 9, 22), "国民の休日 between two holidays"),
    ],
)
def test_jp_public_holidays_include_substitute_and_bridge_holidays(day, name):
    assert day in cal.public_holidays("JP", 2026), name


def test_public_holidays_are_cached_per_country_and_year():
    assert cal.public_holidays("JP", 2026) is cal.public_holidays("JP", 2026)
    assert cal.public_holidays("jp", 2026) is cal.public_holidays("JP", 2026)
    assert date(2027, 1, 1) in cal.public_holidays("JP", 2027)


def test_public_holidays_are_safe_to_build_from_many_threads():
    results: list[frozenset[date]] = []
    def build() -> None:
        results.append(cal.public_holidays("DE", 2031))

    threads = [threading.Thread(target=build) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(r) for r in results}) == 1
    assert date(2031, 12, 25) in results[0]


def test_no_country_means_no_public_holidays():
    assert cal.public_holidays(None, 2026) == frozenset()


@pytest.mark.parametrize("country", ["XX", "Japan", "JPN", ""])
def test_unknown_country_is_refused_clearly(country):
    with pytest.raises(ValueError, match="public-holiday country"):
        cal.public_holidays(country, 2026)
    with pytest.raises(ValueError, match="public-holiday country"):
        schedule(country=country)


def test_supported_countries_are_two_letter_codes():
    countries = cal.supported_countries()
    assert {"JP", "US", "DE", "NP"} <= countries
    assert all(len(c) == 2 and c.isupper() for c in countries)


def test_supported_countries_are_the_holidays_packages_own_list():
    import holidays

    from commands.dates import _countries

    assert cal.supported_countries() == frozenset(holidays.list_supported_countries(include_aliases=False))
    assert _countries() == frozenset(c for c in holidays.list_supported_countries() if len(c) == 2)


def test_listing_the_countries_loads_only_the_calendars_asked_for():
    # In a fresh interpreter: this one may have loaded every calendar already.
    script = ("import sys; from bot import calendar; from commands.dates import read_country; "
              "calendar.supported_countries(); read_country('JP'); calendar.public_holidays('JP', 2026); "
              "print(sorted(m for m in sys.modules if m.startswith('holidays.countries.')))")
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parent.parent).stdout
    assert loaded.strip() == "['holidays.countries.japan']"


# --- schedule validation ---------------------------------------------------

@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"tz": "Mars/Olympus"}, "time zone"),
        ({"check": "tomorrow"}, "check"),
        ({"weekdays": frozenset({7})}, "weekdays"),
    ],
)
def test_bad_schedule_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        schedule(**kwargs)


# --- work dates --------------------------------------------------------------

@pytest.mark.parametrize(
    "run_day, work_date, why",
    [
        (date(2026, 7, 13), date(2026, 7, 10), "Monday checks Friday"),
        (date(2026, 7, 14), date(2026, 7, 13), "Tuesday checks Monday"),
        (date(2026, 7, 21), date(2026, 7, 17), "Tuesday after Marine Day (Monday) checks Friday"),
        (date(2026, 9, 24), date(2026, 9, 18), "Thursday after Silver Week checks Friday"),
        (date(2026, 4, 30), date(2026, 4, 28), "Thursday after Showa Day checks Tuesday"),
        (date(2026, 5, 7), date(2026, 5, 1), "Golden Week: Thursday after 振替休日 checks May 1"),
        (date(2026, 1, 2), date(2025, 12, 31), "no team days off: Jan 2 checks Dec 31"),
        (date(2026, 1, 5), date(2026, 1, 2), "Monday checks Friday across New Year"),
    ],
)
def test_previous_check_skips_weekends_and_holidays(run_day, work_date, why):
    assert cal.work_date_for(schedule(), run_day) == work_date, why


@pytest.mark.parametrize(
    "day, why",
    [
        (date(2026, 7, 11), "Saturday"),
        (date(2026, 7, 12), "Sunday"),
        (date(2026, 7, 20), "Marine Day"),
        (date(2026, 5, 6), "振替休日"),
    ],
)
def test_no_run_on_weekends_or_public_holidays(day, why):
    assert not cal.is_work_day(schedule(), day), why
    assert cal.work_date_for(schedule(), day) is None, why


@pytest.mark.parametrize("day", sorted(NENMATSU_NENSHI))
def test_team_days_off_are_not_run_days(day):
    s = schedule(days_off=NENMATSU_NENSHI)
    assert not cal.is_work_day(s, day)
    assert cal.work_date_for(s, day) is None


def test_team_days_off_are_not_work_dates():
    s = schedule(days_off=NENMATSU_NENSHI)
    assert cal.work_date_for(s, date(2027, 1, 4)) == date(2026, 12, 28)
    assert cal.recent_work_dates(s, date(2027, 1, 5), 3) == [
        date(2027, 1, 4), date(2026, 12, 28), date(2026, 12, 25)
    ]


@pytest.mark.parametrize(
    "run_day, work_date",
    [
        (date(2026, 7, 15), date(2026, 7, 13)),  # Wednesday checks Monday
        (date(2026, 7, 17), date(2026, 7, 15)),  # Friday checks Wednesday
        (date(2026, 7, 13), date(2026, 7, 10)),  # Monday checks Friday
        (date(2026, 7, 14), None),  # Tuesday: no run
    ],
)
def test_custom_weekdays_mon_wed_fri(run_day, work_date):
    s = schedule(weekdays=frozenset({0, 2, 4}), country=None)
    assert cal.work_date_for(s, run_day) == work_date


@pytest.mark.parametrize(
    "run_day, work_date",
    [
        (date(2026, 7, 13), date(2026, 7, 13)),
        (date(2026, 7, 21), date(2026, 7, 21)),
        (date(2026, 7, 20), None),  # Marine Day
        (date(2026, 7, 18), None),  # Saturday
    ],
)
def test_same_day_check_checks_the_run_day(run_day, work_date):
    assert cal.work_date_for(schedule(check="same-day"), run_day) == work_date


def test_previous_check_gives_up_after_a_year_without_work_days():
    everything_off = frozenset(date(2025, 1, 1) + timedelta(days=i) for i in range(600))
    s = schedule(days_off=everything_off - {date(2026, 7, 13)}, country=None)
    assert cal.work_date_for(s, date(2026, 7, 13)) is None


def test_recent_work_dates_are_newest_first_and_strictly_before():
    assert cal.recent_work_dates(schedule(), date(2026, 7, 22), 4) == [
        date(2026, 7, 21), date(2026, 7, 17), date(2026, 7, 16), date(2026, 7, 15)
    ]
    assert cal.recent_work_dates(schedule(), date(2026, 7, 22), 0) == []


def test_recent_work_dates_stop_when_there_are_none():
    assert cal.recent_work_dates(schedule(weekdays=frozenset()), date(2026, 7, 22), 3) == []


@pytest.mark.parametrize(
    "day, expected",
    [
        (date(2026, 7, 13), date(2026, 7, 10)),  # Monday -> Friday
        (date(2026, 7, 12), date(2026, 7, 10)),  # Sunday -> Friday
        (date(2026, 7, 11), date(2026, 7, 10)),  # Saturday -> Friday
        (date(2026, 7, 15), date(2026, 7, 14)),
        (date(2026, 7, 21), date(2026, 7, 20)),  # public holidays don't matter here
    ],
)
def test_last_weekday_before(day, expected):
    assert cal.last_weekday_before(day) == expected


# --- time zones --------------------------------------------------------------

@pytest.mark.parametrize(
    "tz, expected_utc",
    [
        ("Asia/Tokyo", utc(2026, 7, 13, 0, 0)),
        ("Asia/Kathmandu", utc(2026, 7, 13, 3, 15)),  # +05:45
        ("America/New_York", utc(2026, 7, 13, 13, 0)),
        ("UTC", utc(2026, 7, 13, 9, 0)),
    ],
)
def test_scheduled_at_is_local_time_in_utc(tz, expected_utc):
    got = cal.scheduled_at(schedule(tz=tz), date(2026, 7, 13))
    assert got == expected_utc
    assert got.utcoffset() == timedelta(0)


def test_local_date_is_the_schedules_not_utcs():
    # Sunday 23:30 UTC is Monday morning in Tokyo.
    s = schedule()
    assert cal.local_date_at(s, utc(2026, 7, 12, 23, 30)) == date(2026, 7, 13)
    run = cal.due_run(s, utc(2026, 7, 13, 0, 5), CATCHUP)
    assert run == cal.DueRun(date(2026, 7, 13), date(2026, 7, 10), utc(2026, 7, 13, 0, 0), late=False)


def test_local_date_needs_an_aware_now():
    with pytest.raises(ValueError):
        cal.local_date_at(schedule(), datetime(2026, 7, 13, 9, 0))


def test_kathmandu_run_is_due_at_quarter_past_three_utc():
    s = schedule(tz="Asia/Kathmandu", country="NP", check="same-day")
    assert cal.due_run(s, utc(2026, 7, 14, 3, 14), CATCHUP) is None
    run = cal.due_run(s, utc(2026, 7, 14, 3, 15), CATCHUP)
    assert run is not None and run.local_date == date(2026, 7, 14)


# --- DST: one run per local date, at local 09:00 ----------------------------

def simulate_ticks(s: Schedule, start: datetime, hours: int) -> dict[date, datetime]:
    """A tick every minute; the first tick that finds a run due records it."""
    fired: dict[date, datetime] = {}
    for minute in range(hours * 60):
        now = start + timedelta(minutes=minute)
        run = cal.due_run(s, now, CATCHUP)
        if run is not None and run.local_date not in fired:
            assert not run.late
            assert run.scheduled_at == now
            fired[run.local_date] = now
    return fired


@pytest.mark.parametrize(
    "tz, change_utc, expected",
    [
        # spring forward: 09:00 EST the day before, 09:00 EDT on the day
        ("America/New_York", utc(2026, 3, 8, 7),
         {date(2026, 3, 7): utc(2026, 3, 7, 14), date(2026, 3, 8): utc(2026, 3, 8, 13)}),
        # fall back: 09:00 EDT the day before, 09:00 EST on the day
        ("America/New_York", utc(2026, 11, 1, 6),
         {date(2026, 10, 31): utc(2026, 10, 31, 13), date(2026, 11, 1): utc(2026, 11, 1, 14)}),
        ("Europe/Berlin", utc(2026, 3, 29, 1),
         {date(2026, 3, 28): utc(2026, 3, 28, 8), date(2026, 3, 29): utc(2026, 3, 29, 7)}),
        ("Europe/Berlin", utc(2026, 10, 25, 1),
         {date(2026, 10, 24): utc(2026, 10, 24, 7), date(2026, 10, 25): utc(2026, 10, 25, 8)}),
    ],
)
def test_dst_change_fires_once_per_day_at_local_nine(tz, change_utc, expected):
    s = schedule(tz=tz, weekdays=EVERY_DAY, country=None)
    fired = simulate_ticks(s, change_utc - timedelta(hours=24), 48)
    assert fired == expected
    for day, at in fired.items():
        assert at.astimezone(ZoneInfo(tz)).time() == time(9, 0)
        assert at.astimezone(ZoneInfo(tz)).date() == day
        assert cal.scheduled_at(s, day) == at


@pytest.mark.parametrize(
    "tz, at, day, expected_utc, expected_local",
    [
        # the gap 02:00–03:00: 02:30 does not exist, the run goes at 03:00 EDT
        ("America/New_York", time(2, 30), date(2026, 3, 8), utc(2026, 3, 8, 7), time(3, 0)),
        ("Europe/Berlin", time(2, 30), date(2026, 3, 29), utc(2026, 3, 29, 1), time(3, 0)),
        # a half-hour gap 02:00–02:30
        ("Australia/Lord_Howe", time(2, 15), date(2026, 10, 4), utc(2026, 10, 3, 15, 30), time(2, 30)),
    ],
)
def test_nonexistent_local_time_fires_once_after_the_gap(tz, at, day, expected_utc, expected_local):
    s = schedule(tz=tz, at=at, weekdays=EVERY_DAY, country=None)
    assert cal.scheduled_at(s, day) == expected_utc
    midnight = datetime.combine(day, time(0), ZoneInfo(tz))
    fired = simulate_ticks(s, midnight.astimezone(UTC), 24)
    assert fired == {day: expected_utc}
    assert expected_utc.astimezone(ZoneInfo(tz)).time() == expected_local


def test_ambiguous_local_time_fires_once_at_first_occurrence():
    s = schedule(tz="America/New_York", at=time(1, 30), weekdays=EVERY_DAY, country=None)
    first = utc(2026, 11, 1, 5, 30)  # 01:30 EDT; 01:30 EST would be 06:30 UTC
    assert cal.scheduled_at(s, date(2026, 11, 1)) == first
    midnight = local("America/New_York", 2026, 11, 1, 0, 0)
    fired = simulate_ticks(s, midnight.astimezone(UTC), 25)  # the day has 25 hours
    assert fired == {date(2026, 11, 1): first}


# --- catch-up -----------------------------------------------------------------

@pytest.mark.parametrize(
    "now, late",
    [
        (utc(2026, 7, 13, 0, 0), False),  # on time
        (utc(2026, 7, 13, 3, 0), False),  # exactly at the end of the window
        (utc(2026, 7, 13, 3, 1), True),  # past the window: recorded as skipped
        (utc(2026, 7, 13, 14, 59), True),  # 23:59 JST, still the same local date
    ],
)
def test_catchup_window(now, late):
    run = cal.due_run(schedule(), now, CATCHUP)
    assert run is not None and run.late is late


@pytest.mark.parametrize(
    "now",
    [
        utc(2026, 7, 12, 23, 59),  # 08:59 JST Monday: not yet
        utc(2026, 7, 11, 1, 0),  # Saturday
        utc(2026, 7, 20, 1, 0),  # Marine Day
        utc(2026, 7, 13, 15, 0),  # 00:00 JST Tuesday, before Tuesday's run
    ],
)
def test_nothing_due(now):
    assert cal.due_run(schedule(), now, CATCHUP) is None


# --- next run -------------------------------------------------------------------

def jst(*args: int) -> datetime:
    return local("Asia/Tokyo", *args)


@pytest.mark.parametrize(
    "now, had_run_today, expected",
    [
        pytest.param(jst(2026, 7, 13, 8, 0), False, jst(2026, 7, 13, 9, 0), id="before today's run"),
        pytest.param(jst(2026, 7, 13, 10, 0), False, jst(2026, 7, 13, 10, 0), id="missed, within catch-up: now"),
        pytest.param(jst(2026, 7, 13, 13, 0), False, jst(2026, 7, 14, 9, 0), id="past catch-up: tomorrow"),
        pytest.param(jst(2026, 7, 13, 8, 0), True, jst(2026, 7, 14, 9, 0), id="already had today's run"),
        pytest.param(jst(2026, 7, 10, 19, 0), True, jst(2026, 7, 13, 9, 0), id="Friday evening -> Monday"),
        pytest.param(jst(2026, 7, 17, 19, 0), True, jst(2026, 7, 21, 9, 0), id="before Marine Day -> Tuesday"),
        pytest.param(utc(2026, 7, 19, 23, 30), False, jst(2026, 7, 21, 9, 0), id="on Marine Day -> Tuesday"),
        pytest.param(jst(2026, 5, 1, 19, 0), True, jst(2026, 5, 7, 9, 0), id="Golden Week -> May 7"),
    ],
)
def test_next_run_at(now, had_run_today, expected):
    got = cal.next_run_at(schedule(), now, had_run_today=had_run_today)
    assert got == expected
    assert got.utcoffset() == timedelta(0)


def test_next_run_at_honours_the_catchup_given():
    now = jst(2026, 7, 13, 9, 30)
    got = cal.next_run_at(schedule(), now, had_run_today=False, catchup=timedelta(minutes=15))
    assert got == jst(2026, 7, 14, 9, 0)


def test_next_run_at_across_dst_keeps_local_time():
    s = schedule(tz="America/New_York", country="US")
    friday_evening = local("America/New_York", 2026, 3, 6, 18, 0)
    assert cal.next_run_at(s, friday_evening, had_run_today=True) == utc(2026, 3, 9, 13)  # 09:00 EDT


def test_next_run_at_without_weekdays_is_none():
    assert cal.next_run_at(schedule(weekdays=frozenset()), utc(2026, 7, 13), had_run_today=False) is None


def test_a_late_evening_run_is_still_due_just_after_local_midnight():
    from bot.calendar import Schedule, due_run

    schedule = Schedule(at=time(23, 30), timezone="Asia/Tokyo", weekdays=frozenset(range(7)),
                        holiday_country=None, days_off=frozenset(), check="same-day")
    tick = datetime(2026, 12, 2, 0, 10, tzinfo=ZoneInfo("Asia/Tokyo"))
    run = due_run(schedule, tick, timedelta(minutes=180))
    assert run is not None and run.local_date == date(2026, 12, 1) and not run.late
    much_later = datetime(2026, 12, 2, 3, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert due_run(schedule, much_later, timedelta(minutes=180)) is None  # past the window: gone


def test_a_folder_name_is_no_time_zone():
    from bot.calendar import Schedule

    with pytest.raises(ValueError):
        Schedule(at=time(9), timezone="America", weekdays=frozenset({0}), holiday_country=None,
                 days_off=frozenset())
