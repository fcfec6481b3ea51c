"""Recurring schedules: what a process owner writes, compiled to RFC 5545 rules, with every
deadline written out (29 February, holidays, quiet hours, downtime, New Year and DST), and the
exact message a person sees for a bad schedule."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from support.calendars import OFFICE_LONDON, calendar_from, daily
from support.workflows import ROOT
from svcflow.errors import WorkflowDefinitionError
from svcflow.sla.recurrence import RecurrenceError, compile_schedule
from svcflow.spec.recurrence import ScheduleSpec
from svcflow.spec.shape import validate_shape
from svcflow.spec.yamlsource import parse_yaml

FENCE = re.compile(r"^```(\w+)(?: ([\w-]+))?\n(.*?)^```$", re.DOTALL | re.MULTILINE)
LONDON = ZoneInfo("Europe/London")
SHANGHAI = ZoneInfo("Asia/Shanghai")

OFFICE = OFFICE_LONDON + "holidays: [2026-01-01, 2026-12-25]\n"


def schedule(text: str) -> ScheduleSpec:
    document = parse_yaml(text, "care.yaml")
    return validate_shape(ScheduleSpec, document.data, document.source_map)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def dues(text: str, start: datetime, count: int, **options: object) -> list[datetime]:
    recurrence = compile_schedule(schedule(text), start=start, **options)  # type: ignore[arg-type]
    moments, after = [], start
    for _ in range(count):
        occurrence = recurrence.next_after(after)
        moments.append(occurrence.due)
        after = occurrence.nominal
    return moments


def test_birthday_on_29_february_is_due_on_28_february_in_other_years() -> None:
    got = dues(
        'every: {yearly: birthday, at: "09:00"}\n',
        utc(2026, 1, 10),
        3,
        zone=SHANGHAI,
        fields={"birthday": "2000-02-29"},
    )
    # 09:00 in Shanghai is 01:00 UTC
    assert got == [utc(2026, 2, 28, 1), utc(2027, 2, 28, 1), utc(2028, 2, 29, 1)]


def test_greeting_due_on_a_public_holiday_moves_to_the_next_working_day() -> None:
    got = dues(
        'every: {yearly: "12-25", at: "10:00"}\n',
        utc(2026, 6, 1),
        2,
        zone=LONDON,
        calendar=calendar_from(OFFICE),
    )
    # 2026-12-25 is a Friday holiday -> Monday 28th 10:00 GMT; 2027-12-25 is a Saturday -> 27th
    assert got == [utc(2026, 12, 28, 10), utc(2027, 12, 27, 10)]


def test_greeting_due_in_quiet_hours_waits_for_them_to_end() -> None:
    got = dues(
        'every: {yearly: birthday, at: "07:00"}\n',
        utc(2026, 1, 1),
        1,
        zone=SHANGHAI,
        fields={"birthday": "1990-05-17"},
        quiet=daily("Asia/Shanghai", "08:00-21:00"),
    )
    assert got == [utc(2026, 5, 17, 0)]  # 08:00 Shanghai, when quiet hours end


def test_a_time_before_opening_on_a_working_day_moves_to_the_opening() -> None:
    got = dues('every: {monthly: 3, at: "07:30"}\n', utc(2026, 3, 1), 1, zone=LONDON,
               calendar=calendar_from(OFFICE))  # fmt: skip
    assert got == [utc(2026, 3, 3, 9)]  # Tuesday 3 March opens at 09:00 GMT


def test_three_day_outage_across_a_quarterly_review_fires_it_once() -> None:
    spec = schedule('every: {quarterly: first_working_day, at: "10:00"}\ncalendar: office\n')
    office = calendar_from(OFFICE)
    recurrence = compile_schedule(spec, start=utc(2025, 9, 1), zone=LONDON, calendar=office)
    last = recurrence.next_after(utc(2025, 9, 1))
    assert last.due == utc(2025, 10, 1, 9)  # Wednesday 1 October, 10:00 BST
    # down from 31 December to 4 January; 1 January is a holiday, so the review is due Friday 2nd
    back = utc(2026, 1, 4, 12)
    fired = recurrence.catch_up(last.nominal, back)
    assert fired is not None
    assert (fired.due, fired.skipped) == (utc(2026, 1, 2, 10), 0)
    assert recurrence.catch_up(fired.nominal, back) is None
    assert recurrence.next_after(fired.nominal).due == utc(2026, 4, 1, 9)  # BST again


def test_after_downtime_only_the_latest_occurrence_fires_with_the_skipped_count() -> None:
    recurrence = compile_schedule(schedule("every: 1 day\n"), start=utc(2026, 3, 2), zone=LONDON)
    fired = recurrence.catch_up(utc(2026, 3, 3, 9), utc(2026, 3, 6, 12))
    assert fired is not None
    assert (fired.due, fired.skipped) == (utc(2026, 3, 6, 9), 2)


def test_every_3_months_across_new_year_and_dst_keeps_the_local_time() -> None:
    got = dues("every: 3 months\n", utc(2026, 11, 15, 10), 4, zone=LONDON)
    assert got == [
        utc(2027, 2, 15, 9),  # GMT, across New Year
        utc(2027, 5, 15, 8),  # 09:00 BST
        utc(2027, 8, 15, 8),
        utc(2027, 11, 15, 9),  # GMT again
    ]


def test_every_90_days_after_the_last_contact() -> None:
    got = dues(
        'every: 90 days\nafter: last_contact\nat: "14:00"\n',
        utc(2026, 1, 1),
        2,
        zone=LONDON,
        fields={"last_contact": "2026-03-01"},
    )
    assert got == [utc(2026, 5, 30, 13), utc(2026, 8, 28, 13)]


def test_a_day_the_month_lacks_is_its_last_day() -> None:
    got = dues("every: {monthly: 31}\n", utc(2027, 3, 1), 3, zone=ZoneInfo("UTC"))
    assert got == [utc(2027, 3, 31, 9), utc(2027, 4, 30, 9), utc(2027, 5, 31, 9)]
    yearly = dues("every: 1 year\n", utc(2028, 2, 29, 8), 2, zone=ZoneInfo("UTC"))
    assert yearly == [utc(2029, 2, 28, 9), utc(2030, 2, 28, 9)]


def test_a_local_time_skipped_by_the_clock_change_is_due_an_hour_later() -> None:
    got = dues('every: {weekly: sunday, at: "01:30"}\n', utc(2027, 3, 22), 1, zone=LONDON)
    assert got == [utc(2027, 3, 28, 1, 30)]  # 01:30 GMT does not exist that night: 02:30 BST


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "every: 3 monts\n",
            "care.yaml:1:8: every: '3 monts' is not a count and a unit such as '3 months' or "
            "'90 days'; did you mean 'months'? units: days, months, quarters, weeks, years; or "
            "write a mapping with one of yearly, quarterly, monthly, weekly",
        ),
        (
            "every: {yearly: birthday, at: 9:00}\n",
            'care.yaml:1:31: every.at: write the time in quotes, e.g. at: "09:00" (YAML read 540)',
        ),
        (
            "every: {quartely: first_working_day}\n",
            "care.yaml:1:9: every.quartely: unknown key 'quartely'; did you mean 'quarterly'? "
            "valid keys: at, monthly, quarterly, weekly, yearly",
        ),
        (
            "every: {weekly: mondey}\n",
            "care.yaml:1:17: every.weekly: weekly 'mondey' is not a weekday; did you mean "
            "'monday'? days: friday, monday, saturday, sunday, thursday, tuesday, wednesday",
        ),
        (
            "every: {yearly: birthday}\nafter: joined\n",
            "care.yaml:1:1: 'after' goes with a count and a unit (every: 90 days, after: "
            "joined), not with every: {yearly: ...}",
        ),
        (
            "every: {monthly: 32}\n",
            "care.yaml:1:18: every.monthly: 32 is not a day of the period; write a day number 1 to "
            "31 or first_working_day",
        ),
    ],
)
def test_a_bad_schedule_says_where_and_what_would_be_valid(text: str, message: str) -> None:
    with pytest.raises(WorkflowDefinitionError) as caught:
        schedule(text)
    assert str(caught.value).splitlines()[1:] == [message]


def test_a_case_without_the_named_date_field_is_refused_by_name() -> None:
    spec = schedule("every: {yearly: birthday}\n")
    with pytest.raises(RecurrenceError, match="needs data field 'birthday', which this case"):
        compile_schedule(spec, start=utc(2026, 1, 1), zone=LONDON, fields={})
    with pytest.raises(RecurrenceError, match=r"'birthday' is 'soon', not a date"):
        compile_schedule(spec, start=utc(2026, 1, 1), zone=LONDON, fields={"birthday": "soon"})


def test_first_working_day_without_a_calendar_is_refused() -> None:
    with pytest.raises(RecurrenceError, match="first_working_day needs a calendar"):
        compile_schedule(
            schedule("every: {quarterly: first_working_day}\n"), start=utc(2026, 1, 1), zone=LONDON
        )


def test_reference_schedule_examples_load_and_show_the_exact_message() -> None:
    text = (ROOT / "docs" / "workflow-reference.md").read_text(encoding="utf-8")
    found = [(m[1], m[2] or "", m[3]) for m in FENCE.finditer(text)]
    examples = [body for lang, kind, body in found if (lang, kind) == ("yaml", "schedule")]
    assert len(examples) == 5
    for body in examples:
        document = parse_yaml(body, "schedule.yaml")
        validate_shape(ScheduleSpec, document.data, document.source_map)
    pairs = [
        (body, found[index + 1][2])
        for index, (lang, kind, body) in enumerate(found)
        if (lang, kind) == ("yaml", "schedule-invalid")
    ]
    assert len(pairs) == 1
    for body, expected in pairs:
        document = parse_yaml(body, "schedule.yaml")
        with pytest.raises(WorkflowDefinitionError) as caught:
            validate_shape(ScheduleSpec, document.data, document.source_map)
        assert str(caught.value) == expected.rstrip("\n")
