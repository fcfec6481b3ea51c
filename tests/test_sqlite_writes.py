"""What the SQLite store writes for one event (issue 16): an ``UPDATE`` of a case sets only
the indexed columns whose values change, since SQLite rewrites an index entry whenever a
statement sets one of its columns, to the same value too; the columns stay right either way."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from support.workflows import WORKFLOWS
from svcflow import Engine, ManualClock

START = {"customer": "C-1042", "channel": "email", "summary": "Late parcel"}


def _set_columns(statements: list[str]) -> list[list[str]]:
    """The columns each traced ``UPDATE cases`` of an event sets."""
    found = []
    for sql in statements:
        update = re.match(r"UPDATE cases SET (.*) WHERE id = ", sql)
        if update:
            found.append([part.split(" = ")[0] for part in update.group(1).split(", ")])
    return found


def test_an_update_sets_the_indexed_columns_of_a_case_only_when_they_change(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "cases.db"
    traced: list[str] = []
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        case = engine.start("complaint", START)
        engine.store._connection().set_trace_callback(traced.append)  # type: ignore[attr-defined]

        def columns(trigger: str, payload: dict[str, str] | None = None) -> list[str]:
            traced.clear()
            clock.advance("1m")
            engine.fire(case.id, trigger, payload)
            [updated] = _set_columns(traced)
            return updated

        assert {"assignee", "queue", "data"} <= set(columns("acknowledge", {"assignee": "a-7"}))
        assert "version" not in columns("investigate")  # the version never changes here
        resolved = columns("resolve", {"resolution": "refund"})  # data, not assignee or queue
        assert "data" in resolved and not {"assignee", "queue", "version"} & set(resolved)
        changed = engine.get(case.id)
        assert [c.id for c in engine.find(assignee="a-7")] == [case.id]
        assert [c.id for c in engine.find(queue=changed.data["queue"])] == [case.id]
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT assignee, queue, version, state FROM cases").fetchone()
    assert row == ("a-7", changed.data["queue"], changed.version, "resolved")
