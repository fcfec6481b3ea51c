"""Instructions per event for svcflow and the state-machine libraries, and the wall figures beside.

One command measures everything issue 16 set targets for, on the same checkout in the same run:

* **kIr/event** for each variant, with valgrind's cachegrind: the variant runs ``N`` complaint
  cases and then ``2N`` cases in two fresh processes after the same start-up (imports, engine,
  a warm-up of cases), and the difference in total instructions is divided by the extra events.
  Start-up and warm-up cancel out; what is left is the cost of one more event. The ratio against
  bare ``transitions`` (one shared machine) in the same run is the figure the targets are set in.
* **events/s** wall for each variant (best of ``--repeats``, ``time.perf_counter``).
* **bytes per case** of the SQLite file after ``start`` and 3 events (shipped complaint),
  after a WAL checkpoint, free pages not counted.
* **events/s batched** (``batched``): the same path on SQLite (shipped complaint), each round's
  events of all cases sent through ``Engine.fire_many`` (``--batch`` events per transaction,
  each under its savepoint; the starts committed one by one), best of ``--repeats``: what group
  commit gives a host that has events in hand (an import, an intake burst).
* **a due timer** in µs of wall time when ``advance()`` fires a batch of them, with 1,000 and
  100,000 open cases (the extra open cases are copies of a real case, each with its pending
  timers, written straight into the store's tables).
* **kIr per due timer** fired in a batch (``timer_kir``): cachegrind, 100 against 200 due timers
  fired by one ``advance()`` with 1,000 open cases, each file made beforehand outside valgrind.
* **import** CPU seconds of ``python -c "import svcflow"`` and the wall time of ``svcflow --help``
  (best of 5 fresh processes each).

Every case runs the complaint path of ``bench_events.py``: start, acknowledge, investigate,
ask_customer, customer_replied, resolve, follow_up_due, callback_done (8 events). The frozen v1
complaint (``tests/fixtures/complaint_v1/``) has no SLA section; the shipped complaint
(``workflows/complaint.yaml``) has four SLA metrics and an escalation chain.

Run (takes a few minutes; valgrind is slow)::

    nice -n 19 python benches/ir.py                 # everything, 100 vs 200 cases
    nice -n 19 python benches/ir.py --cases 50 --parts kir wall --json out.json
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.machinery
import json
import os
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import bench_events  # noqa: E402  (the harnesses are shared with the wall-clock bench)

V1 = ROOT / "tests" / "fixtures" / "complaint_v1"
SHIPPED = ROOT / "workflows" / "complaint.yaml"
EVENTS = bench_events.EVENTS_PER_CASE
WARMUP = 20
VARIANTS: dict[str, str] = {
    "bare": "bare transitions, one shared machine",
    "psm": "python-statemachine, one instance per case",
    "memory_v1": "svcflow memory://, frozen v1 complaint (no SLA)",
    "sqlite_v1": "svcflow SQLite, frozen v1 complaint",
    "memory_shipped": "svcflow memory://, shipped complaint (4 SLA metrics, escalation)",
    "sqlite_shipped": "svcflow SQLite, shipped complaint",
}
PARTS = ("kir", "wall", "batched", "bytes", "timers", "timer_kir", "startup")
TARGETS = {"memory_v1": 2.0, "memory_shipped": 4.0, "sqlite_shipped": 7.0}


def workflow_dir(tmp: Path, which: str) -> Path:
    """A directory holding only the complaint workflow ``which`` (``v1`` or ``shipped``)."""
    folder = tmp / f"workflows-{which}"
    if not folder.exists():
        folder.mkdir()
        if which == "v1":
            shutil.copy(V1 / "complaint.yaml", folder / "complaint.yaml")
        else:
            shutil.copy(SHIPPED, folder / "complaint.yaml")
            shutil.copytree(ROOT / "workflows" / "templates", folder / "templates")
            if (ROOT / "workflows" / "rules").exists():
                shutil.copytree(ROOT / "workflows" / "rules", folder / "rules")
    return folder


def harness(variant: str, tmp: Path, tag: str = "") -> bench_events.Harness:
    if variant == "bare":
        return bench_events.transitions_harness()
    if variant == "psm":
        return bench_events.statemachine_harness()
    store, which = variant.split("_")
    url = "memory://" if store == "memory" else f"sqlite:///{tmp}/cases-{variant}{tag}.db"
    # without installed plugins: they add their own work and differ from machine to machine
    return bench_events.svcflow_harness(url, workflow_dir(tmp, which), load_plugins=False)


# -- the child: one process that runs N cases after the common start-up --------------------------


def child(variant: str, cases: int) -> None:
    with tempfile.TemporaryDirectory(prefix="svcflow-ir-") as temporary:
        run = harness(variant, Path(temporary))
        try:
            run.run(WARMUP)
            gc.collect()
            closed = run.run(cases)
        finally:
            run.close()
    if closed != cases:
        raise SystemExit(f"only {closed} of {cases} cases reached 'closed'")


# -- instruction counts ---------------------------------------------------------------------------


def instructions(variant: str, cases: int, tmp: Path) -> int:
    """Total instructions of a child process running ``cases`` cases, under cachegrind."""
    out = tmp / f"cachegrind.{variant}.{cases}"
    child = ["--child", variant, "--cases", str(cases)]
    return _count(sys.executable, __file__, *child, out=out)


def _count(*command: str, out: Path, path: Path | None = None) -> int:
    """Total instructions of ``command`` run under cachegrind (with ``PYTHONPATH`` set to
    ``path`` when given: another copy of svcflow's sources, as ``benches/compiled.py`` runs)."""
    valgrind = ["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={out}"]
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    if path is not None:
        environment["PYTHONPATH"] = str(path)
    done = subprocess.run(
        [*valgrind, *command], capture_output=True, text=True, env=environment, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:])} failed:\n{done.stderr[-3000:]}")
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def kir_per_event(variants: list[str], cases: int, tmp: Path, jobs: int) -> dict[str, float]:
    """kIr per event of each variant; the valgrind runs go ``jobs`` at a time (instruction
    counts do not depend on what else the machine runs)."""
    runs = [(variant, n) for variant in variants for n in (cases, 2 * cases)]
    with ThreadPoolExecutor(jobs) as pool:
        counts = dict(zip(runs, pool.map(lambda run: instructions(*run, tmp), runs), strict=True))
    return {
        variant: (counts[variant, 2 * cases] - counts[variant, cases]) / (cases * EVENTS) / 1000
        for variant in variants
    }


