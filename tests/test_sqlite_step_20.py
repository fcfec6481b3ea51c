"""SQLite schema step 20 (issue 16): fewer pages written per event.

Timers without AUTOINCREMENT: a commit that adds a timer no longer writes ``sqlite_sequence``;
a new timer still gets an id above every existing timer's (so due order among timers is as
before), but may get the id of a timer deleted before. The engine's firing and its record of a
failed firing name the timer they read (``CaseChange.consumed``,
``Store.timer_failed(expected=...)``), so a timer read before it was deleted is never taken for
the new timer of its id. ``cases_by_version`` is merged into ``cases_by_state``. The migration
keeps every timer and its id; ``support.schema.undo_timer_ids`` takes a file back to version 19.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from support.schema import undo_case_refs, undo_timer_ids
from support.workflows import WORKFLOWS
from svcflow import Engine, ManualClock
from svcflow.engine.timers import AdvanceReport
from svcflow.store.query import CaseQuery
from svcflow.store.sqlite import SCHEMA_VERSION
from svcflow.store.sqlite.find import count_sql, page_sql
from svcflow.store.sqlite.rows import micros_param

START = {"customer": "C-1042", "channel": "email", "summary": "Late parcel"}


def _sequence(path: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT name, seq FROM sqlite_sequence").fetchall()


def _timers_sql(path: Path) -> str:
    with sqlite3.connect(path) as db:
        [(sql,)] = db.execute("SELECT sql FROM sqlite_schema WHERE name = 'timers'")
    return str(sql)


def test_a_timer_read_before_the_state_left_is_neither_fired_nor_failed_as_the_new_one(
    make_engine: Callable[..., Engine], store_url: str
) -> None:
    """The engine's firing (``fire``) and its record of a failure (``_record_failure``) of a
    timer gone since it was read: on SQLite the new timer of the next state has its id."""
    engine = make_engine()
    case = engine.start("ticket", {"customer": "ann"})
    [stale] = engine.timers(case.id)  # "remind", owned by "new"
    engine.fire(case.id, "take")  # "remind" cancelled, "expire" armed
    [armed] = engine.timers(case.id)
    if store_url.startswith("sqlite"):
        assert armed.id == stale.id  # what the test is about: the id came back
    history = engine.history(case.id)
    service = engine._timers
    assert service.fire(stale) is None  # gone: not fired, "expire" not consumed
    report = AdvanceReport()
    assert service._record_failure(stale, RuntimeError("boom"), report) is None
    assert report.retrying == report.failed == []
    assert engine.timers(case.id) == [armed]  # pending, no attempt counted
    assert engine.history(case.id) == history


def test_sqlite_gives_a_deleted_timers_id_to_the_next_timer_and_writes_no_sequence(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "cases.db"
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        case = engine.start("complaint", START)
        before = max(t.id for t in engine.timers(case.id))
        clock.advance("5m")
        engine.fire(case.id, "acknowledge", {})
        assert engine.store.schema_version() == SCHEMA_VERSION == 20  # type: ignore[attr-defined]
        ids = [t.id for t in engine.timers(case.id)]
    assert ids == sorted(ids) and max(ids) <= before + len(ids)
    assert "AUTOINCREMENT" not in _timers_sql(path).upper()
    assert _sequence(path) == []


def _seen(engine: Engine, case_id: str) -> tuple[object, ...]:
    return (
        engine.get(case_id),
        engine.history(case_id),
        [t._replace(id=0) for t in engine.timers(case_id)],
        [(t.id, t.trigger, t.due_at) for t in engine.timers(case_id)],
        engine.outbox(case_id),
        engine.store.due_timers(engine.clock.now() + timedelta(days=9), 50),
    )


def test_a_version_19_file_keeps_its_timers_and_their_ids_and_fires_them_the_same(
    tmp_path: Path, clock: ManualClock
) -> None:
    path, kept = tmp_path / "cases.db", tmp_path / "kept.db"
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        case_id = engine.start("complaint", START).id
        clock.advance("5m")
        engine.fire(case_id, "acknowledge", {})
        other = engine.start("complaint", {**START, "customer": "C-2001"}).id
        seen = _seen(engine, case_id), _seen(engine, other)
    shutil.copy(path, kept)
    with sqlite3.connect(path) as db:
        undo_timer_ids(db)  # version 19: AUTOINCREMENT, the sequence at the largest id
        [(version,)] = db.execute("SELECT version FROM schema_version")
        [(largest,)] = db.execute("SELECT max(id) FROM timers")
    assert version == 19 and "AUTOINCREMENT" in _timers_sql(path)
    with sqlite3.connect(path) as db:
        assert _case_indexes(db) == {
            "cases_by_state": ["workflow", "state"],
            "cases_by_version": ["workflow", "version"],
        }
    assert _sequence(path) == [("timers", largest)]
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        assert engine.store.schema_version() == 20  # type: ignore[attr-defined]
        assert (_seen(engine, case_id), _seen(engine, other)) == seen
    assert "AUTOINCREMENT" not in _timers_sql(path).upper() and _sequence(path) == []
    with sqlite3.connect(path) as db:
        indexes = db.execute(
            "SELECT name FROM sqlite_schema WHERE tbl_name = 'timers' AND type = 'index' "
            "ORDER BY name"
        ).fetchall()
        assert indexes == [("timers_by_case",), ("timers_by_due",), ("timers_failed",)]
        assert _case_indexes(db) == {
            "cases_by_state": ["workflow", "state", "version"],
        }
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    clock.advance("3d")  # the upgraded file and the one never taken back fire the same timers
    fired = []
    for store in (path, kept):
        with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{store}", clock=clock) as engine:
            engine.advance()
            fired.append((_seen(engine, case_id), _seen(engine, other)))
    assert fired[0] == fired[1]
    assert fired[0][0][1] != seen[0][1]  # (timers did fire)


def _case_indexes(db: sqlite3.Connection) -> dict[str, list[str]]:
    """The indexes of ``cases`` that this step touches, with their columns."""
    names = ("cases_by_state", "cases_by_version")
    return {
        name: [row[2] for row in db.execute(f"PRAGMA index_info({name})")]
        for (name,) in db.execute("SELECT name FROM sqlite_schema WHERE type = 'index'")
        if name in names
    }


def test_finding_cases_by_workflow_state_and_version_reads_the_one_index_left(
    tmp_path: Path, clock: ManualClock
) -> None:
    """The plans of the queries cases_by_version served: the merged index serves them."""
    path = tmp_path / "cases.db"
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        engine.start("complaint", START)
    page, page_params = page_sql(CaseQuery(workflow="complaint"), "id", None, 51, micros_param)
    count, count_params = count_sql(CaseQuery(workflow="complaint", state="open"), micros_param)
    queries = [
        (page, page_params),
        (count, count_params),
        ("SELECT count(*) FROM cases WHERE workflow = ? AND version = ?", ("complaint", 1)),
    ]
    with sqlite3.connect(path) as db:
        plans = [
            " | ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            for sql, params in queries
        ]
    assert plans[0].startswith("SEARCH cases USING INDEX cases_by_state (workflow=?)")
    assert plans[1] == "SEARCH cases USING COVERING INDEX cases_by_state (workflow=? AND state=?)"
    assert plans[2] == "SEARCH cases USING COVERING INDEX cases_by_state (workflow=?)"


def test_undoing_step_20_first_lets_the_older_undos_run_as_before(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "cases.db"
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        case_id = engine.start("complaint", START).id
        seen = _seen(engine, case_id)
    with sqlite3.connect(path) as db:
        undo_case_refs(db)  # steps 20, 19 and 18: version 17
        [(version,)] = db.execute("SELECT version FROM schema_version")
        assert version == 17
        assert "case_id" in [row[1] for row in db.execute("PRAGMA table_info(timers)")]
        [(largest,)] = db.execute("SELECT max(id) FROM timers")
    assert _sequence(path) == [("timers", largest)]
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        assert engine.store.schema_version() == 20  # type: ignore[attr-defined]
        assert _seen(engine, case_id) == seen
