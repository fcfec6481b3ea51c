"""Due-timer lookups with 1,000,000 pending timers in SQLite.

Measures ``Engine.advance()`` when nothing is due and when 1,000 timers are due, with a million
timers pending in the store, and the Python memory an ``advance`` round allocates (it must not
grow with the number of pending timers or open cases). The million timers are written straight
into the ``timers`` table (through the store's own schema) because creating them through
``engine.start`` would take minutes; the 1,000 due ones belong to real cases so that firing them
runs the whole unit of work. Run: ``python benches/bench_timers.py [--pending 1000000]``.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from svcflow import Engine, ManualClock
from svcflow.store.sqlite.rows import micros

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def fill(path: Path, case_id: str, pending: int) -> None:
    """Add ``pending`` timers due over the next year (none due at START + 1h)."""
    with sqlite3.connect(path) as db:
        stamp = START.isoformat(timespec="microseconds")
        rows = (
            (
                case_id,
                "resolution_overdue",
                micros(START + timedelta(hours=2, seconds=index * 30)),  # (schema step 19)
                "acknowledged",
                1,
                stamp,
            )
            for index in range(pending)
        )
        db.executemany(
            "INSERT INTO timers (case_ref, trigger, due_at, owner_state, keep, created_at) "
            "VALUES ((SELECT ref FROM cases WHERE id = ?), ?, ?, ?, ?, ?)",
            rows,
        )


def best_of(runs: int, action: object) -> float:
    best = float("inf")
    for _ in range(runs):
        began = time.perf_counter()
        action()  # type: ignore[operator]
        best = min(best, time.perf_counter() - began)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pending", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1_000)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="svcflow-timers-"))
    clock = ManualClock(START)
    url = f"sqlite:///{directory / 'timers.db'}"
    with Engine.from_directory(
        ROOT / "tests" / "fixtures" / "complaint_v1", store=url, clock=clock
    ) as engine:
        anchor = engine.start("complaint", {"customer": "anchor"})
        engine.fire(anchor.id, "acknowledge")
        cases = [engine.start("complaint", {"customer": f"c{i}"}).id for i in range(args.due)]
        clock.set(START + timedelta(minutes=10))
        for index in range(args.due):  # a second batch, due at +25m, for the memory round
            engine.start("complaint", {"customer": f"m{index}"})
    began = time.perf_counter()
    fill(directory / "timers.db", anchor.id, args.pending)
    print(
        f"{args.pending:,} pending timers written in {time.perf_counter() - began:.1f} s; "
        f"2 x {args.due:,} cases with a timer due at +15m and +25m"
    )
    with Engine.from_directory(
        ROOT / "tests" / "fixtures" / "complaint_v1", store=url, clock=clock
    ) as engine:
        clock.set(START + timedelta(minutes=12))
        idle = best_of(20, engine.advance)
        print(f"advance() with nothing due: {idle * 1e3:.3f} ms (best of 20)")
        clock.set(START + timedelta(minutes=20))
        began = time.perf_counter()
        fired = engine.advance()
        busy = time.perf_counter() - began
        assert len(fired) == len(cases), (len(fired), len(cases))
        print(
            f"advance() with {len(fired):,} due: {busy * 1e3:.1f} ms "
            f"({busy / len(fired) * 1e6:.0f} µs per timer, each its own committed transaction)"
        )
        clock.set(START + timedelta(minutes=30))
        tracemalloc.start()
        fired = engine.advance()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"peak Python memory of a round firing {len(fired):,} timers: {peak / 1024:,.0f} KiB")
        tracemalloc.start()
        engine.advance()
        idle_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"peak Python memory of an idle round: {idle_peak / 1024:,.1f} KiB")


if __name__ == "__main__":
    main()
