"""SLA clocks of cases moved to a new version, in the corners a host's upgrades reach: a
``retarget`` onto a business-days target on another calendar, a clock that carries its old
target moved once more, and a clock whose calendar the host no longer has. Each move's
``migrated`` event is compared whole, with the deadline the clock then has."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from support.calendars import OFFICE_LONDON, at, calendar_from
from svcflow import Engine, ManualClock, load_workflow_text
from svcflow.definitions.migration import read_migration_text
from svcflow.records import Case
from svcflow.sla.calendar import BusinessCalendar
from svcflow.store.base import Store
from svcflow.store.registry import open_store

MONDAY = "2026-03-02T09:00:00+00:00"  # the office (Mon-Fri 09:00-18:00, London) is open

LINE = """\
workflow: line
version: 1
title: A request measured on one clock
data:
  customer: {type: string, required: true}
  urgent: {type: boolean, default: false}
states:
  open: {initial: true}
  done: {final: true}
transitions:
  - {trigger: finish, from: open, to: done}
sla:
  calendar: 24x7
  metrics:
    resolution:
      start: {enter: open}
      stop: {enter: done}
      targets: [{within: 6h, name: six hours}]
"""


def version(number: int, targets: str = "[{within: 6h, name: six hours}]") -> str:
    """The workflow at ``number`` with the resolution clock's ``targets``."""
    return LINE.replace("version: 1", f"version: {number}").replace(
        "[{within: 6h, name: six hours}]", targets
    )


OFFICE = calendar_from(OFFICE_LONDON, "office.yaml")


def engine_of(
    store: Store, clock: ManualClock, texts: list[str], calendars: list[BusinessCalendar]
) -> Engine:
    workflows = [load_workflow_text(text, "line.yaml") for text in texts]
    return Engine(workflows, store, clock, calendars=calendars)


def started(store: Store, clock: ManualClock, text: str, calendars: list[BusinessCalendar]) -> Case:
    """A case started by an engine of one version only (a host before its upgrade)."""
    first = engine_of(store, clock, [text], calendars)
    case = first.start("line", {"customer": "Ann"})
    first.plugins.close()
    return case


def move(engine: Engine, case: Case, to: int, mode: str) -> dict[str, Any]:
    """Move the case to version ``to`` with the clock's ``mode``; its ``migrated`` event."""
    plan = f"migration: line\nfrom: {to - 1}\nto: {to}\nclocks: {{resolution: {mode}}}\n"
    report = engine.migrate_cases(read_migration_text(plan, "plan.yaml"))
    assert [entry.case_id for entry in report.moved] == [case.id]
    [event] = engine.history(case.id)[-1].details["sla"]
    return dict(event)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY)


def test_a_clock_retargeted_onto_business_days_on_another_calendar_counts_there(
    clock: ManualClock,
) -> None:
    """v2 measures in two business days of the office: the budget is the office time from the
    clock's start to two business days later (18 hours), the hour used counts, and the rest
    runs on the office's hours."""
    store = open_store("memory://")
    v2 = version(2, "[{within: 2 business days, calendar: office}]")
    case = started(store, clock, version(1), [OFFICE])
    clock.advance("1h")
    with engine_of(store, clock, [version(1), v2], [OFFICE]) as engine:
        assert move(engine, case, 2, "retarget") == {
            "metric": "resolution",
            "event": "migrated",
            "at": "2026-03-02T10:00:00+00:00",
            "cycle": 1,
            "target": "2 business days",
            "calendar": "office",
            "used": "1h",
            "mode": "retarget",
        }
        [found] = engine.sla(case.id)
        assert (found.budget, found.deadline) == (
            timedelta(hours=18),
            at("2026-03-03T18:00:00+00:00"),
        )


TWO_TARGETS = "[{when: urgent, within: 2h, name: urgent}, {within: 1d, name: standard}]"


def test_a_clock_carrying_its_old_target_retargeted_at_the_next_move_names_the_new_one(
    clock: ManualClock,
) -> None:
    """Kept at the first move, the clock carries v1's six hours where v2 chooses its standard
    day; moved on to v3 with ``retarget`` it takes v3's choice and carries nothing more."""
    store = open_store("memory://")
    case = started(store, clock, version(1), [])
    clock.advance("1h")
    texts = [version(1), version(2, TWO_TARGETS), version(3, TWO_TARGETS)]
    with engine_of(store, clock, texts, []) as engine:
        assert move(engine, case, 2, "keep")["target"] == "six hours"
        clock.advance("1h")
        assert move(engine, case, 3, "retarget") == {
            "metric": "resolution",
            "event": "migrated",
            "at": "2026-03-02T11:00:00+00:00",
            "cycle": 1,
            "target": "standard",
            "calendar": "24x7",
            "used": "2h",
            "mode": "retarget",
        }
        [found] = engine.sla(case.id)
        assert (found.target, found.budget, found.deadline) == (
            "standard",
            timedelta(days=1),
            at("2026-03-03T09:00:00+00:00"),
        )
        stored = engine.get(case.id).sla["metrics"]["resolution"]
        assert ("label" in stored, "within" in stored) == (False, False)


def test_a_clock_on_a_calendar_no_longer_loaded_is_retargeted_without_the_time_since_its_last_move(
    clock: ManualClock,
) -> None:
    """v1 measured on the old office calendar; moved to v2 with ``keep``, the clock still runs
    there. The host then drops v1 and that calendar: at the move to v3 the clock cannot be kept
    (its time cannot be counted on a calendar the engine lacks), so it is re-targeted with the
    time it had used at its last move, on the target v3 chooses."""
    store = open_store("memory://")
    old_office = calendar_from(OFFICE_LONDON.replace("calendar: office", "calendar: old_office"))
    v1 = LINE.replace("calendar: 24x7", "calendar: old_office")
    v2, v3 = version(2), version(3, "[{within: 4h}]")
    case = started(store, clock, v1, [old_office])
    clock.advance("1h")
    with engine_of(store, clock, [v1, v2], [old_office]) as first:
        assert move(first, case, 2, "keep")["calendar"] == "old_office"
    clock.advance("1h")
    with engine_of(store, clock, [v2, v3], []) as engine:
        assert move(engine, case, 3, "keep") == {
            "metric": "resolution",
            "event": "migrated",
            "at": "2026-03-02T11:00:00+00:00",
            "cycle": 1,
            "target": "4h",
            "calendar": "24x7",
            "used": "1h",
            "mode": "retarget",
        }
        [found] = engine.sla(case.id)
        assert (found.status, found.deadline) == ("running", at("2026-03-02T14:00:00+00:00"))
