"""The SQLite store as operators meet it: WAL, a schema version, automatic creation, an index
for due timers, and refusal of a store written by a newer svcflow."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from support.schema import undo_care, undo_case_index, undo_history_texts
from support.stores import PatchableSqliteStore
from support.workflows import MINIMAL
from svcflow import Engine, ManualClock, StoreError, load_workflow_text
from svcflow.errors import StoreFault
from svcflow.store.registry import open_store
from svcflow.store.sqlite import SCHEMA_VERSION, SqliteStore
from svcflow.store.sqlite.store import _bind_plainly


def test_store_is_created_in_wal_mode_with_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "cases.db"
    store = SqliteStore(path)
    assert store.schema_version() == SCHEMA_VERSION
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    SqliteStore(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM schema_version").fetchone() == (1,)


def test_due_timers_are_found_through_the_due_index(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    SqliteStore(path).close()
    with sqlite3.connect(path) as db:
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM timers WHERE due_at <= ? ORDER BY due_at, id "
            "LIMIT 10",
            ("2026-01-01",),
        ).fetchall()
    [(_, _, _, detail)] = plan
    assert detail == "SEARCH timers USING INDEX timers_by_due (due_at<?)"


def test_cases_survive_reopening_the_file(tmp_path: Path, clock: ManualClock) -> None:
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    workflow = load_workflow_text(MINIMAL, "ticket.yaml")
    with Engine([workflow], url, clock) as engine:
        case = engine.fire(engine.start("ticket", {"customer": "Ann"}).id, "take")
    with Engine([workflow], url, clock) as engine:
        assert engine.get(case.id) == case
        assert len(engine.history(case.id)) == 2
        assert [t.trigger for t in engine.timers(case.id)] == ["expire"]


def test_a_version_6_file_keeps_its_history_in_a_rowid_table_after_the_upgrade(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "cases.db"
    workflow = load_workflow_text(MINIMAL, "ticket.yaml")
    with Engine([workflow], f"sqlite:///{path}", clock) as engine:
        case = engine.fire(engine.start("ticket", {"customer": "Ann"}).id, "take")
        history = engine.history(case.id)
    with sqlite3.connect(path) as db:  # history as version 6 kept it: WITHOUT ROWID
        undo_history_texts(db)
        db.execute("ALTER TABLE history RENAME TO history_now")
        db.execute(
            "CREATE TABLE history (case_id TEXT NOT NULL REFERENCES cases (id), seq INTEGER "
            "NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL, kind TEXT NOT NULL, trigger TEXT, "
            "from_state TEXT, to_state TEXT NOT NULL, payload TEXT, version INTEGER NOT NULL, "
            "details TEXT NOT NULL, PRIMARY KEY (case_id, seq)) WITHOUT ROWID"
        )
        db.execute("INSERT INTO history SELECT * FROM history_now")
        db.execute("DROP TABLE history_now")
        undo_care(db)
        undo_case_index(db)
        db.execute("DROP INDEX cases_by_customer")
        db.execute("ALTER TABLE cases DROP COLUMN customer_id")
        db.execute("DROP TABLE contact_points")
        db.execute("DROP TABLE customers")
        db.execute("UPDATE schema_version SET version = 6")
    with Engine([workflow], f"sqlite:///{path}", clock) as engine:
        assert engine.history(case.id) == history
        assert engine.store.schema_version() == SCHEMA_VERSION == 21  # type: ignore[attr-defined]
    with sqlite3.connect(path) as db:
        [sql] = db.execute("SELECT sql FROM sqlite_schema WHERE name = 'history'").fetchone()
        assert "WITHOUT ROWID" not in sql  # (since step 21 its rowid is its key: no index)
        assert [row[1] for row in db.execute("PRAGMA index_list(history)")] == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "mysql://db/cases",
            "unknown store URL 'mysql://db/cases': use 'memory://' or "
            "'sqlite:///path/to/cases.db', or a scheme of an installed store: postgres, "
            "postgresql",
        ),
        (
            "sqlite://host/cases.db",
            "invalid SQLite store URL 'sqlite://host/cases.db': write "
            "sqlite:///cases.db for a file relative to the working directory or "
            "sqlite:////var/lib/svcflow/cases.db for an absolute path",
        ),
        (
            "sqlite:///c.db?synchronous=SOMETIMES",
            "invalid synchronous='SOMETIMES' for the SQLite store; use NORMAL or FULL",
        ),
    ],
)
def test_bad_store_urls(url: str, message: str) -> None:
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert str(caught.value) == message


def test_connections_of_finished_threads_are_closed(tmp_path: Path, clock: ManualClock) -> None:
    workflow = load_workflow_text(MINIMAL, "ticket.yaml")
    with Engine([workflow], f"sqlite:///{tmp_path / 'cases.db'}", clock) as engine:
        case = engine.start("ticket", {"customer": "Ann"})
        open_before = len(os.listdir("/proc/self/fd"))
        for _ in range(60):
            worker = threading.Thread(target=engine.get, args=(case.id,))
            worker.start()
            worker.join()
        assert len(os.listdir("/proc/self/fd")) <= open_before + 3


def test_a_failed_commit_is_rolled_back_and_the_store_stays_usable(
    tmp_path: Path, clock: ManualClock
) -> None:
    workflow = load_workflow_text(MINIMAL, "ticket.yaml")
    with Engine([workflow], f"sqlite:///{tmp_path / 'cases.db'}", clock) as engine:
        store = engine.store
        assert isinstance(store, SqliteStore)
        connection = store._connection()
        connection.execute("PRAGMA defer_foreign_keys = ON")
        with pytest.raises(StoreFault) as caught, store._write() as db:
            # A timer of no case: the deferred foreign key fails at COMMIT itself.
            db.execute(
                "INSERT INTO timers (case_ref, trigger, due_at, owner_state, keep, created_at) "
                "VALUES ('ghost', 'expire', 'x', 'new', 0, 'x')"
            )
        assert str(caught.value) == (
            f"the store sqlite:///{tmp_path / 'cases.db'} could not write: IntegrityError: "
            "FOREIGN KEY constraint failed; nothing was written"
        )
        assert isinstance(caught.value.__cause__, sqlite3.IntegrityError)
        assert not connection.in_transaction
        case = engine.start("ticket", {"customer": "Ann"})
        assert engine.history(case.id)[0].kind == "started"
        with sqlite3.connect(tmp_path / "cases.db") as db:
            assert db.execute(
                "SELECT count(*) FROM timers WHERE case_ref = 'ghost'"
            ).fetchone() == (0,)


def test_two_runners_never_fire_a_timer_twice(tmp_path: Path, clock: ManualClock) -> None:
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    workflow = load_workflow_text(MINIMAL, "ticket.yaml")
    patchable = PatchableSqliteStore(tmp_path / "cases.db")
    with Engine([workflow], url, clock) as first, Engine([workflow], patchable, clock) as second:
        case = first.start("ticket", {"customer": "Ann"})
        clock.advance("1h")
        seen_by_second = second.store.due_timers(clock.now(), 10)
        assert [t.trigger for t in seen_by_second] == ["remind"]
        assert [f.timer.trigger for f in first.advance()] == ["remind"]
        # The second runner claimed the timer before the first fired it: it must skip it.
        stale = iter([seen_by_second])
        second.store.claim_due_timers = lambda *claim: next(stale, [])  # type: ignore[method-assign]
        assert second.advance() == []
        assert next(stale, None) is None  # the stale claim was the one the runner fired from
        assert [e.kind for e in first.history(case.id)] == ["started", "timer"]
        assert first.get(case.id).data["priority"] == "high"


NUDGED = """\
workflow: nudged
version: 1
title: Nudged
data:
  customer: {type: string, required: true}
