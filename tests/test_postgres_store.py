"""The PostgreSQL store as operators meet it: opened by URL, migrated once even when several
workers start together, and refusing bad URLs and unreachable servers with a clear message.
What every store promises is in ``test_store_conformance.py``."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import errors

from support.workflows import MINIMAL
from svcflow import Engine, ManualClock, load_workflow_text
from svcflow.errors import StoreBusy, StoreError, StoreFault, StoreFull
from svcflow.store.base import (
    DuplicateMessage,
    IdempotentReplay,
    NewNotification,
    NewTimer,
    ScopeTaken,
)
from svcflow.store.postgres import SCHEMA_VERSION, PostgresStore
from svcflow.store.postgres.store import describe, read_fault, store_fault
from svcflow.store.registry import open_store
from test_store_conformance import _case, _change, _delivery, _message, _open

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_postgresql_url_opens_the_postgresql_store(postgres_schema_url: str) -> None:
    url = postgres_schema_url.replace("postgresql://", "postgres://", 1)
    store = open_store(f"{url}&pool_size=2")  # svcflow's own option never reaches libpq
    try:
        assert isinstance(store, PostgresStore)
        assert store.schema_version() == SCHEMA_VERSION
        assert store.where == describe(postgres_schema_url)  # named as libpq's scheme
        store.add_dead_letter("sms", "raw", "text", "no sender", T0)  # in the test's schema
        with psycopg.connect(postgres_schema_url) as other:
            assert other.execute("SELECT count(*) FROM dead_letters").fetchone() == (1,)
    finally:
        store.close()


def test_workers_starting_together_migrate_a_new_database_once(
    postgres_database_url: str,
) -> None:
    barrier = threading.Barrier(6)
    opened: list[PostgresStore] = []
    failures: list[BaseException] = []

    def start() -> None:
        barrier.wait(timeout=30)
        try:
            opened.append(PostgresStore(postgres_database_url, pool_size=1))
        except BaseException as failure:
            failures.append(failure)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in opened:
        store.close()
    assert failures == []
    assert len(opened) == 6
    with psycopg.connect(postgres_database_url) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert db.execute("SELECT count(*) FROM cases").fetchone() == (0,)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "postgresql://svcflow:secret@127.0.0.1:1/cases",
            "cannot open the PostgreSQL store postgresql://svcflow@127.0.0.1:1/cases: connection "
            'failed: connection to server at "127.0.0.1", port 1 failed: Connection refused; '
            "check the URL (postgresql://user@host:port/database) and that the server accepts "
            "this user",
        ),
        (
            "postgresql://svcflow@127.0.0.1:1/cases?pool_size=many",
            "invalid pool_size='many' in the PostgreSQL store URL "
            "postgresql://svcflow@127.0.0.1:1/cases: use a whole number, for example pool_size=10",
        ),
        (
            "postgresql://svcflow@127.0.0.1:1/cases?pool_size=",
            "invalid pool_size='' in the PostgreSQL store URL "
            "postgresql://svcflow@127.0.0.1:1/cases: use a whole number, for example pool_size=10",
        ),
    ],
)
def test_bad_postgresql_urls_say_what_is_wrong_without_the_password(url: str, message: str) -> None:
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert str(caught.value) == message


def test_a_row_locked_past_lock_timeout_is_store_busy_and_nothing_is_written(
    postgres_database_url: str, clock: ManualClock
) -> None:
    url = f"{postgres_database_url}?options=-c%20lock_timeout%3D200"
    with Engine([load_workflow_text(MINIMAL, "ticket.yaml")], url, clock) as engine:
        case = engine.start("ticket", {"customer": "Ann"})
        with psycopg.connect(postgres_database_url) as other:  # holds the row until it ends
            other.execute("SELECT 1 FROM cases WHERE id = %s FOR UPDATE", (case.id,))
            with pytest.raises(StoreBusy) as caught:
                engine.fire(case.id, "take")
        assert str(caught.value) == (
            f"the store {describe(url)} could not write: lock not available (SQLSTATE 55P03): "
            "canceling statement due to lock timeout; nothing was written; other writers held "
            "it too long; retry"
        )
        assert [entry.kind for entry in engine.history(case.id)] == ["started"]
        assert engine.fire(case.id, "take").state == "open"


def _terminate_others(url: str) -> None:
    """End every other session on the database, as a server restart or a network cut would."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def test_a_lost_connection_is_a_store_error_and_the_next_statement_reconnects(
    postgres_database_url: str,
) -> None:
    store = PostgresStore(postgres_database_url, pool_size=1)
    try:
        store.add_dead_letter("sms", "first", "text", "no sender", T0)
        _terminate_others(postgres_database_url)
        with pytest.raises(StoreFault) as caught:
            store.add_dead_letter("sms", "second", "text", "no sender", T0)
        assert str(caught.value).startswith(
            f"the store {describe(postgres_database_url)} could not write: connection lost ("
        )
        assert str(caught.value).endswith("; nothing was written; retry; the pool reconnects")
        store.add_dead_letter("sms", "third", "text", "no sender", T0)
        assert [letter.raw for letter in store.dead_letters()] == ["first", "third"]
        _terminate_others(postgres_database_url)
        with pytest.raises(StoreError) as lost:
            store.dead_letters()
        assert str(lost.value).startswith(
            f"the store {describe(postgres_database_url)} could not read: connection lost ("
        )
        assert len(store.dead_letters()) == 2
    finally:
        store.close()


