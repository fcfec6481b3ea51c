"""Finding cases among 100,000 in SQLite: what a host had to do before ``Engine.find`` took
filters, and what the indexed query costs now.

"Before" reads every case of the workflow (``store.find_cases``, decoding each) and filters in
Python, as a host asking "the cases of agent-7" or "what breaches in 30 minutes" had to. "After"
asks ``Engine.find`` / ``count`` / ``at_risk`` for one page of 50. The cases are copies of a real
complaint (its data and SLA clocks as the engine wrote them) written straight into the table,
each with its own id, creation moment, assignee and deadline, because starting 100,000 cases
through the engine would take minutes. Run: ``python benches/bench_find.py [--cases 100000]``.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from svcflow import Engine, ManualClock, shipped_workflows
from svcflow.sla.status import sla_report

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
COLUMNS = (
    "id, workflow, version, state, data, revision, created_at, updated_at, sla, customer_id, "
    "assignee, queue, sla_due, sla_breached"
)


def ts(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def fill(path: Path, template: tuple[Any, ...], count: int) -> None:
    """``count`` copies of one case row, created a second apart, 40 assignees, deadlines
    spread over the 15 minutes after each creation, one case in 20 breached."""
    data, sla = json.loads(template[4]), json.loads(template[8])
    rows = []
    for index in range(count):
        created = START + timedelta(seconds=index)
        due = created + timedelta(minutes=15)
        data["assignee"] = f"agent-{index % 40}"
        clock = sla["metrics"]["first_response"]
        clock["deadline"] = due.isoformat()
        breached = index % 20 == 0
        clock["breached_at"] = due.isoformat() if breached else None
        rows.append(
            (
                f"case-{index:06d}",
                *template[1:4],
                json.dumps(data),
                1,
                ts(created),
                ts(created),
                json.dumps(sla),
                None,
                data["assignee"],
                None,
                None if breached else ts(due),
                int(breached),
            )
        )
    with sqlite3.connect(path) as db:
        db.executemany(f"INSERT INTO cases ({COLUMNS}) VALUES ({', '.join('?' * 14)})", rows)


def best_of(runs: int, action: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(runs):
        began = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - began)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cases.db"
        clock = ManualClock(START)
        with Engine.from_directory(shipped_workflows(), f"sqlite:///{path}", clock) as engine:
            case = engine.start("complaint", {"customer": "Li Wei", "assignee": "agent-0"})
        with sqlite3.connect(path) as db:
            template = db.execute("SELECT * FROM cases WHERE id = ?", (case.id,)).fetchone()
            db.execute("DELETE FROM history")
            db.execute("DELETE FROM timers")
            db.execute("DELETE FROM notifications")
            db.execute("DELETE FROM deliveries")
            db.execute("DELETE FROM cases")
        fill(path, template, args.cases)
        clock.set(START + timedelta(seconds=args.cases // 2))
        with Engine.from_directory(shipped_workflows(), f"sqlite:///{path}", clock) as engine:
            report(engine, args.cases, args.runs)


def report(engine: Engine, cases: int, runs: int) -> None:
    now = engine.clock.now()
    store = engine.store

    def before_assignee() -> Sequence[object]:
        found = store.find_cases(workflow="complaint")
        return [c for c in found if c.data.get("assignee") == "agent-7"][:50]

    def before_at_risk() -> Sequence[object]:
        found = store.find_cases(workflow="complaint")
        policy = engine.registry.current["complaint"].sla
        assert policy is not None
        soon = now + timedelta(minutes=30)
        risky = [
            (status.deadline, c.id)
            for c in found
            for status in sla_report(policy, c.sla, now)
            if status.status == "running" and status.deadline and status.deadline <= soon
        ]
        return sorted(risky)[:50]

    rows = [
        ("before: find_cases + filter by assignee (first 50)", before_assignee),
        ("before: find_cases + at risk in 30 min (first 50)", before_at_risk),
        ("find(assignee=, limit=50)", lambda: engine.find(assignee="agent-7", limit=50)),
        ("find(limit=50): pages 1 to 100 in turn", lambda: hundredth(engine)),
        ("count(assignee=)", lambda: engine.count(assignee="agent-7")),
        ("count(sla='breached')", lambda: engine.count(sla="breached")),
        ("at_risk('30m', limit=50)", lambda: engine.at_risk("30m", limit=50)),
        ("count(sla='at_risk', within='30m')", lambda: engine.count(sla="at_risk")),
    ]
    print(f"{cases:,} complaint cases in SQLite; best of {runs}")
    for label, action in rows:
        took, result = best_of(runs, action)
        size = result if isinstance(result, int) else len(result)  # type: ignore[arg-type]
        print(f"  {label:<52} {took * 1000:9.1f} ms  ({size} found)")


def hundredth(engine: Engine) -> object:
    page = engine.find(limit=50)
    for _ in range(99):
        page = engine.find(limit=50, after=page.next)
    return page


if __name__ == "__main__":
    main()
