"""What the SQLite store writes for one event (issue 16): an ``UPDATE`` of a case sets only
the indexed columns whose values change, since SQLite rewrites an index entry whenever a
statement sets one of its columns, to the same value too (the columns stay right either way);
a new file has smaller pages, so the WAL copies fewer bytes an event, and a file made before
keeps the page size it has; history details and payloads are written by pydantic-core's JSON
writer, as the ``json`` module wrote them; moments are bound as ``bytearray`` (no adapter)."""

from __future__ import annotations

import itertools
import json
import math
import re
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from typing import cast

import pytest

from support.workflows import WORKFLOWS
from svcflow import Engine, ManualClock
from svcflow.sla.clocks import Clock
from svcflow.store.base import NewDelivery
from svcflow.store.query import sla_index
from svcflow.store.sqlite import store, writes
from svcflow.store.sqlite.case_rows import BY_ID
from svcflow.store.sqlite.rows import (
    from_ts,
    micros,
    micros_param,
    plain_json,
    plain_json_utf8,
    to_json,
)
from svcflow.store.sqlite.shared import SharedTexts

START = {"customer": "C-1042", "channel": "email", "summary": "Late parcel"}


def _set_columns(statements: list[str]) -> list[list[str]]:
    """The columns each traced ``UPDATE cases`` of an event sets."""
    found = []
    for sql in statements:
        update = re.match(r"UPDATE cases SET (.*) WHERE (?:ref = \S+ AND )?id = ", sql)
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


def test_a_new_file_has_pages_of_2048_bytes_and_an_older_file_keeps_its_own(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    new, old = tmp_path / "new.db", tmp_path / "old.db"
    with monkeypatch.context() as before:  # a file made before: SQLite's default page size
        before.setattr(store, "PAGE_SIZE", 4096)
        with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{old}", clock=clock) as engine:
            first = engine.fire(engine.start("complaint", START).id, "acknowledge")
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{old}", clock=clock) as engine:
        assert engine.get(first.id) == first
        engine.fire(first.id, "investigate")
    for path in (new, old):
        with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
            case = engine.fire(engine.start("complaint", START).id, "acknowledge")
        with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
            assert engine.get(case.id) == case
            assert [e.trigger for e in engine.history(case.id)] == [None, "acknowledge"]
    sizes = []
    for path in (new, old):
        with sqlite3.connect(path) as db:
            sizes.append(db.execute("PRAGMA page_size").fetchone()[0])
    assert sizes == [store.PAGE_SIZE, 4096] and store.PAGE_SIZE == 2048


def test_plain_json_writes_what_to_json_writes_and_reads_back_the_same() -> None:
    text = "".join(map(chr, range(0x90))) + '\u2028\ufeff😀\U0010ffff Grüße 你好 </script> "\\'
    values: list[object] = [
        {"text": text, text: [1, -0.0, 1.5, 1e300, 2**70, -(2**63), True, None]},
        {"left": "acknowledged", "sla": [{"at": "2026-03-02T09:00:00+00:00", "cycle": 1}]},
        {"inf": [math.inf, -math.inf]},
        [[], {}, [[{}]]],
        {"tiny": [1e-05, 1e-7, 5e-324, 0.1]},
    ]
    for value in values:
        written = plain_json(value)
        assert json.loads(written) == json.loads(to_json(value))
        if "tiny" not in str(value):
            assert written == to_json(value)
    assert math.isnan(json.loads(plain_json({"nan": math.nan}))["nan"])
    assert plain_json({"nan": math.nan}) == to_json({"nan": math.nan}) == '{"nan":NaN}'
    for odd in ({"proxy": MappingProxyType({"a": 1})}, {"surrogate": "\ud800"}):
        assert plain_json(odd) == to_json(odd)  # pydantic-core refuses them: as before


def test_a_moment_bound_as_a_bytearray_is_stored_as_the_same_blob(tmp_path: Path) -> None:
    moment = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)
    assert isinstance(micros_param(moment), bytearray) and micros_param(moment) == micros(moment)
    with sqlite3.connect(tmp_path / "moments.db") as db:
        db.execute("CREATE TABLE t (at TEXT)")  # declared TEXT, as the store's columns are
        db.execute("INSERT INTO t VALUES (?)", (micros_param(moment),))
        [(kind, stored)] = db.execute("SELECT typeof(at), at FROM t").fetchall()
    assert (kind, stored, from_ts(stored)) == ("blob", micros(moment), moment)