# -- wall clock -----------------------------------------------------------------------------------


def events_per_second(variant: str, tmp: Path, cases: int, repeats: int) -> float:
    counter = iter(range(1_000_000))
    seconds = bench_events.best_time(
        lambda: harness(variant, tmp, f"-wall{next(counter)}"), cases, WARMUP, repeats
    )
    return cases * EVENTS / seconds


def batched_events_per_second(tmp: Path, cases: int, repeats: int, batch: int) -> float:
    """Events/s of the shipped complaint on SQLite when each step of the path is fired for all
    ``cases`` cases by one ``Engine.fire_many`` call, ``batch`` events per transaction; the
    starts (one event in eight) are committed one by one, as ``start`` does. Best of
    ``repeats``, each on a new file after the warm-up's cases."""
    from svcflow import Engine, ManualClock
    from svcflow.engine.batch import FireRequest

    folder, best = workflow_dir(tmp, "shipped"), 0.0
    for repeat in range(repeats):
        clock = ManualClock(bench_events.CLOCK_START)
        url = f"sqlite:///{tmp}/batched-{repeat}.db"
        with Engine.from_directory(folder, store=url, clock=clock, load_plugins=False) as engine:

            def run(n: int) -> list[str]:
                start = engine.start
                ids = [
                    start("complaint", bench_events.START_DATA, actor="bench").id for _ in range(n)
                ]
                for trigger, payload in bench_events.STEPS:
                    requests = [FireRequest(case, trigger, payload, "bench") for case in ids]
                    refused = [r.error for r in engine.fire_many(requests, batch=batch) if r.error]
                    if refused:
                        raise RuntimeError(f"fire_many refused an event: {refused[0]}")
                return ids

            run(WARMUP)
            gc.collect()
            began = time.perf_counter()
            ids = run(cases)
            elapsed = time.perf_counter() - began
            if any(engine.get(case).state != "closed" for case in ids):
                raise RuntimeError("a batched case did not reach 'closed'")
        best = max(best, cases * EVENTS / elapsed)
    return best


