"""A step's new timers go into SQLite in one statement; the ids the store keeps for them (what
its next commit of the case deletes by) are the rows' own, whatever ids went before."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from support.workflows import WORKFLOWS
from svcflow import Engine, ManualClock
from svcflow.store.sqlite.writes import _TIMERS_PER_STATEMENT, _insert_timers


def _rows(path: Path, case_id: str) -> list[tuple[int, str, str, int]]:
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT t.id, t.trigger, t.owner_state, t.keep FROM timers t JOIN cases c"
            " ON c.ref = t.case_ref WHERE c.id = ? ORDER BY t.id",
            (case_id,),
        ).fetchall()


def test_the_ids_kept_for_a_steps_new_timers_are_their_rows_ids(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    clock = ManualClock("2026-03-02T09:00:00+00:00")
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        first = engine.start("complaint", {"customer": "C-1"}, actor="a")
        with sqlite3.connect(path) as db:  # a gap: ids are never reused (AUTOINCREMENT)
            db.execute("UPDATE sqlite_sequence SET seq = seq + 1000 WHERE name = 'timers'")
        case = engine.start("complaint", {"customer": "C-2"}, actor="a")
        kept = engine.store._timers_at(case.id, case.revision)
        assert kept is not None and len(kept) > 1
        assert sorted(kept) == _rows(path, case.id)
        assert min(kept)[0] > max(_rows(path, first.id))[0] + 1000
        moved = engine.fire(case.id, "acknowledge", actor="a")  # deletes by the kept ids
        assert sorted(engine.store._timers_at(case.id, moved.revision)) == _rows(path, case.id)


def test_more_timers_than_a_statement_takes_get_their_ids_in_order(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "t.db")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT, b INTEGER)")
    db.execute("INSERT INTO t (id, a, b) VALUES (41, 'x', 0)")
    rows = [(f"r{i}", i) for i in range(2 * _TIMERS_PER_STATEMENT + 1)]
    ids = _insert_timers(db, rows, "INSERT INTO t (a, b) VALUES (?, ?)")
    assert ids == [i for i, _ in db.execute("SELECT id, a FROM t WHERE id > 41 ORDER BY b")]
    assert ids == list(range(42, 42 + len(rows)))
