"""The records every event builds, built the cheap way: the same values as the plain way, and
counts that threads add to without a lock still add up."""

from __future__ import annotations

import threading
from dataclasses import fields
from datetime import UTC, datetime

from svcflow.core.effects import StepResult, step_result
from svcflow.engine.counters import EngineCounters
from svcflow.records import NO_DETAILS, Case, HistoryEntry

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
