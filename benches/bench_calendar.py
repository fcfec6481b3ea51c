"""How long business-time arithmetic takes on a lunch-break calendar, cold and warm.

``add`` of 250 business days' worth of hours (2,000 h, about a year out) and ``elapsed`` across a
year, on Mon-Fri 09:00-12:00 and 13:00-18:00 in Asia/Shanghai with yearly and range holidays.
Cold: a freshly compiled calendar each call (the per-date and per-year caches empty); warm: the
same calendar again. Also ``add_business_days(250)`` and ``add(4h)`` (the common SLA case).
Run: ``python benches/bench_calendar.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from svcflow.definitions.calendars import load_calendar_text
from svcflow.sla.calendar import BusinessCalendar

TEXT = """\
calendar: lunch
timezone: Asia/Shanghai
hours:
  mon: &day ["09:00-12:00", "13:00-18:00"]
  tue: *day
  wed: *day
  thu: *day
  fri: *day
holidays:
  - {yearly: "05-01", name: Labour Day}
  - {from: 2026-10-01, to: 2026-10-07, name: National Day}
working_days: [2026-10-10]
"""
ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 6, 17, 50, tzinfo=ZONE)
YEAR_OF_HOURS = timedelta(hours=250 * 8)


def per_call_us(function: Callable[[BusinessCalendar], object], *, cold: bool, n: int) -> float:
    spec = load_calendar_text(TEXT, "lunch.yaml").spec
    warm = BusinessCalendar(spec)
    function(warm)
    best = float("inf")
    for _ in range(3):
        calendars = [BusinessCalendar(spec) for _ in range(n)] if cold else [warm] * n
        begin = time.perf_counter()
        for calendar in calendars:
            function(calendar)
        best = min(best, (time.perf_counter() - begin) / n * 1e6)
    return best


def main() -> None:
    end = START + timedelta(days=365)
    cases: dict[str, Callable[[BusinessCalendar], object]] = {
        "add(4h)": lambda c: c.add(START, timedelta(hours=4)),
        "add(2000h, ~250 business days)": lambda c: c.add(START, YEAR_OF_HOURS),
        "elapsed(1 year)": lambda c: c.elapsed(START, end),
        "add_business_days(250)": lambda c: c.add_business_days(START, 250),
        "is_open": lambda c: c.is_open(START),
    }
    print(f"{'operation':<32} {'cold µs/call':>14} {'warm µs/call':>14}")
    for name, function in cases.items():
        cold = per_call_us(function, cold=True, n=20)
        warm = per_call_us(function, cold=False, n=20_000)
        print(f"{name:<32} {cold:>14.1f} {warm:>14.2f}")


if __name__ == "__main__":
    main()