def bytes_per_case(tmp: Path, cases: int) -> dict[str, float]:
    """SQLite file bytes per case after start + 3 events (shipped complaint), by table and
    index (SQLite's ``dbstat``, pages in use), free pages and the WAL not counted."""
    from svcflow import Engine, ManualClock

    path = tmp / "bytes.db"

    def used() -> dict[str, int]:
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            rows = db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
        return {str(name): int(size) for name, size in rows}

    folder = workflow_dir(tmp, "shipped")
    clock = ManualClock(bench_events.CLOCK_START)
    url = f"sqlite:///{path}"
    with Engine.from_directory(folder, store=url, clock=clock, load_plugins=False) as engine:
        engine.start("complaint", bench_events.START_DATA)
    before = used()
    with Engine.from_directory(folder, store=url, clock=clock, load_plugins=False) as engine:
        for _ in range(cases):
            case = engine.start("complaint", bench_events.START_DATA, actor="bench")
            for trigger, payload in bench_events.STEPS[:3]:
                engine.fire(case.id, trigger, payload, actor="bench")
    grown = {name: (size - before.get(name, 0)) / cases for name, size in used().items()}
    return dict(sorted(((n, b) for n, b in grown.items() if b), key=lambda item: -item[1]))


TIMER_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _clone_cases(path: Path, template_id: str, copies: int) -> None:
    """``copies`` more open cases like ``template_id``, each with that case's pending timers."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TEMP TABLE clones AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
            "SELECT i + 1 FROM n WHERE i < ?) SELECT lower(hex(randomblob(16))) AS id FROM n",
            (copies,),
        )
        db.execute(
            "INSERT INTO cases (id, workflow, version, state, data, revision, created_at, "
            "updated_at, sla) SELECT clones.id, workflow, version, state, data, revision, "
            "created_at, updated_at, sla FROM cases, clones WHERE cases.id = ?",
            (template_id,),
        )
        db.execute(
            "INSERT INTO timers (case_ref, trigger, due_at, owner_state, keep, created_at) "
            "SELECT cases.ref, trigger, due_at, owner_state, keep, timers.created_at "
            "FROM timers, clones JOIN cases ON cases.id = clones.id "
            "WHERE timers.case_ref = (SELECT ref FROM cases WHERE id = ?)",
            (template_id,),
        )


def timer_file(tmp: Path, open_cases: int, due: int) -> Path:
    """A SQLite file of ``open_cases`` open cases (frozen v1 complaint), ``due`` of them with a
    ``response_overdue`` timer due 15 minutes after ``TIMER_START``, the others' due later."""
    from svcflow import Engine, ManualClock

    path = tmp / f"timers-{open_cases}-{due}.db"
    clock = ManualClock(TIMER_START)
    with Engine.from_directory(V1, store=f"sqlite:///{path}", clock=clock, load_plugins=False) as e:
        for index in range(due):
            e.start("complaint", {"customer": f"c{index}"})
        clock.set(TIMER_START + timedelta(hours=1))
        template = e.start("complaint", {"customer": "later"})
    _clone_cases(path, template.id, max(open_cases - due - 1, 0))
    return path


