"""Crash safety: SIGKILL a process writing to a SQLite store at random points, then check the store.

A child process (``tests/crash_worker.py``) runs a seeded stream of complaint events, each with an
idempotency key, and journals ``SENT key`` before and ``ACK key`` after every call. The parent
kills it once the journal holds a random number of lines, then opens the store with a fresh
engine and checks that

* every case's history is seq 1..revision without gaps, chained state to state, ending in the
  case's state;
* no event is half applied: each history entry's notifications are in the outbox under
  ``{case_id}:{seq}:{n}`` (and nothing else is), and the pending timers are exactly what the
  history scheduled and did not cancel;
* every ACKed key (and no unsent key) is recorded, and each history entry belongs to exactly one
  key;
* re-sending the SENT-but-not-ACKed event applies it exactly once, and re-sending every event sent
  so far adds nothing at all.

The parent then finishes the interrupted stream and starts the next cycle with a new seed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from svcflow import Case, Engine, HistoryEntry, ManualClock

HERE = Path(__file__).resolve().parent
WORKER_PATH = HERE / "crash_worker.py"
WORKFLOWS = HERE / "fixtures" / "complaint_v1"  # frozen: the crash script fits its triggers
CYCLES = 8
BASE_SEED = 20260302
WAIT_LIMIT_SECONDS = 20.0


def _load_worker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("svcflow_crash_worker", WORKER_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


worker = _load_worker()


# -- running and killing the child ----------------------------------------------------------------


def _complete_lines(journal: Path) -> int:
    try:
        return journal.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _pause(proc: subprocess.Popen[bytes], seconds: float) -> None:
    """Wait up to ``seconds`` for the child (returns early if it exits); never time.sleep."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=seconds)


