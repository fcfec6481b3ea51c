"""Pydantic models of a recurring schedule: what a process owner writes after ``every:``.

Three readable forms (``docs/workflow-reference.md`` has the full rules)::

    every: 3 months                         # a count and a unit, from the case's start
    every: 90 days
    after: last_contact                     # ... or from a date field of the case
    every: {yearly: birthday, at: "09:00"}  # a date field (or "MM-DD") each year
    every: {quarterly: first_working_day}   # a day of each quarter / month / week

Shape only: the names of data fields and calendars are checked where the workflow is known, and
:mod:`svcflow.sla.recurrence` compiles a schedule to an RFC 5545 rule.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Discriminator, Tag, field_validator, model_validator

from svcflow.errors import did_you_mean
from svcflow.spec.actions import Strict

__all__ = [
    "CUSTOMER_DATE_FIELDS",
    "DEFAULT_AT",
    "FIRST_WORKING_DAY",
    "UNITS",
    "WEEKDAY_NAMES",
    "DateField",
    "DayOfPeriod",
    "EverySpec",
    "LocalTime",
    "ScheduleSpec",
    "parse_every",
]

DEFAULT_AT = dt.time(9, 0)
"""The local time of day an occurrence is due when a schedule gives no ``at``."""

FIRST_WORKING_DAY = "first_working_day"
UNITS = ("days", "weeks", "months", "quarters", "years")
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_EVERY = re.compile(r"^\s*(?:(\d+)\s+)?([a-z_]+)\s*$")
_AT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
_MAX_COUNT = 1000
_FIELD = re.compile(r"^(customer\.)?[A-Za-z_][A-Za-z0-9_]*$")

CUSTOMER_DATE_FIELDS = ("birthday", "since")
"""The dates of a customer record a schedule may count from: ``customer.birthday`` and
``customer.since`` (the day they became a customer, for anniversaries)."""


def _date_field(value: Any) -> Any:
    if isinstance(value, str) and _FIELD.match(value):
        return value
    raise ValueError(
        f"{value!r} is not a date field; name a data field of the case (last_contact) or "
        "a date of the customer record ("
        + ", ".join(f"customer.{n}" for n in CUSTOMER_DATE_FIELDS)
        + ")"
    )


DateField = Annotated[str, BeforeValidator(_date_field)]
"""A date a schedule counts from: a data field of the case (``last_contact``) or a date of the
customer record (``customer.birthday``, ``customer.since``)."""


def _local_time(value: Any) -> Any:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, int):  # YAML 1.1 reads an unquoted 9:00 as 540 (base 60)
        raise ValueError(f'write the time in quotes, e.g. at: "09:00" (YAML read {value})')
    match = _AT.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f'{value!r} is not a time of day; write "HH:MM", e.g. "09:00"')
    return dt.time(int(match[1]), int(match[2]))


LocalTime = Annotated[dt.time, BeforeValidator(_local_time)]
"""A local wall-clock time written ``"HH:MM"`` (quoted, so YAML keeps it as text)."""


def parse_every(text: str) -> tuple[int, str]:
    """``"3 months"`` -> ``(3, "months")``; ``"quarter"`` -> ``(1, "quarters")``.

    Raises ``ValueError`` naming the valid units (with a "did you mean") for anything else.
    """
    match = _EVERY.match(text.lower())
    unit = match[2] if match else ""
    plural = unit if unit.endswith("s") else unit + "s"
    if match is None or plural not in UNITS:
        raise ValueError(
            f"{text!r} is not a count and a unit such as '3 months' or '90 days'"
            + did_you_mean(plural if match else text, UNITS, noun="unit")
            + "; or write a mapping with one of yearly, quarterly, monthly, weekly"
        )
    count = int(match[1] or 1)
    if not 1 <= count <= _MAX_COUNT:
        raise ValueError(f"{text!r}: the count must be 1 to {_MAX_COUNT}")
    return count, plural


def _day_of_period(value: Any) -> Any:
    if value == FIRST_WORKING_DAY or (type(value) is int and 1 <= value <= 31):
        return value
    raise ValueError(
        f"{value!r} is not a day of the period; write a day number 1 to 31 or first_working_day"
    )


DayOfPeriod = Annotated[str | int, BeforeValidator(_day_of_period)]
"""A day of a month or quarter: a day number (a day the month lacks becomes its last day) or
``first_working_day`` (the first day the schedule's calendar opens)."""


class EverySpec(Strict):
    """The mapping form of ``every``: exactly one of ``yearly``, ``quarterly``, ``monthly``,
    ``weekly``, and optionally ``at``.

    ``yearly`` names a date field (``customer.birthday``, or one of the case) or a fixed
    ``"MM-DD"``; a 29 February is due on 28 February in other years. ``quarterly``/``monthly``
    take a :data:`DayOfPeriod` (quarters start in January, April, July and October).
    ``weekly`` takes a weekday name.
    """

    yearly: str | None = None
    quarterly: DayOfPeriod | None = None
    monthly: DayOfPeriod | None = None
    weekly: str | None = None
    at: LocalTime | None = None

    @field_validator("yearly")
    @classmethod
    def _field_or_month_day(cls, value: str) -> str:
        if _MONTH_DAY.match(value) or _FIELD.match(value):
            return value
        raise ValueError(
            f"yearly {value!r} is neither a date field (e.g. customer.birthday or a data field "
            'of the case) nor a date written "MM-DD" (e.g. "02-29")'
        )

    @field_validator("weekly")
    @classmethod
    def _weekday(cls, value: str) -> str:
        if value.lower() not in WEEKDAY_NAMES:
            raise ValueError(
                f"weekly {value!r} is not a weekday"
                + did_you_mean(value, WEEKDAY_NAMES, noun="day")
            )
        return value.lower()

    @model_validator(mode="after")
    def _exactly_one(self) -> EverySpec:
        chosen = [k for k in ("yearly", "quarterly", "monthly", "weekly") if getattr(self, k)]
        if len(chosen) != 1:
            raise ValueError(
                "every: {...} has exactly one of yearly, quarterly, monthly, weekly"
                + (f" (this one has {', '.join(chosen)})" if chosen else "")
            )
        return self

    @property
    def kind(self) -> str:
        """Which of yearly, quarterly, monthly, weekly this is."""
        return next(k for k in ("yearly", "quarterly", "monthly", "weekly") if getattr(self, k))


class ScheduleSpec(Strict):
    """A recurring schedule.

    ``every`` is a count and a unit (``"3 months"``, ``"90 days"``) counted from ``after`` (a date
    field of the case) or, without it, from the case's start; or an :class:`EverySpec` mapping.
    ``at`` is the local time of day (default 09:00), in the case's time zone. ``calendar`` names
    the business calendar whose working days and holidays the schedule keeps.
    """

    every: Annotated[
        Annotated[str, Tag("text")] | Annotated[EverySpec, Tag("mapping")],
        Discriminator(lambda value: "mapping" if isinstance(value, dict | EverySpec) else "text"),
    ]
    after: DateField | None = None
    at: LocalTime | None = None
    calendar: str | None = None

    @field_validator("every")
    @classmethod
    def _readable(cls, value: str | EverySpec) -> str | EverySpec:
        if isinstance(value, str):
            parse_every(value)
        return value

    @model_validator(mode="after")
    def _one_at(self) -> ScheduleSpec:
        if isinstance(self.every, EverySpec):
            if self.at is not None and self.every.at is not None:
                raise ValueError("'at' is given twice: inside every: {...} and beside it")
            if self.after is not None:
                raise ValueError(
                    f"'after' goes with a count and a unit (every: 90 days, after: "
                    f"{self.after}), not with every: {{{self.every.kind}: ...}}"
                )
        return self

    @property
    def local_time(self) -> dt.time:
        """The local time of day an occurrence is due."""
        inner = self.every.at if isinstance(self.every, EverySpec) else None
        return self.at or inner or DEFAULT_AT