def fire_due(path: Path, due: int) -> float:
    """Seconds of wall time one ``advance()`` takes to fire the ``due`` timers of a
    :func:`timer_file`, after an ``advance()`` that finds nothing due (the file opened, the
    caches warm)."""
    from svcflow import Engine, ManualClock

    clock = ManualClock(TIMER_START)
    url = f"sqlite:///{path}"
    with Engine.from_directory(V1, store=url, clock=clock, load_plugins=False) as engine:
        engine.advance(TIMER_START)
        gc.collect()
        began = time.perf_counter()
        fired = engine.advance(TIMER_START + timedelta(minutes=20))  # the copies' are later
        elapsed = time.perf_counter() - began
    if len(fired) != due:
        raise RuntimeError(f"expected {due} timers to fire, got {len(fired)}")
    return elapsed


def timer_cost(tmp: Path, open_cases: int, due: int) -> float:
    """µs of wall time per due timer fired by one ``advance()``, with ``open_cases`` open."""
    return fire_due(timer_file(tmp, open_cases, due), due) / due * 1e6


KIR_TIMERS = 100
"""Due timers fired under cachegrind: ``KIR_TIMERS`` against twice as many, 1,000 open cases."""


def kir_per_timer(tmp: Path) -> float:
    """kIr per due timer fired in a batch: the instructions of a process firing 2 ×
    ``KIR_TIMERS`` due timers less those of one firing ``KIR_TIMERS`` (each file made
    beforehand, outside valgrind), divided by ``KIR_TIMERS``."""
    counts = []
    for due in (KIR_TIMERS, 2 * KIR_TIMERS):
        path = timer_file(tmp, 1_000, due)
        child = ["--fire-timers", str(path), "--due", str(due)]
        counts.append(_count(sys.executable, __file__, *child, out=tmp / f"cachegrind.t{due}"))
    return (counts[1] - counts[0]) / KIR_TIMERS / 1000


