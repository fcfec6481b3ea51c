"""How the store grows with a chat whose transcript grows by one message per event (issue 13,
item 4): the shipped ``im_first_response`` workflow, one case, N customer messages of 10 KiB
fired after a hand-over, on a SQLite file. Prints the file's size after the engine closes (and
how much of it is free pages), the size of the messages, the ratio, the time of the N events
(wall and CPU), the CPU of one event over the last 20 (does it grow with the transcript?) and
the time of reading the history back.

Before large history texts were stored once: 200 messages made a 207 MiB store; before the
case's own data texts were (issue 13, schema step 13): 6.7 MiB, of which about 2 MiB free pages.
Run: ``python benches/bench_history_size.py [N ...]`` (default 50 100 200 400).
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from svcflow import Engine, ManualClock

WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"
BODY = 10 * 1024
LAST = 20
"""The per-event CPU is measured over the last this many events (the longest transcripts)."""


def one(replies: int, folder: Path) -> None:
    path = folder / f"chat-{replies}.db"
    engine = Engine.from_directory(
        WORKFLOWS, store=f"sqlite:///{path}", clock=ManualClock("2026-03-02T09:00:00+00:00")
    )
    case = engine.start("im_first_response", {"customer": "u1", "question": "q" * BODY})
    engine.fire(case.id, "hand_over", {"agent": "ann"})
    started, cpu = time.perf_counter(), time.process_time()
    for n in range(replies):
        if n == replies - LAST:
            last_cpu = time.process_time()
        engine.fire(case.id, "customer_message", {"last_message": f"{n:05d}" + "m" * (BODY - 5)})
    fired, cpu, last = (
        time.perf_counter() - started,
        time.process_time() - cpu,
        (time.process_time() - last_cpu) / LAST,
    )
    started = time.perf_counter()
    engine.history(case.id)
    read = time.perf_counter() - started
    engine.close()
    size, bodies = path.stat().st_size, (replies + 1) * BODY
    with sqlite3.connect(path) as db:
        [(free,)] = db.execute("PRAGMA freelist_count")
        [(page,)] = db.execute("PRAGMA page_size")
    print(
        f"{replies:5d} messages: store {size / 2**20:5.1f} MiB ({free * page / 2**20:4.1f} MiB "
        f"free pages), messages {bodies / 2**20:4.1f} MiB, ratio {size / bodies:3.1f}; "
        f"{replies} events {fired:5.2f} s wall, {cpu:5.2f} s CPU, last {LAST}: "
        f"{last * 1000:5.1f} ms CPU per event; history read {read:5.2f} s"
    )


def main() -> None:
    counts = [int(arg) for arg in sys.argv[1:]] or [50, 100, 200, 400]
    with tempfile.TemporaryDirectory() as folder:
        for replies in counts:
            one(replies, Path(folder))


if __name__ == "__main__":
    main()
