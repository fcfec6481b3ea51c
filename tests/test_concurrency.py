"""Concurrent writers: optimistic locking, lost-update races, threads and idempotency keys.

Two engines on one store stand for two processes (SQLite) or two components of one process
(a shared memory store). A stale writer must get ``ConcurrencyConflict`` and write nothing; a
writer that loses a race between its read and its commit must never overwrite the winner; a
retried idempotency key answers its first result without writing.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from support.stores import PatchableSqliteStore
from svcflow import (
    Case,
    ConcurrencyConflict,
    Engine,
    IdempotencyKeyReused,
    ManualClock,
)

WORKFLOWS = Path(__file__).resolve().parent / "fixtures" / "complaint_v1"  # frozen v1
NOW = "2026-03-02T09:00:00+00:00"
STORE_KINDS = ["sqlite", "memory"]


def _engine(store: Any) -> Engine:
    return Engine.from_directory(WORKFLOWS, store=store, clock=ManualClock(NOW))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "cases.db"


@pytest.fixture(params=[*STORE_KINDS, "postgres"])
def pair(request: pytest.FixtureRequest, db: Path) -> Iterator[tuple[Engine, Engine]]:
    """Two engines on one store: two SQLite connections to one file, two PostgreSQL
    connection pools on one database, or one shared MemoryStore."""
    if request.param == "sqlite":  # (tests replace the stores' methods: support.stores)
        first = _engine(PatchableSqliteStore(db))
        second = _engine(PatchableSqliteStore(db))
    elif request.param == "postgres":
        url = request.getfixturevalue("postgres_schema_url")
        first = _engine(url)
        second = _engine(url)
        assert first.store is not second.store
    else:
        first = _engine("memory://")
        second = _engine(first.store)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def _snapshot(engine: Engine) -> dict[str, Any]:
    """Everything the engine can read back: every case with its history, timers and outbox."""
    return {
        case.id: {
            "case": case,
            "history": engine.history(case.id),
            "timers": engine.timers(case.id),
            "notifications": engine.notifications(case.id),
        }
        for case in engine.find()
    }


def _conflict_message(case_id: str, expected: int, actual: int) -> str:
    return (
        f"case {case_id} was changed by another writer: expected revision {expected}, store is "
        f"at revision {actual}; nothing was written, re-read the case and retry"
    )


def _assert_consistent(engine: Engine, case: Case) -> None:
    history = engine.history(case.id)
    assert [entry.seq for entry in history] == list(range(1, case.revision + 1))
    assert history[-1].to_state == case.state
    for previous, entry in itertools.pairwise(history):
        assert entry.from_state == previous.to_state
    queued = sorted(
        f"{case.id}:{entry.seq}:{n}"
        for entry in history
        for n, _ in enumerate(entry.details.get("notifications", ()), start=1)
    )
    assert sorted(n.key for n in engine.notifications(case.id)) == queued


def _acknowledged(engine: Engine, customer: str = "ada") -> Case:
    case = engine.start("complaint", {"customer": customer}, actor="intake")
    return engine.fire(case.id, "acknowledge", actor="agent-1")


# -- (a) and (e): a stale writer with expected_revision, on SQLite and on the memory store --------


def test_stale_expected_revision_raises_conflict_and_writes_nothing(
    pair: tuple[Engine, Engine],
) -> None:
    first, second = pair
    case = _acknowledged(first)
    seen_by_first, seen_by_second = first.get(case.id), second.get(case.id)
    assert seen_by_first == seen_by_second
    assert (seen_by_second.state, seen_by_second.revision) == ("acknowledged", 2)

    moved = first.fire(case.id, "investigate", actor="agent-1", expected_revision=2)
    assert (moved.state, moved.revision) == ("investigating", 3)
    before = _snapshot(first)
    assert _snapshot(second) == before

    # The stale writer would enter waiting_on_customer: a notification and a timer if written.
    with pytest.raises(ConcurrencyConflict) as caught:
        second.fire(
            case.id,
            "ask_customer",
            actor="agent-2",
            idempotency_key="agent-2:ask",
            expected_revision=seen_by_second.revision,
        )
    assert str(caught.value) == _conflict_message(case.id, 2, 3)
    assert (caught.value.case_id, caught.value.expected_revision) == (case.id, 2)
    assert caught.value.actual_revision == 3

    after = _snapshot(second)
    assert after == before == _snapshot(first)
    only = after[case.id]
    assert len(only["history"]) == 3
    assert only["case"].state == "investigating"
    assert [t.trigger for t in only["timers"]] == ["resolution_overdue"]
    assert [n.template for n in only["notifications"]] == ["complaint_received"]
    assert second.store.idempotency("agent-2:ask") is None  # the key stays free for a retry

    # Re-reading and retrying with the same key succeeds, once.
    retried = second.fire(
        case.id, "ask_customer", actor="agent-2", idempotency_key="agent-2:ask", expected_revision=3
    )
    assert (retried.state, retried.revision) == ("waiting_on_customer", 4)
    assert first.get(case.id) == retried
    assert [n.key for n in first.notifications(case.id)] == [f"{case.id}:1:1", f"{case.id}:4:1"]
    _assert_consistent(first, retried)


# -- (b) a race between read and commit, without expected_revision --------------------------------


def _lose_race_after_read(
    monkeypatch: pytest.MonkeyPatch, loser: Engine, winner_move: Callable[[str], Any]
) -> list[dict[str, Any]]:
    """Make ``loser``'s next ``load_case`` return what it read, but only after ``winner_move``
    committed. Returns a list that receives the store snapshot taken right after the winner."""
    original = loser.store.load_case
    taken: list[dict[str, Any]] = []

    def read_then_lose(case_id: str) -> Case | None:
        loaded = original(case_id)
        if not taken:
            taken.append({})  # with a shared memory store the winner reads through here too
            winner_move(case_id)
            taken[0] = _snapshot(loser)
        return loaded

    monkeypatch.setattr(loser.store, "load_case", read_then_lose)
    return taken


def test_writer_that_loses_the_race_gets_conflict_and_never_overwrites(
    pair: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = pair
    case = _acknowledged(first)
    winner: list[Case] = []
    after_winner = _lose_race_after_read(
        monkeypatch,
        second,
        lambda case_id: winner.append(first.fire(case_id, "investigate", actor="agent-1")),
    )

    with pytest.raises(ConcurrencyConflict) as caught:
        second.fire(case.id, "ask_customer", actor="agent-2", idempotency_key="agent-2:ask")
    assert str(caught.value) == _conflict_message(case.id, 2, 3)
    assert (winner[0].state, winner[0].revision) == ("investigating", 3)

    monkeypatch.undo()
    assert _snapshot(first) == _snapshot(second) == after_winner[0]
    assert first.get(case.id) == winner[0]
    assert [entry.trigger for entry in first.history(case.id)] == [
        None,
        "acknowledge",
        "investigate",
    ]
    assert first.store.idempotency("agent-2:ask") is None
    _assert_consistent(first, winner[0])


def test_same_key_racing_between_read_and_commit_answers_the_winners_result(
    pair: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = pair
    case = _acknowledged(first)
    winner: list[Case] = []
    _lose_race_after_read(
        monkeypatch,
        second,
        lambda case_id: winner.append(
            first.fire(case_id, "investigate", actor="agent-1", idempotency_key="investigate-1")
        ),
    )

    result = second.fire(case.id, "investigate", actor="agent-1", idempotency_key="investigate-1")
    assert result == winner[0]
    assert (result.state, result.revision) == ("investigating", 3)
    monkeypatch.undo()
    history = first.history(case.id)
    assert [(entry.trigger, entry.actor) for entry in history] == [
        (None, "intake"),
        ("acknowledge", "agent-1"),
        ("investigate", "agent-1"),
    ]


def test_same_key_for_another_trigger_racing_between_read_and_commit_is_refused(
    pair: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = pair
    case = _acknowledged(first)
    _lose_race_after_read(
        monkeypatch,
        second,
        lambda case_id: first.fire(case_id, "investigate", idempotency_key="event-7"),
    )

    with pytest.raises(IdempotencyKeyReused) as caught:
        second.fire(case.id, "ask_customer", idempotency_key="event-7")
    assert str(caught.value) == (
        f"idempotency key 'event-7' was first used for trigger 'investigate' on case {case.id} "
        f"and cannot be reused for trigger 'ask_customer' on case {case.id}; use a new key for a "
        "new event"
    )
    assert caught.value.key == "event-7"
    monkeypatch.undo()
    assert [entry.trigger for entry in first.history(case.id)][-1] == "investigate"
    assert first.get(case.id).revision == 3


def test_two_starts_with_one_key_racing_create_one_case(
    pair: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = pair
    original = second.store.idempotency
    winner: list[Case] = []
    raced: list[str] = []

    def stale_lookup(key: str) -> Any:
        found = original(key)
        if not raced:  # the other engine starts the same case right after this lookup
            raced.append(key)  # (with a shared memory store the winner looks up through here)
            winner.append(first.start("complaint", {"customer": "ada"}, idempotency_key=key))
        return found

    monkeypatch.setattr(second.store, "idempotency", stale_lookup)
    result = second.start("complaint", {"customer": "ada"}, idempotency_key="ticket-42")
    monkeypatch.undo()
    assert result == winner[0]
    assert [case.id for case in first.find()] == [result.id]
    assert len(first.history(result.id)) == 1
    assert len(first.notifications()) == 1


# -- (c) threads ----------------------------------------------------------------------------------

ROUNDS = 8


def _script() -> list[tuple[str, dict[str, Any] | None]]:
    """acknowledge, then ROUNDS x (ask, reply, resolve, reopen): 2 + 4 * ROUNDS events."""
    steps: list[tuple[str, dict[str, Any] | None]] = [("acknowledge", None)]
    for n in range(ROUNDS):
        steps += [
            ("ask_customer", None),
            ("customer_replied", {"summary": f"reply {n}"}),
            ("resolve", {"resolution": f"fix {n}"}),
            ("reopen", None),
        ]
    return steps


@pytest.mark.parametrize("sharing", ["shared-engine", "engine-per-thread"])
def test_threads_on_different_cases_all_succeed(db: Path, sharing: str) -> None:
    url = f"sqlite:///{db}"
    engines = [_engine(url)] if sharing == "shared-engine" else [_engine(url) for _ in range(4)]
    barrier = threading.Barrier(4)

    def run(worker: int) -> tuple[str, list[int]]:
        engine = engines[worker % len(engines)]
        barrier.wait(timeout=30)
        case = engine.start(
            "complaint", {"customer": f"thread-{worker}"}, idempotency_key=f"t{worker}:start"
        )
        revisions = [case.revision]
        for step, (trigger, payload) in enumerate(_script(), start=1):
            case = engine.fire(case.id, trigger, payload, idempotency_key=f"t{worker}:{step}")
            revisions.append(case.revision)
        return case.id, revisions

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = [future.result() for future in [pool.submit(run, n) for n in range(4)]]
        with _engine(url) as fresh:
            assert len(fresh.find()) == 4
            for case_id, revisions in results:
                assert revisions == list(range(1, len(_script()) + 2))
                case = fresh.get(case_id)
                assert (case.state, case.revision) == ("investigating", 2 + 4 * ROUNDS)
                assert case.data["reopen_count"] == ROUNDS
                assert case.data["resolution"] == f"fix {ROUNDS - 1}"
                assert fresh.timers(case_id) == []
                assert len(fresh.notifications(case_id)) == 1 + 2 * ROUNDS
                _assert_consistent(fresh, case)
    finally:
        for engine in engines:
            engine.close()


@pytest.mark.parametrize("kind", [*STORE_KINDS, "postgres"])
def test_threads_contending_for_one_case_never_lose_an_update(
    db: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    """4 threads x 10 response_overdue on the same case, retrying each on ConcurrencyConflict
    with the same key: every event lands exactly once."""
    urls = {"sqlite": f"sqlite:///{db}", "memory": "memory://"}
    url = urls.get(kind) or request.getfixturevalue("postgres_schema_url")
    first = _engine(url)
    engines = [first] + [_engine(first.store if kind == "memory" else url) for _ in range(3)]
    case = first.start("complaint", {"customer": "ada"})
    barrier = threading.Barrier(4)

    def run(worker: int) -> None:
        engine = engines[worker]
        barrier.wait(timeout=30)
        for n in range(10):
            for _ in range(1000):
                try:
                    engine.fire(case.id, "response_overdue", idempotency_key=f"w{worker}:{n}")
                    break
                except ConcurrencyConflict:
                    continue  # nothing was written: retry the same event with the same key
            else:
                raise AssertionError(f"worker {worker} never got event {n} in")

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(run, n) for n in range(4)]
            for future in futures:
                future.result()  # re-raises a worker's failure
        final = first.get(case.id)
        assert (final.state, final.revision) == ("received", 41)
        assert final.data["priority"] == "high"
        _assert_consistent(first, final)
        assert len(first.notifications(case.id)) == 41
        revisions = sorted(
            first.store.idempotency(f"w{w}:{n}").case.revision for w in range(4) for n in range(10)
        )
        assert revisions == list(range(2, 42))
    finally:
        for engine in engines:
            engine.close()


# -- (d) idempotency keys -------------------------------------------------------------------------


def _table_rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the SQLite file, to prove that nothing at all was written."""
    connection = sqlite3.connect(db)
    try:
        tables = [
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        return {
            table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in tables
        }
    finally:
        connection.close()


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_retried_key_returns_the_first_result_and_writes_nothing(db: Path, kind: str) -> None:
    engine = _engine(f"sqlite:///{db}" if kind == "sqlite" else "memory://")
    with engine:
        started = engine.start("complaint", {"customer": "ada"}, idempotency_key="start-ada")
        acked = engine.fire(started.id, "acknowledge", idempotency_key="ack-1")
        resolved = engine.fire(
            started.id, "resolve", {"resolution": "refund"}, idempotency_key="resolve-1"
        )
        assert (resolved.state, resolved.revision) == ("resolved", 3)
        assert resolved.data["resolved_at"] is not None
        rows = _table_rows(db) if kind == "sqlite" else None
        snapshot = _snapshot(engine)

        again = engine.fire(
            started.id, "resolve", {"resolution": "refund"}, idempotency_key="resolve-1"
        )
        assert again == resolved
        assert (again.revision, dict(again.data)) == (3, dict(resolved.data))
        # A retry that still carries the revision it was first sent with is answered, not
        # refused as stale: the event it repeats is the one that moved the case on.
        retry = engine.fire(
            started.id,
            "resolve",
            {"resolution": "refund"},
            idempotency_key="resolve-1",
            expected_revision=2,
        )
        assert retry == resolved
        # An older key answers its own first result, not the case as it is now, whatever the
        # retry carries.
        assert engine.fire(started.id, "acknowledge", idempotency_key="ack-1") == acked
        with pytest.raises(IdempotencyKeyReused) as caught:
            engine.start("complaint", {"customer": "bob"}, idempotency_key="start-ada")
        assert str(caught.value) == (
            "idempotency key 'start-ada' was first used for starting a 'complaint' case, and "
            "this request's data differs from the first one's; a retry must repeat the request "
            "exactly, so nothing was done: use a new key for a new event"
        )
        assert caught.value.differs == ("data",)
        with pytest.raises(IdempotencyKeyReused) as caught:
            engine.fire(started.id, "resolve", {"resolution": "no"}, "bot", "resolve-1")
        assert caught.value.differs == ("actor", "payload")
        assert _snapshot(engine) == snapshot
        if rows is not None:
            assert _table_rows(db) == rows

        # Another engine (after a restart, or another component on the shared memory store).
        store = f"sqlite:///{db}" if kind == "sqlite" else engine.store
        with _engine(store) as other:
            assert (
                other.fire(
                    started.id, "resolve", {"resolution": "refund"}, idempotency_key="resolve-1"
                )
                == resolved
            )
            assert other.start("complaint", {"customer": "ada"}, idempotency_key="start-ada") == (
                started
            )
            assert _snapshot(other) == snapshot
        if rows is not None:
            assert _table_rows(db) == rows


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_key_reused_for_another_event_is_refused_with_full_message(db: Path, kind: str) -> None:
    with _engine(f"sqlite:///{db}" if kind == "sqlite" else "memory://") as engine:
        case = engine.start("complaint", {"customer": "ada"}, idempotency_key="start-ada")
        other = engine.start("complaint", {"customer": "bob"}, idempotency_key="start-bob")
        engine.fire(case.id, "acknowledge", idempotency_key="ack-1")
        snapshot = _snapshot(engine)
        rows = _table_rows(db) if kind == "sqlite" else None

        with pytest.raises(IdempotencyKeyReused) as caught:
            engine.fire(case.id, "investigate", idempotency_key="ack-1")
        assert str(caught.value) == (
            f"idempotency key 'ack-1' was first used for trigger 'acknowledge' on case {case.id} "
            f"and cannot be reused for trigger 'investigate' on case {case.id}; use a new key "
            "for a new event"
        )
        assert caught.value.key == "ack-1"

        with pytest.raises(IdempotencyKeyReused) as caught:
            engine.fire(other.id, "acknowledge", idempotency_key="ack-1")
        assert str(caught.value) == (
            f"idempotency key 'ack-1' was first used for trigger 'acknowledge' on case {case.id} "
            f"and cannot be reused for trigger 'acknowledge' on case {other.id}; use a new key "
            "for a new event"
        )

        with pytest.raises(IdempotencyKeyReused) as caught:
            engine.fire(case.id, "investigate", idempotency_key="start-ada")
        assert str(caught.value) == (
            "idempotency key 'start-ada' was first used for starting a 'complaint' case and "
            f"cannot be reused for trigger 'investigate' on case {case.id}; use a new key for a "
            "new event"
        )

        with pytest.raises(IdempotencyKeyReused) as caught:
            engine.start("complaint", {"customer": "ada"}, idempotency_key="ack-1")
        assert str(caught.value) == (
            f"idempotency key 'ack-1' was first used for trigger 'acknowledge' on case {case.id} "
            "and cannot be reused for starting a 'complaint' case; use a new key for a new event"
        )

        assert _snapshot(engine) == snapshot
        if rows is not None:
            assert _table_rows(db) == rows
