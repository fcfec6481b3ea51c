"""The SQLite event path split in two: its SQL statements alone, and what svcflow does above them.

``benches/ir.py`` gives one figure for the shipped complaint on SQLite (kIr an event). This bench
says how much of it is SQLite's own work, and what each part of the schema costs, so that a pass
on issue 16 knows which side of the line a saving can come from:

1. **Record.** The shipped complaint runs on a SQLite file as in ``ir.py`` (the warm-up's
   cases, then ``N`` and ``N`` more cases); every statement the store's connection runs after the
   warm-up is recorded with its parameters (the reads too: the view's ``PRAGMA data_version``,
   a case read back). The file as the warm-up left it is kept.
2. **Replay.** A child process copies that file, opens it as the store does (WAL, ``synchronous
   NORMAL``, the store's checkpoint interval, foreign keys on) with the standard library's
   ``sqlite3``, and runs the recorded statements straight, fetching what a read returns: under
   cachegrind, the statements of ``N`` cases and of ``2N`` cases, the difference divided by
   the extra events (the method of ``ir.py``). What is left is what the statements cost
   through ``sqlite3`` and no more: no svcflow code runs.
3. **Price list.** The same replay with one thing of the schema taken away (foreign keys off, or
   one index the event path writes dropped): what that thing costs an event. With APSW installed
   (``pip install apsw``, not a dependency of svcflow), the replay through APSW and the SQLite
   it bundles as well.
4. **WAL frames** an event's commit writes, by b-tree (the replay with checkpoints off, the
   frames' page numbers read from the WAL file and named with ``dbstat``): every frame is a page
   copied and checksummed and two ``pwrite`` calls, at each commit.
5. **Wall** µs an event of the replay (best of ``--repeats``) beside the engine's own (``ir.py``).

Run (a few minutes; valgrind is slow)::

    nice -n 19 python benches/sql_floor.py --cases 40
    nice -n 19 python benches/sql_floor.py --cases 40 --variants stored no_foreign_keys
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import pickle
import shutil
import sqlite3
import struct
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_events  # noqa: E402
import ir  # noqa: E402

EVENTS = bench_events.EVENTS_PER_CASE
VARIANTS: dict[str, str] = {
    "stored": "the statements as the store runs them",
    "no_foreign_keys": "foreign keys off",
    "no_cases_by_state": "without the index cases_by_state",
    "no_cases_by_updated": "without the index cases_by_updated",
    "no_cases_by_sla_due": "without the index cases_by_sla_due",
    "no_timers_by_case": "without the index timers_by_case",
    "apsw": "through APSW and the SQLite it bundles",
}
_DROPPED = {
    name: name.removeprefix("no_")
    for name in VARIANTS
    if name.startswith(("no_cases", "no_timers"))
}
"""The index each ``no_<index>`` variant drops."""

Call = tuple[str, str, Any]  # ("one" | "many", statement, parameters)


# -- 1. recording ---------------------------------------------------------------------------------


class _Recorder:
    """Where the recording connection's cursors put what they run, once ``on`` is set."""

    on: ClassVar[bool] = False
    calls: ClassVar[list[Call]] = []


class _RecordingCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:  # type: ignore[override]
        if _Recorder.on:
            _Recorder.calls.append(("one", sql, tuple(parameters)))
        return super().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> sqlite3.Cursor:  # type: ignore[override]
        rows = [tuple(row) for row in seq_of_parameters]
        if _Recorder.on:
            _Recorder.calls.append(("many", sql, rows))
        return super().executemany(sql, rows)


