"""SLA arithmetic: calendar vs business hours, weekends, public holidays, make-up workdays, pauses, warnings."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from services.complaints import sla

BEIJING = timezone(timedelta(hours=8))
CALENDAR = sla.load_calendar()


def bj(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BEIJING)


def test_shipped_calendar_knows_2026_holidays_and_make_up_workdays():
    assert not CALENDAR.is_working_day(date(2026, 10, 1))  # National Day, a Thursday
    assert not CALENDAR.is_working_day(date(2026, 4, 6))  # Qingming, a Monday
    assert CALENDAR.is_working_day(date(2026, 10, 10))  # make-up Saturday
    assert CALENDAR.is_working_day(date(2026, 2, 14))  # make-up Saturday before Spring Festival
    assert not CALENDAR.is_working_day(date(2026, 3, 7))  # an ordinary Saturday
    assert CALENDAR.is_working_day(date(2026, 3, 9))  # an ordinary Monday


def test_calendar_hours_run_through_the_weekend():
    due = sla.due_at(bj(2026, 3, 6, 16, 30), 24 * 60, mode="calendar", calendar=CALENDAR)
    assert due == bj(2026, 3, 7, 16, 30)


def test_business_hours_skip_the_weekend_to_the_minute():
    # Friday 16:30: 90 minutes left on Friday, then Monday and Tuesday (540 each), 270 on Wednesday.
    due = sla.due_at(bj(2026, 3, 6, 16, 30), 24 * 60, mode="business", calendar=CALENDAR)
    assert due == bj(2026, 3, 11, 13, 30)
    assert due is not None and due.tzinfo == UTC


def test_business_hours_skip_a_public_holiday():
    # Friday 3 April 17:00: 60 minutes, then Qingming (4–6 April) is off, 420 minutes on Tuesday 7 April.
    due = sla.due_at(bj(2026, 4, 3, 17), 8 * 60, mode="business", calendar=CALENDAR)
    assert due == bj(2026, 4, 7, 16, 0)
    calendar_due = sla.due_at(bj(2026, 4, 3, 17), 8 * 60, mode="calendar", calendar=CALENDAR)
    assert calendar_due == bj(2026, 4, 4, 1, 0)


def test_business_hours_count_a_make_up_saturday():
    # Friday 13 February 17:30: 30 minutes, then Saturday 14 February is a make-up workday.
    due = sla.due_at(bj(2026, 2, 13, 17, 30), 240, mode="business", calendar=CALENDAR)
    assert due == bj(2026, 2, 14, 12, 30)


def test_business_hours_across_the_spring_festival_week():
    # Saturday 14 Feb (make-up) 17:00: 60 minutes; 15–23 Feb off; Tuesday 24 Feb 09:00 + 60 minutes.
    due = sla.due_at(bj(2026, 2, 14, 17), 120, mode="business", calendar=CALENDAR)
    assert due == bj(2026, 2, 24, 10, 0)


def test_request_outside_hours_starts_at_next_opening():
    due = sla.due_at(bj(2026, 3, 2, 20, 15), 45, mode="business", calendar=CALENDAR)
    assert due == bj(2026, 3, 3, 9, 45)


def test_a_pause_moves_the_calendar_due_time_by_its_length():
    pauses = [(bj(2026, 3, 2, 11), bj(2026, 3, 2, 14, 30))]
    due = sla.due_at(bj(2026, 3, 2, 9), 24 * 60, mode="calendar", calendar=CALENDAR, pauses=pauses)
    assert due == bj(2026, 3, 3, 12, 30)


def test_a_pause_over_the_weekend_counts_only_paused_working_minutes():
    # Monday 09:00, 16 business hours; paused Monday 15:00 → Tuesday 10:00.
    # Runs Monday 09–15 (360), then Tuesday 10–18 (480), then 120 on Wednesday.
    pauses = [(bj(2026, 3, 2, 15), bj(2026, 3, 3, 10))]
    due = sla.due_at(bj(2026, 3, 2, 9), 16 * 60, mode="business", calendar=CALENDAR, pauses=pauses)
    assert due == bj(2026, 3, 4, 11, 0)


def test_business_hours_with_a_pause_across_a_holiday():
    # Thursday 2 April 10:00, 16 business hours; paused Thursday 14:00 → Friday 3 April 11:00.
    # Thursday 10–14 (240), Friday 11–18 (420), Qingming 4–6 April off, Tuesday 7 April 09:00 + 300 = 14:00.
    pauses = [(bj(2026, 4, 2, 14), bj(2026, 4, 3, 11))]
    due = sla.due_at(bj(2026, 4, 2, 10), 16 * 60, mode="business", calendar=CALENDAR, pauses=pauses)
    assert due == bj(2026, 4, 7, 14, 0)
    ran = sla.running_minutes(bj(2026, 4, 2, 10), bj(2026, 4, 7, 14), mode="business", calendar=CALENDAR, pauses=pauses)
    assert ran == 16 * 60


def test_an_open_pause_stops_the_clock():
    pauses: list[sla.Pause] = [(bj(2026, 3, 2, 11), None)]
    assert sla.due_at(bj(2026, 3, 2, 9), 240, mode="calendar", calendar=CALENDAR, pauses=pauses) is None
    # Before the pause starts the target can still be met.
    assert sla.due_at(bj(2026, 3, 2, 9), 60, mode="calendar", calendar=CALENDAR, pauses=pauses) == bj(2026, 3, 2, 10)


def test_running_minutes_exclude_paused_time():
    pauses = [(bj(2026, 3, 2, 10), bj(2026, 3, 2, 12)), (bj(2026, 3, 2, 13), bj(2026, 3, 2, 13, 30))]
    ran = sla.running_minutes(bj(2026, 3, 2, 9), bj(2026, 3, 2, 15), mode="calendar", calendar=CALENDAR, pauses=pauses)
    assert ran == 6 * 60 - 120 - 30


def test_warning_comes_after_the_ratio_of_the_target():
    line = sla.deadline(bj(2026, 3, 6, 16, 30), 24 * 60, warning_ratio=0.75, mode="business", calendar=CALENDAR)
    # 18 business hours = 1080: Friday 90, Monday 540, Tuesday 09:00 + 450 = 16:30.
    assert line.warning_at == bj(2026, 3, 10, 16, 30)
    assert line.due_at == bj(2026, 3, 11, 13, 30)


def test_configured_hours_and_extra_holidays_are_honoured():
    calendar = sla.load_calendar(
        [],
        day_start=datetime(2026, 1, 1, 8, 30).time(),
        day_end=datetime(2026, 1, 1, 17, 30).time(),
        extra_holidays=[date(2026, 3, 3)],
    )
    due = sla.due_at(bj(2026, 3, 2, 17), 60, mode="business", calendar=calendar)
    assert due == bj(2026, 3, 4, 9, 0)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"due": bj(2026, 3, 2, 12), "warning": bj(2026, 3, 2, 11)}, "ok"),
        ({"due": bj(2026, 3, 2, 10, 30), "warning": bj(2026, 3, 2, 10)}, "warning"),
        ({"due": bj(2026, 3, 2, 10, 30), "warning": bj(2026, 3, 2, 10), "paused": True}, "paused"),
        ({"due": None, "warning": None, "paused": True}, "paused"),
        ({"due": bj(2026, 3, 2, 9), "warning": bj(2026, 3, 2, 8)}, "breached"),
        ({"due": bj(2026, 3, 2, 12), "warning": None, "breached": True}, "breached"),
        ({"due": bj(2026, 3, 2, 12), "warning": None, "met_at": bj(2026, 3, 2, 10)}, "met"),
        ({"due": bj(2026, 3, 2, 9), "warning": None, "met_at": bj(2026, 3, 2, 10)}, "breached"),
    ],
)
def test_timer_state_at_ten_oclock(kwargs, expected):
    assert sla.sla_state(now=bj(2026, 3, 2, 10, 15), **kwargs) == expected


def test_odd_minutes_across_mid_autumn_with_a_pause_are_exact():
    # Thursday 24 Sep 17:37, 1000 business minutes: 23 on Thursday; 25–27 Sep (中秋节) off;
    # Monday 28 Sep 09:00–10:00 (60), paused 10:00–11:13, 11:13–18:00 (407); Tuesday 09:00 + 510 = 17:30.
    start = bj(2026, 9, 24, 17, 37)
    pauses = [(bj(2026, 9, 28, 10), bj(2026, 9, 28, 11, 13))]
    assert sla.due_at(start, 1000, mode="business", calendar=CALENDAR, pauses=pauses) == bj(2026, 9, 29, 17, 30)
    # In calendar hours the same target ends before the pause: 16 h 40 min later.
    assert sla.due_at(start, 1000, mode="calendar", calendar=CALENDAR, pauses=pauses) == bj(2026, 9, 25, 10, 17)


def test_a_year_without_data_counts_weekdays_and_is_reported_as_uncovered():
    # 2027 is not in the shipped file: Friday 1 January 2027 counts as a working day (never a guessed holiday).
    assert CALENDAR.covered_years == frozenset({2026})
    assert CALENDAR.is_working_day(date(2027, 1, 1))
    assert CALENDAR.uncovered_years(bj(2026, 12, 31, 17), bj(2027, 1, 4, 10)) == [2027]
    assert CALENDAR.uncovered_years(bj(2026, 3, 2, 9), bj(2026, 12, 31, 23)) == []
    due = sla.due_at(bj(2026, 12, 31, 17), 120, mode="business", calendar=CALENDAR)
    assert due == bj(2027, 1, 1, 10)


def test_the_calendar_ends_where_the_known_years_stop():
    assert CALENDAR.ends_on(date(2026, 3, 2)) == date(2026, 12, 31)
    assert CALENDAR.days_remaining(date(2026, 12, 1)) == 30
    assert CALENDAR.ends_on(date(2028, 3, 1)) == date(2026, 12, 31)  # ended before today
    assert CALENDAR.days_remaining(date(2028, 3, 1)) == 0
    assert sla.calendar_from_years([]).ends_on(date(2026, 3, 2)) is None
    two_years = sla.calendar_from_years([sla.CalendarYear(year=2026), sla.CalendarYear(year=2027)])
    assert two_years.ends_on(date(2026, 3, 2)) == date(2027, 12, 31)


def test_each_stored_year_keeps_its_own_working_hours():
    calendar = sla.calendar_from_years(
        [
            sla.CalendarYear(
                year=2026, day_start=time(8, 30), day_end=time(17, 30), days_off=frozenset({date(2026, 3, 3)})
            ),
        ],
        sla.CalendarDefaults(day_start=time(9, 0), day_end=time(18, 0)),
    )
    # Monday 2 March 17:00: 30 minutes to 17:30, Tuesday 3 March off, Wednesday 08:30 + 30.
    assert sla.due_at(bj(2026, 3, 2, 17), 60, mode="business", calendar=calendar) == bj(2026, 3, 4, 9, 0)
    # A year without data works the default hours.
    assert calendar.window(date(2027, 3, 2)) == (
        datetime(2027, 3, 2, 9, tzinfo=calendar.zone),
        datetime(2027, 3, 2, 18, tzinfo=calendar.zone),
    )


def test_the_deadlines_of_a_policy_are_those_intake_stores():
    targets = sla.Targets(
        first_response_minutes=480, update_interval_minutes=960, resolution_minutes=1440, mode="business"
    )
    due = sla.deadlines(
        targets,
        opened_at=bj(2026, 9, 30, 15),
        resolution_started_at=bj(2026, 9, 30, 15),
        update_since=None,
        calendar=CALENDAR,
    )
    assert (due.first_response.due_at, due.first_response.warning_at) == (bj(2026, 10, 8, 14), bj(2026, 10, 8, 12))
    assert due.resolution.due_at == bj(2026, 10, 10, 12)  # the make-up Saturday after National Day
    assert due.customer_update is None  # no update clock before the first response
