"""How long a recurring schedule takes: compiling it for a case, the next occurrence, and the
catch-up after a year of downtime.

``every: {quarterly: first_working_day, at: "10:00"}`` on a Mon-Fri office calendar in
Europe/London with holidays, and a daily schedule whose runner was down for 365 days (365
occurrences walked, one answered). Run: ``python benches/bench_recurrence.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from svcflow.definitions.calendars import load_calendar_text
from svcflow.sla.recurrence import compile_schedule
from svcflow.spec.recurrence import ScheduleSpec

OFFICE = load_calendar_text(
    "calendar: office\ntimezone: Europe/London\n"
    'hours: {mon: &d ["09:00-18:00"], tue: *d, wed: *d, thu: *d, fri: *d}\n'
    "holidays: [2026-01-01, 2026-12-25]\n",
    "office.yaml",
)
ZONE = ZoneInfo("Europe/London")
START = datetime(2026, 3, 6, 17, 50, tzinfo=UTC)
QUARTERLY = ScheduleSpec.model_validate(
    {"every": {"quarterly": "first_working_day", "at": "10:00"}, "calendar": "office"}
)
DAILY = ScheduleSpec.model_validate({"every": "1 day"})


def per_call_us(function: Callable[[], object], n: int) -> float:
    began = time.perf_counter()
    for _ in range(n):
        function()
    return (time.perf_counter() - began) / n * 1e6


def main() -> None:
    quarterly = compile_schedule(QUARTERLY, start=START, zone=ZONE, calendar=OFFICE)
    daily = compile_schedule(DAILY, start=START, zone=ZONE)
    year_later = datetime(2027, 3, 6, 12, tzinfo=UTC)
    rows = {
        "compile quarterly": per_call_us(
            lambda: compile_schedule(QUARTERLY, start=START, zone=ZONE, calendar=OFFICE), 2000
        ),
        "next quarterly occurrence": per_call_us(lambda: quarterly.next_after(START), 2000),
        "catch up 365 missed days": per_call_us(lambda: daily.catch_up(START, year_later), 50),
    }
    for name, value in rows.items():
        print(f"{name:28} {value:10.1f} µs")


if __name__ == "__main__":
    main()
