"""What SLA clocks cost per event: the same workflow with and without its ``sla`` section.

2,000 cases each go received → respond → ask → reply → resolve (5 events incl. the start) on
``memory://`` with a manual clock, on the office calendar (Mon-Fri 09:00-18:00, Europe/London);
the SLA variant runs three metrics (targets by priority, a pause, a reopen policy), so each event
evaluates their conditions, updates the clocks kept with the case and re-schedules their timers.
Also the Python memory an open case holds with and without clocks. Run:
``python benches/bench_sla.py``.
"""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc
from pathlib import Path

from svcflow import Engine, ManualClock, load_workflow_text
from svcflow.definitions.calendars import load_calendar_text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_sla import OFFICE, SUPPORT

CASES = 2_000
WITHOUT_SLA = SUPPORT[: SUPPORT.index("sla:\n")]


def run(text: str) -> tuple[float, float]:
    clock = ManualClock("2026-03-02T09:00:00+00:00")
    engine = Engine(
        [load_workflow_text(text, "support.yaml")],
        "memory://",
        clock,
        calendars=[load_calendar_text(OFFICE, "office.yaml")],
    )
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    ids = [engine.start("support", {"customer": f"c{n}"}).id for n in range(CASES)]
    per_case = (tracemalloc.get_traced_memory()[0] - base) / CASES
    tracemalloc.stop()
    for trigger in ("respond", "ask", "reply", "resolve"):
        for case_id in ids:
            engine.fire(case_id, trigger)
    elapsed = time.perf_counter() - started
    engine.close()
    return elapsed / (CASES * 5) * 1e6, per_case


def main() -> None:
    run(SUPPORT)  # warm up imports and caches
    plain_us, plain_bytes = run(WITHOUT_SLA)
    sla_us, sla_bytes = run(SUPPORT)
    print(f"{CASES} cases x 5 events on memory://")
    print(f"  without sla: {plain_us:8.1f} us/event, {plain_bytes:8.0f} B per started case")
    print(f"  3 metrics:   {sla_us:8.1f} us/event, {sla_bytes:8.0f} B per started case")
    print(f"  SLA cost:    {sla_us - plain_us:8.1f} us/event ({sla_us / plain_us:.2f}x)")


if __name__ == "__main__":
    main()
