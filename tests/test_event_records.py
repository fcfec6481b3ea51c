"""The records every event builds, built the cheap way: the same values as the plain way, and
counts that threads add to without a lock still add up."""

from __future__ import annotations

import threading
from dataclasses import fields
from datetime import UTC, datetime, timedelta

import pytest

from svcflow.core.effects import StepResult, step_result
from svcflow.engine.counters import EngineCounters
from svcflow.records import NO_DETAILS, Case, HistoryEntry
from svcflow.store.base import CaseChange, NewDelivery, NewNotification
from svcflow.store.memory import MemoryStore

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_step_result_builds_what_the_dataclass_builds_with_fresh_containers() -> None:
    built = step_result(trigger="resolve", source="open", target="resolved", data={"a": 1})
    plain = StepResult(trigger="resolve", source="open", target="resolved", data={"a": 1})
    assert built == plain
    assert all(hasattr(built, field.name) for field in fields(StepResult))
    other = step_result(trigger=None, source=None, target="open", data={})
    built.timers.append(object())  # type: ignore[arg-type]
    built.changed["a"] = 2
    assert other.timers == [] and other.changed == {}


def _case(workflow: str) -> Case:
    return Case.__new__(
        Case,
        id="C-1",
        workflow=workflow,
        version=1,
        state="open",
        data={},
        revision=1,
        created_at=NOW,
        updated_at=NOW,
        sla=NO_DETAILS,
    )


def _entry(kind: str) -> HistoryEntry:
    return HistoryEntry.__new__(
        HistoryEntry,
        case_id="C-1",
        seq=1,
        at=NOW,
        actor="agent",
        kind=kind,
        trigger=None,
        from_state=None,
        to_state="open",
        payload=None,
        version=1,
        details=NO_DETAILS,
    )


def test_event_counts_from_many_threads_add_up_and_reading_does_not_change_them() -> None:
    counters = EngineCounters()
    case, entries = _case("complaint"), [_entry("transition"), _entry("started")]
    seen: list[dict[tuple[str, str], int]] = []

    def commit(turns: int) -> None:
        for turn in range(turns):
            counters.committed(case, entries[turn % 2])
            if turn % 500 == 0:
                seen.append(dict(counters.events()))

    threads = [threading.Thread(target=commit, args=(4000,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = {("complaint", "transition"): 12000, ("complaint", "started"): 12000}
    assert counters.events() == expected
    assert counters.events() == expected  # reading twice reads the same
    assert all(0 < sum(counts.values()) <= 24000 for counts in seen)


def _notice(case: Case, key: str) -> CaseChange:
    row = NewDelivery.__new__(
        NewDelivery,
        key=f"{key}:customer",
        notification_key=key,
        template="opened",
        channel="",
        address="",
        name=None,
        role="customer",
        locale="en",
        subject="",
        body="",
        urgent=False,
        next_attempt_at=case.updated_at,
        status="undeliverable",
        error="no recipient for role 'customer'",
    )
    note = NewNotification(key, "opened", ("customer",), None, False, status="undeliverable")
    return CaseChange(
        case=case,
        expected_revision=None if case.revision == 1 else case.revision - 1,
        history=_entry("started" if case.revision == 1 else "transition")._replace(
            seq=case.revision
        ),
        notifications=[note],
        deliveries=[row],
    )


def test_the_memory_store_reads_queued_rows_back_in_commit_order_and_refuses_a_key_twice() -> None:
    store = MemoryStore()
    first = _case("complaint")
    store.commit(_notice(first, "C-1:1:1"))
    assert [(n.key, n.status) for n in store.notifications()] == [("C-1:1:1", "undeliverable")]
    second = first._replace(revision=2, updated_at=NOW + timedelta(minutes=5))
    store.commit(_notice(second, "C-1:2:1"))  # queued after the first rows were read
    with pytest.raises(ValueError, match="notification key 'C-1:2:1' already queued"):
        store.commit(_notice(second._replace(revision=3), "C-1:2:1"))
    rows = store.outbox("C-1")
    assert [(row.key, row.created_at, row.last_error) for row in rows] == [
        ("C-1:1:1:customer", NOW, "no recipient for role 'customer'"),
        ("C-1:2:1:customer", NOW + timedelta(minutes=5), "no recipient for role 'customer'"),
    ]
    notes = store.notifications("C-1")
    assert [n.key for n in notes] == ["C-1:1:1", "C-1:2:1"]
    assert notes[0].id < rows[0].id < notes[1].id < rows[1].id
    assert store.load_case("C-1") == second and len(store.history("C-1")) == 2