def test_rows_name_their_case_by_its_remembered_key_only_where_that_row_is_the_case(
    tmp_path: Path, clock: ManualClock
) -> None:
    """An event's rows name their case by the key the store remembers for it (issue 16: no
    look-up of the id for each row), and only once the case's update found that row by the
    key and the case's id together: a key that finds another row is forgotten and the event
    written as before."""
    path = tmp_path / "cases.db"
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        first, second = engine.start("complaint", START), engine.start("complaint", START)
        refs = engine.store._refs  # type: ignore[attr-defined]
        with sqlite3.connect(path) as db:
            stored = dict(db.execute("SELECT id, ref FROM cases"))
        assert refs == stored
        clock.advance("1m")
        engine.fire(second.id, "acknowledge", {})  # found by its key
        refs[first.id] = refs[second.id]  # a key that finds another case's row
        engine.fire(first.id, "acknowledge", {})
        assert first.id not in refs
        assert [e.trigger for e in engine.history(first.id)][-1] == "acknowledge"
        assert [e.trigger for e in engine.history(second.id)][-1] == "acknowledge"
        assert len(engine.history(second.id)) == 2
        assert engine.get(second.id).revision == second.revision + 1
        assert {t.case_id for t in engine.store.timers(first.id)} == {first.id}
        engine.fire(first.id, "investigate", {})  # by its id, as a case this store did not write
        assert first.id not in refs and engine.history(first.id)[-1].trigger == "investigate"


def test_history_details_are_written_as_utf8_bytes_of_the_text_plain_json_writes() -> None:
    """The details go to packing as the JSON writer's bytes (issue 16: not decoded and encoded
    again); what pydantic-core's writer refuses is written by the ``json`` module, as before."""
    for details in (
        {"left": "acknowledged", "note": "Grüße 😀", "n": [1, 1.5, None, True]},
        {"proxy": MappingProxyType({"a": 1})},  # pydantic-core refuses it
    ):
        assert plain_json_utf8(details) == plain_json(details).encode()
    with pytest.raises(UnicodeEncodeError):  # no store keeps it: as binding the text refused it
        plain_json_utf8({"surrogate": "\ud800"})


def test_a_notifications_recipients_text_is_its_own_whichever_were_written_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each tuple of recipients keeps its JSON text (issue 16), up to a bound; other sequences
    are written each time."""
    monkeypatch.setattr(writes, "_RECIPIENTS", {})
    monkeypatch.setattr(writes, "_RECIPIENTS_KEPT", 2)
    for recipients in [("customer",), ("team_lead", "agent"), ("customer",), ("x",), ["a", "b"]]:
        assert writes._recipients(recipients) == plain_json(list(recipients))
    assert writes._RECIPIENTS == {
        ("customer",): '["customer"]',
        ("team_lead", "agent"): '["team_lead","agent"]',
    }


def test_an_outbox_row_due_at_the_events_moment_binds_the_events_stamp_and_others_their_own() -> (
    None
):
    """A delivery due at the moment of its event (``at``) binds the event's stamp itself,
    which ``form`` made of that moment (issue 16); one due later, its own moment."""
    now, later = datetime(2026, 3, 2, 9, tzinfo=UTC), datetime(2026, 3, 2, 10, tzinfo=UTC)
    written: list[tuple[object, ...]] = []

    class Db:
        def executemany(self, sql: str, rows: list[tuple[object, ...]]) -> None:
            written.extend(rows)

    deliveries = [
        NewDelivery(
            "n:1:a", "n:1", "t", "email", "a@x", None, "customer", "en", "s", "b", True, due
        )
        for due in (now, later)
    ]
    stamp = micros_param(now)
    writes.write_deliveries(
        cast(sqlite3.Connection, Db()),
        "n",
        deliveries,
        stamp,
        SharedTexts(),
        BY_ID,
        micros_param,
        at=now,
    )
    assert [row[13] for row in written] == [stamp, micros_param(later)]
    assert written[0][13] is stamp


def test_the_sla_columns_read_from_the_clocks_records_are_those_their_json_gives() -> None:
    """Issue 16: a commit works the SLA columns out from the records the clocks' JSON was
    written from (``Kept.decoded``) without parsing its moments (``sla_index``); the same as it
    reads from the JSON, and read from the JSON where a clock has no such record."""
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    hour = timedelta(hours=1)

    def clock(status: str, due: datetime | None, breached: datetime | None) -> Clock:
        return Clock(status, 1, start, 0, hour, "24x7", hour * 0, start, (), breached, due, due)

    kinds = [
        clock(status, due, breached)
        for status in ("running", "paused", "stopped", "cancelled")
        for due in (None, start + hour, start + 2 * hour)
        for breached in (None, start)
    ]
    elsewhere = clock("running", datetime(2026, 3, 2, 9, 30, tzinfo=timezone(hour)), None)
    for clocks in itertools.chain(
        itertools.combinations(kinds, 2), ((kind,) for kind in kinds), [(elsewhere, kinds[2])]
    ):
        kept = {"metrics": {f"m{n}": each.to_json() for n, each in enumerate(clocks)}}
        plain = {"metrics": {name: dict(value) for name, value in kept["metrics"].items()}}
        found = sla_index(kept)
        assert found == sla_index(plain) == sla_index(plain)
    assert all(each.to_json().decoded is each for each in kinds)  # (records read)
    assert elsewhere.to_json().decoded is None
    assert sla_index({}) == (None, False) == sla_index({"metrics": {}})
