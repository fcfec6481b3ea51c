"""Due timers fired per transaction: microseconds per due timer with one transaction per firing
(``commit_batch=1``, how ``advance`` worked before issue 15) and with batched commits (64 per
transaction, the default), with 1,000 and 100,000 open cases in one SQLite file.

1,000 complaint cases are started through the engine, each with its first-response warning due
at +10 minutes; for the larger store, open cases are added by copying one of them straight into
the tables (each with its own id and a timer due next year), because starting 100,000 cases
through the engine would take minutes. Each variant fires the same 1,000 due timers on its own
copy of the file. Run: ``python benches/bench_batches.py [--due 1000] [--open 1000 100000]``.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from svcflow import Engine, ManualClock
from svcflow.store.sqlite.rows import micros

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / "tests" / "fixtures" / "complaint_v1"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def build(path: Path, due: int, open_cases: int) -> None:
    """``due`` cases whose first timer falls due at +10 minutes, and copies of one case with a
    timer due next year up to ``open_cases`` open cases."""
    clock = ManualClock(START)
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        cases = [engine.start("complaint", {"customer": f"c{i}"}).id for i in range(due)]
    extra = max(0, open_cases - due)
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(cases)")]
        template = db.execute("SELECT * FROM cases WHERE id = ?", (cases[0],)).fetchone()
        at, ref = columns.index("id"), columns.index("ref")  # (a new case: a new ref)
        rows = [(*template[:at], f"open-{n:06d}", *template[at + 1 :]) for n in range(extra)]
        rows = [(*row[:ref], None, *row[ref + 1 :]) for row in rows]
        db.executemany(f"INSERT INTO cases VALUES ({', '.join('?' * len(columns))})", rows)
        later = micros(START + timedelta(days=365))  # (schema step 19: a BLOB)
        db.executemany(
            "INSERT INTO timers (case_ref, trigger, due_at, owner_state, keep, created_at) "
            "VALUES ((SELECT ref FROM cases WHERE id = ?), 'resolution_overdue', ?, 'received', "
            "1, ?)",
            [(f"open-{n:06d}", later, micros(START)) for n in range(extra)],
        )


def fire(path: Path, commit_batch: int) -> tuple[int, float, float]:
    """Fire every due timer at +20 minutes; how many, and the seconds it took (wall clock,
    and CPU of this process: on a shared machine the second says more)."""
    clock = ManualClock(START + timedelta(minutes=20))
    with Engine.from_directory(
        WORKFLOWS, store=f"sqlite:///{path}", clock=clock, commit_batch=commit_batch
    ) as engine:
        began, cpu = time.perf_counter(), time.process_time()
        fired = engine.advance()
        return len(fired), time.perf_counter() - began, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--open", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="svcflow-batches-"))
    print(f"{args.due:,} due timers; µs per due timer (wall / CPU), best of {args.runs}")
    print(f"{'open cases':>12} {'1 per transaction':>20} {'64 per transaction':>20}")
    for open_cases in args.open:
        base = folder / f"open-{open_cases}.db"
        build(base, args.due, open_cases)
        figures = []
        for batch in (1, 64):
            wall = cpu = float("inf")
            for run in range(args.runs):
                copy = folder / f"run-{open_cases}-{batch}-{run}.db"
                shutil.copyfile(base, copy)
                fired, took, used = fire(copy, batch)
                assert fired >= args.due, (fired, args.due)
                wall, cpu = min(wall, took / fired * 1e6), min(cpu, used / fired * 1e6)
                copy.unlink()
            figures.append(f"{wall:,.0f} / {cpu:,.0f}")
        print(f"{open_cases:>12,} {figures[0]:>20} {figures[1]:>20}")
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
