"""What a case costs on disk in the SQLite store (issue 16): history details and SLA state are
kept packed and read back exactly as written, rows written before packing stay readable, and
the indexes that most cases would only fill with NULLs keep the rows their queries look for."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from support.schema import (
    MOMENTS_17,
    MOMENTS_19,
    undo_blob_moments,
    undo_case_refs,
    undo_keyed_outbox,
    undo_shared_texts,
    undo_slim_indexes,
)
from support.workflows import WORKFLOWS
from svcflow import Engine, ManualClock
from svcflow.errors import StoreError
from svcflow.sla.encoding import decode_sla
from svcflow.spec.datamodel import CaseDataSchema
from svcflow.spec.models import FieldSpec
from svcflow.store.query import CaseQuery
from svcflow.store.sqlite import SCHEMA_VERSION
from svcflow.store.sqlite.find import count_sql, page_sql
from svcflow.store.sqlite.packing import SHORTEST, deflated, pack, pack_utf8, unpack
from svcflow.store.sqlite.rows import from_ts, micros, micros_param, ts
from svcflow.store.sqlite.schema import CASE_COLUMNS
from svcflow.store.sqlite.values import (
    Shape,
    decodable,
    object_form,
    shape_of,
    values_form,
    values_object,
)

START = {"customer": "C-1042", "channel": "email", "summary": "Late parcel"}


def _complaint(path: Path, clock: ManualClock) -> str:
    """A shipped complaint started and acknowledged on a SQLite file; its id."""
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        case = engine.start("complaint", START)
        clock.advance("5m")
        engine.fire(case.id, "acknowledge", {})
        return case.id


def test_history_details_are_stored_packed_and_sla_state_compact_and_read_back_as_written(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "cases.db"
    case_id = _complaint(path, clock)
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        history = engine.history(case_id)
        case = engine.get(case_id)
    with sqlite3.connect(path) as db:
        details = [row[0] for row in db.execute("SELECT details FROM history ORDER BY seq")]
        [(sla,)] = db.execute("SELECT sla FROM cases WHERE id = ?", (case_id,))
    assert [type(value) for value in details] == [bytes, bytes]
    assert [json.loads(unpack(value)) for value in details] == [e.details for e in history]
    assert isinstance(sla, str) and sla.startswith("[1,")  # svcflow.sla.encoding, version 1
    assert decode_sla(sla) == case.sla
    assert case.sla["metrics"]["first_response"]["status"] == "stopped"
    assert len(sla) < len(json.dumps(dict(case.sla))) / 3


def test_sla_state_packed_by_schema_steps_12_to_14_reads_as_it_was(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "cases.db"
    case_id = _complaint(path, clock)
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        case = engine.get(case_id)
    with sqlite3.connect(path) as db:  # the SLA state as packed JSON, as steps 12 to 14 wrote it
        packed = pack(json.dumps(dict(case.sla), separators=(",", ":")))
        db.execute("UPDATE cases SET sla = ? WHERE id = ?", (packed, case_id))
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        assert engine.get(case_id) == case
        clock.advance("1m")
        engine.fire(case_id, "investigate", {})
        engine.fire(case_id, "ask_customer", {})  # pauses the resolution clock
        paused = engine.get(case_id).sla["metrics"]["resolution"]  # type: ignore[union-attr]
    with sqlite3.connect(path) as db:
        [(kind,)] = db.execute("SELECT typeof(sla) FROM cases WHERE id = ?", (case_id,))
    assert (kind, paused["status"], paused["cycle"]) == ("text", "paused", 1)


def test_rows_written_before_packing_are_read_as_they_were(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "cases.db"
    case_id = _complaint(path, clock)
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        history, case = engine.history(case_id), engine.get(case_id)
    with sqlite3.connect(path) as db:  # JSON text, as schema version 11 wrote it
        db.create_function("unpacked", 1, unpack)
        db.execute("UPDATE history SET details = unpacked(details)")
        db.execute("UPDATE cases SET sla = unpacked(sla)")
        assert db.execute("SELECT DISTINCT typeof(details) FROM history").fetchall() == [("text",)]
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        assert engine.history(case_id) == history
        assert engine.get(case_id) == case
        clock.advance("1m")
        engine.fire(case_id, "investigate", {})  # details too short to pack: text
        engine.fire(case_id, "ask_customer", {})  # the next long details are packed again
        assert engine.history(case_id)[:2] == history
    with sqlite3.connect(path) as db:
        kinds = db.execute("SELECT typeof(details) FROM history ORDER BY seq").fetchall()
    assert kinds == [("text",), ("text",), ("text",), ("blob",)]


def test_the_reason_a_notice_reached_nobody_is_stored_once_for_all_cases(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "cases.db"
    cases = [_complaint(path, clock) for _ in range(3)]
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        outbox = engine.outbox()
    assert [(e.case_id, e.status) for e in outbox] == [(c, "undeliverable") for c in cases]
    assert [e.last_error for e in outbox] == [
        f"no recipient for role 'customer' on case {case_id}: the case has no customer and no "
        "customer_email or customer_phone field; start it with Engine.start(..., customer=...) "
        "or from a message"
        for case_id in cases
    ]
    with sqlite3.connect(path) as db:
        [(reason, shared)] = db.execute(
            "SELECT id, text FROM shared_texts WHERE text NOT LIKE 'data fields:%'"
        ).fetchall()
        assert db.execute("SELECT DISTINCT last_error, reason FROM deliveries").fetchall() == [
            (None, reason)
        ]
    assert shared == outbox[0].last_error.replace(cases[0], "{case}")  # type: ignore[union-attr]


def test_a_version_14_file_keeps_its_reasons_in_the_rows_and_reads_them_as_before(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "cases.db"
    first = _complaint(path, clock)
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        before = engine.outbox()
    with sqlite3.connect(path) as db:
        undo_shared_texts(db)
        assert db.execute(
            "SELECT count(*) FROM deliveries WHERE last_error IS NULL"
        ).fetchall() == [(0,)]
    second = _complaint(path, clock)
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        assert engine.outbox(first) == before
        assert engine.outbox(second)[0].last_error == before[0].last_error.replace(first, second)  # type: ignore[union-attr]
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT last_error IS NULL, reason FROM deliveries ORDER BY id")
        [(reason,)] = db.execute("SELECT id FROM shared_texts WHERE text LIKE 'no recipient%'")
        assert rows.fetchall() == [(0, None), (1, reason)]


def test_packing_keeps_any_text_exactly() -> None:
    for text in (
        '{"note":"Grüße, 你好, \\u0000 and \\"quotes\\"", "more": "text, to be long enough"}',
        "x" * 5000,
    ):
        assert unpack(pack(text)) == text
        assert pack(text)[0] == 2  # Zstandard, the form this svcflow writes
        assert unpack(deflated(text)) == text  # DEFLATE, as rows written before hold it


def test_an_unknown_packing_is_refused_rather_than_misread() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        unpack(bytes([3]) + pack("x" * SHORTEST)[1:])  # type: ignore[index]


def test_history_details_deflated_by_an_earlier_svcflow_read_back_as_they_were(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "cases.db"
    case_id = _complaint(path, clock)
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        history = engine.history(case_id)
    with sqlite3.connect(path) as db:  # byte 1: DEFLATE, as svcflow wrote until the tenth pass
        db.create_function(
            "deflated", 1, lambda v: v if isinstance(v, str) else deflated(unpack(v))
        )
        db.execute("UPDATE history SET details = deflated(details)")
        kinds = db.execute(
            "SELECT DISTINCT substr(details, 1, 1) FROM history WHERE typeof(details) = 'blob'"
        )
        assert kinds.fetchall() == [(b"\x01",)]
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        assert engine.history(case_id) == history
        clock.advance("1m")
        engine.fire(case_id, "investigate", {})
        engine.fire(case_id, "ask_customer", {})
        assert engine.history(case_id)[:2] == history
    with sqlite3.connect(path) as db:
        firsts = db.execute(
            "SELECT substr(details, 1, 1) FROM history WHERE typeof(details) = 'blob' ORDER BY seq"
        ).fetchall()
    assert firsts == [(b"\x01",), (b"\x01",), (b"\x02",)]  # the old rows as they were


def test_texts_too_short_to_gain_from_packing_stay_json_text() -> None:
    for text in ("{}", '{"left":"acknowledged"}', "x" * (SHORTEST - 1)):
        assert pack(text) == text
        assert unpack(pack(text)) == text
    assert isinstance(pack("x" * SHORTEST), bytes)


def test_packing_from_utf8_bytes_gives_what_packing_the_text_gives() -> None:
    for text in (
        "{}",
        "x" * (SHORTEST - 1),
        "x" * SHORTEST,
        "ü" * (SHORTEST - 1),  # twice as many bytes as characters: stays text, as pack keeps it
        "ü" * SHORTEST,
        '{"note":"Grüße, 你好, \\u0000 and \\"quotes\\"", "more": "text, to be long enough"}',
        "x" * 5000,
    ):
        packed = pack_utf8(text.encode())
        assert packed == pack(text)
        assert type(packed) is (str if len(text) < SHORTEST else bytearray)  # bound as it is
        assert unpack(bytes(packed) if isinstance(packed, bytearray) else packed) == text


def _plan(db: sqlite3.Connection, sql: str, params: list[object]) -> str:
    return " / ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params))


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (CaseQuery(assignee="agent-7"), "cases_by_assignee"),
        (CaseQuery(queue="billing"), "cases_by_queue"),
        (CaseQuery(customer="C-1042"), "cases_by_customer_created"),
    ],
)
def test_cases_are_found_by_value_through_indexes_of_the_rows_that_have_one(
    tmp_path: Path, clock: ManualClock, query: CaseQuery, index: str
) -> None:
    path = tmp_path / "cases.db"
    _complaint(path, clock)
    with sqlite3.connect(path) as db:
        [(where,)] = db.execute("SELECT sql FROM sqlite_schema WHERE name = ?", (index,))
        assert where.endswith("IS NOT NULL")
        sql, params = page_sql(query, CASE_COLUMNS, None, 10, micros)
        assert f"USING INDEX {index} " in _plan(db, sql, params)
        sql, params = count_sql(query, micros)
        assert f"USING COVERING INDEX {index} " in _plan(db, sql, params)


def test_failed_timers_and_pending_deliveries_have_indexes_of_their_own(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}").close()
    with sqlite3.connect(path) as db:
        failed = _plan(db, "SELECT * FROM timers WHERE status = 'failed' ORDER BY due_at, id", [])
        pending = _plan(
            db,
            "SELECT * FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, id LIMIT 5",
            ["2026-03-02"],
        )
        dead = _plan(db, "SELECT * FROM deliveries WHERE status = 'dead' ORDER BY id", [])
    assert failed == "SCAN timers USING INDEX timers_failed"
    assert pending == "SEARCH deliveries USING INDEX deliveries_pending (next_attempt_at<?)"
    assert dead == "SCAN deliveries USING INDEX deliveries_dead"


def test_a_version_11_file_gets_the_smaller_indexes_and_keeps_its_cases(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "cases.db"
    case_id = _complaint(path, clock)
    with sqlite3.connect(path) as db:
        undo_slim_indexes(db)
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        assert engine.store.schema_version() == SCHEMA_VERSION == 21  # type: ignore[attr-defined]
        assert [c.id for c in engine.find(customer="C-1042")] == []  # started without one
        assert engine.get(case_id) is not None
    with sqlite3.connect(path) as db:
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_schema")}
    assert {"timers_failed", "deliveries_pending", "deliveries_dead"} <= names
    assert not names & {"cases_by_customer", "timers_by_status", "deliveries_due"}


def test_case_data_is_stored_values_only_and_reads_back_as_written(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "cases.db"
    case_id = _complaint(path, clock)
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        case = engine.get(case_id)
    with sqlite3.connect(path) as db:
        [(data,)] = db.execute("SELECT data FROM cases WHERE id = ?", (case_id,))
        [(named, shape)] = db.execute(
            "SELECT id, text FROM shared_texts WHERE text LIKE 'data fields:%'"
        )
    shape_id, present, *values = json.loads(data)
    assert shape_id == named
    assert shape_of(shape) == tuple(case.data)
    assert values == [value for value in case.data.values() if value is not None]
    assert present == sum(1 << n for n, v in enumerate(case.data.values()) if v is not None)
    assert len(data) < len(json.dumps(dict(case.data), separators=(",", ":"))) / 3
    with sqlite3.connect(path) as db:
        undo_keyed_outbox(db)  # version 15: the data as a JSON object, read as it is
        [(data,)] = db.execute("SELECT data FROM cases WHERE id = ?", (case_id,))
    assert json.loads(data) == case.data
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        assert engine.get(case_id) == case
        engine.fire(case_id, "investigate", {})
        assert engine.get(case_id).data == case.data
        second = engine.start("complaint", START).id
    with sqlite3.connect(path) as db:
        [(data,)] = db.execute("SELECT data FROM cases WHERE id = ?", (second,))
    assert data.startswith("[")  # written from now on: values-only


def test_the_values_only_form_gives_the_json_object_back_exactly() -> None:
    shapes: dict[int, Shape] = {}

    def shape_id(shape: Shape) -> int:
        shapes.setdefault(len(shapes) + 1, shape)
        return next(n for n, known in shapes.items() if known == shape)

    wide = {f"field_{n}": (n if n % 3 else None) for n in range(100)}  # more than 64 bits
    for data in (
        {},
        {"a": None},
        {"b": 1, "a": None, "c": "x"},
        {"ünï": 'côté \u2028 "q"', "nested": {"k": [1, None, {"z": None}]}, "f": 0.1},
        {"none": None, "false": False, "zero": 0, "empty": "", "list": []},
        wide,
    ):
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        stored = values_form(data, shape_id)
        assert stored.startswith("[")
        assert object_form(stored, shapes.__getitem__) == text
        read = json.loads(decodable(stored, shapes.__getitem__))  # what the codec reads
        assert list(read.items()) == list(json.loads(text).items())
    assert object_form('{"a":1}', shapes.__getitem__) == '{"a":1}'  # rows written before
    assert decodable('{"a":1}', shapes.__getitem__) == '{"a":1}'


def test_the_values_only_form_of_the_codecs_plain_values_reads_back_as_the_codecs_json() -> None:
    fields = {
        name: FieldSpec(type=kind)
        for name, kind in (
            ("text", "string"),
            ("count", "integer"),
            ("amount", "number"),
            ("flag", "boolean"),
            ("at", "datetime"),
            ("wait", "duration"),
            ("items", "list"),
            ("extra", "object"),
        )
    }
    fields["choice"] = FieldSpec(type="enum", values=["low", "high"])
    fields["times"] = FieldSpec(type="list", items=FieldSpec(type="datetime"))
    schema = CaseDataSchema("w", 1, fields)
    shapes = {1: tuple(fields)}
    for given in (
        {"text": 'é \u2028 "q" 😀', "count": 2**70, "amount": 1e16, "flag": False},
        {"at": datetime(2026, 1, 1, 9, 0, 0, 123456, tzinfo=UTC), "wait": timedelta(days=1)},
        {"items": [1, None, {"x": [0.1]}], "extra": {"k": datetime(2020, 1, 1)}, "count": 0},
        {"amount": float("inf"), "extra": {"low": float("-inf")}, "items": [float("nan")]},
        {"amount": float("nan")},
        {"choice": "high", "times": [datetime(2026, 3, 1, 8, 30, tzinfo=UTC)], "count": -1},
        {
            "wait": timedelta(minutes=-15, microseconds=5),
            "amount": 0.1,
            "text": "",
            "extra": {"nested": {"deep": [True, "2026-03-01T08:30:00Z"]}},
        },
    ):
        data = schema.initial(given)
        stored = values_form(schema.to_jsonable(data), lambda shape: 1)
        assert object_form(stored, shapes.__getitem__) == schema.to_json(data)
        read = schema.from_json(object_form(stored, shapes.__getitem__))
        assert schema.from_json(decodable(stored, shapes.__getitem__)) == read
        parsed = schema.from_plain(values_object(stored, shapes.__getitem__))  # issue 16
        assert repr(parsed) == repr(read)
    infinite = schema.initial({"amount": float("inf")})
    assert values_form(schema.to_jsonable(infinite), lambda shape: 1) == "[1,0]"  # null: no value


def test_a_values_row_parses_as_the_json_module_reads_it() -> None:
    """Issue 16: ``values_object`` parses with pydantic-core's reader; the values and their
    types are those ``json.loads`` gives, and a text that reader refuses (an escaped lone
    surrogate, which ``values_form`` never writes) is read by the ``json`` module."""
    names = ("a", "b", "c", "d", "e", "f")
    shapes = {7: names}
    for stored in (
        '[7,63,1.0,-0.0,1e5,123456789012345678901234567890,"\\u00e9 \\u2028 \\"q\\"",true]',
        '[7,5,[1,null,{"x":[0.1,2]}],{"k":"v","k2":{}}]',
        '[7,2,"\\ud800 alone"]',
        "[7,0]",
    ):
        values = json.loads(stored)
        given = iter(values[2:])
        expected = {n: next(given) if values[1] >> i & 1 else None for i, n in enumerate(names)}
        assert repr(values_object(stored, shapes.__getitem__)) == repr(expected)
    other = {7: ("z", "y", "x")}  # the same present fields, named by another file's shape
    assert values_object("[7,5,1,2]", shapes.__getitem__) == {
        "a": 1,
        "b": None,
        "c": 2,
        "d": None,
        "e": None,
        "f": None,
    }
    assert values_object("[7,5,1,2]", other.__getitem__) == {"z": 1, "y": None, "x": 2}


def test_moments_no_query_compares_are_stored_as_eight_bytes_and_read_back_exactly(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "cases.db"
    case_id = _complaint(path, clock)
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        seen = (engine.history(case_id), engine.store.timers(case_id), engine.outbox(case_id))
        notices = engine.store.notifications(case_id)  # type: ignore[attr-defined]
    with sqlite3.connect(path) as db:
        for table, column in MOMENTS_17:
            kinds = db.execute(f"SELECT DISTINCT typeof({column}), length({column}) FROM {table}")
            assert kinds.fetchall() == [("blob", 8)], table
        undo_blob_moments(db)  # version 16: ISO text, read as it is
        for table, column in MOMENTS_17:
            kinds = db.execute(f"SELECT DISTINCT typeof({column}) FROM {table}")
            assert kinds.fetchall() == [("text",)], table
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        assert (
            engine.history(case_id),
            engine.store.timers(case_id),
            engine.outbox(case_id),
        ) == seen
        assert engine.store.notifications(case_id) == notices  # type: ignore[attr-defined]
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)  # the clock fixture's
    assert [entry.at for entry in seen[0]] == [start, start + timedelta(minutes=5)]


def _seen(engine: Engine, case_id: str) -> tuple[object, ...]:
    """All a store answers about a case and the queries comparing its moments."""
    store = engine.store
    first = store.find(CaseQuery(workflow="complaint"), limit=1)
    return (
        engine.get(case_id),
        engine.history(case_id),
        store.timers(case_id),
        engine.outbox(case_id),
        store.notifications(case_id),  # type: ignore[attr-defined]
        list(store.histories()),
        first,
        store.find(CaseQuery(workflow="complaint"), after=first.next, limit=5),
        store.count(CaseQuery(updated_since=datetime(2026, 3, 2, 9, 3, tzinfo=UTC))),
        store.find(CaseQuery(sla="running", by_deadline=True)),
        store.due_timers(datetime(2026, 3, 9, tzinfo=UTC), 100),
        store.workload(datetime(2026, 3, 9, tzinfo=UTC)),
    )


def test_a_version_17_file_names_cases_by_integer_keys_after_the_upgrade_and_answers_the_same(
    tmp_path: Path, clock: ManualClock
) -> None:
    path, kept = tmp_path / "cases.db", tmp_path / "kept.db"
    case_id = _complaint(path, clock)
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        engine.start("complaint", {**START, "customer": "C-2001"})
        seen = _seen(engine, case_id)
    shutil.copy(path, kept)
    with sqlite3.connect(path) as db:
        [(sequence,)] = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'timers'")
        undo_case_refs(db)  # version 17: case ids in every row, compared moments as ISO text
        assert "case_id" in [row[1] for row in db.execute("PRAGMA table_info(history)")]
        assert db.execute("SELECT DISTINCT typeof(due_at) FROM timers").fetchall() == [("text",)]
    with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine:
        assert engine.store.schema_version() == SCHEMA_VERSION == 21  # type: ignore[attr-defined]
        assert _seen(engine, case_id) == seen
    with sqlite3.connect(path) as db:
        for table in ("history", "timers", "notifications", "deliveries"):
            names = [row[1] for row in db.execute(f"PRAGMA table_xinfo({table})")]
            assert "case_ref" in names and "case_id" not in names, table
        for table, column in MOMENTS_19:
            kinds = db.execute(
                f"SELECT DISTINCT typeof({column}), length({column}) FROM {table} "
                f"WHERE {column} IS NOT NULL"
            )
            assert kinds.fetchall() == [("blob", 8)], (table, column)
        assert db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'timers'").fetchall() == [
            (sequence,)
        ]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    clock.advance("3d")  # the upgraded file and the one never taken back fire the same timers
    fired = []
    for store in (path, kept):
        with Engine.from_directory(WORKFLOWS, store=f"sqlite:///{store}", clock=clock) as engine:
            engine.advance()
            fired.append(_seen(engine, case_id))
    assert fired[0] == fired[1]
    assert fired[0][1] != seen[1]  # (timers did fire)


def test_a_moment_as_eight_bytes_is_exact_and_sorts_as_time_does() -> None:
    moments = (
        datetime(2026, 3, 2, 9, 0, 0, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 7, 1, 12, tzinfo=timezone(timedelta(hours=2))),
    )
    assert sorted(moments, key=micros) == sorted(moments)
    for moment in moments:
        stored = micros(moment)
        assert len(stored) == 8
        since = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
        assert stored == micros_param(moment) == (since + (1 << 63)).to_bytes(8, "big")
        assert from_ts(stored) == moment
        assert from_ts(stored).tzinfo is UTC
        assert from_ts(stored) == from_ts(ts(moment))


def test_data_naming_a_field_list_the_file_lost_is_refused_with_the_file_named(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "cases.db"
    case_id = _complaint(path, clock)
    with sqlite3.connect(path) as db:
        [(shape_id,)] = db.execute("SELECT id FROM shared_texts WHERE text LIKE 'data fields:%'")
        db.execute("DELETE FROM shared_texts WHERE id = ?", (shape_id,))
    with (
        Engine.from_directory(WORKFLOWS, store=f"sqlite:///{path}", clock=clock) as engine,
        pytest.raises(StoreError) as refused,
    ):
        engine.get(case_id)
    assert str(refused.value) == (
        f"the store {path} has a case whose data names field list {shape_id}, which its "
        "shared_texts table does not hold: the file was changed outside svcflow; restore it "
        "from a backup"
    )
    with sqlite3.connect(path) as db:
        [(data,)] = db.execute("SELECT data FROM cases WHERE id = ?", (case_id,))
    assert json.loads(data)[0] == shape_id  # the case row is left as it was