def _run_and_kill(
    db: Path, journal: Path, seed: int, kill_after_lines: int, rng: random.Random, log: Path
) -> int:
    """Run the worker until its journal has ``kill_after_lines`` lines, SIGKILL it a random
    moment later, and return its exit status (-SIGKILL, or 0 if it finished first)."""
    command = [sys.executable, str(WORKER_PATH), str(db), str(WORKFLOWS), str(journal), str(seed)]
    with log.open("wb") as stderr:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            deadline = time.monotonic() + WAIT_LIMIT_SECONDS
            while proc.poll() is None and _complete_lines(journal) < kill_after_lines:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"worker wrote {_complete_lines(journal)} journal lines in "
                        f"{WAIT_LIMIT_SECONDS}s, waiting for {kill_after_lines}"
                    )
                _pause(proc, rng.uniform(0.0002, 0.003))
            _pause(proc, rng.uniform(0.0, 0.002))  # land somewhere inside the next event
            proc.send_signal(signal.SIGKILL)
            return proc.wait(timeout=WAIT_LIMIT_SECONDS)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _read_journal(journal: Path, events: list[Any]) -> tuple[list[Any], set[str]]:
    """The events the worker SENT and the keys it ACKed, checking the journal is well formed: a
    prefix of SENT k1, ACK k1, SENT k2, ... in stream order. A last line without its newline
    was cut by the kill and is ignored (for an ACK that only makes the event look unACKed)."""
    raw = journal.read_bytes() if journal.exists() else b""
    lines = raw.decode("utf-8").split("\n")[:-1]
    expected = [f"{verb} {event.key}" for event in events for verb in ("SENT", "ACK")]
    assert lines == expected[: len(lines)], "journal is not a prefix of the event stream"
    sent = events[: (len(lines) + 1) // 2]
    acked = {event.key for event in events[: len(lines) // 2]}
    return sent, acked


# -- checking the store ---------------------------------------------------------------------------


def _open(db: Path) -> Engine:
    return Engine.from_directory(
        WORKFLOWS, store=f"sqlite:///{db}", clock=ManualClock(worker.CLOCK_START)
    )


TimerRow = tuple[str, datetime, str, bool]


def _timers_from_history(history: Iterable[HistoryEntry]) -> list[TimerRow]:
    """The timers a case should have pending, replaying what its history scheduled/cancelled
    (in the order the store applies it: leave the state, cancel by trigger, then schedule)."""
    pending: list[TimerRow] = []
    for entry in history:
        details = entry.details
        if "left" in details:
            pending = [t for t in pending if t[2] != details["left"] or t[3]]
        for trigger in details.get("cancelled", ()):
            pending = [t for t in pending if t[0] != trigger]
        for timer in details.get("timers", ()):
            due = datetime.fromisoformat(timer["due_at"])
            pending.append((timer["trigger"], due, entry.to_state, timer["keep"]))
    return sorted(pending, key=lambda t: t[1])


def _check_invariants(engine: Engine) -> None:
    """(i)-(iv) for every case in the store, plus timers and no orphan outbox rows."""
    cases = engine.find()
    for case in cases:
        history = engine.history(case.id)
        where = f"case {case.id}"
        assert [entry.seq for entry in history] == list(range(1, case.revision + 1)), where
        assert history[-1].to_state == case.state, where
        assert (history[0].kind, history[0].from_state) == ("started", None), where
        for previous, entry in itertools.pairwise(history):
            assert entry.kind == "transition", where
            assert entry.from_state == previous.to_state, f"{where} seq {entry.seq}"
        queued = {
            f"{case.id}:{entry.seq}:{n}": (spec["template"], tuple(spec["to"]))
            for entry in history
            for n, spec in enumerate(entry.details.get("notifications", ()), start=1)
        }
        outbox = {n.key: (n.template, n.recipients) for n in engine.notifications(case.id)}
        assert outbox == queued, f"{where}: outbox differs from what its history queued"
        timers = [(t.trigger, t.due_at, t.owner_state, t.keep) for t in engine.timers(case.id)]
        assert timers == _timers_from_history(history), f"{where}: timers differ from history"
    assert {n.case_id for n in engine.notifications()} <= {case.id for case in cases}


def _check_keys(engine: Engine, sent: list[Any], unacked: set[str], unsent: list[Any]) -> None:
    """Every sent key but the unACKed ones is recorded and no unsent one is; each recorded key
    is exactly one history entry, the one its event wrote; no case exists without a start key."""
    records = {event.key: engine.store.idempotency(event.key) for event in sent}
    for event in sent:
        if event.key not in unacked:
            assert records[event.key] is not None, f"ACKed event {event.key} is not in the store"
    for event in unsent:
        assert engine.store.idempotency(event.key) is None, f"{event.key} was never sent"
    starts = {
        event.key: record.case.id
        for event in sent
        if event.trigger is None and (record := records[event.key]) is not None
    }
    assert sorted(starts.values()) == sorted(case.id for case in engine.find())
    revisions: dict[str, list[int]] = {case_id: [] for case_id in starts.values()}
    histories = {case_id: engine.history(case_id) for case_id in revisions}
    for event in sent:
        record = records[event.key]
        if record is None:
            continue
        case_id = starts[worker.start_key(event)]
        assert record.case.id == case_id
        assert record.case.state == event.target, event.key
        entry = histories[case_id][record.case.revision - 1]
        assert entry.seq == record.case.revision
        assert entry.trigger == event.trigger, event.key
        assert entry.to_state == event.target, event.key
        if event.trigger is None:
            assert event.payload.items() <= entry.payload.items(), event.key
        else:
            assert entry.payload == event.payload, event.key
        revisions[case_id].append(record.case.revision)
    for case_id, seen in revisions.items():
        assert sorted(seen) == list(range(1, len(histories[case_id]) + 1)), (
            f"case {case_id}: history entries and idempotency keys do not match one to one"
        )


def _same_case(left: Case, right: Case) -> bool:
    return (left.id, left.state, left.revision, dict(left.data), left.updated_at) == (
        right.id,
        right.state,
        right.revision,
        dict(right.data),
        right.updated_at,
    )


def _whole_store(engine: Engine) -> dict[str, Any]:
    return {
        case.id: (
            case,
            engine.history(case.id),
            engine.timers(case.id),
            engine.notifications(case.id),
        )
        for case in engine.find()
    }


def _case_ids(engine: Engine, sent: Iterable[Any]) -> dict[str, str]:
    ids = {}
    for event in sent:
        if event.trigger is None and (record := engine.store.idempotency(event.key)):
            ids[event.key] = record.case.id
    return ids


def _resend_unacked(engine: Engine, pending: list[Any], case_ids: dict[str, str]) -> str:
    """Re-send each SENT-but-not-ACKed event; it must land exactly once. Returns what happened
    to the event in flight: 'committed' (before the kill) or 'lost' (applied now)."""
    outcome = "none"
    for event in pending:
        before = engine.store.idempotency(event.key)
        case_id = case_ids.get(worker.start_key(event))
        length = len(engine.history(case_id)) if case_id else 0
        result = worker.send(engine, event, case_ids)
        history = engine.history(result.id)
        if before is not None:
            outcome = "committed"
            assert _same_case(result, before.case), event.key
            assert len(history) == length, f"{event.key} was applied twice"
        else:
            outcome = "lost"
            assert len(history) == length + 1, f"{event.key} was not applied once"
            assert result.revision == len(history)
            assert (history[-1].trigger, history[-1].to_state) == (event.trigger, event.target)
        assert result.state == event.target
    return outcome


def _resend_everything(engine: Engine, sent: list[Any], case_ids: dict[str, str]) -> None:
    """Re-send every event sent so far with its key: each answers its first result, and the
    store does not change at all (no history entry, timer or notification is added)."""
    before = _whole_store(engine)
    counts = {case_id: len(parts[1]) for case_id, parts in before.items()}
    for event in sent:
        record = engine.store.idempotency(event.key)
        assert record is not None
        result = worker.send(engine, event, case_ids)
        assert _same_case(result, record.case), event.key
    after = _whole_store(engine)
    assert {case_id: len(parts[1]) for case_id, parts in after.items()} == counts
    assert after == before


@pytest.mark.slow
def test_sigkill_at_random_points_never_half_applies_an_event(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    rng = random.Random(BASE_SEED)
    db = tmp_path / "crash.db"
    finished: list[Any] = []  # every event of the streams of earlier cycles, all applied
    exits: list[int] = []
    outcomes: list[str] = []
    for cycle in range(CYCLES):
        seed = BASE_SEED + cycle
        events = worker.plan(seed)
        journal = tmp_path / f"journal-{cycle}.log"
        kill_after = rng.randint(0, 2 * len(events) - 1)
        status = _run_and_kill(db, journal, seed, kill_after, rng, tmp_path / f"worker-{cycle}.err")
        log = (tmp_path / f"worker-{cycle}.err").read_text()
        assert status in (-signal.SIGKILL, 0), f"worker failed ({status}):\n{log}"
        exits.append(status)
        sent, acked = _read_journal(journal, events)
        if status == 0:
            assert len(sent) == len(events) and len(acked) == len(events)
        pending = [event for event in sent if event.key not in acked]
        assert len(pending) <= 1  # the worker sends one event at a time

        with _open(db) as engine:
            _check_invariants(engine)
            unacked = {event.key for event in pending}
            _check_keys(engine, finished + sent, unacked, events[len(sent) :])
            case_ids = _case_ids(engine, finished + sent)
            outcomes.append(_resend_unacked(engine, pending, case_ids))
            _check_invariants(engine)
            _check_keys(engine, finished + sent, set(), events[len(sent) :])
            _resend_everything(engine, finished + sent, case_ids)
            for event in events[len(sent) :]:  # the stream goes on where the worker stopped
                case_id = case_ids.get(worker.start_key(event))
                revision = engine.get(case_id).revision if event.trigger is not None else 0
                result = worker.send(engine, event, case_ids)
                assert (result.state, result.revision) == (event.target, revision + 1)
            finished += events
            _check_invariants(engine)
            _check_keys(engine, finished, set(), [])

    with _open(db) as engine:
        _check_invariants(engine)
        _check_keys(engine, finished, set(), [])
        assert len(engine.find()) == CYCLES * worker.CASES_PER_STREAM
    assert exits.count(-signal.SIGKILL) >= CYCLES // 2, f"too few kills landed: {exits}"
    # What the event in flight at each kill turned out to be: 'lost' (not committed, applied by
    # the re-send), 'committed' (committed but not ACKed), 'none' (killed between events).
    request.node.user_properties += [("worker_exits", exits), ("in_flight_events", outcomes)]