@pytest.mark.parametrize(
    ("error", "kind", "cause"),
    [
        (errors.DiskFull("could not extend file"), StoreFull, "disk full (SQLSTATE 53100)"),
        (errors.SerializationFailure("could not serialize"), StoreBusy, "serialization failure"),
        (errors.DeadlockDetected("deadlock detected"), StoreBusy, "deadlock (SQLSTATE 40P01)"),
        (errors.CheckViolation("violates check"), StoreFault, "CheckViolation (SQLSTATE 23514)"),
    ],
)
def test_postgresql_errors_map_to_the_documented_store_errors(
    error: psycopg.Error, kind: type[StoreFault], cause: str
) -> None:
    fault = store_fault("postgresql://db", error)
    assert type(fault) is kind
    assert fault.cause.startswith(cause)


WHERE = "postgresql://svcflow@db.example:5432/cases"
LOST = "; nothing was written; retry; the pool reconnects"


@pytest.mark.parametrize(
    ("error", "kind", "message"),
    [
        (
            errors.DiskFull("could not extend file: No space left on device\nHINT: free space"),
            StoreFull,
            f"the store {WHERE} could not write: disk full (SQLSTATE 53100): could not extend "
            "file: No space left on device; nothing was written; free disk space (or raise its "
            "size limit) and retry",
        ),
        (
            errors.QueryCanceled("canceling statement due to statement timeout"),
            StoreBusy,
            f"the store {WHERE} could not write: statement cancelled (statement_timeout) "
            "(SQLSTATE 57014): canceling statement due to statement timeout; nothing was "
            "written; other writers held it too long; retry",
        ),
        (
            errors.AdminShutdown("terminating connection due to administrator command"),
            StoreFault,
            f"the store {WHERE} could not write: connection lost (SQLSTATE 57P01: terminating "
            f"connection due to administrator command){LOST}",
        ),
        (
            errors.ConnectionFailure("could not send data to server"),
            StoreFault,
            f"the store {WHERE} could not write: connection lost (SQLSTATE 08006: could not "
            f"send data to server){LOST}",
        ),
        (
            psycopg.OperationalError("server closed the connection unexpectedly"),
            StoreFault,
            f"the store {WHERE} could not write: connection lost (server closed the connection "
            f"unexpectedly){LOST}",
        ),
        (
            psycopg.OperationalError(""),  # libpq gave no message
            StoreFault,
            f"the store {WHERE} could not write: connection lost (OperationalError){LOST}",
        ),
        (
            psycopg.DatabaseError("the server sent an unexpected reply"),
            StoreFault,
            f"the store {WHERE} could not write: DatabaseError (SQLSTATE ?): the server sent an "
            "unexpected reply; nothing was written",
        ),
    ],
)
def test_each_failed_write_names_the_store_and_says_what_to_do(
    error: psycopg.Error, kind: type[StoreFault], message: str
) -> None:
    fault = store_fault(WHERE, error)
    assert (type(fault), str(fault)) == (kind, message)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            errors.QueryCanceled("canceling statement due to statement timeout"),
            f"the store {WHERE} could not read: canceling statement due to statement timeout "
            "(SQLSTATE 57014); retry",
        ),
        (
            errors.ConnectionFailure("could not receive data from server"),
            f"the store {WHERE} could not read: connection lost (SQLSTATE 08006: could not "
            "receive data from server); retry: the pool reconnects",
        ),
        (
            psycopg.OperationalError(""),  # libpq gave no message
            f"the store {WHERE} could not read: connection lost (OperationalError); retry: the "
            "pool reconnects",
        ),
        (psycopg.DatabaseError("syntax error"), None),  # a bug, raised as it is
        (errors.UniqueViolation("duplicate key"), None),
    ],
)
def test_a_read_the_server_could_not_answer_says_to_retry_and_a_bug_is_raised_as_it_is(
    error: psycopg.Error, message: str | None
) -> None:
    fault = read_fault(WHERE, error)
    assert (None if fault is None else (type(fault), str(fault))) == (
        None if message is None else (StoreError, message)
    )


