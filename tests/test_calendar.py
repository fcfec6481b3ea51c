"""Business calendars: worked examples with their deadlines written out, DST nights in London
and New York, holidays and working days, the add/elapsed inverse as a property, and the exact
error text for bad calendar files."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from svcflow.definitions.calendars import load_calendar_text
from svcflow.durations import parse_duration
from svcflow.errors import WorkflowDefinitionError
from svcflow.sla.calendar import TWENTY_FOUR_SEVEN, BusinessCalendar, CalendarError
from svcflow.spec.calendar import parse_interval

WEEKDAYS_9_TO_6 = """\
calendar: office
timezone: Europe/London
hours:
  mon: &day ["09:00-18:00"]
  tue: *day
  wed: *day
  thu: *day
  fri: *day
"""

CALENDARS = {
    "office": WEEKDAYS_9_TO_6,
    "office-monday-off": WEEKDAYS_9_TO_6 + "holidays: [2026-03-09]\n",
    "lunch": """\
calendar: lunch
timezone: Asia/Shanghai
hours:
  mon: &day ["09:00-12:00", "13:00-18:00"]
  tue: *day
  wed: *day
  thu: *day
  fri: *day
""",
    "cn-desk": """\
calendar: cn-desk
timezone: Asia/Shanghai
hours:
  mon: &day ["09:00-18:00"]
  tue: *day
  wed: *day
  thu: *day
  fri: *day
holidays:
  - {yearly: "05-01", name: Labour Day}
  - {from: 2026-10-01, to: 2026-10-07, name: National Day}
  - "--12-25"
  - {month: 1, day: 1}
working_days:
  - 2026-10-10
  - {date: 2026-10-11, hours: ["10:00-12:00"]}
""",
    "night": """\
calendar: night
timezone: Asia/Shanghai
hours:
  mon: &night ["22:00-06:00"]
  tue: *night
  wed: *night
  thu: *night
  fri: *night
""",
    "london-24x7": "calendar: london\ntimezone: Europe/London\nhours: {24x7: true}\n",
    "new-york-24x7": "calendar: new-york\ntimezone: America/New_York\nhours: 24x7\n",
    "london-night-shift": """\
calendar: london-night
timezone: Europe/London
hours: {mon: &s "00:00-06:00", tue: *s, wed: *s, thu: *s, fri: *s, sat: *s, sun: *s}
""",
    "new-york-night-shift": """\
calendar: new-york-night
timezone: America/New_York
hours: {mon: &s "00:00-06:00", tue: *s, wed: *s, thu: *s, fri: *s, sat: *s, sun: *s}
""",
    "london-small-hours": """\
