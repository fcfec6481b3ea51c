"""Child process of ``tests/test_crash.py``: runs a stream of complaint events on a SQLite store.

Usage: ``python tests/crash_worker.py DB_PATH WORKFLOWS_DIR JOURNAL_PATH SEED``

The stream is a deterministic function of SEED (:func:`plan`): several complaint cases, each
started and then walked through valid triggers, interleaved at random. Every event carries an
idempotency key derived from the seed, so the parent can re-send any of them. Around each engine
call the worker appends to the journal ``SENT <key>`` (before the call) and ``ACK <key>`` (after it
returned), flushing and fsyncing each line, so the parent knows what was in flight when it killed
the process. The clock is a fixed :class:`~svcflow.ManualClock`: no timer ever becomes due.

The parent imports this file for :func:`plan`, :func:`send` and the constants; it is not a test
module (no ``test_`` prefix).
"""

from __future__ import annotations

import os
import random
import sys
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from svcflow import Case, Engine

WORKFLOW = "complaint"
CLOCK_START = "2026-03-02T09:00:00+00:00"
ACTOR = "crash-worker"
CASES_PER_STREAM = 12


class Event(NamedTuple):
    """One event of the stream. ``trigger`` None means: start the case with ``payload``."""

    key: str
    case: int
    trigger: str | None
    payload: dict[str, Any] | None
    target: str


def _moves(rng: random.Random, state: str, step: int) -> list[tuple[str, Any, str]]:
    """The (trigger, payload, target state) choices this stream takes from ``state``."""
    resolution = {"resolution": f"fix-{step}", "compensation_percent": rng.choice([0, 5, 10])}
    return {
        "received": [("acknowledge", None, "acknowledged")] * 3
        + [("response_overdue", None, "received")],
        "acknowledged": [
            ("investigate", None, "investigating"),
            ("ask_customer", None, "waiting_on_customer"),
            ("resolve", resolution, "resolved"),
        ],
        "investigating": [
            ("ask_customer", None, "waiting_on_customer"),
            ("resolve", resolution, "resolved"),
        ],
        "waiting_on_customer": [
            ("customer_replied", {"summary": f"reply-{step}"}, "investigating"),
        ],
        "resolved": [
            ("reopen", None, "investigating"),
            ("follow_up_due", None, "follow_up"),
        ],
        "follow_up": [
            ("callback_done", {"satisfied": True}, "closed"),
            ("callback_done", {"satisfied": False}, "investigating"),
            ("reopen", None, "investigating"),
        ],
        "closed": [],
    }[state]


def _case_events(rng: random.Random, seed: int, case: int) -> list[Event]:
    data = {
        "customer": f"customer-{seed}-{case}",
        "channel": rng.choice(["phone", "email", "chat", "web"]),
        "category": rng.choice(["product_quality", "logistics", "other"]),
        "priority": rng.choice(["low", "normal", "high"]),
    }
    events = [Event(f"crash-{seed}-c{case:02d}-e00-start", case, None, data, "received")]
    state = "received"
    for step in range(1, rng.randint(6, 18)):
        moves = _moves(rng, state, step)
        if not moves:
            break
        trigger, payload, state = rng.choice(moves)
        events.append(
            Event(f"crash-{seed}-c{case:02d}-e{step:02d}-{trigger}", case, trigger, payload, state)
        )
    return events


def plan(seed: int) -> list[Event]:
    """The whole event stream of ``seed``: every case's events, interleaved at random."""
    rng = random.Random(seed)
    per_case = [_case_events(rng, seed, case) for case in range(CASES_PER_STREAM)]
    cursors = [0] * len(per_case)
    stream: list[Event] = []
    while True:
        live = [case for case, events in enumerate(per_case) if cursors[case] < len(events)]
        if not live:
            return stream
        case = rng.choice(live)
        stream.append(per_case[case][cursors[case]])
        cursors[case] += 1


def start_key(event: Event) -> str:
    """The idempotency key of the event that started ``event``'s case."""
    seed = event.key.split("-")[1]
    return f"crash-{seed}-c{event.case:02d}-e00-start"


def send(engine: Engine, event: Event, case_ids: dict[str, str]) -> Case:
    """Send ``event`` with its idempotency key; ``case_ids`` maps start keys to case ids."""
    if event.trigger is None:
        case = engine.start(WORKFLOW, event.payload, actor=ACTOR, idempotency_key=event.key)
        case_ids[event.key] = case.id
        return case
    case_id = case_ids[start_key(event)]
    return engine.fire(
        case_id, event.trigger, event.payload, actor=ACTOR, idempotency_key=event.key
    )


def main(argv: list[str]) -> int:
    db_path, workflows, journal_path, seed = argv[1], argv[2], argv[3], int(argv[4])
    from svcflow import Engine, ManualClock

    store = f"sqlite:///{os.path.abspath(db_path)}"
    case_ids: dict[str, str] = {}
    with (
        open(journal_path, "a", encoding="utf-8") as journal,
        Engine.from_directory(workflows, store=store, clock=ManualClock(CLOCK_START)) as engine,
    ):

        def record(line: str) -> None:
            journal.write(line + "\n")
            journal.flush()
            os.fsync(journal.fileno())

        for event in plan(seed):
            record(f"SENT {event.key}")
            case = send(engine, event, case_ids)
            # Read the event back before acknowledging it, as a caller rendering the result
            # would: this also widens the window in which a kill finds an event committed but
            # not yet ACKed.
            entry = engine.history(case.id)[case.revision - 1]
            if (entry.seq, entry.to_state) != (case.revision, case.state):
                raise SystemExit(f"read back {entry} after {event.key} returned {case}")
            record(f"ACK {event.key}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
