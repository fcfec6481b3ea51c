"""The PostgreSQL store as operators meet it: opened by URL, migrated once even when several
workers start together, and refusing bad URLs and unreachable servers with a clear message.
What every store promises is in ``test_store_conformance.py``."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import errors

from support.workflows import MINIMAL
from svcflow import Engine, ManualClock, load_workflow_text
from svcflow.errors import StoreBusy, StoreError, StoreFault, StoreFull
from svcflow.store.postgres import SCHEMA_VERSION, PostgresStore
from svcflow.store.postgres.store import describe, store_fault
from svcflow.store.registry import open_store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_postgresql_url_opens_the_postgresql_store(postgres_schema_url: str) -> None:
    store = open_store(postgres_schema_url.replace("postgresql://", "postgres://", 1))
    try:
        assert isinstance(store, PostgresStore)
        assert store.schema_version() == SCHEMA_VERSION
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
