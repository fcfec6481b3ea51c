"""Business calendars where they are easiest to get wrong: a deadline that crosses New Year,
the repeated hour of a fall-back night, a 24x7 desk that still closes on holidays, working days
written with ``like:``, intervals that end at half past, and a yearly 29 February holiday.

Every expected moment is written out; the calendar's local time is in the offset."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

import pytest

from support.calendars import OFFICE_LONDON, at, calendar_from, daily
from svcflow.errors import WorkflowDefinitionError
from svcflow.sla.calendar import BusinessCalendar, CalendarError
from svcflow.spec.calendar import parse_interval

# -- New Year ---------------------------------------------------------------------------------


# Mon-Fri 09:00-18:00 in London, closed on 1 January: Thursday 31 December 2026 is the last
# business day of the year, Monday 4 January 2027 the first of the next.
def office_new_year() -> BusinessCalendar:
    """A new calendar per test, built inside it (mutation testing only sees code a test runs)."""
    return calendar_from(OFFICE_LONDON + 'holidays: ["--01-01"]\n')


def test_a_deadline_crosses_new_year_and_skips_the_holiday() -> None:
    cal = office_new_year()
    received = at("2026-12-31T17:00+00:00")
    due = cal.add(received, timedelta(hours=4))  # 1 h on Thursday, 3 h on Monday
    assert due == at("2027-01-04T12:00+00:00")
    assert cal.elapsed(received, due) == timedelta(hours=4)
    assert cal.elapsed(due, received) == -timedelta(hours=4)
    assert cal.add(due, -timedelta(hours=4)) == received


def test_next_open_next_close_and_intervals_over_new_year() -> None:
    cal = office_new_year()
    assert cal.next_open(at("2026-12-31T18:00+00:00")) == at("2027-01-04T09:00+00:00")
    assert cal.next_open(at("2027-01-01T12:00+00:00")) == at("2027-01-04T09:00+00:00")
    assert cal.next_close(at("2026-12-31T12:00+00:00")) == at("2026-12-31T18:00+00:00")
    assert cal.next_close(at("2027-01-01T12:00+00:00")) == at("2027-01-01T12:00+00:00")
    assert not cal.is_open(at("2027-01-01T12:00+00:00"))
    assert cal.is_open(at("2027-01-04T09:00+00:00"))
    assert list(cal.open_intervals(at("2026-12-30T17:00+00:00"), at("2027-01-04T10:00+00:00"))) == [
        (at("2026-12-30T17:00+00:00"), at("2026-12-30T18:00+00:00")),
        (at("2026-12-31T09:00+00:00"), at("2026-12-31T18:00+00:00")),
        (at("2027-01-04T09:00+00:00"), at("2027-01-04T10:00+00:00")),
    ]


def test_business_days_are_counted_over_new_year_both_ways() -> None:
    cal = office_new_year()
    wednesday = at("2026-12-30T10:00+00:00")
    assert cal.add_business_days(wednesday, 2) == at("2027-01-04T10:00+00:00")
    assert cal.add_business_days(wednesday, 2, end_of_day=True) == at("2027-01-04T18:00+00:00")
    assert cal.add_business_days(at("2027-01-04T10:00+00:00"), -2) == wednesday
    assert cal.add_business_days(at("2027-01-04T10:00+00:00"), -1, end_of_day=True) == at(
        "2026-12-31T18:00+00:00"
    )
    assert not cal.is_business_day(date(2027, 1, 1))
    assert cal.is_business_day(date(2026, 12, 31))


# Every day 09:00-18:00 in Shanghai: the local year starts at 16:00 UTC on 31 December.
def shanghai_daily() -> BusinessCalendar:
    """A new calendar per test, built inside it (mutation testing only sees code a test runs)."""
    return daily("Asia/Shanghai", "09:00-18:00")


def test_the_first_and_last_day_of_a_year_keep_their_hours() -> None:
    cal = shanghai_daily()
    assert cal.is_open(at("2027-01-01T09:00+08:00"))
    assert cal.is_open(at("2026-12-31T17:59+08:00"))
    assert cal.next_open(at("2026-12-31T18:00+08:00")) == at("2027-01-01T09:00+08:00")
    assert cal.next_close(at("2027-01-01T09:30+08:00")) == at("2027-01-01T18:00+08:00")
    assert cal.add(at("2026-12-31T17:00+08:00"), timedelta(hours=2)) == at("2027-01-01T10:00+08:00")
    assert list(cal.open_intervals(at("2026-12-31T17:00+08:00"), at("2027-01-01T10:00+08:00"))) == [
        (at("2026-12-31T17:00+08:00"), at("2026-12-31T18:00+08:00")),
        (at("2027-01-01T09:00+08:00"), at("2027-01-01T10:00+08:00")),
    ]
    whole_2027 = cal.elapsed(at("2027-01-01T00:00+08:00"), at("2028-01-01T00:00+08:00"))
    assert whole_2027 == timedelta(hours=365 * 9)
    assert cal.add_business_days(at("2026-12-30T10:00+08:00"), 3) == at("2027-01-02T10:00+08:00")


def test_a_deadline_more_than_a_year_out_crosses_two_year_ends() -> None:
    cal = shanghai_daily()
    start, end = at("2026-12-31T17:00+08:00"), at("2028-01-01T10:00+08:00")
    budget = timedelta(hours=1 + 365 * 9 + 1)
    assert cal.elapsed(start, end) == budget
    assert cal.add(start, budget) == end
    assert cal.add(end, -budget) == start
    assert cal.add_business_days(at("2026-12-31T10:00+08:00"), 366) == at("2028-01-01T10:00+08:00")
    assert cal.add_business_days(at("2028-01-01T10:00+08:00"), -366) == at("2026-12-31T10:00+08:00")


# Mon-Fri 22:00-06:00 in Shanghai, closed on 1 January: Thursday's shift still runs into the
# holiday morning (a shift belongs to the day it starts), Friday's is cancelled.
def night_new_year() -> BusinessCalendar:
    """A new calendar per test, built inside it (mutation testing only sees code a test runs)."""
    return calendar_from(
        "calendar: night\ntimezone: Asia/Shanghai\n"
        "hours: {mon: &n '22:00-06:00', tue: *n, wed: *n, thu: *n, fri: *n}\n"
        'holidays: ["--01-01"]\n'
    )


def test_an_overnight_shift_runs_from_new_years_eve_into_new_years_day() -> None:
    cal = night_new_year()
    assert cal.is_open(at("2027-01-01T05:00+08:00"))
    assert not cal.is_open(at("2027-01-01T23:00+08:00"))
    assert cal.next_close(at("2026-12-31T23:00+08:00")) == at("2027-01-01T06:00+08:00")
    assert list(cal.open_intervals(at("2026-12-31T21:00+08:00"), at("2027-01-01T12:00+08:00"))) == [
        (at("2026-12-31T22:00+08:00"), at("2027-01-01T06:00+08:00"))
    ]
    assert cal.elapsed(at("2026-12-31T21:00+08:00"), at("2027-01-01T12:00+08:00")) == timedelta(
        hours=8
    )
    # 7 h until 06:00 on 1 January, then Monday's shift.
    assert cal.add(at("2026-12-31T23:00+08:00"), timedelta(hours=8)) == at("2027-01-04T23:00+08:00")
    assert cal.add_business_days(at("2026-12-30T10:00+08:00"), 1, end_of_day=True) == at(
        "2027-01-01T06:00+08:00"
    )
    assert not cal.is_business_day(date(2027, 1, 1))


def test_a_night_shift_after_a_day_shift_still_runs_into_new_years_day() -> None:
    cal = calendar_from(
        "calendar: two-shifts\ntimezone: Asia/Shanghai\n"
        "hours: {thu: ['09:00-17:00', '22:00-06:00']}\n"
    )  # Thursday 31 December 2026
    assert cal.is_open(at("2027-01-01T05:00+08:00"))
    assert cal.next_close(at("2027-01-01T05:00+08:00")) == at("2027-01-01T06:00+08:00")
    new_years_day = (at("2027-01-01T00:00+08:00"), at("2027-01-02T00:00+08:00"))
    assert cal.elapsed(*new_years_day) == timedelta(hours=6)


def test_a_new_year_shown_twice_counts_its_repeated_hour_once() -> None:
    # Phoenix, 1 January 1944: at 00:01 war time (06:01 UTC) the clocks went back to 23:01 on
    # 31 December, so the year began, and an hour later began again.
    cal = daily("America/Phoenix", "00:00-24:00")
    two_days = (at("1943-12-31T00:00-06:00"), at("1944-01-02T00:00-07:00"))
    assert cal.elapsed(*two_days) == timedelta(hours=49)
    around = (at("1944-01-01T05:30+00:00"), at("1944-01-01T07:30+00:00"))
    assert cal.elapsed(*around) == timedelta(hours=2)
    assert list(cal.open_intervals(*around)) == [around]
    assert cal.is_open(at("1944-01-01T06:30+00:00"))  # 23:30 on 31 December, again
    assert cal.next_open(at("1944-01-01T06:30+00:00")) == at("1944-01-01T06:30+00:00")
    assert cal.add(around[0], timedelta(hours=1)) == at("1944-01-01T06:30+00:00")


# -- the repeated hour of a fall-back night ---------------------------------------------------
# Berlin, 25 October 2026: 03:00 CEST becomes 02:00 CET, so 02:00-03:00 happens twice.
# New York, 1 November 2026: 02:00 EDT becomes 01:00 EST, so 01:00-02:00 happens twice.


def test_an_interval_that_starts_in_the_repeated_hour_opens_at_its_first_showing() -> None:
    cal = daily("Europe/Berlin", "02:30-08:00")
    sunday = at("2026-10-25T00:00+02:00")
    assert not cal.is_open(at("2026-10-25T02:15+02:00"))
    assert cal.next_open(sunday) == at("2026-10-25T02:30+02:00")
    # From the first 02:30 (CEST) to 08:00 CET: 6.5 real hours, not 5.5.
    assert cal.elapsed(sunday, at("2026-10-26T00:00+01:00")) == timedelta(hours=6, minutes=30)
    assert cal.add(sunday, timedelta(hours=1)) == at("2026-10-25T02:30+01:00")
    assert cal.elapsed(at("2026-10-24T00:00+02:00"), at("2026-10-25T00:00+02:00")) == timedelta(
        hours=5, minutes=30
    )


def test_an_interval_that_ends_in_the_repeated_hour_closes_at_its_last_showing() -> None:
    cal = daily("Europe/Berlin", "00:00-02:30")
    assert cal.next_close(at("2026-10-25T00:00+02:00")) == at("2026-10-25T02:30+01:00")
    assert cal.is_open(at("2026-10-25T02:45+02:00"))
    assert cal.is_open(at("2026-10-25T02:15+01:00"))
    assert not cal.is_open(at("2026-10-25T02:30+01:00"))
    assert cal.elapsed(at("2026-10-25T00:00+02:00"), at("2026-10-26T00:00+01:00")) == timedelta(
        hours=3, minutes=30
    )


def test_new_york_fall_back_lengthens_a_shift_over_the_repeated_hour() -> None:
    cal = daily("America/New_York", "01:30-09:00")
    sunday = at("2026-11-01T00:00-04:00")
    assert cal.next_open(sunday) == at("2026-11-01T01:30-04:00")
    assert cal.elapsed(sunday, at("2026-11-02T00:00-05:00")) == timedelta(hours=8, minutes=30)
    assert cal.add(sunday, timedelta(hours=8, minutes=30)) == at("2026-11-01T09:00-05:00")
    assert cal.next_close(at("2026-11-01T01:45-05:00")) == at("2026-11-01T09:00-05:00")


def test_the_same_local_time_keeps_which_showing_of_a_repeated_hour_it_was() -> None:
    cal = daily("America/New_York", "01:30-09:00")
    second = at("2026-11-01T01:45-05:00")  # EST: the second 01:45 that night
    first = at("2026-11-01T01:45-04:00")  # EDT: the first
    assert cal.add_calendar_days(second, 0) == second
    assert cal.add_calendar_days(first, 0) == first
    # 7 November 2027 is the next fall-back night, 371 days on.
    assert cal.add_calendar_days(second, 371) == at("2027-11-07T01:45-05:00")
    assert cal.add_business_days(second, 371) == at("2027-11-07T01:45-05:00")
    assert cal.add_business_days(first, 371) == at("2027-11-07T01:45-04:00")
    assert cal.add_business_days(second, 1) == at("2026-11-02T01:45-05:00")


def test_a_local_time_the_clock_skips_maps_to_the_change() -> None:
    cal = daily("Europe/Berlin", "00:00-24:00")
    # 29 March 2026: 02:00 CET becomes 03:00 CEST; 02:30 does not exist that night.
    saturday = at("2026-03-28T02:30+01:00")
    assert cal.add_business_days(saturday, 1) == at("2026-03-29T03:00+02:00")
    assert cal.add_calendar_days(saturday, 1) == at("2026-03-29T03:00+02:00")
    assert cal.add_calendar_days(saturday, 2) == at("2026-03-30T02:30+02:00")


# -- 24x7 with holidays -----------------------------------------------------------------------


def always_but_holidays() -> BusinessCalendar:
    """A new calendar per test, built inside it (mutation testing only sees code a test runs)."""
    return calendar_from(
        "calendar: always\ntimezone: Europe/London\nhours: 24x7\n"
        'holidays: [2026-12-25, "--01-01"]\n'
    )


def test_a_24x7_calendar_closes_on_its_holidays() -> None:
    cal = always_but_holidays()
    assert cal.is_open(at("2026-12-24T23:59+00:00"))
    assert not cal.is_open(at("2026-12-25T12:00+00:00"))
    assert cal.next_open(at("2026-12-25T12:00+00:00")) == at("2026-12-26T00:00+00:00")
    assert cal.next_close(at("2026-12-20T10:00+00:00")) == at("2026-12-25T00:00+00:00")
    assert cal.add(at("2026-12-24T22:00+00:00"), timedelta(hours=4)) == at("2026-12-26T02:00+00:00")
    assert cal.add(at("2026-12-31T22:00+00:00"), timedelta(hours=4)) == at("2027-01-02T02:00+00:00")
    assert cal.elapsed(at("2026-12-24T00:00+00:00"), at("2026-12-27T00:00+00:00")) == timedelta(
        hours=48
    )
    assert cal.add_business_days(at("2026-12-24T10:00+00:00"), 1) == at("2026-12-26T10:00+00:00")
    assert list(cal.open_intervals(at("2026-12-24T12:00+00:00"), at("2026-12-26T12:00+00:00"))) == [
        (at("2026-12-24T12:00+00:00"), at("2026-12-25T00:00+00:00")),
        (at("2026-12-26T00:00+00:00"), at("2026-12-26T12:00+00:00")),
    ]


def test_a_24x7_calendar_with_a_working_day_is_still_open_all_day() -> None:
    cal = calendar_from(
        "calendar: always\ntimezone: UTC\nhours: 24x7\nworking_days: [2026-12-25]\n"
    )
    assert cal.hours_on(date(2026, 12, 25)) == ((0, 1440),)
    assert cal.elapsed(at("2026-12-24T00:00+00:00"), at("2026-12-27T00:00+00:00")) == timedelta(
        hours=72
    )


def test_a_24x7_calendar_past_its_last_holiday_does_not_claim_to_be_closed() -> None:
    cal = calendar_from("calendar: always\ntimezone: UTC\nhours: 24x7\nholidays: [2026-12-25]\n")
    assert cal.next_close(at("2026-12-24T12:00+00:00")) == at("2026-12-25T00:00+00:00")
    # After the last holiday it is open for good: the error must say it does not close, not
    # that it has no open time.
    with pytest.raises(CalendarError, match=r"^calendar 'always' (never closes|does not close)"):
        cal.next_close(at("2027-03-01T12:00+00:00"))


# -- working days -----------------------------------------------------------------------------


def short_fridays() -> BusinessCalendar:
    """A new calendar per test, built inside it (mutation testing only sees code a test runs)."""
    return calendar_from(
        "calendar: short-fridays\ntimezone: Europe/London\n"
        "hours: {mon: &d '09:00-18:00', tue: *d, wed: *d, thu: *d, fri: '09:00-15:00'}\n"
        "working_days:\n"
        "  - {date: 2026-09-19, like: fri}\n"
        "  - 2026-09-20\n"
        "  - {date: 2026-09-26, like: sun}\n"
    )


def test_a_working_day_like_friday_has_the_friday_hours() -> None:
    cal = short_fridays()
    assert cal.hours_on(date(2026, 9, 19)) == ((540, 900),)
    # Friday 14:00: 1 h until 15:00, then Saturday (like Friday) from 09:00.
    assert cal.add(at("2026-09-18T14:00+01:00"), timedelta(hours=2)) == at("2026-09-19T10:00+01:00")
    assert cal.next_close(at("2026-09-19T10:00+01:00")) == at("2026-09-19T15:00+01:00")
    # A working day without hours or 'like' has the Monday hours.
    assert cal.hours_on(date(2026, 9, 20)) == ((540, 1080),)
    # 'like' a closed weekday opens nothing.
    assert cal.hours_on(date(2026, 9, 26)) == ()
    assert not cal.is_business_day(date(2026, 9, 26))


def test_a_working_day_without_hours_takes_the_first_open_weekday_when_monday_is_closed() -> None:
    cal = calendar_from(
        "calendar: tue-sat\ntimezone: UTC\n"
        "hours: {tue: &d '10:00-16:00', wed: *d, thu: *d, fri: *d, sat: '10:00-13:00'}\n"
        "working_days: [2026-03-09]\n"
    )
    assert cal.hours_on(date(2026, 3, 9)) == ((600, 960),)  # a Monday, open like Tuesday
    assert cal.hours_on(date(2026, 3, 16)) == ()
    assert cal.add(at("2026-03-07T12:00+00:00"), timedelta(hours=2)) == at("2026-03-09T11:00+00:00")


def test_a_working_day_on_a_holiday_opens_with_its_own_hours() -> None:
    cal = calendar_from(
        OFFICE_LONDON
        + "holidays: [{from: 2026-12-24, to: 2026-12-31}]\n"
        + "working_days: [{date: 2026-12-29, hours: ['10:00-12:30', '13:30-15:00']}]\n"
    )
    assert [cal.is_business_day(date(2026, 12, day)) for day in range(23, 32)] == [
        True, False, False, False, False, False, True, False, False,
    ]  # fmt: skip
    wednesday = at("2026-12-23T17:00+00:00")
    assert cal.add(wednesday, timedelta(hours=3)) == at("2026-12-29T12:00+00:00")
    assert cal.add(wednesday, timedelta(hours=4)) == at("2026-12-29T14:00+00:00")
    assert cal.add(wednesday, timedelta(hours=5)) == at("2026-12-29T15:00+00:00")
    assert cal.add(wednesday, timedelta(hours=5, minutes=30)) == at("2027-01-01T09:30+00:00")


# -- intervals at half past -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("09:30-17:30", (570, 1050)),
        ("08:15-12:45", (495, 765)),
        ("22:30-06:15", (1350, 1815)),
        ("23:59-24:00", (1439, 1440)),
        ("00:00-00:01", (0, 1)),
        (" 9:05 - 9:55 ", (545, 595)),
    ],
)
def test_intervals_keep_their_minutes(text: str, minutes: tuple[int, int]) -> None:
    assert parse_interval(text) == minutes


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("24:00-06:00", "the start must be 00:00 to 23:59"),
        ("09:60-10:00", "the start must be 00:00 to 23:59"),
        ("09:00-24:01", "the end must be 00:00 to 24:00"),
        ("09:00-25:00", "the end must be 00:00 to 24:00"),
        ("09:00-10:60", "the end must be 00:00 to 24:00"),
        ("09:30-09:30", "it starts and ends at the same time; for a whole day write 00:00-24:00"),
    ],
)
def test_interval_limits(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_interval(text)
    assert str(caught.value) == f"invalid interval {text!r}: {problem}"


def test_a_calendar_with_half_past_hours_counts_them() -> None:
    cal = calendar_from(
        "calendar: half\ntimezone: UTC\n"
        "hours: {mon: &d ['08:30-12:30', '13:00-17:30'], tue: *d, wed: *d, thu: *d, fri: *d}\n"
    )
    monday = at("2026-03-09T08:30+00:00")
    assert cal.add(monday, timedelta(hours=4)) == at("2026-03-09T12:30+00:00")
    assert cal.add(monday, timedelta(hours=4, minutes=1)) == at("2026-03-09T13:01+00:00")
    assert cal.elapsed(monday, at("2026-03-10T08:30+00:00")) == timedelta(hours=8, minutes=30)
    assert cal.next_close(at("2026-03-09T13:00+00:00")) == at("2026-03-09T17:30+00:00")
    assert not cal.is_open(at("2026-03-09T17:30+00:00"))


def test_touching_intervals_are_allowed_and_count_as_one_stretch() -> None:
    cal = calendar_from(
        "calendar: split\ntimezone: UTC\n"
        "hours: {mon: ['09:00-12:00', '12:00-18:00'], fri: '22:00-06:00', sat: '06:00-08:00'}\n"
    )
    assert cal.is_open(at("2026-03-09T12:00+00:00"))
    assert cal.next_close(at("2026-03-09T10:00+00:00")) == at("2026-03-09T18:00+00:00")
    assert cal.next_close(at("2026-03-06T23:00+00:00")) == at("2026-03-07T08:00+00:00")


# -- a yearly 29 February ---------------------------------------------------------------------


@pytest.mark.parametrize("written", ['"--02-29"', '{yearly: "02-29"}', "{month: 2, day: 29}"])
def test_a_yearly_29_february_closes_leap_days_only(written: str) -> None:
    cal = calendar_from(OFFICE_LONDON + f"holidays: [{written}]\n")
    assert not cal.is_business_day(date(2028, 2, 29))  # a Tuesday
    assert cal.is_business_day(date(2028, 2, 28))
    assert cal.is_business_day(date(2027, 3, 1))  # no 29 February in 2027: nothing moves
    assert cal.is_business_day(date(2027, 2, 26))
    # Monday 28 February 2028 at 17:00: 1 h Monday, Tuesday closed, 1 h Wednesday 1 March.
    assert cal.add(at("2028-02-28T17:00+00:00"), timedelta(hours=2)) == at("2028-03-01T10:00+00:00")


@pytest.mark.parametrize("written", ['"--02-30"', '{yearly: "13-01"}', "{month: 4, day: 31}"])
def test_an_impossible_yearly_date_is_refused(written: str) -> None:
    with pytest.raises(WorkflowDefinitionError, match="invalid yearly date"):
        calendar_from(OFFICE_LONDON + f"holidays: [{written}]\n")


def test_years_outside_the_range_are_refused_with_the_range() -> None:
    cal = office_new_year()
    with pytest.raises(CalendarError) as caught:
        cal.is_open(at("1899-06-01T12:00+00:00"))
    assert str(caught.value) == "calendar 'office': the year 1899 is outside 1900..9998"
    with pytest.raises(CalendarError) as caught:
        cal.is_open(at("9999-06-01T12:00+00:00"))
    assert str(caught.value) == "calendar 'office': the year 9999 is outside 1900..9998"


def test_the_first_and_last_years_of_the_range_are_counted() -> None:
    cal = office_new_year()
    tuesday = (at("1900-01-02T00:00+00:00"), at("1900-01-03T00:00+00:00"))
    assert cal.elapsed(*tuesday) == timedelta(hours=9)
    assert cal.next_open(at("9998-12-01T06:00+00:00")) == at("9998-12-01T09:00+00:00")


def test_one_microsecond_that_uses_up_the_year_ends_at_the_close_not_at_the_next_opening() -> None:
    cal = office_new_year()
    micro = timedelta(microseconds=1)
    assert cal.add(at("2026-12-31T17:59:59.999999+00:00"), micro) == at("2026-12-31T18:00+00:00")
    assert cal.add(at("2026-12-31T18:00+00:00"), micro) == at("2027-01-04T09:00:00.000001+00:00")
    assert cal.add(at("2027-01-04T09:00+00:00"), -micro) == at("2026-12-31T17:59:59.999999+00:00")


def test_counting_back_to_the_first_opening_of_a_year_stays_in_that_year() -> None:
    # the latest moment with 1 h of open time before Monday 10:00 is Monday 09:00, not the
    # close of the year before (which also has 1 h of open time until Monday 10:00)
    cal = office_new_year()
    assert cal.add(at("2027-01-04T10:00+00:00"), -timedelta(hours=1)) == at(
        "2027-01-04T09:00+00:00"
    )


class _NoOffset(tzinfo):
    """A time zone that does not know its offset: Python counts such datetimes as naive."""

    def utcoffset(self, moment: datetime | None) -> None:
        return None


def test_a_datetime_whose_zone_gives_no_offset_is_refused_as_naive() -> None:
    with pytest.raises(CalendarError) as caught:
        office_new_year().is_open(datetime(2026, 12, 31, 12, 0, tzinfo=_NoOffset()))
    assert str(caught.value) == (
        "naive datetime 2026-12-31T12:00:00: pass an aware datetime, e.g. with tzinfo=UTC"
    )


def test_counting_back_business_days_to_the_first_one_of_a_year_stays_in_that_year() -> None:
    cal = office_new_year()  # 1 January 2027 is a holiday: Monday 4 January opens the year
    tuesday = at("2027-01-05T10:00+00:00")
    assert cal.add_business_days(tuesday, -1) == at("2027-01-04T10:00+00:00")
    assert cal.add_business_days(tuesday, -1, end_of_day=True) == at("2027-01-04T18:00+00:00")
    assert cal.add_business_days(tuesday, -2) == at("2026-12-31T10:00+00:00")


# -- open intervals at their edges ------------------------------------------------------------


def test_open_intervals_of_an_empty_or_reversed_span_are_none() -> None:
    cal = office_new_year()
    noon = at("2026-12-31T12:00+00:00")  # open
    assert list(cal.open_intervals(noon, noon)) == []
    assert list(cal.open_intervals(noon, at("2026-12-31T11:00+00:00"))) == []


def test_open_intervals_that_end_at_an_opening_or_start_at_a_close_have_no_empty_pieces() -> None:
    cal = office_new_year()
    wednesday_17, thursday_09 = at("2026-12-30T17:00+00:00"), at("2026-12-31T09:00+00:00")
    assert list(cal.open_intervals(wednesday_17, thursday_09)) == [
        (wednesday_17, at("2026-12-30T18:00+00:00"))
    ]
    assert list(cal.open_intervals(at("2026-12-30T18:00+00:00"), at("2026-12-31T10:00+00:00"))) == [
        (thursday_09, at("2026-12-31T10:00+00:00"))
    ]
    closed = (at("2026-12-31T18:00+00:00"), at("2027-01-04T09:00+00:00"))  # New Year weekend
    assert list(cal.open_intervals(*closed)) == []


def test_open_intervals_go_on_after_a_shift_that_runs_into_the_new_year() -> None:
    cal = night_new_year()  # Thursday's shift runs into 1 January; the next is Monday's
    assert list(cal.open_intervals(at("2026-12-31T21:00+08:00"), at("2027-01-05T07:00+08:00"))) == [
        (at("2026-12-31T22:00+08:00"), at("2027-01-01T06:00+08:00")),
        (at("2027-01-04T22:00+08:00"), at("2027-01-05T06:00+08:00")),
    ]


# -- how far a calendar looks -----------------------------------------------------------------


def test_a_calendar_finds_an_opening_fifty_years_out_and_no_further() -> None:
    daily_hours = "hours: {mon: &d '09:00-17:00', tue: *d, wed: *d, thu: *d, fri: *d}\n"
    fifty = calendar_from(
        f"calendar: far\ntimezone: UTC\n{daily_hours}"
        "holidays: [{from: 2026-01-01, to: 2075-12-31}]\n"
    )
    june = at("2026-06-01T10:00+00:00")
    assert fifty.next_open(june) == at("2076-01-01T09:00+00:00")  # a Wednesday
    assert fifty.add(june, timedelta(hours=1)) == at("2076-01-01T10:00+00:00")
    fifty_one = calendar_from(
        f"calendar: far\ntimezone: UTC\n{daily_hours}"
        "holidays: [{from: 2026-01-01, to: 2076-12-31}]\n"
    )
    with pytest.raises(CalendarError) as caught:
        fifty_one.next_open(june)
    assert str(caught.value) == "calendar 'far' has no open time within 50 years"


# -- working days and country holidays ----------------------------------------------------------


def test_a_working_day_without_hours_has_the_monday_hours_not_another_days() -> None:
    cal = calendar_from(
        "calendar: short-mondays\ntimezone: UTC\n"
        "hours: {mon: '08:00-12:00', tue: &d '09:00-17:00', wed: *d, thu: *d, fri: *d}\n"
        "working_days: [2026-03-07]\n"
    )
    assert cal.hours_on(date(2026, 3, 7)) == ((480, 720),)  # a Saturday, open like Monday
    # Friday 16:00: 1 h until 17:00, then Saturday from 08:00.
    assert cal.add(at("2026-03-06T16:00+00:00"), timedelta(hours=2)) == at("2026-03-07T09:00+00:00")
    assert cal.next_close(at("2026-03-07T10:00+00:00")) == at("2026-03-07T12:00+00:00")


def always_but_english_holidays(observed: str = "") -> BusinessCalendar:
    """Open all the time except England's public holidays."""
    return calendar_from(
        "calendar: always\ntimezone: Europe/London\nhours: 24x7\n"
        f"country_holidays: {{country: GB, subdivision: ENG{observed}}}\n"
    )


