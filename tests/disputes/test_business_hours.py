"""The business-hours arithmetic behind dispute SLAs: weekends, holidays, overnight windows and
clock changes in the organization's time zone."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from plixo.disputes.business_hours import BusinessCalendar, NoBusinessHours, hours_text

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
NINE_TO_FIVE = {day: (dt.time(9), dt.time(17)) if day < 5 else None for day in range(7)}


def at(zone, *args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zone)


def office(zone=NY, holidays=()) -> BusinessCalendar:
    return BusinessCalendar.build(time_zone=zone, hours=NINE_TO_FIVE, holidays=holidays)


def test_hours_within_one_working_day():
    # Tuesday 2026-03-03, 10:00 + 3 business hours = 13:00 the same day.
    assert office().add(at(NY, 2026, 3, 3, 10), 3) == at(NY, 2026, 3, 3, 13)


def test_hours_roll_over_the_night_to_the_next_morning():
    # Tuesday 16:00 + 2 h: one hour on Tuesday, one on Wednesday from 09:00.
    assert office().add(at(NY, 2026, 3, 3, 16), 2) == at(NY, 2026, 3, 4, 10)


def test_friday_afternoon_runs_into_monday():
    assert office().add(at(NY, 2026, 3, 6, 16), 2) == at(NY, 2026, 3, 9, 10)


def test_a_dispute_opened_on_the_weekend_starts_counting_on_monday_morning():
    assert office().add(at(NY, 2026, 3, 7, 11), 1) == at(NY, 2026, 3, 9, 10)


def test_opened_before_the_office_opens_counts_from_opening():
    assert office().add(at(NY, 2026, 3, 3, 6, 30), 8) == at(NY, 2026, 3, 3, 17)


def test_twenty_four_business_hours_are_three_working_days():
    assert office().add(at(NY, 2026, 3, 2, 9), 24) == at(NY, 2026, 3, 4, 17)


def test_holidays_are_skipped():
    # Monday 2026-05-25 is a holiday: Friday 16:00 + 2 h lands on Tuesday 10:00.
    calendar = office(holidays=[dt.date(2026, 5, 25)])
    assert calendar.add(at(NY, 2026, 5, 22, 16), 2) == at(NY, 2026, 5, 26, 10)
    assert office().add(at(NY, 2026, 5, 22, 16), 2) == at(NY, 2026, 5, 25, 10)


def test_overnight_window_counts_across_midnight():
    nights = BusinessCalendar.build(
        time_zone=BERLIN, hours={day: (dt.time(22), dt.time(6)) for day in range(7)}
    )
    # Tuesday 23:00 + 2 h = Wednesday 01:00, inside the same night.
    assert nights.add(at(BERLIN, 2026, 1, 13, 23), 2) == at(BERLIN, 2026, 1, 14, 1)
    # Wednesday 05:00 (still Tuesday's night) + 2 h: 1 h left tonight, 1 h from 22:00.
    assert nights.add(at(BERLIN, 2026, 1, 14, 5), 2) == at(BERLIN, 2026, 1, 14, 23)


def test_an_overnight_window_starting_the_evening_before_a_holiday_still_counts():
    nights = BusinessCalendar.build(
        time_zone=BERLIN,
        hours={day: (dt.time(22), dt.time(6)) for day in range(7)},
        holidays=[dt.date(2026, 1, 15)],
    )
    # The night that starts on the 14th runs; the one starting on the 15th does not.
    assert nights.add(at(BERLIN, 2026, 1, 14, 22), 9) == at(BERLIN, 2026, 1, 16, 23)


def test_spring_forward_night_is_an_hour_shorter():
    # Berlin moves from 02:00 to 03:00 on Sunday 2026-03-29: the night of Saturday 28th,
    # 22:00–06:00, is 7 real hours long, so 7.5 h from its start ends in the next night.
    nights = BusinessCalendar.build(
        time_zone=BERLIN, hours={day: (dt.time(22), dt.time(6)) for day in range(7)}
    )
    start = at(BERLIN, 2026, 3, 28, 22)
    assert nights.between(start, at(BERLIN, 2026, 3, 29, 6)) == dt.timedelta(hours=7)
    assert nights.add(start, 7.5) == at(BERLIN, 2026, 3, 29, 22, 30)


def test_fall_back_night_is_an_hour_longer():
    # Berlin goes back from 03:00 to 02:00 on Sunday 2026-10-25: that night holds 9 hours.
    nights = BusinessCalendar.build(
        time_zone=BERLIN, hours={day: (dt.time(22), dt.time(6)) for day in range(7)}
    )
    start = at(BERLIN, 2026, 10, 24, 22)
    assert nights.between(start, at(BERLIN, 2026, 10, 25, 6)) == dt.timedelta(hours=9)
    assert nights.add(start, 9) == at(BERLIN, 2026, 10, 25, 6)


def test_a_working_day_across_the_dst_change_keeps_its_wall_clock_hours():
    # New York springs forward on Sunday 2026-03-08; Friday 16:00 + 2 h is Monday 10:00 local
    # (EDT), not 09:00 or 11:00.
    due = office().add(at(NY, 2026, 3, 6, 16), 2)
    assert due.astimezone(NY).hour == 10
    assert due.astimezone(NY).utcoffset() == dt.timedelta(hours=-4)


def test_results_are_in_utc():
    due = office().add(at(NY, 2026, 3, 3, 10), 1)
    assert due.tzinfo == dt.UTC


def test_between_counts_only_working_time_and_is_signed():
    calendar = office()
    friday, monday = at(NY, 2026, 3, 6, 16), at(NY, 2026, 3, 9, 10)
    assert calendar.between(friday, monday) == dt.timedelta(hours=2)
    assert calendar.between(monday, friday) == -dt.timedelta(hours=2)


def test_add_and_between_agree():
    calendar = office(holidays=[dt.date(2026, 3, 4)])
    start = at(NY, 2026, 3, 2, 13, 17)
    for hours in (0.5, 1, 7, 8, 23, 40, 100):
        due = calendar.add(start, hours)
        assert calendar.between(start, due) == dt.timedelta(hours=hours)


def test_zero_hours_is_the_start_itself():
    start = at(NY, 2026, 3, 7, 11)
    assert office().add(start, 0) == start.astimezone(dt.UTC)


def test_a_calendar_without_working_days_refuses():
    closed = BusinessCalendar.build(time_zone=NY, hours={day: None for day in range(7)})
    with pytest.raises(NoBusinessHours):
        closed.add(at(NY, 2026, 3, 3, 10), 1)


def test_naive_start_is_refused():
    with pytest.raises(ValueError):
        office().add(dt.datetime(2026, 3, 3, 10), 1)


def test_hours_text():
    assert hours_text(dt.timedelta(hours=3, minutes=20)) == "3 h 20 min"
    assert hours_text(-dt.timedelta(minutes=45)) == "45 min"
    assert hours_text(dt.timedelta(hours=26)) == "26 h"
