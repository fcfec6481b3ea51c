"""Business calendars: business-time arithmetic over a checked calendar file.

A calendar file names an IANA time zone, the opening intervals of each weekday (several per day,
overnight ones allowed), holidays (dates, ranges, yearly dates, optionally a country's public
holidays through the ``holidays`` package) and special working days; its models live in
:mod:`svcflow.spec.calendar` (re-exported here). :class:`BusinessCalendar` compiles it and
answers, for aware datetimes, *is it open*, *when does it open next*, *what is this moment plus
four business hours* and *how much business time lies between two moments*.

How the arithmetic works (``docs/calendars.md`` has the full rules and worked examples):

* Opening intervals are local wall-clock times. Each one is turned into a real UTC interval: a
  start opens at the *first* moment the clock shows it, an end closes at the *last* moment the
  clock shows it, and a boundary that falls in a skipped hour (spring forward) maps to the moment
  of the change. So an interval that spans a skipped hour is that much shorter, one that spans a
  repeated hour that much longer, and business time is always real elapsed time.
* An interval belongs to the local day it starts on: a ``22:00-06:00`` Friday shift runs into
  Saturday morning even if Saturday is a holiday, and a holiday on Friday cancels it.
* Nothing is computed minute by minute. The intervals of each local date are computed once and
  cached; the intervals of a local year are merged into a sorted array with running totals, so
  ``add`` and ``elapsed`` are a binary search plus one step per year crossed.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from svcflow.errors import SvcflowError
from svcflow.spec.calendar import (
    MINUTES_PER_DAY,
    WEEKDAYS,
    CalendarSpec,
    CountryHolidaysSpec,
    HolidaySpec,
    WeekHours,
    WorkingDaySpec,
    holidays_module,
    parse_interval,
)

__all__ = [
    "TWENTY_FOUR_SEVEN",
    "WEEKDAYS",
    "BusinessCalendar",
    "CalendarError",
    "CalendarSpec",
    "CountryHolidaysSpec",
    "HolidaySpec",
    "WeekHours",
    "WorkingDaySpec",
    "parse_interval",
]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = 1_000_000
_MINUTE_US = 60 * _US
_DAY_US = 86_400 * _US
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_MAX_YEARS_SEARCHED = 50
_MIN_YEAR, _MAX_YEAR = 1900, 9998


class CalendarError(SvcflowError, ValueError):
    """A calendar cannot answer: a naive datetime, a moment out of range, or no opening hours
    within the years searched (every day closed)."""


def _to_us(moment: dt.datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CalendarError(
            f"naive datetime {moment.isoformat()}: pass an aware datetime, e.g. with tzinfo=UTC"
        )
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * _US + delta.microseconds


def _from_us(value: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=value)


def _delta_us(value: dt.timedelta) -> int:
    return (value.days * 86400 + value.seconds) * _US + value.microseconds


@dataclass(frozen=True, slots=True)
class _Year:
    """The merged open intervals of one local year, clipped to it, with running totals."""

    begin: int  # UTC µs of local midnight, 1 January
    end: int  # UTC µs of local midnight, 1 January of the next year
    starts: list[int]
    ends: list[int]
    before: list[int]  # open time before interval i (within the year)
    after: list[int]  # open time up to the end of interval i
    total: int
    business_days: list[int]  # ordinals of the local dates that open

    def open_until(self, moment: int) -> int:
        """Open time in this year up to ``moment`` (which lies in the year)."""
        index = bisect_right(self.starts, moment) - 1
        if index < 0:
            return 0
        return self.before[index] + min(moment, self.ends[index]) - self.starts[index]


class BusinessCalendar:
    """A compiled calendar. Every method takes aware datetimes and returns UTC datetimes.

    Open intervals are half-open: open at the start, closed at the end.
    """

    def __init__(self, spec: CalendarSpec) -> None:
        self.spec = spec
        self.id = spec.calendar
        self.zone = ZoneInfo(spec.timezone)
        self._week = [spec.hours.minutes(day) for day in range(7)]
        self._monday = self._week[0] or next(hours for hours in self._week if hours)
        self._closed: set[dt.date] = set()
        self._yearly: set[tuple[int, int]] = set()
        for holiday in spec.holidays:
            self._closed.update(holiday.dates())
            month_day = holiday.month_day()
            if month_day is not None:
                self._yearly.add(month_day)
        self._special: dict[dt.date, tuple[tuple[int, int], ...]] = {}
        for working in spec.working_days:
            if working.hours is not None:
                self._special[working.date] = tuple(sorted(map(parse_interval, working.hours)))
            elif working.like is not None:
                self._special[working.date] = self._week[WEEKDAYS.index(working.like)]
            else:
                self._special[working.date] = self._monday
        self._country = spec.country_holidays
        self._country_years: dict[int, tuple[frozenset[dt.date], frozenset[dt.date]]] = {}
        self._days: dict[int, tuple[tuple[int, int], ...]] = {}
        self._blocks: dict[int, int | None] = {}
        self._years: dict[int, _Year] = {}
        self._plain = spec.hours.always and not (
            spec.holidays or spec.country_holidays or spec.working_days
        )

    def __repr__(self) -> str:
        return f"<BusinessCalendar {self.id!r} {self.spec.timezone}>"

    # -- days ----------------------------------------------------------------------------------

    def _country_dates(self, year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
        cached = self._country_years.get(year)
        if cached is None:
            closed: frozenset[dt.date] = frozenset()
            open_: frozenset[dt.date] = frozenset()
            if self._country is not None:
                table = holidays_module().country_holidays(
                    self._country.country,
                    subdiv=self._country.subdivision,
                    years=year,
                    observed=self._country.observed,
                )
                closed = frozenset(table)
                if self._country.weekend_workdays:
                    extra = getattr(table, "weekend_workdays", ())
                    open_ = frozenset(d for d in extra if d.year == year)
            cached = self._country_years[year] = (closed, open_)
        return cached

    def hours_on(self, day: dt.date) -> tuple[tuple[int, int], ...]:
        """The intervals starting on a local date, in minutes after its midnight (an end past
        1440 runs into the next day); empty on a closed day."""
        special = self._special.get(day)
        if special is not None:
            return special
        if day in self._closed or (day.month, day.day) in self._yearly:
            return ()
        if self._country is not None:
            closed, open_ = self._country_dates(day.year)
            if day in open_:
                return self._monday
            if day in closed:
                return ()
        return self._week[day.weekday()]

    def is_business_day(self, day: dt.date) -> bool:
        """Whether the calendar opens on a local date (an interval starts on it); not a day
        whose only intervals lie in the hour the clocks skip, which never happens."""
        return bool(self._day(day))

    def _day(self, day: dt.date) -> tuple[tuple[int, int], ...]:
        """The UTC intervals (µs) starting on a local date; cached."""
        ordinal = day.toordinal()
        cached = self._days.get(ordinal)
        if cached is None:
            hours = self.hours_on(day)
            offset = self._steady_offset(day) if hours else None
            if offset is not None:  # the usual day: no clock change, plain arithmetic
                base = (ordinal - _EPOCH_ORDINAL) * _DAY_US - offset
                cached = tuple((base + s * _MINUTE_US, base + e * _MINUTE_US) for s, e in hours)
            else:
                spans = []
                for start, end in hours:
                    begin = self._instant(day, start, last=False)
                    finish = self._instant(day, end, last=True)
                    if finish > begin:
                        spans.append((begin, finish))
                cached = tuple(spans)
            self._days[ordinal] = cached
        return cached

    def _steady_offset(self, day: dt.date) -> int | None:
        """The UTC offset (µs) from ``day``'s midnight to the midnight two days later (an
        overnight interval's latest end), or ``None`` if the clocks change in between.

        Checked per block of 7 days (the block's first midnight and the midnight 9 days later),
        so a year costs about 100 time-zone look-ups; only a block with a change is checked
        day by day.
        """
        ordinal = day.toordinal()
        block = ordinal // 7
        steady = self._blocks.get(block, False)
        if steady is False:
            steady = self._offset_between(block * 7, block * 7 + 9)
            self._blocks[block] = steady
        if steady is not None:
            return steady
        return self._offset_between(ordinal, ordinal + 2)

    def _offset_between(self, first: int, last: int) -> int | None:
        start, end = dt.date.fromordinal(first), dt.date.fromordinal(last)
        before = dt.datetime(start.year, start.month, start.day, tzinfo=self.zone).utcoffset()
        after = dt.datetime(end.year, end.month, end.day, tzinfo=self.zone, fold=1).utcoffset()
        if before is None or before != after:
            return None
        return _delta_us(before)

    def _instant(self, day: dt.date, minute: int, *, last: bool) -> int:
        """UTC µs at which the local clock shows ``minute`` after ``day``'s midnight: its first
        showing (``last=False``) or its last (``last=True``); a time the clock skips maps to the
        moment of the change."""
        day = day + dt.timedelta(days=minute // MINUTES_PER_DAY)
        minute %= MINUTES_PER_DAY
        wall = dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60)
        return self._wall_to_us(wall, last=last)

    def _wall_to_us(self, wall: dt.datetime, *, last: bool) -> int:
        first = wall.replace(tzinfo=self.zone, fold=0)
        second = wall.replace(tzinfo=self.zone, fold=1)
        offset0, offset1 = first.utcoffset(), second.utcoffset()
        assert offset0 is not None and offset1 is not None
        early, late = _to_us(first), _to_us(second)
        if offset0 == offset1:
            return early
        if offset0 > offset1:  # a repeated hour: fold=0 is the first showing
            return late if last else early
        # A skipped time: fold=0 maps past the change, fold=1 before it; find the change.
        low, high = late, early
        target = wall
        while high - low > _US:
            middle = (low + high) // 2 // _US * _US
            if middle <= low:
                break
            shown = _from_us(middle).astimezone(self.zone).replace(tzinfo=None)
            if shown >= target:
                high = middle
            else:
                low = middle
        return high

    # -- years ---------------------------------------------------------------------------------

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is not None:
            return cached
        if not _MIN_YEAR <= year <= _MAX_YEAR:
            raise CalendarError(
                f"calendar '{self.id}': the year {year} is outside {_MIN_YEAR}..{_MAX_YEAR}"
            )
        begin = self._instant(dt.date(year, 1, 1), 0, last=False)
        end = self._instant(dt.date(year + 1, 1, 1), 0, last=False)
        starts: list[int] = []
        ends: list[int] = []
        business: list[int] = []
        day = dt.date(year - 1, 12, 31)
        last_day = dt.date(year, 12, 31)
        while day <= last_day:
            spans = self._day(day)
            if spans and day.year == year:
                business.append(day.toordinal())
            for span_start, span_end in spans:
                span_start, span_end = max(span_start, begin), min(span_end, end)
                if span_end <= span_start:
                    continue
                if ends and span_start <= ends[-1]:  # overlapping or touching: merge
                    span_start = starts.pop()
                    span_end = max(span_end, ends.pop())
                starts.append(span_start)
                ends.append(span_end)
            day += dt.timedelta(days=1)
        before: list[int] = []
        after: list[int] = []
        total = 0
        for span_start, span_end in zip(starts, ends, strict=True):
            before.append(total)
            total += span_end - span_start
            after.append(total)
        cached = self._years[year] = _Year(
            begin=begin,
            end=end,
            starts=starts,
            ends=ends,
            before=before,
            after=after,
            total=total,
            business_days=business,
        )
        return cached

    def _year_of(self, moment: int) -> int:
        year = _from_us(moment).astimezone(self.zone).year
        if moment < self._year(year).begin:
            return year - 1
        if moment >= self._year(year).end:
            return year + 1
        return year

    def _advance(
        self, year: int, step: int, start_year: int, looking_for: str = "has no open time"
    ) -> int:
        """The next year to search; gives up (saying what was not found) after
        ``_MAX_YEARS_SEARCHED`` years."""
        year += step
        if abs(year - start_year) > _MAX_YEARS_SEARCHED:
            raise CalendarError(
                f"calendar '{self.id}' {looking_for} within {_MAX_YEARS_SEARCHED} years"
            )
        return year

    # -- queries -------------------------------------------------------------------------------

    def is_open(self, moment: dt.datetime) -> bool:
        """Whether ``moment`` lies in an open interval."""
        at = _to_us(moment)
        if self._plain:
            return True
        year = self._year(self._year_of(at))
        index = bisect_right(year.starts, at) - 1
        return index >= 0 and at < year.ends[index]

    def next_open(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` if open, else the start of the next open interval."""
        at = _to_us(moment)
        if self._plain:
            return _from_us(at)
        first = number = self._year_of(at)
        while True:
            year = self._year(number)
            index = bisect_right(year.starts, at) - 1
            if index >= 0 and at < year.ends[index]:
                return _from_us(at)
            if index + 1 < len(year.starts):
                return _from_us(year.starts[index + 1])
            number = self._advance(number, 1, first)
            at = self._year(number).begin

    def next_close(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` if closed, else the end of the open stretch it lies in."""
        at = _to_us(moment)
        if self._plain:
            raise CalendarError(f"calendar '{self.id}' never closes")
        first = number = self._year_of(at)
        while True:
            year = self._year(number)
            index = bisect_right(year.starts, at) - 1
            if index < 0 or at >= year.ends[index]:
                return _from_us(at)
            at = year.ends[index]
            if at < year.end:
                return _from_us(at)
            number = self._advance(number, 1, first, "does not close")

    def open_intervals(
        self, start: dt.datetime, end: dt.datetime
    ) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """The open intervals between two moments, clipped to them (UTC)."""
        low, high = _to_us(start), _to_us(end)
        if low >= high:
            return
        if self._plain:
            yield _from_us(low), _from_us(high)
            return
        number = self._year_of(low)
        pending: tuple[int, int] | None = None
        while pending is None or pending[1] < high:
            year = self._year(number)
            index = max(bisect_right(year.starts, low) - 1, 0)
            for span_start, span_end in zip(year.starts[index:], year.ends[index:], strict=True):
                if span_start >= high:
                    break
                if span_end <= low:
                    continue
                piece = (max(span_start, low), min(span_end, high))
                if pending is not None and pending[1] == piece[0]:  # split at a year's end
                    pending = (pending[0], piece[1])
                    continue
                if pending is not None:
                    yield _from_us(pending[0]), _from_us(pending[1])
                pending = piece
            if year.end >= high:
                break
            number += 1
        if pending is not None:
            yield _from_us(pending[0]), _from_us(pending[1])

    # -- business time -------------------------------------------------------------------------

    def elapsed(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Open time between two moments; negative (``-elapsed(end, start)``) when ``end`` is
        before ``start``, zero when both lie in the same closed stretch."""
        if self._plain and start.tzinfo is dt.UTC and end.tzinfo is dt.UTC:
            return end - start  # always open: real elapsed time
        low, high = _to_us(start), _to_us(end)
        return dt.timedelta(microseconds=self._elapsed_us(low, high))

    def _elapsed_us(self, low: int, high: int) -> int:
        if high < low:
            return -self._elapsed_us(high, low)
        if self._plain:
            return high - low
        first, last = self._year_of(low), self._year_of(high)
        year = self._year(first)
        if first == last:
            return year.open_until(high) - year.open_until(low)
        total = year.total - year.open_until(low)
        for number in range(first + 1, last):
            total += self._year(number).total
        return total + self._year(last).open_until(high)

    def add(self, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """The moment ``duration`` of open time after ``start``.

        The earliest such moment: a deadline that uses up an interval exactly falls on its end
        (Friday 18:00), not on the next opening (Monday 09:00). ``add(start, 0)`` is ``start``.
        A negative duration counts back: the latest moment with that much open time before
        ``start``. So ``elapsed(s, add(s, d)) == d`` for every ``s`` and ``d``.
        """
        if self._plain and start.tzinfo is dt.UTC and type(start) is dt.datetime:
            return start + duration  # always open: the same instant, without the round trip
        at, amount = _to_us(start), _delta_us(duration)
        if amount == 0 or self._plain:
            return _from_us(at + amount)
        first = number = self._year_of(at)
        year = self._year(number)
        target = year.open_until(at) + amount
        if amount > 0:
            while target > year.total:
                target -= year.total
                number = self._advance(number, 1, first)
                year = self._year(number)
            index = bisect_left(year.after, target)
        else:
            while target < 0:
                number = self._advance(number, -1, first)
                year = self._year(number)
                target += year.total
            index = bisect_right(year.before, target) - 1
        return _from_us(year.starts[index] + target - year.before[index])

    def add_business_days(
        self, start: dt.datetime, days: int, *, end_of_day: bool = False
    ) -> dt.datetime:
        """The same local time ``days`` business days after ``start``'s local date.

        Business days are local dates on which the calendar opens, counted from the day after
        ``start``'s date (so "3 business days" from a Saturday is the Wednesday). With
        ``end_of_day=True`` the result is the close of that day instead: when its last interval
        ends ("by close of business on the third business day"). ``days=0`` returns ``start``;
        a negative count goes back. A local time that does not exist on the target date (a
        skipped hour) maps to the moment of the change.
        """
        at = _to_us(start)
        if days == 0:
            return _from_us(at)
        local = _from_us(at).astimezone(self.zone)
        target = self._nth_business_day(local.date(), days)
        if end_of_day:
            return _from_us(max(end for _, end in self._day(target)))
        wall = dt.datetime.combine(target, local.time())
        return _from_us(self._wall_to_us(wall, last=bool(local.fold)))

    def _nth_business_day(self, day: dt.date, count: int) -> dt.date:
        ordinal = day.toordinal()
        step = 1 if count > 0 else -1
        remaining = abs(count)
        first = number = day.year
        while True:
            listing = self._year(number).business_days
            if step > 0:
                index = bisect_right(listing, ordinal)
                available = len(listing) - index
                if remaining <= available:
                    return dt.date.fromordinal(listing[index + remaining - 1])
            else:
                index = bisect_left(listing, ordinal)
                available = index
                if remaining <= available:
                    return dt.date.fromordinal(listing[index - remaining])
            remaining -= available
            number = self._advance(number, step, first)

    # -- wall-clock helpers --------------------------------------------------------------------

    def local(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` in the calendar's time zone."""
        _to_us(moment)
        return moment.astimezone(self.zone)

    @staticmethod
    def add_wall(start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """Real elapsed time, ignoring the calendar: ``start + duration`` in UTC."""
        return _from_us(_to_us(start) + _delta_us(duration))

    def add_calendar_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """The same local time ``days`` calendar days later ("8 weeks" is 56 days), open or
        not; across a DST change this is an hour more or less than ``days * 24h``."""
        local = self.local(start)
        wall = dt.datetime.combine(local.date() + dt.timedelta(days=days), local.time())
        return _from_us(self._wall_to_us(wall, last=bool(local.fold)))


TWENTY_FOUR_SEVEN = BusinessCalendar(
    CalendarSpec(
        calendar="twenty-four-seven", timezone="UTC", hours=WeekHours.model_validate("24x7")
    )
)
"""Open all the time, in UTC: business time is real elapsed time."""