def test_work_due_within_a_minute_of_its_commit_wakes_a_listener_and_no_other_does(
    postgres_schema_url: str,
) -> None:
    writer, listener = _open(postgres_schema_url), _open(postgres_schema_url)
    assert isinstance(listener, PostgresStore)
    try:
        assert listener.wait_for_work(0.01) is None  # listening from here on

        def queued(case_id: str, *deliveries: Any, timers: Any = ()) -> None:
            note = NewNotification(f"{case_id}:n1", "opened", ("customer",), "email", False)
            keyed = [d._replace(notification_key=note.key) for d in deliveries]
            writer.commit(
                _change(_case(case_id), notifications=[note], deliveries=keyed, timers=timers)
            )

        dead = _delivery("d0")._replace(status="dead", error="template failed: x")
        queued("c1", _delivery("d1", minutes=1), dead)  # due a minute after: workers poll
        assert listener.wait_for_work(0.2) is None
        soon = T0 + timedelta(seconds=30)
        queued("c2", dead._replace(key="d2"), timers=[NewTimer("remind", soon, "new", False)])
        assert listener.wait_for_work(10) == soon
        queued("c3", _delivery("d3")._replace(next_attempt_at=T0 + timedelta(seconds=59)))
        assert listener.wait_for_work(10) == T0 + timedelta(seconds=59)
        batch = [_change(_case("c4"), timers=[NewTimer("remind", soon, "new", False)])]
        earlier = NewTimer("remind", T0 + timedelta(seconds=5), "new", False)
        batch.append(_change(_case("c1"), timers=[earlier]))  # refused: c1 exists
        assert [type(outcome).__name__ for outcome in writer.commit_many(batch)] == [
            "NoneType",
            "ConcurrencyConflict",
        ]
        assert listener.wait_for_work(10) == soon  # the refused change's timer is not work
        with psycopg.connect(postgres_schema_url, autocommit=True) as other:
            other.execute("NOTIFY svcflow_work, 'not a moment'")  # someone else's: look now
        woken = listener.wait_for_work(10)
        assert woken is not None and woken.tzinfo is not None
    finally:
        writer.close()
        listener.close()
        listener.close()  # closing again does nothing


