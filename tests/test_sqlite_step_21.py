"""SQLite schema step 21 (issue 16): ``history`` keyed by one integer, ``case_ref * 2**32 + seq``.

The key is the table's rowid, so an entry written changes one b-tree instead of two (the
``(case_ref, seq)`` key's index is gone); ``case_ref`` and ``seq`` are virtual columns of the
key, and a case's entries are a range of it (``store.sqlite.history_keys``). The step keeps
every entry, case, timer and outbox row; ``support.schema.undo_history_key`` takes a file back
to version 20.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from support.schema import undo_case_refs, undo_history_key
from support.workflows import WORKFLOWS
from svcflow import Engine, ManualClock
from svcflow.errors import StoreError
from svcflow.store.sqlite import SCHEMA_VERSION
from svcflow.store.sqlite.history_keys import KEYED, SPAN

START = {"customer": "C-1042", "channel": "email", "summary": "Late parcel"}


def _version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        [(version,)] = db.execute("SELECT version FROM schema_version")
    return int(version)


def _history_shape(path: Path) -> tuple[list[str], list[str], str]:
    """``history``'s stored columns and its indexes; which cases ``cases_open_scope`` holds."""
    with sqlite3.connect(path) as db:
        stored = [row[1] for row in db.execute("PRAGMA table_xinfo(history)") if row[6] == 0]
        indexes = [row[1] for row in db.execute("PRAGMA index_list(history)")]
        [(scope,)] = db.execute("SELECT sql FROM sqlite_schema WHERE name = 'cases_open_scope'")
    return stored, indexes, " ".join(scope.split()).partition(" WHERE ")[2]


def _seen(engine: Engine, case_id: str) -> tuple[object, ...]:
    later = engine.clock.now() + timedelta(days=9)
    return (
        engine.get(case_id),
        engine.history(case_id),
        engine.timers(case_id),
        engine.outbox(case_id),
        engine.store.due_timers(later, 50),
        sorted(engine.store.histories(), key=lambda found: found.case_id),  # type: ignore[attr-defined]
    )


def _cases(engine: Engine, clock: ManualClock) -> list[str]:
    """Two complaints whose entries interleave (the later case's key range lies above)."""
    first = engine.start("complaint", START).id
    second = engine.start("complaint", {**START, "customer": "C-2001"}).id
    clock.advance("5m")
    engine.fire(first, "acknowledge", {})
    engine.fire(second, "acknowledge", {})
    engine.fire(first, "investigate", {})
    return [first, second]


def test_a_version_20_file_keeps_its_history_cases_timers_and_outbox_and_fires_them_the_same(
    tmp_path: Path, clock: ManualClock
) -> None:
    path, kept = tmp_path / "cases.db", tmp_path / "kept.db"
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        ids = _cases(engine, clock)
        seen = [_seen(engine, case_id) for case_id in ids]
    assert _version(path) == SCHEMA_VERSION == 21
    stored, indexes, scoped = _history_shape(path)
    assert stored[-1] == "key" and "case_ref" not in stored and "seq" not in stored
    assert (indexes, scoped) == ([], "open_scope IS NOT NULL")
    shutil.copy(path, kept)
    with sqlite3.connect(path) as db:
        undo_history_key(db)  # version 20: (case_ref, seq) stored, and its index
    assert _version(path) == 20
    assert _history_shape(path) == (
        [
            "case_ref",
            "seq",
            "at",
            "actor",
            "kind",
            "trigger",
            "from_state",
            "to_state",
            "payload",
            "version",
            "details",
            "texts",
        ],
        ["sqlite_autoindex_history_1"],
        "",
    )
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        assert engine.store.schema_version() == 21  # type: ignore[attr-defined]
        assert [_seen(engine, case_id) for case_id in ids] == seen
    assert _history_shape(path) == _history_shape(kept)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        keys = db.execute(f"SELECT key, case_ref * {SPAN} + seq FROM history ORDER BY key")
        assert all(key == made for key, made in keys)
    clock.advance("3d")  # the upgraded file and the one never taken back fire the same timers
    fired = []
    for store in (path, kept):
        with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{store}", clock=clock) as engine:
            engine.advance()
            fired.append([_seen(engine, case_id) for case_id in ids])
    assert fired[0] == fired[1]
    assert fired[0][0][1] != seen[0][1]  # (timers did fire)


