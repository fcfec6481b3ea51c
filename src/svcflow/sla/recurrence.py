"""Recurring schedules compiled to RFC 5545 rules (``dateutil.rrule``); pure logic, no I/O.

A :class:`~svcflow.spec.recurrence.ScheduleSpec` becomes a :class:`Recurrence` for one case: an
rrule over *local wall-clock* times in the case's (or customer's) time zone, so "09:00" stays 09:00
across daylight-saving changes and New Year. The rules a caller may rely on:

* **Short months.** A day the month lacks is due on the month's last day: a birthday on
  29 February is due on 28 February in other years; "monthly: 31" is due on 30 April.
* **Closed days.** With a calendar, an occurrence at a moment the calendar is closed moves to the
  same local time on the next business day; if that time is outside the day's hours, to the
  calendar's next opening. ``first_working_day`` is day 1 moved this way.
* **Quiet hours.** Then, if the workflow's quiet-hours calendar is closed at that moment, the
  occurrence moves to its next opening.
* **A skipped local time** (spring forward) is due the same length of real time after the gap
  starts (02:30 becomes 03:30).
* **Downtime.** :meth:`Recurrence.catch_up` answers, for the last occurrence handled and now, the
  latest due occurrence only and how many earlier ones it stands for, so a runner that was down
  for three days fires one greeting, never a burst.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import rrule

from svcflow.errors import SvcflowError
from svcflow.sla.calendar import BusinessCalendar
from svcflow.spec.recurrence import (
    FIRST_WORKING_DAY,
    WEEKDAY_NAMES,
    EverySpec,
    ScheduleSpec,
    parse_every,
)

__all__ = ["Occurrence", "Recurrence", "RecurrenceError", "compile_schedule"]

_MAX_CATCH_UP = 100_000
_MAX_SHIFT_DAYS = 366


class RecurrenceError(SvcflowError, ValueError):
    """A schedule cannot be compiled for a case: a date field missing or not a date, or
    ``first_working_day`` without a calendar."""


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One due occurrence: ``due`` (UTC, after calendar and quiet-hours moves), ``nominal``
    (UTC, what the rule said) and ``skipped`` (earlier occurrences it stands for after downtime)."""

    due: dt.datetime
    nominal: dt.datetime
    skipped: int = 0


def _as_date(name: str, value: Any, zone: ZoneInfo) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.astimezone(zone).date() if value.tzinfo else value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return _as_date(name, dt.datetime.fromisoformat(value), zone)
        except ValueError:
            pass
    raise RecurrenceError(
        f"data field '{name}' is {value!r}, not a date; the schedule needs YYYY-MM-DD"
    )


def _field(fields: Mapping[str, Any], name: str, zone: ZoneInfo) -> dt.date:
    if name not in fields or fields[name] is None:
        if name.startswith("customer."):
            raise RecurrenceError(
                f"the schedule counts from {name}, which the case's customer record does not "
                f"have; set it with engine.customers.add(..., {name.removeprefix('customer.')}="
                "...)"
            )
        raise RecurrenceError(
            f"the schedule needs data field '{name}', which this case does not have"
        )
    return _as_date(name, fields[name], zone)


def _up_to(day: int) -> tuple[int, ...]:
    """By-month-days that, with ``bysetpos=-1``, pick ``day`` or the month's last day."""
    return tuple(range(min(day, 28), day + 1))


def _rule(spec: ScheduleSpec, begin: dt.datetime, fields: Mapping[str, Any], zone: ZoneInfo) -> Any:
    every = spec.every
    if isinstance(every, str):
        count, unit = parse_every(every)
        if unit == "days":
            return rrule.rrule(rrule.DAILY, interval=count, dtstart=begin)
        if unit == "weeks":
            return rrule.rrule(rrule.WEEKLY, interval=count, dtstart=begin)
        months = count * {"months": 1, "quarters": 3, "years": 12}[unit]
        return rrule.rrule(
            rrule.MONTHLY,
            interval=months,
            dtstart=begin.replace(day=1),
            bymonthday=_up_to(begin.day),
            bysetpos=-1,
        )
    return _calendar_rule(every, begin, fields, zone)


def _calendar_rule(
    every: EverySpec, begin: dt.datetime, fields: Mapping[str, Any], zone: ZoneInfo
) -> Any:
    if every.weekly is not None:
        day = WEEKDAY_NAMES.index(every.weekly)
        return rrule.rrule(rrule.WEEKLY, byweekday=day, dtstart=begin)
    if every.yearly is not None:
        text = every.yearly
        month, day = (int(text[:2]), int(text[3:])) if text[2:3] == "-" else (0, 0)
        if not month:
            date = _field(fields, text, zone)
            month, day = date.month, date.day
        return rrule.rrule(
            rrule.YEARLY, bymonth=month, bymonthday=_up_to(day), bysetpos=-1, dtstart=begin
        )
    period = every.quarterly if every.quarterly is not None else every.monthly
    day = 1 if period == FIRST_WORKING_DAY else int(period or 1)
    months = (1, 4, 7, 10) if every.quarterly is not None else None
    return rrule.rrule(
        rrule.MONTHLY,
        bymonth=months,
        bymonthday=_up_to(day),
        bysetpos=-1,
        dtstart=begin.replace(day=1),
    )


