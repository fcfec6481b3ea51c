"""SQLite schema step 20 (issue 16): ``cases_by_version`` merged into ``cases_by_state``.

The merged index is on (workflow, state, version): a new case writes one index entry instead
of two, and the queries the two indexes served read the merged one. The step keeps every case,
timer and outbox row; ``support.schema.undo_state_index`` takes a file back to version 19.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

from support.schema import undo_case_refs, undo_state_index
from support.workflows import WORKFLOWS
from svcflow import Engine, ManualClock
from svcflow.store.query import CaseQuery
from svcflow.store.sqlite import SCHEMA_VERSION
from svcflow.store.sqlite.find import count_sql, page_sql
from svcflow.store.sqlite.rows import micros_param

START = {"customer": "C-1042", "channel": "email", "summary": "Late parcel"}


def _version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        [(version,)] = db.execute("SELECT version FROM schema_version")
    return int(version)


def _case_indexes(path: Path) -> dict[str, list[str]]:
    """The indexes of ``cases`` this step touches, with their columns."""
    with sqlite3.connect(path) as db:
        return {
            name: [row[2] for row in db.execute(f"PRAGMA index_info({name})")]
            for (name,) in db.execute("SELECT name FROM sqlite_schema WHERE type = 'index'")
            if name in ("cases_by_state", "cases_by_version")
        }


def _seen(engine: Engine, case_id: str) -> tuple[object, ...]:
    later = engine.clock.now() + timedelta(days=9)
    return (
        engine.get(case_id),
        engine.history(case_id),
        engine.timers(case_id),
        engine.outbox(case_id),
        engine.store.due_timers(later, 50),
        [case.id for case in engine.find(workflow="complaint", state=engine.get(case_id).state)],
        engine.store.count(CaseQuery(workflow="complaint")),  # type: ignore[attr-defined]
    )


def test_a_version_19_file_keeps_its_cases_timers_and_outbox_and_fires_them_the_same(
    tmp_path: Path, clock: ManualClock
) -> None:
    path, kept = tmp_path / "cases.db", tmp_path / "kept.db"
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        case_id = engine.start("complaint", START).id
        clock.advance("5m")
        engine.fire(case_id, "acknowledge", {})
        other = engine.start("complaint", {**START, "customer": "C-2001"}).id
        seen = _seen(engine, case_id), _seen(engine, other)
    assert _version(path) == SCHEMA_VERSION
    assert _case_indexes(path) == {"cases_by_state": ["workflow", "state", "version"]}
    shutil.copy(path, kept)
    with sqlite3.connect(path) as db:
        undo_state_index(db)  # version 19: the two indexes apart
    assert _version(path) == 19
    assert _case_indexes(path) == {
        "cases_by_state": ["workflow", "state"],
        "cases_by_version": ["workflow", "version"],
    }
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        assert engine.store.schema_version() == SCHEMA_VERSION  # type: ignore[attr-defined]
        assert (_seen(engine, case_id), _seen(engine, other)) == seen
    assert _case_indexes(path) == {"cases_by_state": ["workflow", "state", "version"]}
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    clock.advance("3d")  # the upgraded file and the one never taken back fire the same timers
    fired = []
    for store in (path, kept):
        with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{store}", clock=clock) as engine:
            engine.advance()
            fired.append((_seen(engine, case_id), _seen(engine, other)))
    assert fired[0] == fired[1]
    assert fired[0][0][1] != seen[0][1]  # (timers did fire)


def test_finding_cases_by_workflow_state_and_version_reads_the_one_index_left(
    tmp_path: Path, clock: ManualClock
) -> None:
    """The plans of the queries ``cases_by_version`` served: the merged index serves them."""
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
        undo_case_refs(db)  # steps 21 to 18: version 17
    assert _version(path) == 17
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        assert engine.store.schema_version() == SCHEMA_VERSION  # type: ignore[attr-defined]
        assert _seen(engine, case_id) == seen