RACES = {
    # what both writers' changes share, and what the loser learns about the winner
    "idempotency key": (
        {"idempotency_key": "event-7"},
        lambda refusal: isinstance(refusal, IdempotentReplay) and refusal.record.case.id == "a",
    ),
    "customer scope": (
        {"customer_id": "cust-1", "open_scope": "care:cust-1"},
        lambda refusal: isinstance(refusal, ScopeTaken) and refusal.case_id == "a",
    ),
    "message": (
        {"messages": [_message("m1")]},
        lambda refusal: isinstance(refusal, DuplicateMessage) and refusal.case_id == "a",
    ),
}


def _race(url: str, monkeypatch: pytest.MonkeyPatch, winner: Any, winning: Any, lose: Any) -> None:
    """Commit ``winning`` (case ``a``) on ``winner``, held after its last write; run ``lose``
    until it waits for the winner's uncommitted row at a unique index; then let the winner
    commit, and wait for both."""
    written, release = threading.Event(), threading.Event()
    original = winner._apply
    held_by: list[int] = []

    def hold_the_winner(db: Any, change: Any, prepared: Any) -> Any:
        timers = original(db, change, prepared)
        if change.case.id == "a" and change.idempotency_key:  # all written, not yet committed
            held_by.append(db.connection.info.backend_pid)
            written.set()
            release.wait(30)
        return timers

    monkeypatch.setattr(winner, "_apply", hold_the_winner)
    first = threading.Thread(target=winner.commit, args=(winning,))
    second = threading.Thread(target=lose)
    try:
        first.start()
        assert written.wait(30)
        second.start()
        _wait_until_blocked_by(url, held_by[0])
    finally:
        release.set()
        first.join(30)
        second.join(30)


@pytest.mark.parametrize("batch", [False, True], ids=["commit", "commit_many"])
@pytest.mark.parametrize("shared", list(RACES))
def test_a_writer_that_meets_the_winners_row_at_the_unique_index_gets_the_same_refusal(
    postgres_schema_url: str, monkeypatch: pytest.MonkeyPatch, shared: str, batch: bool
) -> None:
    """The loser checks before the winner commits, so only the unique index stops it."""
    parts, refused_by_winner = RACES[shared]
    winner, loser = _open(postgres_schema_url), _open(postgres_schema_url)

    def change(case_id: str) -> Any:  # each with a key of its own unless the race shares one
        return _change(_case(case_id), **{"idempotency_key": f"key-{case_id}", **parts})

    outcome: list[Exception | None] = []

    def lose() -> None:
        try:
            if batch:
                outcome.extend(loser.commit_many([change("b")]))
            else:
                loser.commit(change("b"))
                outcome.append(None)
        except Exception as error:
            outcome.append(error)

    try:
        _race(postgres_schema_url, monkeypatch, winner, change("a"), lose)
        assert len(outcome) == 1 and refused_by_winner(outcome[0]), outcome
        assert loser.load_case("b") is None and loser.history("b") == []
        assert loser.load_case("a") is not None
    finally:
        winner.close()
        loser.close()


def _wait_until_blocked_by(url: str, winner: int) -> None:
    """Until a session waits for a lock the winner's session holds (the loser's insert
    waiting for the winner's uncommitted row), for 10 s at most."""
    with psycopg.connect(url, autocommit=True) as watcher:
        for _ in range(1000):
            row = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                (winner,),
            ).fetchone()
            if row and row[0]:
                return
            time.sleep(0.01)


@pytest.mark.parametrize(
    ("url", "named"),
    [
        (
            "postgresql://svcflow:secret@db.example:6432/cases?sslmode=require",
            WHERE.replace("db.example:5432", "db.example:6432"),
        ),
        ("postgresql:///cases", "postgresql://localhost/cases"),  # libpq's defaults
    ],
)
def test_a_store_is_named_in_messages_without_its_password_or_options(url: str, named: str) -> None:
    assert describe(url) == named