class Recurrence:
    """A schedule compiled for one case. Every method takes and returns aware datetimes (UTC
    out); occurrences are strictly after the case's anchor (its start, or the ``after`` field)."""

    def __init__(
        self,
        rule: Any,
        *,
        zone: ZoneInfo,
        anchor: dt.datetime,
        calendar: BusinessCalendar | None,
        quiet: BusinessCalendar | None,
    ) -> None:
        self.rule = rule
        self.zone = zone
        self.anchor = anchor
        self.calendar = calendar
        self.quiet = quiet

    def _local(self, moment: dt.datetime) -> dt.datetime:
        return moment.astimezone(self.zone).replace(tzinfo=None)

    def _aware(self, local: dt.datetime) -> dt.datetime:
        return local.replace(tzinfo=self.zone).astimezone(dt.UTC)

    def moved(self, nominal: dt.datetime) -> dt.datetime:
        """Where the calendar and quiet hours move an occurrence due at ``nominal`` (UTC)."""
        due = nominal
        calendar = self.calendar
        if calendar is not None and not calendar.is_open(due):
            local = self._local(due)
            day = local.date()
            for _ in range(_MAX_SHIFT_DAYS):
                if calendar.is_business_day(day):
                    break
                day += dt.timedelta(days=1)
            due = self._aware(dt.datetime.combine(day, local.time()))
            if not calendar.is_open(due):
                due = calendar.next_open(due)
        if self.quiet is not None and not self.quiet.is_open(due):
            due = self.quiet.next_open(due)
        return due

    def occurrences(self, after: dt.datetime) -> Iterator[Occurrence]:
        """Occurrences whose *nominal* time is after ``after`` (and after the anchor), in order."""
        start = max(after, self.anchor)
        for local in self.rule.xafter(self._local(start), inc=False):
            nominal = self._aware(local)
            if nominal > start:
                yield Occurrence(due=self.moved(nominal), nominal=nominal)

    def next_after(self, moment: dt.datetime) -> Occurrence:
        """The first occurrence whose nominal time is after ``moment``."""
        return next(self.occurrences(moment))

    def catch_up(self, last: dt.datetime, now: dt.datetime) -> Occurrence | None:
        """The latest occurrence after ``last`` (nominal) that is due by ``now``, with how many
        earlier due ones it stands for; ``None`` when nothing is due. Fire the latest only."""
        latest: Occurrence | None = None
        count = 0
        for occurrence in self.occurrences(last):
            if occurrence.due > now or count >= _MAX_CATCH_UP:
                break
            latest, count = occurrence, count + 1
        if latest is None:
            return None
        return Occurrence(due=latest.due, nominal=latest.nominal, skipped=count - 1)


def compile_schedule(
    spec: ScheduleSpec,
    *,
    start: dt.datetime,
    zone: ZoneInfo,
    fields: Mapping[str, Any] | None = None,
    calendar: BusinessCalendar | None = None,
    quiet: BusinessCalendar | None = None,
) -> Recurrence:
    """Compile ``spec`` for a case started at ``start`` (aware) in time zone ``zone``.

    ``fields`` are the case's data (for ``yearly: birthday`` and ``after: last_contact``);
    ``calendar`` keeps working days and holidays, ``quiet`` is the quiet-hours calendar.
    """
    values = fields or {}
    every = spec.every
    working = isinstance(every, EverySpec) and FIRST_WORKING_DAY in (every.quarterly, every.monthly)
    if working and calendar is None:
        raise RecurrenceError(
            "first_working_day needs a calendar: name one with 'calendar:' on the schedule"
        )
    anchor = start
    if spec.after is not None:
        day = _field(values, spec.after, zone)
        anchor = dt.datetime.combine(day, spec.local_time, tzinfo=zone).astimezone(dt.UTC)
    begin = dt.datetime.combine(anchor.astimezone(zone).date(), spec.local_time)
    if isinstance(every, str):  # a count and a unit: the first one is a whole period later
        anchor = max(anchor, begin.replace(tzinfo=zone).astimezone(dt.UTC))
    return Recurrence(
        _rule(spec, begin, values, zone),
        zone=zone,
        anchor=anchor,
        calendar=calendar,
        quiet=quiet,
    )
