"""How fast running cases move to a new workflow version (``Engine.migrate_cases``).

Opens ``--cases`` repair cases on v2 (tests/fixtures/migration: two thirds of them working,
one third just received, each with a running SLA clock and a state timer), then moves them all
to v3 with the fixture plan (``working`` split in two, a computed field, clocks kept): once as
a dry run and once for real, on a temporary SQLite file (one transaction per case) and on
``memory://``. Prints cases per second. Run: ``python benches/bench_migration.py``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from svcflow import Engine, ManualClock
from svcflow.definitions.workflow import load_workflow_file

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "migration"
PLAN = FIXTURES / "plan.yaml"


def open_cases(url: str, cases: int) -> ManualClock:
    clock = ManualClock("2026-03-02T09:00:00+00:00")
    with Engine([load_workflow_file(FIXTURES / "repair_v2.yaml")], url, clock) as engine:
        for number in range(cases):
            case = engine.start("repair", {"customer": f"c{number}", "device": "laptop"})
            if number % 3:
                engine.fire(case.id, "start_work")
    clock.advance("1h")
    return clock


def migrate(url: str, clock: ManualClock, *, dry_run: bool) -> tuple[int, float]:
    workflows = [load_workflow_file(FIXTURES / f"repair_v{n}.yaml") for n in (2, 3)]
    with Engine(workflows, url, clock) as engine:
        begin = time.perf_counter()
        report = engine.migrate_cases(PLAN, dry_run=dry_run)
        return len(report.moved), time.perf_counter() - begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'cases.db'}"
        clock = open_cases(url, args.cases)
        for dry_run in (True, False):
            moved, seconds = migrate(url, clock, dry_run=dry_run)
            kind = "dry run" if dry_run else "migrate"
            print(f"sqlite  {kind:8} {moved:6,} cases  {seconds:6.2f} s  {moved / seconds:8,.0f}/s")
    # memory://: the cases must be opened by the engine that moves them (nothing persists)
    workflows = [load_workflow_file(FIXTURES / f"repair_v{n}.yaml") for n in (2, 3)]
    clock = ManualClock("2026-03-02T09:00:00+00:00")
    with Engine(workflows[:1], "memory://", clock) as first:
        store = first.store
        for number in range(args.cases):
            case = first.start("repair", {"customer": f"c{number}", "device": "laptop"})
            if number % 3:
                first.fire(case.id, "start_work")
        clock.advance("1h")
        with Engine(workflows, store, clock) as engine:
            begin = time.perf_counter()
            moved = len(engine.migrate_cases(PLAN).moved)
            seconds = time.perf_counter() - begin
    print(f"memory  migrate  {moved:6,} cases  {seconds:6.2f} s  {moved / seconds:8,.0f}/s")


if __name__ == "__main__":
    main()
