"""How the store grows with a chat whose transcript grows by one message per event (issue 13,
item 4): the shipped ``im_first_response`` workflow, one case, N customer messages of 10 KiB
fired after a hand-over, on a SQLite file. Prints the file's size after the engine closes, the
size of the messages, the ratio, the time of the N events and of reading the history back.

Before large history texts were stored once: 200 messages made a 207 MiB store.
Run: ``python benches/bench_history_size.py [N ...]`` (default 50 100 200 400).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from svcflow import Engine, ManualClock

WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"
BODY = 10 * 1024


def one(replies: int, folder: Path) -> None:
    path = folder / f"chat-{replies}.db"
    engine = Engine.from_directory(
        WORKFLOWS, store=f"sqlite:///{path}", clock=ManualClock("2026-03-02T09:00:00+00:00")
    )
    case = engine.start("im_first_response", {"customer": "u1", "question": "q" * BODY})
    engine.fire(case.id, "hand_over", {"agent": "ann"})
    started = time.perf_counter()
    for n in range(replies):
        engine.fire(case.id, "customer_message", {"last_message": f"{n:05d}" + "m" * (BODY - 5)})
    fired = time.perf_counter() - started
    started = time.perf_counter()
    engine.history(case.id)
    read = time.perf_counter() - started
    engine.close()
    size, bodies = path.stat().st_size, (replies + 1) * BODY
    print(
        f"{replies:5d} messages: store {size / 2**20:6.1f} MiB, messages {bodies / 2**20:5.1f} "
        f"MiB, ratio {size / bodies:4.1f}; {replies} events {fired:5.2f} s, "
        f"history read {read:5.2f} s"
    )


def main() -> None:
    counts = [int(arg) for arg in sys.argv[1:]] or [50, 100, 200, 400]
    with tempfile.TemporaryDirectory() as folder:
        for replies in counts:
            one(replies, Path(folder))


if __name__ == "__main__":
    main()
