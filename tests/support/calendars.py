"""Calendar files and moments for the calendar, SLA and escalation tests."""

from __future__ import annotations

from datetime import datetime

from svcflow.definitions.calendars import load_calendar_text
from svcflow.sla.calendar import BusinessCalendar


def at(text: str) -> datetime:
    """An aware datetime from ISO text; the offset is required, so a test never passes a
    naive moment by accident."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, f"{text} has no UTC offset"
    return moment


def calendar_from(text: str, name: str = "calendar.yaml") -> BusinessCalendar:
    return load_calendar_text(text, name)


def daily(zone: str, hours: str, extra: str = "", name: str = "daily") -> BusinessCalendar:
    """A calendar open ``hours`` every day of the week in ``zone``."""
    week = ", ".join(f"{day}: *h" if day != "mon" else f'mon: &h "{hours}"' for day in DAYS)
    return calendar_from(f"calendar: {name}\ntimezone: {zone}\nhours: {{{week}}}\n{extra}")


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

OFFICE_LONDON = """\
calendar: office
timezone: Europe/London
hours:
  mon: &day ["09:00-18:00"]
  tue: *day
  wed: *day
  thu: *day
  fri: *day
"""