calendar: london-small-hours
timezone: Europe/London
hours: {mon: &s "01:30-03:00", tue: *s, wed: *s, thu: *s, fri: *s, sat: *s, sun: *s}
""",
}


def calendar(name: str) -> BusinessCalendar:
    return load_calendar_text(CALENDARS[name], f"{name}.yaml")


def at(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None
    return moment


# (calendar, received, business time to add, expected deadline in the calendar's local time)
WORKED_EXAMPLES = [
    # Friday 17:50, Mon-Fri 09:00-18:00: 10 minutes on Friday, 3h50m on Monday.
    ("office", "2026-03-06T17:50+00:00", "4h", "2026-03-09T12:50+00:00"),
    # The same with Monday a holiday.
    ("office-monday-off", "2026-03-06T17:50+00:00", "4h", "2026-03-10T12:50+00:00"),
    # Received on Saturday: the clock starts on Monday at 09:00.
    ("office", "2026-03-07T10:00+00:00", "4h", "2026-03-09T13:00+00:00"),
    # Used up exactly at closing time: the deadline is Friday 18:00, not Monday 09:00.
    ("office", "2026-03-06T17:50+00:00", "10m", "2026-03-06T18:00+00:00"),
    ("office", "2026-03-06T17:50+00:00", "0s", "2026-03-06T17:50+00:00"),
    # 9 business hours is one whole day.
    ("office", "2026-03-09T09:00+00:00", "9h", "2026-03-09T18:00+00:00"),
    # Across the spring-forward weekend: business hours are local, so Monday 09:00 BST.
    ("office", "2026-03-27T17:00+00:00", "2h", "2026-03-30T10:00+01:00"),
    # Lunch break 12:00-13:00.
    ("lunch", "2026-03-06T17:50+08:00", "4h", "2026-03-09T13:50+08:00"),
    ("lunch", "2026-03-09T11:30+08:00", "1h", "2026-03-09T13:30+08:00"),
    ("lunch", "2026-03-09T12:15+08:00", "30m", "2026-03-09T13:30+08:00"),
    ("lunch", "2026-03-09T09:00+08:00", "8h", "2026-03-09T18:00+08:00"),
    ("lunch", "2026-03-09T09:00+08:00", "8h1m", "2026-03-10T09:01+08:00"),
    # Yearly holiday: 1 May 2026 is a Friday.
    ("cn-desk", "2026-04-30T17:00+08:00", "2h", "2026-05-04T10:00+08:00"),
    # Yearly holiday written "--12-25" (a Friday in 2026) and {month: 1, day: 1} (Friday 2027).
    ("cn-desk", "2026-12-24T17:00+08:00", "2h", "2026-12-28T10:00+08:00"),
    ("cn-desk", "2026-12-31T17:00+08:00", "2h", "2027-01-04T10:00+08:00"),
    # Range holiday 1-7 October (Thursday to Wednesday).
    ("cn-desk", "2026-09-30T17:00+08:00", "2h", "2026-10-08T10:00+08:00"),
    # Special working day: Saturday 10 October with the Monday hours.
    ("cn-desk", "2026-10-09T17:00+08:00", "2h", "2026-10-10T10:00+08:00"),
    # ...and Sunday 11 October with its own hours, 10:00-12:00.
    ("cn-desk", "2026-10-10T17:30+08:00", "1h", "2026-10-11T10:30+08:00"),
    ("cn-desk", "2026-10-10T17:30+08:00", "3h", "2026-10-12T09:30+08:00"),
    # Overnight shift 22:00-06:00 Mon-Fri: Friday's shift runs into Saturday morning.
    ("night", "2026-03-06T23:00+08:00", "8h", "2026-03-09T23:00+08:00"),
    ("night", "2026-03-07T05:00+08:00", "30m", "2026-03-07T05:30+08:00"),
    # Monday 05:00 is closed (no Sunday shift); Tuesday 05:00 is in Monday's shift.
    ("night", "2026-03-09T05:00+08:00", "1h", "2026-03-09T23:00+08:00"),
    ("night", "2026-03-10T05:00+08:00", "2h", "2026-03-10T23:00+08:00"),
    # 24x7 in local time: business time is real time, across both DST nights.
    ("london-24x7", "2026-03-28T22:00+00:00", "6h", "2026-03-29T05:00+01:00"),
    ("london-24x7", "2026-10-24T22:00+01:00", "6h", "2026-10-25T03:00+00:00"),
    ("new-york-24x7", "2026-03-07T23:00-05:00", "4h", "2026-03-08T04:00-04:00"),
    ("new-york-24x7", "2026-10-31T23:00-04:00", "4h", "2026-11-01T02:00-05:00"),
    # A 00:00-06:00 shift on the spring-forward night is 5 real hours...
    ("london-night-shift", "2026-03-29T00:00+00:00", "5h", "2026-03-29T06:00+01:00"),
    ("london-night-shift", "2026-03-29T00:00+00:00", "5h30m", "2026-03-30T00:30+01:00"),
    ("new-york-night-shift", "2026-03-08T00:00-05:00", "5h", "2026-03-08T06:00-04:00"),
    ("new-york-night-shift", "2026-03-08T00:00-05:00", "5h30m", "2026-03-09T00:30-04:00"),
    # ...and on the fall-back night 7 real hours.
    ("london-night-shift", "2026-10-25T00:00+01:00", "6h30m", "2026-10-25T05:30+00:00"),
    ("london-night-shift", "2026-10-25T00:00+01:00", "7h", "2026-10-25T06:00+00:00"),
    ("london-night-shift", "2026-10-25T00:00+01:00", "7h30m", "2026-10-26T00:30+00:00"),
    ("new-york-night-shift", "2026-11-01T00:00-04:00", "6h30m", "2026-11-01T05:30-05:00"),
    ("new-york-night-shift", "2026-11-01T00:00-04:00", "7h", "2026-11-01T06:00-05:00"),
    # 01:30-03:00 when 01:00-02:00 is skipped: it opens at the change (02:00 BST), 1 hour.
    ("london-small-hours", "2026-03-29T00:00+00:00", "30m", "2026-03-29T02:30+01:00"),
    ("london-small-hours", "2026-03-29T00:00+00:00", "1h", "2026-03-29T03:00+01:00"),
    ("london-small-hours", "2026-03-29T00:00+00:00", "1h30m", "2026-03-30T02:00+01:00"),
    # 01:30-03:00 when 01:00-02:00 repeats: from the first 01:30 (BST) to 03:00 GMT, 2.5 hours.
    ("london-small-hours", "2026-10-25T00:00+01:00", "2h", "2026-10-25T02:30+00:00"),
    ("london-small-hours", "2026-10-25T00:00+01:00", "2h30m", "2026-10-25T03:00+00:00"),
]


def duration(text: str) -> timedelta:
    return parse_duration(text)


@pytest.mark.parametrize(("name", "received", "amount", "deadline"), WORKED_EXAMPLES)
def test_worked_example(name: str, received: str, amount: str, deadline: str) -> None:
    cal = calendar(name)
    due = cal.add(at(received), duration(amount))
    assert due.tzinfo is UTC
    assert due == at(deadline)
    assert cal.local(due).isoformat(timespec="minutes") == deadline
    assert cal.elapsed(at(received), due) == duration(amount)


def test_deadline_is_returned_in_utc() -> None:
    due = calendar("lunch").add(at("2026-03-06T17:50+08:00"), timedelta(hours=4))
    assert due.isoformat() == "2026-03-09T05:50:00+00:00"


def test_dst_nights_change_the_length_of_a_shift() -> None:
    cal = calendar("london-night-shift")
    # From local midnight to local midnight: 23, 25 and 24 real hours.
    for start, end, shift in [
        ("2026-03-29T00:00+00:00", "2026-03-30T00:00+01:00", 5),
        ("2026-10-25T00:00+01:00", "2026-10-26T00:00+00:00", 7),
        ("2026-06-01T00:00+01:00", "2026-06-02T00:00+01:00", 6),
    ]:
        assert cal.elapsed(at(start), at(end)) == timedelta(hours=shift)
    local = calendar("london-24x7")
    assert local.elapsed(at("2026-03-28T12:00+00:00"), at("2026-03-29T12:00+01:00")) == timedelta(
        hours=23
    )
    assert local.elapsed(at("2026-10-24T12:00+01:00"), at("2026-10-25T12:00+00:00")) == timedelta(
        hours=25
    )


def test_is_open_next_open_next_close_and_intervals() -> None:
    cal = calendar("lunch")
    assert cal.is_open(at("2026-03-09T09:00+08:00"))
    assert not cal.is_open(at("2026-03-09T12:00+08:00"))
    assert cal.next_open(at("2026-03-09T12:10+08:00")) == at("2026-03-09T13:00+08:00")
    assert cal.next_open(at("2026-03-09T10:00+08:00")) == at("2026-03-09T10:00+08:00")
    assert cal.next_open(at("2026-03-06T18:00+08:00")) == at("2026-03-09T09:00+08:00")
    assert cal.next_close(at("2026-03-09T10:00+08:00")) == at("2026-03-09T12:00+08:00")
    assert cal.next_close(at("2026-03-09T12:30+08:00")) == at("2026-03-09T12:30+08:00")
    assert list(cal.open_intervals(at("2026-03-06T11:00+08:00"), at("2026-03-09T10:00+08:00"))) == [
        (at("2026-03-06T11:00+08:00"), at("2026-03-06T12:00+08:00")),
        (at("2026-03-06T13:00+08:00"), at("2026-03-06T18:00+08:00")),
        (at("2026-03-09T09:00+08:00"), at("2026-03-09T10:00+08:00")),
    ]
    night = calendar("night")
    assert night.is_open(at("2026-03-07T05:59+08:00"))
    assert not night.is_open(at("2026-03-07T06:00+08:00"))


def test_intervals_merge_across_the_new_year() -> None:
    cal = calendar("london-24x7")
    start, end = at("2026-12-31T20:00+00:00"), at("2027-01-01T04:00+00:00")
    assert list(cal.open_intervals(start, end)) == [(start, end)]
    assert cal.elapsed(start, end) == timedelta(hours=8)
    assert cal.add(start, timedelta(hours=8)) == end


def test_elapsed_is_zero_while_closed_and_negative_backwards() -> None:
    cal = calendar("office")
    friday, saturday = at("2026-03-06T18:00+00:00"), at("2026-03-07T18:00+00:00")
    assert cal.elapsed(friday, saturday) == timedelta(0)
    start, end = at("2026-03-06T17:50+00:00"), at("2026-03-09T12:50+00:00")
    assert cal.elapsed(end, start) == -timedelta(hours=4)


def test_negative_add_counts_back() -> None:
    cal = calendar("office")
    assert cal.add(at("2026-03-09T12:50+00:00"), -timedelta(hours=4)) == at(
        "2026-03-06T17:50+00:00"
    )
    # The latest moment: counting back 3h50m from Monday 12:50 lands on Monday 09:00.
    assert cal.add(at("2026-03-09T12:50+00:00"), -timedelta(hours=3, minutes=50)) == at(
        "2026-03-09T09:00+00:00"
    )


# (calendar, received, business days, end_of_day, expected)
BUSINESS_DAY_EXAMPLES = [
    ("office", "2026-03-06T17:50+00:00", 3, False, "2026-03-11T17:50+00:00"),
    ("office", "2026-03-06T17:50+00:00", 3, True, "2026-03-11T18:00+00:00"),
    ("office", "2026-03-07T10:00+00:00", 3, True, "2026-03-11T18:00+00:00"),
    ("office", "2026-03-06T10:00+00:00", 1, False, "2026-03-09T10:00+00:00"),
    ("office-monday-off", "2026-03-06T10:00+00:00", 3, True, "2026-03-12T18:00+00:00"),
    ("office", "2026-03-11T17:50+00:00", -3, False, "2026-03-06T17:50+00:00"),
    ("office", "2026-03-06T17:50+00:00", 0, False, "2026-03-06T17:50+00:00"),
    # Same local time across the spring change: 10:00 GMT Friday -> 10:00 BST Monday.
    ("office", "2026-03-27T10:00+00:00", 1, False, "2026-03-30T10:00+01:00"),
    # Range holiday and special working day in the count.
    ("cn-desk", "2026-09-30T10:00+08:00", 2, False, "2026-10-09T10:00+08:00"),
    ("cn-desk", "2026-10-09T10:00+08:00", 2, True, "2026-10-11T12:00+08:00"),
    ("night", "2026-03-06T10:00+08:00", 1, True, "2026-03-10T06:00+08:00"),
    # A year of business days: 250 of them, the "8 weeks"-style long deadline.
    ("office", "2026-01-05T09:00+00:00", 250, False, "2026-12-21T09:00+00:00"),
]


@pytest.mark.parametrize(("name", "received", "days", "close", "expected"), BUSINESS_DAY_EXAMPLES)
def test_business_days(name: str, received: str, days: int, close: bool, expected: str) -> None:
    due = calendar(name).add_business_days(at(received), days, end_of_day=close)
    assert due == at(expected)
    assert due.tzinfo is UTC


def test_wall_clock_helpers() -> None:
    cal = calendar("office")
    start = at("2026-03-27T10:00+00:00")
    assert cal.add_wall(start, timedelta(hours=48)) == at("2026-03-29T10:00+00:00")
    assert cal.add_calendar_days(start, 7) == at("2026-04-03T10:00+01:00")
    assert cal.add_calendar_days(start, 56) == at("2026-05-22T10:00+01:00")
    assert cal.local(start).isoformat() == "2026-03-27T10:00:00+00:00"
    assert cal.is_business_day(at("2026-03-09T00:00+00:00").date())
    assert not cal.is_business_day(at("2026-03-08T00:00+00:00").date())


def test_twenty_four_seven_is_real_time() -> None:
    start = at("2026-03-28T23:30+00:00")
    assert TWENTY_FOUR_SEVEN.add(start, timedelta(days=400)) == start + timedelta(days=400)
    assert TWENTY_FOUR_SEVEN.elapsed(start, start + timedelta(hours=5)) == timedelta(hours=5)
    assert TWENTY_FOUR_SEVEN.is_open(start)
    assert TWENTY_FOUR_SEVEN.next_open(start) == start
    with pytest.raises(CalendarError, match="never closes"):
        TWENTY_FOUR_SEVEN.next_close(start)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(CalendarError, match="naive datetime 2026-03-06T17:50:00: pass an aware"):
        calendar("office").add(datetime(2026, 3, 6, 17, 50), timedelta(hours=1))


def test_a_calendar_closed_for_years_says_so() -> None:
    cal = load_calendar_text(
        "calendar: closed\ntimezone: UTC\nhours: {mon: '09:00-10:00'}\n"
        "holidays: [{from: 2026-01-01, to: 2099-12-31}]\n",
        "closed.yaml",
    )
    with pytest.raises(CalendarError, match="'closed' has no open time within 50 years"):
        cal.add(at("2026-03-06T10:00+00:00"), timedelta(hours=1))


def test_parse_interval() -> None:
    assert parse_interval("09:00-18:00") == (540, 1080)
    assert parse_interval("22:00-06:00") == (1320, 1800)
    assert parse_interval("00:00-24:00") == (0, 1440)
    assert parse_interval("18:00-00:00") == (1080, 1440)


# -- the inverse property ---------------------------------------------------------------------

MOMENTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
DURATIONS = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=3000))
PROPERTY_CALENDARS = {
    name: calendar(name)
    for name in ("lunch", "cn-desk", "night", "london-night-shift", "london-small-hours")
}


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(PROPERTY_CALENDARS)), start=MOMENTS, amount=DURATIONS)
def test_elapsed_inverts_add(name: str, start: datetime, amount: timedelta) -> None:
    cal = PROPERTY_CALENDARS[name]
    due = cal.add(start, amount)
    assert due >= start
    assert cal.elapsed(start, due) == amount
    back = cal.add(start, -amount)
    assert back <= start
    assert cal.elapsed(back, start) == amount


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(sorted(PROPERTY_CALENDARS)), start=MOMENTS, end=MOMENTS)
def test_add_inverts_elapsed(name: str, start: datetime, end: datetime) -> None:
    cal = PROPERTY_CALENDARS[name]
    if end < start:
        start, end = end, start
    due = cal.add(start, cal.elapsed(start, end))
    assert due <= end
    assert cal.elapsed(due, end) == timedelta(0)
    assert cal.is_open(end) is (cal.next_open(end) == end)


# -- country holidays -------------------------------------------------------------------------

HAS_HOLIDAYS = importlib.util.find_spec("holidays") is not None


@pytest.mark.skipif(not HAS_HOLIDAYS, reason="the optional 'holidays' package is not installed")
def test_country_holidays() -> None:
    cn = load_calendar_text(
        CALENDARS["office"]
        .replace("Europe/London", "Asia/Shanghai")
        .replace("calendar: office", "calendar: cn")
        + "country_holidays: {country: CN}\n",
        "cn.yaml",
    )
    # Friday 25 September 2026 is the Mid-Autumn Festival.
    assert cn.add(at("2026-09-24T17:00+08:00"), timedelta(hours=2)) == at("2026-09-28T10:00+08:00")
    # Saturday 10 October 2026 is an adjusted working day (the Monday hours).
    assert cn.add(at("2026-10-09T17:00+08:00"), timedelta(hours=2)) == at("2026-10-10T10:00+08:00")
    gb = load_calendar_text(
        WEEKDAYS_9_TO_6 + "country_holidays: {country: GB, subdivision: ENG}\n", "gb.yaml"
    )
    # Good Friday 3 April and Easter Monday 6 April 2026.
    assert gb.add(at("2026-04-02T17:00+01:00"), timedelta(hours=2)) == at("2026-04-07T10:00+01:00")


# -- errors -----------------------------------------------------------------------------------

BAD_CALENDAR = """\
calendar: Office
timezone: Asia/Shangai
hours:
  monday: ["09:00-18:00"]
  tue: ["09:00-12:00", "11:00-13:00"]
  wed: ["9-18"]
  thu: ["09:00-09:00", "25:00-26:00"]