states:
  new:
    initial: true
    on_enter: [{schedule: {trigger: remind, after: 15m}}]
  open:
    on_enter: [{schedule: {trigger: nudge, after: 1h}}]
  done: {final: true}
transitions:
  - {trigger: take, from: new, to: open}
  - {trigger: finish, from: open, to: done}
  - {trigger: remind, from: new}
  - {trigger: nudge, from: open}
"""


def test_a_state_left_ends_the_timers_another_process_scheduled_in_it(
    tmp_path: Path, clock: ManualClock
) -> None:
    """Each store remembers the timers of the cases it committed, by revision: a case moved on
    by another process (here a second engine on the same file) has its timers read again."""
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    workflow = load_workflow_text(NUDGED, "nudged.yaml")
    with Engine([workflow], url, clock) as first, Engine([workflow], url, clock) as second:
        case = first.start("nudged", {"customer": "Ann"})
        assert [t.trigger for t in first.timers(case.id)] == ["remind"]
        second.fire(case.id, "take")
        assert [t.trigger for t in first.timers(case.id)] == ["nudge"]
        assert first.fire(case.id, "finish").state == "done"
        assert first.timers(case.id) == []
        clock.advance("2h")
        assert first.advance() == [] and second.advance() == []


def test_none_and_bytes_are_bound_as_they_are_and_a_hosts_own_adapters_are_kept() -> None:
    """The store registers identity adapters for None and bytes (CPython 3.11 raises and
    clears an AttributeError for each such parameter otherwise); a host's own stay."""
    none_key, bytes_key = (type(None), sqlite3.PrepareProtocol), (bytes, sqlite3.PrepareProtocol)
    assert sqlite3.adapters[none_key](None) is None
    value = b"\x01packed"
    assert sqlite3.adapters[bytes_key](value) is value
    with sqlite3.connect(":memory:") as db:
        assert db.execute("SELECT ?, typeof(?), ?", (None, None, value)).fetchone() == (
            None,
            "null",
            value,
        )
    ours = sqlite3.adapters.pop(bytes_key)
    try:
        sqlite3.register_adapter(bytes, bytearray)  # a host's adapter, registered first
        _bind_plainly()
        assert sqlite3.adapters[bytes_key] is bytearray
    finally:
        sqlite3.adapters[bytes_key] = ours