class _RecordingConnection(sqlite3.Connection):
    def cursor(self, factory: Any = _RecordingCursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:  # type: ignore[override]
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> sqlite3.Cursor:  # type: ignore[override]
        return self.cursor().executemany(sql, seq_of_parameters)


@contextmanager
def _recording_connections() -> Iterator[None]:
    """``sqlite3.connect`` hands out recording connections while the block runs."""
    connect = sqlite3.connect

    def recording(*args: Any, **options: Any) -> sqlite3.Connection:
        return connect(*args, factory=_RecordingConnection, **options)

    sqlite3.connect = recording  # type: ignore[assignment]
    try:
        yield
    finally:
        sqlite3.connect = connect  # type: ignore[assignment]


def record(tmp: Path, cases: int) -> tuple[Path, Path]:
    """Run the warm-up and ``2 * cases`` shipped complaints on SQLite as ``ir.py`` does; keep
    the file as the warm-up left it and the statements of the cases after it (with the index at
    which the second ``cases`` begin). Returns (start file, recording)."""
    start, recording = tmp / "start.db", tmp / "statements.pickle"
    with _recording_connections():
        harness = ir.harness("sqlite_shipped", tmp, "-recorded")
        try:
            _run(harness, ir.WARMUP)
            _copy(tmp / "cases-sqlite_shipped-recorded.db", start)
            _Recorder.calls, _Recorder.on = [], True
            try:
                _run(harness, cases)
                half = len(_Recorder.calls)
                _run(harness, cases)
            finally:
                _Recorder.on = False
        finally:
            harness.close()
    recording.write_bytes(pickle.dumps((half, _Recorder.calls), protocol=pickle.HIGHEST_PROTOCOL))
    return start, recording


def _run(harness: bench_events.Harness, cases: int) -> None:
    closed = harness.run(cases)
    if closed != cases:
        raise RuntimeError(f"only {closed} of {cases} cases reached 'closed'")


def _copy(path: Path, to: Path) -> None:
    """``path``'s committed content, WAL included, as a file of its own at ``to``."""
    source, copy = sqlite3.connect(path), sqlite3.connect(to)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()


# -- 2. replay (a child process) ------------------------------------------------------------------


def _open(path: Path, variant: str, checkpoints: bool = True) -> Any:
    """A connection to ``path`` set up as the store sets its own up, with ``variant`` applied."""
    from svcflow.store.sqlite import store as sqlite_store

    pages = sqlite_store._WAL_CHECKPOINT_PAGES if checkpoints else 0
    pragmas = [
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        f"PRAGMA wal_autocheckpoint={pages}",
        f"PRAGMA foreign_keys={'OFF' if variant == 'no_foreign_keys' else 'ON'}",
    ]
    if variant == "apsw":
        import apsw

        connection = apsw.Connection(str(path))
        for pragma in pragmas:
            connection.execute(pragma)
        return connection
    connection = sqlite3.connect(path, isolation_level=None)
    if variant in _DROPPED:
        connection.execute(f"DROP INDEX {_DROPPED[variant]}")
    for pragma in pragmas:
        connection.execute(pragma)
    return connection


def _replayed(
    start: Path, recording: Path, variant: str, which: str, checkpoints: bool
) -> tuple[Any, Path, float]:
    """Run the recorded statements of the first ``N`` (``which`` = "half") or of all ``2N``
    cases on a copy of the start file; (the open connection, the copy, the seconds the
    statements took)."""
    half, calls = pickle.loads(recording.read_bytes())
    if which == "half":
        calls = calls[:half]
    path = start.with_name(f"replayed-{variant}-{which}-{os.getpid()}.db")
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(start, path)
    connection = _open(path, variant, checkpoints)
    cursor = connection.cursor()
    gc.collect()
    began = time.perf_counter()
    for kind, sql, parameters in calls:
        if kind == "one":
            cursor.execute(sql, parameters)
            if sql.lstrip()[:6].upper() in ("SELECT", "PRAGMA"):
                cursor.fetchall()
        else:
            cursor.executemany(sql, parameters)
    return connection, path, time.perf_counter() - began


def replay(start: Path, recording: Path, variant: str, which: str) -> float:
    """The seconds the recorded statements took (see :func:`_replayed`)."""
    connection, _, seconds = _replayed(start, recording, variant, which, checkpoints=True)
    connection.close()
    return seconds


# -- 3. instruction counts ------------------------------------------------------------------------


def kir_per_event(
    start: Path, recording: Path, variants: list[str], cases: int, jobs: int
) -> dict[str, float]:
    """kIr an event of the replay, per variant (cachegrind, N against 2N cases)."""
    runs = [(variant, which) for variant in variants for which in ("half", "all")]

    def count(run: tuple[str, str]) -> int:
        variant, which = run
        out = start.with_name(f"cachegrind.{variant}.{which}")
        child = ["--replay", str(start), str(recording), variant, which]
        return ir._count(sys.executable, __file__, *child, out=out)

    with ThreadPoolExecutor(jobs) as pool:
        counts = dict(zip(runs, pool.map(count, runs), strict=True))
    return {
        variant: (counts[variant, "all"] - counts[variant, "half"]) / (cases * EVENTS) / 1000
        for variant in variants
    }


# -- 4. WAL frames --------------------------------------------------------------------------------


def wal_frames(path: Path, connection: Any) -> dict[str, float]:
    """Frames a commit wrote to ``path``'s WAL (never checkpointed), by the b-tree each page
    belongs to; ``"all"`` is every frame. (The WAL format: a 32-byte header, then per frame a
    24-byte header whose first two big-endian words are the page number and, in a commit's
    last frame, the file's size in pages.)"""
    wal = path.with_name(path.name + "-wal").read_bytes()
    page_size = struct.unpack(">I", wal[8:12])[0]
    pages, commits, offset = [], 0, 32
    while offset + 24 <= len(wal):
        page, size_after = struct.unpack(">II", wal[offset : offset + 8])
        pages.append(page)
        commits += size_after != 0
        offset += 24 + page_size
    named = dict(
        (page, name)
        for name, page in connection.execute("SELECT name, pageno FROM dbstat").fetchall()
    )
    counted = collections.Counter(named.get(page, "(free)") for page in pages)
    frames = {name: count / commits for name, count in counted.most_common()}
    return {"all": len(pages) / commits, **frames}


def frames_per_commit(start: Path, recording: Path, variant: str) -> dict[str, float]:
    """WAL frames a commit of the replay writes, by b-tree (checkpoints off)."""
    connection, path, _ = _replayed(start, recording, variant, "all", checkpoints=False)
    try:
        return wal_frames(path, connection)
    finally:
        connection.close()


# -- the whole ------------------------------------------------------------------------------------


def measure(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    variants = [v for v in args.variants if v != "apsw" or _has_apsw()]
    start, recording = record(tmp, args.cases)
    results: dict[str, Any] = {"commit": ir.commit(), "cases": args.cases, "variants": {}}
    kir = kir_per_event(start, recording, variants, args.cases, args.jobs)
    whole = ir.kir_per_event(["sqlite_shipped"], args.cases, tmp, args.jobs)["sqlite_shipped"]
    half, calls = pickle.loads(recording.read_bytes())
    statements = sum(1 if kind == "one" else len(rows) for kind, _, rows in calls[half:])
    results["whole_kir"] = whole
    results["statements_per_event"] = statements / (args.cases * EVENTS)
    for variant in variants:
        seconds = min(replay(start, recording, variant, "all") for _ in range(args.repeats))
        frames = frames_per_commit(start, recording, variant) if variant != "apsw" else {}
        results["variants"][variant] = {
            "kir": kir[variant],
            "us_per_event": seconds / (2 * args.cases * EVENTS) * 1e6,
            "frames": frames,
        }
    wall = ir.events_per_second("sqlite_shipped", tmp, args.wall_cases, args.repeats)
    results["whole_us_per_event"] = 1e6 / wall
    return results


def _has_apsw() -> bool:
    try:
        import apsw  # noqa: F401
    except ImportError:
        return False
    return True


def render(results: dict[str, Any]) -> str:
    whole = results["whole_kir"]
    lines = [
        f"commit {results['commit']}, {results['cases']} vs {2 * results['cases']} cases x "
        f"{EVENTS} events under cachegrind; SQLite {sqlite3.sqlite_version} (sqlite3)",
        "",
        "| what | kIr/event | WAL frames/commit | µs/event wall |",
        "|---|---:|---:|---:|",
        f"| the whole event (`ir.py` sqlite_shipped) | {whole:,.1f} |  | "
        f"{results['whole_us_per_event']:,.0f} |",
    ]
    for variant, found in results["variants"].items():
        frames = found["frames"].get("all")
        lines.append(
            f"| {VARIANTS[variant]} | {found['kir']:,.1f} | "
            f"{'' if frames is None else f'{frames:.2f}'} | {found['us_per_event']:,.0f} |"
        )
    stored = results["variants"].get("stored")
    if stored is not None:
        lines += [
            "",
            f"statements an event: {results['statements_per_event']:.2f}; above them "
            f"(svcflow's own work): {whole - stored['kir']:,.1f} kIr an event",
            "WAL frames a commit by b-tree (as stored): "
            + ", ".join(f"{name} {count:.2f}" for name, count in stored["frames"].items()),
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=40, help="N of the N vs 2N runs")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--repeats", type=int, default=3, help="wall-clock repetitions (best)")
    parser.add_argument("--wall-cases", type=int, default=1000, help="cases of the engine's run")
    parser.add_argument("--jobs", type=int, default=2, help="valgrind runs at a time")
    parser.add_argument("--replay", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.replay:
        start, recording, variant, which = args.replay
        replay(Path(start), Path(recording), variant, which)
        return 0
    with tempfile.TemporaryDirectory(prefix="svcflow-floor-") as temporary:
        print(render(measure(args, Path(temporary))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