def test_the_history_reads_and_deletes_search_the_key_range_and_scopes_their_index(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "cases.db"
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        case_id = _cases(engine, clock)[0]
    term = f"SELECT texts FROM history WHERE {KEYED.of_case}"
    queries = [
        (KEYED.select_case, (case_id,)),
        (KEYED.select_all, ()),
        (term, (case_id,)),
        (f"DELETE FROM history WHERE {KEYED.of_case}", (case_id,)),
        ("SELECT id FROM cases WHERE open_scope = ?", ("care:C-1042",)),  # open_scope_case
    ]
    with sqlite3.connect(path) as db:
        plans = [
            [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
            for sql, params in queries
        ]
        found = db.execute(term, (case_id,)).fetchall()
    in_range = "SEARCH history USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"
    assert plans[0] == [
        "SEARCH cases USING COVERING INDEX sqlite_autoindex_cases_1 (id=?)",
        in_range,
    ]
    assert plans[1] == ["SCAN cases USING COVERING INDEX sqlite_autoindex_cases_1", in_range]
    assert all(plan[0] == in_range for plan in plans[2:4]), plans
    assert plans[4] == ["SEARCH cases USING INDEX cases_open_scope (open_scope=?)"]
    assert not any("TEMP B-TREE" in step for plan in plans for step in plan)
    assert len(found) == 3


def test_an_entry_of_no_case_or_past_the_keys_is_refused(
    tmp_path: Path, clock: ManualClock
) -> None:
    """Without the guard a NULL key would take the next free rowid: another case's range."""
    path = tmp_path / "cases.db"
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        engine.start("complaint", START)
    row = ("no-such-case", 1, b"x", "a", "started", None, None, "new", None, 1, b"", None)
    with sqlite3.connect(path) as db:
        with pytest.raises(sqlite3.IntegrityError, match="datatype mismatch"):
            db.execute(KEYED.insert, row)
        db.execute(
            "INSERT INTO cases (ref, id, workflow, version, state, data, revision, "
            "created_at, updated_at) VALUES (?, 'far', 'complaint', 1, 'new', '[]', 1, "
            "x'00', x'00')",
            (1 << 31,),
        )
        with pytest.raises(sqlite3.IntegrityError, match="datatype mismatch"):
            db.execute(KEYED.insert, ("far", *row[1:]))
        db.execute("UPDATE cases SET ref = ? WHERE id = 'far'", ((1 << 31) - 1,))
        db.execute(KEYED.insert, ("far", 4, *row[2:]))
        top = ((1 << 31) - 1) * SPAN
        assert db.execute(
            "SELECT case_ref, seq FROM history WHERE key >= ?", (top,)
        ).fetchall() == [((1 << 31) - 1, 4)]
        assert db.execute("SELECT count(*) FROM history").fetchone() == (2,)  # and "started"
        assert KEYED.insert_ref is not None  # the same rows, the case named by its key
        db.execute(KEYED.insert_ref, ((1 << 31) - 1, 5, *row[2:]))
        with pytest.raises(sqlite3.IntegrityError, match="datatype mismatch"):
            db.execute(KEYED.insert_ref, (None, 6, *row[2:]))
        with pytest.raises(sqlite3.IntegrityError, match="datatype mismatch"):
            db.execute(KEYED.insert_ref, (1 << 31, 1, *row[2:]))
        assert db.execute(
            "SELECT case_ref, seq FROM history WHERE key >= ?", (top,)
        ).fetchall() == [
            ((1 << 31) - 1, 4),
            ((1 << 31) - 1, 5),
        ]


def test_undoing_step_21_first_lets_the_older_undos_run_as_before(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "cases.db"
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        ids = _cases(engine, clock)
        seen = [_seen(engine, case_id) for case_id in ids]
    with sqlite3.connect(path) as db:
        undo_case_refs(db)  # steps 21 to 18: version 17
    assert _version(path) == 17
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        assert engine.store.schema_version() == SCHEMA_VERSION  # type: ignore[attr-defined]
        assert [_seen(engine, case_id) for case_id in ids] == seen


def test_a_purged_case_leaves_no_entries_for_the_next_case_given_its_key(
    tmp_path: Path, clock: ManualClock
) -> None:
    """``history`` has no foreign key any more: the purge deletes the case's key range, and a
    case made after it (SQLite gives it the purged case's ref again) starts with its own."""
    path = tmp_path / "cases.db"
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        kept, purged = _cases(engine, clock)
        with sqlite3.connect(path) as db:
            [(ref,)] = db.execute("SELECT ref FROM cases WHERE id = ?", (purged,))
        assert engine.store.purge_cases([purged]) == 1  # type: ignore[attr-defined]
        again = engine.start("complaint", START).id
        with sqlite3.connect(path) as db:
            assert db.execute("SELECT ref FROM cases WHERE id = ?", (again,)).fetchone() == (ref,)
            assert db.execute(
                "SELECT count(*) FROM history WHERE case_ref NOT IN (SELECT ref FROM cases)"
            ).fetchone() == (0,)
        assert [entry.seq for entry in engine.history(again)] == [1]
        assert len(engine.history(kept)) == 3


def test_an_sqlite_library_older_than_generated_columns_is_named_at_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cases.db"
    engine = Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}")
    case_id = engine.start("complaint", START).id
    engine.close()
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 30, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.30.1")
    with pytest.raises(StoreError) as refused:
        Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}")
    assert "needs SQLite 3.31.0 or later" in str(refused.value)
    assert "3.30.1" in str(refused.value) and str(path) in str(refused.value)
    monkeypatch.undo()
    again = Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}")
    assert again.get(case_id).state == "received" and len(again.history(case_id)) == 1
    again.close()