def import_cpu(repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", "import svcflow"], check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best = min(best, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return best


def help_wall(repeats: int = 5) -> float:
    command = [str(Path(sys.executable).parent / "svcflow"), "--help"]
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        best = min(best, time.perf_counter() - began)
    return best


# -- the report -----------------------------------------------------------------------------------


def commit() -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def build() -> str:
    """Which svcflow this bench measures: the pure-Python one, or the build compiled with mypyc
    (``SVCFLOW_COMPILE=1 pip install .``; docs/performance.md), and how many of the modules
    pyproject.toml's ``[tool.svcflow.compiled]`` lists are compiled where it is imported from."""
    sys.path.insert(0, str(ROOT / "build_backend"))
    from compiled_modules import compiled_names

    names = compiled_names()
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    compiled = [name for name in names if importlib.import_module(name).__file__.endswith(suffixes)]
    where = Path(importlib.import_module("svcflow").__file__).parent
    if not compiled:
        return f"pure Python ({where})"
    return f"compiled with mypyc, {len(compiled)} of {len(names)} modules ({where})"


def measure(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    results: dict[str, Any] = {
        "commit": commit(),
        "build": build(),
        "cases": args.cases,
        "variants": {},
    }
    parts = set(args.parts)
    variants = results["variants"]
    if "kir" in parts:
        counted = kir_per_event(args.variants, args.cases, tmp, args.jobs)
        for variant in args.variants:
            variants[variant] = {"kir_per_event": counted[variant]}
        bare = counted.get("bare")
        for figures in variants.values():
            figures["ratio"] = figures["kir_per_event"] / bare if bare else None
    if "wall" in parts:
        for variant in args.variants:
            rate = events_per_second(variant, tmp, args.wall_cases, args.repeats)
            variants.setdefault(variant, {})["events_per_s"] = rate
    if "batched" in parts:
        results["batched_events_per_s"] = batched_events_per_second(
            tmp, args.wall_cases, args.repeats, args.batch
        )
        results["batch"] = args.batch
    if "bytes" in parts:
        results["bytes_per_case"] = bytes_per_case(tmp, args.byte_cases)
    if "timers" in parts:
        results["timer_us"] = {
            str(n): timer_cost(tmp, n, args.due) for n in (1_000, args.many_open_cases)
        }
    if "timer_kir" in parts:
        results["timer_kir"] = kir_per_timer(tmp)
    if "startup" in parts:
        results["import_cpu_s"] = import_cpu()
        results["help_wall_s"] = help_wall()
    return results


def render(results: dict[str, Any]) -> str:
    """The results as Markdown tables and lines; parts not measured are left out."""
    lines = [
        f"commit {results['commit']}, {results['cases']} vs {2 * results['cases']} cases "
        f"x {EVENTS} events under cachegrind; svcflow {results['build']}",
        "",
        "| variant | kIr/event | x bare transitions | target | events/s wall |",
        "|---|---:|---:|---:|---:|",
    ]
    for variant, figures in results["variants"].items():
        kir, ratio, rate = (figures.get(k) for k in ("kir_per_event", "ratio", "events_per_s"))
        target = TARGETS.get(variant)
        lines.append(
            f"| {VARIANTS[variant]} | {'' if kir is None else f'{kir:,.1f}'} | "
            f"{'' if ratio is None else f'{ratio:.1f}'} | "
            f"{'' if target is None else f'<= {target:g}'} | "
            f"{'' if rate is None else f'{rate:,.0f}'} |"
        )
    if "batched_events_per_s" in results:
        lines += [
            "",
            f"SQLite shipped complaint through fire_many ({results['batch']} events a "
            f"transaction): {results['batched_events_per_s']:,.0f} events/s wall",
        ]
    if "bytes_per_case" in results:
        split = results["bytes_per_case"]
        lines += ["", f"SQLite bytes per case after start + 3 events: {sum(split.values()):,.0f}"]
        lines += [f"  {name}: {size:,.0f}" for name, size in split.items()]
    for cases, micros in results.get("timer_us", {}).items():
        lines.append(f"a due timer, fired in a batch, {int(cases):,} open cases: {micros:,.0f} µs")
    if "timer_kir" in results:
        lines.append(
            f"a due timer, fired in a batch, 1,000 open cases: {results['timer_kir']:,.1f} kIr "
            f"({KIR_TIMERS} against {2 * KIR_TIMERS} timers under cachegrind)"
        )
    if "import_cpu_s" in results:
        lines.append(f"import svcflow: {results['import_cpu_s']:.3f} s CPU")
        lines.append(f"svcflow --help: {results['help_wall_s']:.3f} s wall")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100, help="N of the N vs 2N runs")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--wall-cases", type=int, default=1000, help="cases per wall-clock run")
    parser.add_argument("--repeats", type=int, default=3, help="wall-clock repetitions (best)")
    parser.add_argument("--byte-cases", type=int, default=1000, help="cases for bytes per case")
    parser.add_argument(
        "--batch", type=int, default=64, help="events a transaction for the batched part"
    )
    parser.add_argument("--due", type=int, default=500, help="due timers fired in one batch")
    parser.add_argument("--many-open-cases", type=int, default=100_000)
    parser.add_argument(
        "--parts", nargs="+", default=list(PARTS), choices=PARTS, help="what to measure"
    )
    parser.add_argument("--jobs", type=int, default=2, help="valgrind runs at a time")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--child", choices=list(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--fire-timers", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fire_timers:
        fire_due(args.fire_timers, args.due)
        return 0
    if args.child:
        child(args.child, args.cases)
        return 0
    with tempfile.TemporaryDirectory(prefix="svcflow-ir-") as temporary:
        results = measure(args, Path(temporary))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