def test_a_batch_meeting_two_winners_at_the_unique_index_one_after_the_other_names_both(
    postgres_schema_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch is tried whole, then change by change: here its first change meets winner
    ``a`` in the first pass, and its second change meets winner ``c`` in the second."""
    winner, loser = _open(postgres_schema_url), _open(postgres_schema_url)
    written = {"a": threading.Event(), "c": threading.Event()}
    release = {"a": threading.Event(), "c": threading.Event()}
    pids: dict[str, int] = {}
    original = winner._apply

    def hold_the_winners(db: Any, change: Any, prepared: Any) -> Any:
        timers = original(db, change, prepared)
        if change.case.id in written:  # every row of a winner written, not yet committed
            pids[change.case.id] = db.connection.info.backend_pid
            written[change.case.id].set()
            release[change.case.id].wait(30)
        return timers

    monkeypatch.setattr(winner, "_apply", hold_the_winners)

    def change(case_id: str, key: str) -> Any:
        return _change(_case(case_id), idempotency_key=key)

    winners = [
        threading.Thread(target=winner.commit, args=(change(case_id, key),))
        for case_id, key in (("a", "event-7"), ("c", "event-9"))
    ]
    outcomes: list[Exception | None] = []
    batch = threading.Thread(
        target=lambda: outcomes.extend(
            loser.commit_many([change("b", "event-7"), change("d", "event-9")])
        )
    )
    try:
        for thread, case_id in zip(winners, written, strict=True):
            thread.start()
            assert written[case_id].wait(30)
        batch.start()
        for thread, case_id in zip(winners, written, strict=True):
            _wait_until_blocked_by(postgres_schema_url, pids[case_id])
            release[case_id].set()
            thread.join(30)
        batch.join(30)
        assert [type(outcome) for outcome in outcomes] == [IdempotentReplay, IdempotentReplay]
        assert [o.record.case.id for o in outcomes if isinstance(o, IdempotentReplay)] == ["a", "c"]
        assert loser.load_case("b") is None and loser.load_case("d") is None
    finally:
        for event in release.values():
            event.set()
        winner.close()
        loser.close()


def test_a_writer_stopped_by_a_unique_index_whose_holder_is_gone_gets_a_store_fault(
    postgres_schema_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The winner's case takes the customer's scope and closes again before the loser asks
    who holds it: no refusal explains the violation, so the loser gets a fault naming the
    index (retrying it succeeds), with nothing written."""
    winner, loser = _open(postgres_schema_url), _open(postgres_schema_url)
    asked = loser.open_scope_case

    def closed_before_asked(scope: str) -> str | None:
        winner.commit(_change(_case("a", revision=2, state="closed"), release_scope=True))
        return asked(scope)

    monkeypatch.setattr(loser, "open_scope_case", closed_before_asked)
    scoped = {"customer_id": "cust-1", "open_scope": "care:cust-1"}
    outcome: list[Exception] = []

    def lose() -> None:
        try:
            loser.commit(_change(_case("b"), idempotency_key="key-b", **scoped))
        except Exception as error:
            outcome.append(error)

    try:
        winning = _change(_case("a"), idempotency_key="key-a", **scoped)
        _race(postgres_schema_url, monkeypatch, winner, winning, lose)
        assert [(type(error), str(error)) for error in outcome] == [
            (
                StoreFault,
                f"the store {describe(postgres_schema_url)} could not write: UniqueViolation "
                "(SQLSTATE 23505): duplicate key value violates unique constraint "
                '"cases_open_scope"; nothing was written',
            )
        ]
        assert isinstance(outcome[0].__cause__, errors.UniqueViolation)
        assert loser.load_case("b") is None and loser.history("b") == []
        monkeypatch.undo()
        loser.commit(_change(_case("b"), idempotency_key="key-b", **scoped))
        assert loser.open_scope_case("care:cust-1") == "b"
    finally:
        winner.close()
        loser.close()