holidays:
  - 2026-10-01
  - {from: 2026-10-07, to: 2026-10-01}
  - "--02-30"
  - {yearly: "05-01", date: 2026-05-01}
working_days:
  - {date: 2026-10-10, like: mon, hours: "09:00-12:00"}
  - {date: 2026-10-11, hourz: []}
"""

BAD_CALENDAR_ERROR = """\
12 problems in bad.yaml
bad.yaml:1:11: calendar: must be an id of lower-case letters, digits, '-' and '_', starting \
with a letter (got 'Office')
bad.yaml:2:11: timezone: unknown time zone 'Asia/Shangai'; did you mean 'Asia/Shanghai'? use \
an IANA name such as Europe/London
bad.yaml:4:3: hours.monday: unknown key 'monday'; did you mean 'mon'? valid keys: 24x7, fri, \
mon, sat, sun, thu, tue, wed
bad.yaml:5:8: hours.tue: intervals '09:00-12:00' and '11:00-13:00' overlap
bad.yaml:6:9: hours.wed[0]: invalid interval '9-18': write HH:MM-HH:MM, e.g. 09:00-18:00, or \
22:00-06:00 for an overnight shift
bad.yaml:7:9: hours.thu[0]: invalid interval '09:00-09:00': it starts and ends at the same \
time; for a whole day write 00:00-24:00
bad.yaml:7:24: hours.thu[1]: invalid interval '25:00-26:00': the start must be 00:00 to 23:59
bad.yaml:10:5: holidays[1]: the range ends (2026-10-01) before it starts (2026-10-07)
bad.yaml:11:5: holidays[2].yearly: invalid yearly date '--02-30': write MM-DD or --MM-DD, \
e.g. 05-01 for the 1st of May
bad.yaml:12:5: holidays[3]: a holiday is one of: a date (2026-10-01), a range {from: \
2026-10-01, to: 2026-10-07}, or a yearly date ('--10-01', {yearly: '10-01'} or \
{month: 10, day: 1})
bad.yaml:14:5: working_days[0]: give either 'hours' or 'like', not both
bad.yaml:15:24: working_days[1].hourz: unknown key 'hourz'; did you mean 'hours'? valid keys: \
date, hours, like, name"""

SMALL_ERRORS = [
    (
        "calendar: x\ntimezone: UTC\nhours: {}\n",
        "x.yaml:3:8: hours: the calendar is never open: give intervals for at least one weekday, "
        "e.g. mon: [09:00-18:00], or write 24x7: true",
    ),
    (
        "calendar: x\ntimezone: UTC\nhours: {24x7: true, sat: '10:00-12:00'}\n",
        "x.yaml:3:8: hours: '24x7: true' is open all the time; remove the weekday hours (sat)",
    ),
    (
        "calendar: x\ntimezone: UTC\nhours: {fri: '22:00-06:00', sat: '05:00-09:00'}\n",
        "x.yaml:3:8: hours: fri's overnight hours run until 06:00 on sat, which opens earlier, "
        "at 05:00; the intervals overlap",
    ),
    (
        "calendar: x\ntimezone: UTC\nhours: {mon: '09:00-18:00'}\n"
        "working_days: [2026-10-10, {date: 2026-10-10}]\n",
        "x.yaml:1:1: working day 2026-10-10 is listed twice",
    ),
    (
        "calendar: x\ntimezone: Mars/Olympus\nhours: {mon: '09:00-18:00'}\nextra: 1\n",
        "x.yaml:2:11: timezone: unknown time zone 'Mars/Olympus'; use an IANA name such as "
        "Europe/London\n"
        "x.yaml:4:1: extra: unknown key 'extra'; valid keys: calendar, country_holidays, "
        "holidays, hours, timezone, title, working_days",
    ),
    (
        "- just a list\n",
        "x.yaml:1:1: a calendar file is a mapping with keys calendar, timezone, hours and "
        "optionally holidays, country_holidays and working_days; found list",
    ),
    ("calendar: [\n", "x.yaml:2:1: YAML syntax error: "),
]


def test_bad_calendar_reports_every_problem_with_its_position() -> None:
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_calendar_text(BAD_CALENDAR, "bad.yaml")
    assert str(caught.value) == BAD_CALENDAR_ERROR


@pytest.mark.parametrize(("text", "expected"), SMALL_ERRORS)
def test_small_calendar_errors(text: str, expected: str) -> None:
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_calendar_text(text, "x.yaml")
    body = str(caught.value).split("\n", 1)[1]
    assert body.startswith(expected)
    if not expected.endswith(": "):
        assert body == expected


@pytest.mark.skipif(not HAS_HOLIDAYS, reason="the optional 'holidays' package is not installed")
def test_unknown_country_and_subdivision() -> None:
    text = "calendar: x\ntimezone: UTC\nhours: {mon: '09:00-18:00'}\ncountry_holidays: {}\n"
    for body, expected in [
        (
            "{country: CNN}",
            "x.yaml:4:19: country_holidays: unknown country 'CNN'; did you mean 'CN'? use an "
            "ISO 3166 code such as CN, GB or US",
        ),
        (
            "{country: GB, subdivision: ENGG}",
            "x.yaml:4:19: country_holidays: unknown subdivision 'ENGG' of GB; did you mean "
            "'ENG'? subdivisions: ENG, NIR, SCT, WLS",
        ),
    ]:
        with pytest.raises(WorkflowDefinitionError) as caught:
            load_calendar_text(text.replace("{}", body), "x.yaml")
        assert str(caught.value).split("\n", 1)[1] == expected


def test_zone_in_the_calendar_is_an_iana_zone() -> None:
    assert calendar("lunch").zone == ZoneInfo("Asia/Shanghai")
