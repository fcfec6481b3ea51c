"""The calendar-file language: pydantic models of a business calendar file.

A calendar file names an IANA time zone, the opening intervals of each weekday (several per day,
overnight ones allowed), holidays (dates, ranges, yearly dates, optionally a country's public
holidays through the ``holidays`` package) and special working days. These models check the
file's shape and give every mistake a reason; :class:`svcflow.sla.calendar.BusinessCalendar`
compiles a checked :class:`CalendarSpec` and does the arithmetic, and
:mod:`svcflow.definitions.calendars` reads files with positions.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterator
from itertools import pairwise
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from svcflow.errors import did_you_mean
from svcflow.spec.models import WORKFLOW_ID_PATTERN

__all__ = [
    "MINUTES_PER_DAY",
    "WEEKDAYS",
    "CalendarSpec",
    "CountryHolidaysSpec",
    "HolidaySpec",
    "WeekHours",
    "WorkingDaySpec",
    "holidays_module",
    "parse_interval",
]

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

MINUTES_PER_DAY = 1440
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_YEARLY = re.compile(r"^(?:--)?(\d{1,2})-(\d{1,2})$")


def parse_interval(text: str) -> tuple[int, int]:
    """``"09:00-18:00"`` -> ``(540, 1080)``: start and end in minutes after the day's midnight.

    An end at or before the start runs into the next day (``"22:00-06:00"`` -> ``(1320, 1800)``);
    ``24:00`` is allowed as an end. Raises ``ValueError`` with the accepted forms otherwise.
    """
    match = _INTERVAL.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"invalid interval {text!r}: write HH:MM-HH:MM, e.g. 09:00-18:00, or 22:00-06:00 "
            "for an overnight shift"
        )
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or m1 > 59:
        raise ValueError(f"invalid interval {text!r}: the start must be 00:00 to 23:59")
    if (h2, m2) != (24, 0) and (h2 > 23 or m2 > 59):
        raise ValueError(f"invalid interval {text!r}: the end must be 00:00 to 24:00")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end == start:
        raise ValueError(
            f"invalid interval {text!r}: it starts and ends at the same time; for a whole day "
            "write 00:00-24:00"
        )
    if end < start:
        end += MINUTES_PER_DAY
    return start, end


def _check_interval(text: str) -> str:
    parse_interval(text)
    return text


def _one_to_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _no_overlap(intervals: list[str]) -> list[str]:
    spans = sorted((parse_interval(text), text) for text in intervals)
    for (first, first_text), (second, second_text) in pairwise(spans):
        if second[0] < first[1]:
            raise ValueError(f"intervals '{first_text}' and '{second_text}' overlap")
    return intervals


Interval = Annotated[str, AfterValidator(_check_interval)]
DayHours = Annotated[list[Interval], BeforeValidator(_one_to_list), AfterValidator(_no_overlap)]
"""The opening intervals of one day; a single interval may be written without the list."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class WeekHours(_Strict):
    """Opening intervals per weekday (a missing day is closed), or ``24x7: true``."""

    mon: DayHours = []
    tue: DayHours = []
    wed: DayHours = []
    thu: DayHours = []
    fri: DayHours = []
    sat: DayHours = []
    sun: DayHours = []
    always: bool = Field(default=False, alias="24x7", description="Open all day, every day.")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"24x7": True} if value == "24x7" else value

    @model_validator(mode="after")
    def _consistent(self) -> WeekHours:
        days = [day for day in WEEKDAYS if getattr(self, day)]
        if self.always and days:
            raise ValueError(
                f"'24x7: true' is open all the time; remove the weekday hours ({', '.join(days)})"
            )
        if not self.always and not days:
            raise ValueError(
                "the calendar is never open: give intervals for at least one weekday, "
                "e.g. mon: [09:00-18:00], or write 24x7: true"
            )
        for index, day in enumerate(WEEKDAYS):
            overnight = [parse_interval(text) for text in getattr(self, day)]
            spill = max((end - MINUTES_PER_DAY for _, end in overnight), default=0)
            following = WEEKDAYS[(index + 1) % 7]
            starts = [parse_interval(text)[0] for text in getattr(self, following)]
            if spill > 0 and starts and min(starts) < spill:
                raise ValueError(
                    f"{day}'s overnight hours run until {spill // 60:02d}:{spill % 60:02d} on "
                    f"{following}, which opens earlier, at {min(starts) // 60:02d}:"
                    f"{min(starts) % 60:02d}; the intervals overlap"
                )
        return self

    def minutes(self, weekday: int) -> tuple[tuple[int, int], ...]:
        """The intervals of a weekday (0 = Monday) in minutes after midnight, sorted."""
        if self.always:
            return ((0, MINUTES_PER_DAY),)
        return tuple(sorted(parse_interval(text) for text in getattr(self, WEEKDAYS[weekday])))


def _check_yearly(value: str | None) -> str | None:
    if value is None:
        return None
    match = _YEARLY.match(value) if isinstance(value, str) else None
    if match is not None:
        month, day = int(match.group(1)), int(match.group(2))
        try:
            dt.date(2000, month, day)  # a leap year, so 02-29 is allowed
        except ValueError:
            match = None
    if match is None:
        raise ValueError(
            f"invalid yearly date {value!r}: write MM-DD or --MM-DD, e.g. 05-01 for the 1st of May"
        )
    return value