def test_a_24x7_calendar_closes_on_the_country_holidays_and_their_observed_days() -> None:
    cal = always_but_english_holidays()
    # Christmas 2026 is a Friday, Boxing Day a Saturday, observed on Monday 28 December.
    assert cal.is_open(at("2026-12-24T23:59+00:00"))
    assert not cal.is_open(at("2026-12-25T12:00+00:00"))
    assert cal.next_open(at("2026-12-25T12:00+00:00")) == at("2026-12-27T00:00+00:00")
    assert cal.next_close(at("2026-12-27T10:00+00:00")) == at("2026-12-28T00:00+00:00")
    assert cal.add(at("2026-12-27T22:00+00:00"), timedelta(hours=4)) == at("2026-12-29T02:00+00:00")


def test_a_country_calendar_without_observed_days_opens_on_the_weekday_after() -> None:
    cal = always_but_english_holidays(", observed: false")
    assert cal.is_open(at("2026-12-28T12:00+00:00"))
    assert not cal.is_open(at("2026-12-26T12:00+00:00"))
    assert cal.next_close(at("2026-12-27T10:00+00:00")) == at("2027-01-01T00:00+00:00")


# -- intervals in the hour the clocks skip ------------------------------------------------------


def test_an_interval_that_starts_inside_the_skipped_hour_opens_at_the_change() -> None:
    # Berlin, 29 March 2026: 02:00 CET becomes 03:00 CEST; 02:10 does not exist that night.
    cal = calendar_from("calendar: early\ntimezone: Europe/Berlin\nhours: {sun: '02:10-05:00'}\n")
    saturday = at("2026-03-28T12:00+01:00")
    assert cal.next_open(saturday) == at("2026-03-29T03:00+02:00")
    assert list(cal.open_intervals(saturday, at("2026-03-30T00:00+02:00"))) == [
        (at("2026-03-29T03:00+02:00"), at("2026-03-29T05:00+02:00"))
    ]
    assert cal.next_open(at("2026-03-30T12:00+02:00")) == at("2026-04-05T02:10+02:00")


def test_a_day_whose_only_opening_the_clocks_skip_is_not_a_business_day() -> None:
    # London, 29 March 2026: 01:00 GMT becomes 02:00 BST, so 01:00-02:00 never happens.
    cal = calendar_from("calendar: night\ntimezone: Europe/London\nhours: {sun: '01:00-02:00'}\n")
    assert not cal.is_business_day(date(2026, 3, 29))
    assert cal.is_business_day(date(2026, 4, 5))
    saturday = at("2026-03-28T10:00+00:00")
    assert cal.next_open(saturday) == at("2026-04-05T01:00+01:00")
    assert cal.add_business_days(saturday, 1) == at("2026-04-05T10:00+01:00")
    assert cal.add_business_days(saturday, 1, end_of_day=True) == at("2026-04-05T02:00+01:00")
