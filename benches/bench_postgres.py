"""PostgreSQL against SQLite, side by side in one run on this machine.

* **events/s** with 1, 2 and 4 processes, each firing events at cases of its own (one ``fire``
  = load, step, one committed transaction) on one store;
* **due timers fired per second** with 1 to 4 worker processes sharing one timer table;
* **an idle ``advance()``** (nothing due) with 1,000,000 pending timers in the table.

PostgreSQL is the test suite's throwaway server (``tests/support/postgres.py``: fsync and
synchronous_commit off, so neither store waits for the disk at a commit; SQLite runs in WAL
mode with ``synchronous=NORMAL``, its default). Run under ``nice``:
``nice -n 19 python benches/bench_postgres.py [--events 2000] [--timers 4000]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.postgres import TemporaryCluster
from support.workflows import MINIMAL
from svcflow import Engine, ManualClock, load_workflow_text
from svcflow.store.sqlite.rows import micros

NOW = "2026-03-02T09:00:00+00:00"
CASES_PER_PROCESS = 50


def _engine(url: str, now: str = NOW) -> Engine:
    return Engine([load_workflow_text(MINIMAL, "ticket.yaml")], url, ManualClock(now))


def _fire_events(url: str, events: int, ready: Any, go: Any, out: Any) -> None:
    with _engine(url) as engine:
        ids = [engine.start("ticket", {"customer": "c"}).id for _ in range(CASES_PER_PROCESS)]
        ready.wait()
        go.wait()
        started = time.perf_counter()
        for n in range(events):
            engine.fire(ids[n % len(ids)], "remind")
        out.put((events, started, time.perf_counter()))


def _fire_timers(url: str, now: str, ready: Any, go: Any, out: Any) -> None:
    with _engine(url, now) as engine:
        ready.wait()
        go.wait()
        started = time.perf_counter()
        fired = len(engine.advance())
        out.put((fired, started, time.perf_counter()))


def _together(target: Callable[..., None], processes: int, *args: Any) -> float:
    """Run ``processes`` copies of ``target``, released at once; work done per second, from
    the first start to the last finish."""
    context = multiprocessing.get_context("fork")
    ready, go, out = context.Barrier(processes + 1), context.Barrier(processes + 1), context.Queue()
    workers = [
        context.Process(target=target, args=(*args, ready, go, out)) for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    ready.wait()
    go.wait()
    results = [out.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    done = sum(r[0] for r in results)
    return done / (max(r[2] for r in results) - min(r[1] for r in results))


def _stores(cluster: TemporaryCluster, folder: Path) -> dict[str, Callable[[], str]]:
    counter = iter(range(1_000_000))
    return {
        "PostgreSQL": cluster.create_database,
        "SQLite": lambda: f"sqlite:///{folder / f'bench-{next(counter)}.db'}",
    }


def events_per_second(stores: dict[str, Callable[[], str]], events: int) -> None:
    print("events/s, processes firing at cases of their own")
    for name, fresh in stores.items():
        rates = {n: _together(_fire_events, n, fresh(), events) for n in (1, 2, 4)}
        line = "  ".join(f"{n} proc {rate:7.0f}/s" for n, rate in rates.items())
        print(f"  {name:<11} {line}  (2 proc = {rates[2] / rates[1]:.2f}x 1 proc)", flush=True)


def timers_per_second(stores: dict[str, Callable[[], str]], timers: int) -> None:
    print(f"due timers fired/s, {timers} due timers shared by N worker processes")
    later = "2026-03-02T10:00:00+00:00"
    for name, fresh in stores.items():
        rates = []
        for workers in (1, 2, 3, 4):
            url = fresh()
            with _engine(url) as engine:
                for n in range(timers):
                    engine.start("ticket", {"customer": f"c{n}"})
            rates.append(_together(_fire_timers, workers, url, later))
        line = "  ".join(f"{n + 1} w {rate:6.0f}/s" for n, rate in enumerate(rates))
        print(f"  {name:<11} {line}", flush=True)


def _fill_postgres(url: str, pending: int) -> None:
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(
            "INSERT INTO timers (case_id, trigger, due_at, owner_state, keep, created_at) "
            "SELECT (SELECT id FROM cases LIMIT 1), 'expire', %s::timestamptz + g * interval "
            "'1 second', 'new', 0, %s FROM generate_series(1, %s) AS g",
            (NOW, NOW, pending),
        )
        db.execute("ANALYZE timers")


def _fill_sqlite(url: str, pending: int) -> None:
    first = datetime(2026, 3, 3, 9, tzinfo=UTC)
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        db.executemany(  # (moments as schema step 19 keeps them)
            "INSERT INTO timers (case_ref, trigger, due_at, owner_state, keep, created_at) "
            "VALUES ((SELECT ref FROM cases LIMIT 1), 'expire', ?, 'new', 0, ?)",
            [(micros(first + timedelta(seconds=n)), micros(first)) for n in range(1, pending + 1)],
        )


def idle_advance(stores: dict[str, Callable[[], str]], pending: int) -> None:
    print(f"idle advance() with {pending:,} pending timers (none due)")
    fills = {"PostgreSQL": _fill_postgres, "SQLite": _fill_sqlite}
    for name, fresh in stores.items():
        url = fresh()
        with _engine(url) as engine:
            engine.start("ticket", {"customer": "c"})
        started = time.perf_counter()
        fills[name](url, pending)
        filled = time.perf_counter() - started
        with _engine(url) as engine:
            engine.advance()
            best = min(_timed(engine.advance) for _ in range(20))
        print(f"  {name:<11} {1000 * best:6.2f} ms per idle advance  (filling took {filled:.0f} s)")


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="events per process")
    parser.add_argument("--timers", type=int, default=4000, help="due timers per run")
    parser.add_argument("--pending", type=int, default=1_000_000, help="idle pending timers")
    args = parser.parse_args()
    with TemporaryCluster() as cluster, tempfile.TemporaryDirectory() as folder:
        stores = _stores(cluster, Path(folder))
        events_per_second(stores, args.events)
        timers_per_second(stores, args.timers)
        idle_advance(stores, args.pending)


if __name__ == "__main__":
    main()