class HolidaySpec(_Strict):
    """A closed day: one ``date``, a range ``from``..``to`` (inclusive), or a yearly date.

    Short forms: a bare date (``2026-10-01``) and a yearly text (``"--10-01"``).
    """

    date: dt.date | None = None
    start: dt.date | None = Field(default=None, alias="from")
    end: dt.date | None = Field(default=None, alias="to")
    yearly: Annotated[str | None, AfterValidator(_check_yearly)] = Field(
        default=None, description="MM-DD or --MM-DD; 02-29 applies in leap years only."
    )
    month: int | None = Field(default=None, ge=1, le=12)
    day: int | None = Field(default=None, ge=1, le=31)
    name: str = ""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, dt.date | int):
            return {"date": value}
        if isinstance(value, str):
            return {"yearly": value} if value.startswith("--") else {"date": value}
        return value

    @model_validator(mode="after")
    def _one_form(self) -> HolidaySpec:
        forms = [
            self.date is not None,
            self.start is not None or self.end is not None,
            self.yearly is not None,
            self.month is not None or self.day is not None,
        ]
        if sum(forms) != 1:
            raise ValueError(
                "a holiday is one of: a date (2026-10-01), a range {from: 2026-10-01, to: "
                "2026-10-07}, or a yearly date ('--10-01', {yearly: '10-01'} or "
                "{month: 10, day: 1})"
            )
        if (self.start is None) != (self.end is None):
            raise ValueError("a holiday range needs both 'from' and 'to'")
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"the range ends ({self.end}) before it starts ({self.start})")
        if (self.month is None) != (self.day is None):
            raise ValueError("a yearly holiday needs both 'month' and 'day'")
        if self.month is not None and self.day is not None:
            _check_yearly(f"{self.month:02d}-{self.day:02d}")
        return self

    def month_day(self) -> tuple[int, int] | None:
        """The yearly (month, day), whichever way it was written; ``None`` for dated forms."""
        if self.yearly is not None:
            month, day = self.yearly.removeprefix("--").split("-")
            return int(month), int(day)
        if self.month is not None and self.day is not None:
            return self.month, self.day
        return None

    def dates(self) -> Iterator[dt.date]:
        """The dates of a dated form (one date or every date of a range)."""
        if self.date is not None:
            yield self.date
        elif self.start is not None and self.end is not None:
            for offset in range((self.end - self.start).days + 1):
                yield self.start + dt.timedelta(days=offset)


class WorkingDaySpec(_Strict):
    """A date that is open although a holiday or weekend: with its own ``hours``, the hours of
    the weekday named by ``like``, or (neither given) the Monday hours."""

    date: dt.date
    hours: DayHours | None = None
    like: Weekday | None = None
    name: str = ""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"date": value} if isinstance(value, dt.date | str) else value

    @model_validator(mode="after")
    def _hours_or_like(self) -> WorkingDaySpec:
        if self.hours is not None and self.like is not None:
            raise ValueError("give either 'hours' or 'like', not both")
        if self.hours is not None and not self.hours:
            raise ValueError("a working day needs at least one interval in 'hours'")
        return self


def holidays_module() -> Any:
    try:
        import holidays  # an optional dependency, imported only when a calendar uses it
    except ImportError:
        raise ValueError(
            "country_holidays needs the 'holidays' package, which is not installed: "
            "pip install holidays"
        ) from None
    return holidays


class CountryHolidaysSpec(_Strict):
    """Public holidays of a country (ISO 3166 code) or one of its subdivisions, from the
    ``holidays`` package; ``weekend_workdays`` opens the weekend days a country moves work to
    (China's adjusted working days), with the Monday hours."""

    country: str = Field(min_length=2)
    subdivision: str | None = None
    observed: bool = True
    weekend_workdays: bool = True

    @model_validator(mode="after")
    def _known(self) -> CountryHolidaysSpec:
        supported: dict[str, list[str]] = holidays_module().list_supported_countries()
        if self.country not in supported:
            raise ValueError(
                f"unknown country '{self.country}'"
                + _close(self.country, supported, "use an ISO 3166 code such as CN, GB or US")
            )
        subdivisions = supported[self.country]
        if self.subdivision is not None and self.subdivision not in subdivisions:
            raise ValueError(
                f"unknown subdivision '{self.subdivision}' of {self.country}"
                + did_you_mean(self.subdivision, subdivisions, noun="subdivision")
            )
        return self


def _close(name: str, choices: Any, hint: str) -> str:
    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'? {hint}" if close else f"; {hint}"


class CalendarSpec(_Strict):
    """A calendar file: id, time zone, weekly hours, holidays and special working days."""

    calendar: Annotated[str, StringConstraints(pattern=WORKFLOW_ID_PATTERN)]
    title: str = ""
    timezone: str = Field(description="An IANA time zone, e.g. Asia/Shanghai or UTC.")
    hours: WeekHours
    holidays: list[HolidaySpec] = []
    country_holidays: CountryHolidaysSpec | None = None
    working_days: list[WorkingDaySpec] = []

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                f"unknown time zone '{value}'"
                + _close(value, available_timezones(), "use an IANA name such as Europe/London")
            ) from None
        return value

    @model_validator(mode="after")
    def _unique_working_days(self) -> CalendarSpec:
        seen: set[dt.date] = set()
        for entry in self.working_days:
            if entry.date in seen:
                raise ValueError(f"working day {entry.date} is listed twice")
            seen.add(entry.date)
        return self
