"""When an SLA condition is evaluated: a ``when`` that asks a decision table, one that reads
the case's state or the time, a field that changes type, metrics the step does not touch, and
a warning's lead time. Each clock's events are compared as a person reads them in the history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from support.calendars import at
from svcflow import Engine, ManualClock, WorkflowDefinitionError, load_workflow_text
from test_sla_lifecycle import CALLBACK, MONDAY, office_engine


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY)


def events(engine: Engine, case_id: str, metric: str) -> list[tuple[str, str, str]]:
    """The metric's events as (event, at, used), in the order the history holds them."""
    return [
        (event["event"], event["at"], event["used"])
        for entry in engine.history(case_id)
        for event in entry.details.get("sla", ())
        if event.get("metric") == metric
    ]


TRIAGED = """\
workflow: triaged
version: 1
title: A clock that runs while a decision table finds the case urgent
data:
  customer: {type: string, required: true}
  impact: {type: enum, values: [high, low], default: low}
  urgency: {type: enum, values: [high, low], default: low}
states:
  open: {initial: true}
  done: {final: true}
transitions:
  - {trigger: update, from: open}
  - {trigger: finish, from: open, to: done}
sla:
  calendar: office
  metrics:
    urgent:
      start: {when: 'priority.level == "urgent"'}
      stop: [{enter: done}, {when: 'priority.level != "urgent"'}]
      targets: [{within: 1h}]
tables:
  priority:
    hit: first
    inputs:
      impact: impact
      urgency: urgency
    outputs:
      level: {type: enum, values: [urgent, normal]}
    rules:
      - {impact: high, urgency: high, level: urgent}
      - {level: normal}
"""


@pytest.fixture
def triaged(clock: ManualClock, store_url: str) -> Iterator[Engine]:
    with office_engine(TRIAGED, "triaged.yaml", clock, store_url) as engine:
        yield engine


def test_a_condition_asking_a_decision_table_is_evaluated_when_the_tables_inputs_change(
    triaged: Engine, clock: ManualClock
) -> None:
    """The condition names only the table, never the fields the table reads: a step that
    changes those fields still changes what the condition gives."""
    case = triaged.start("triaged", {"customer": "c1", "impact": "high"})
    clock.advance(timedelta(minutes=10))
    triaged.fire(case.id, "update", {"urgency": "high"})
    clock.advance(timedelta(minutes=20))
    triaged.fire(case.id, "update", {"impact": "low"})
    assert events(triaged, case.id, "urgent") == [
        ("started", "2026-03-02T09:10:00+00:00", "0s"),
        ("met", "2026-03-02T09:30:00+00:00", "20m"),
    ]


def test_a_condition_on_the_state_and_the_time_that_stays_true_as_its_field_changes_starts_nothing(
    clock: ManualClock, store_url: str
) -> None:
    """Moving the promised callback later changes the field the condition reads, but the
    condition held before the step (in triage, before the callback) and still holds: it did
    not become true, so the clock met at the call does not start a second cycle."""
    with office_engine(CALLBACK, "callback.yaml", clock, store_url) as engine:
        case = engine.start("callback", {"customer": "c1"})
        engine.fire(case.id, "triage", {"callback_by": "2026-03-02T12:00:00+00:00"})
        clock.advance(timedelta(minutes=15))
        engine.fire(case.id, "called")
        clock.advance(timedelta(minutes=15))
        engine.fire(case.id, "update", {"callback_by": "2026-03-02T13:00:00+00:00"})
        assert events(engine, case.id, "callback") == [
            ("started", "2026-03-02T09:00:00+00:00", "0s"),
            ("met", "2026-03-02T09:15:00+00:00", "15m"),
        ]
        # a callback promised again, once the first has passed, starts the next cycle
        clock.set("2026-03-02T14:00:00+00:00")
        engine.fire(case.id, "update", {"callback_by": "2026-03-02T16:00:00+00:00"})
        assert events(engine, case.id, "callback")[2:] == [
            ("started", "2026-03-02T14:00:00+00:00", "0s")
        ]


DESK = """\
workflow: desk
version: 1
title: A clock for VIPs on a condition, then the handling clock, reset when critical
data:
  customer: {type: string, required: true}
  vip: {type: boolean, default: false}
  severity: {type: enum, values: [normal, critical], default: normal}
states:
  open: {initial: true}
  done: {final: true}
transitions:
  - {trigger: update, from: open}
  - {trigger: finish, from: open, to: done}
sla:
  calendar: office
  metrics:
    vip_care:
      start: {when: vip}
      stop: {when: '!vip'}
      targets: [{within: 2h}]
    handling:
      start: {enter: open}
      stop: {enter: done}
      reset: {when: 'severity == "critical"'}
      targets:
        - {when: 'severity == "critical"', within: 1h, name: critical}
        - {within: 4h, name: standard}
"""


def test_a_step_reaches_every_clock_it_touches_after_one_it_cannot_change(
    clock: ManualClock, store_url: str
) -> None:
    """``finish`` changes no data, so the VIP clock's conditions cannot match (it is listed
    first); the handling clock after it still stops."""
    with office_engine(DESK, "desk.yaml", clock, store_url) as engine:
        case = engine.start("desk", {"customer": "c1", "vip": True})
        clock.advance(timedelta(minutes=40))
        engine.fire(case.id, "finish")
        assert events(engine, case.id, "handling") == [
            ("started", "2026-03-02T09:00:00+00:00", "0s"),
            ("met", "2026-03-02T09:40:00+00:00", "40m"),
        ]
        assert events(engine, case.id, "vip_care") == [
            ("started", "2026-03-02T09:00:00+00:00", "0s")
        ]


def test_a_reset_condition_starts_a_new_cycle_on_the_target_it_now_chooses(
    clock: ManualClock, store_url: str
) -> None:
    with office_engine(DESK, "desk.yaml", clock, store_url) as engine:
        case = engine.start("desk", {"customer": "c1"})
        clock.advance(timedelta(minutes=30))
        engine.fire(case.id, "update", {"severity": "critical"})
        [reset] = [
            event
            for event in engine.history(case.id)[-1].details["sla"]
            if event["metric"] == "handling"
        ]
        assert reset == {
            "metric": "handling",
            "event": "reset",
            "at": "2026-03-02T09:30:00+00:00",
            "cycle": 2,
            "target": "critical",
            "calendar": "office",
            "used": "0s",
            "budget": "1h",
        }
        [handling] = [s for s in engine.sla(case.id) if s.metric == "handling"]
        assert (handling.cycle, handling.deadline) == (2, at("2026-03-02T10:30:00+00:00"))


def test_a_warning_before_the_deadline_needs_a_lead_time() -> None:
    """A warning ``before: 0s`` would be the breach itself: the file is refused, saying where."""
    text = DESK.replace(
        "      targets: [{within: 2h}]\n",
        "      targets: [{within: 2h}]\n      warnings: [{before: 0s}]\n",
    )
    assert text != DESK
    with pytest.raises(WorkflowDefinitionError) as refused:
        load_workflow_text(text, "desk.yaml")
    assert str(refused.value) == (
        "1 problem in desk.yaml\n"
        "desk.yaml:21:18: sla.metrics.vip_care.warnings[0]: 'before' is a positive lead time, "
        "e.g. 30m"
    )


UNASSIGNED = """\
workflow: queue
version: 1
title: A clock that runs while nobody is assigned
data:
  customer: {type: string, required: true}
  assignee: {type: string}
states:
  open: {initial: true}
  done: {final: true}
transitions:
  - {trigger: update, from: open}
  - {trigger: close, from: open, to: done}
sla:
  calendar: office
  metrics:
    unassigned:
      start: {when: assignee == null}
      stop: {when: assignee != null}
      targets: [{within: 1h}]
"""


def test_a_field_cleared_by_a_step_counts_as_changed(clock: ManualClock, store_url: str) -> None:
    """Taking the assignee away (setting it to null) makes ``assignee == null`` true: the
    clock starts; naming someone again stops it."""
    with office_engine(UNASSIGNED, "unassigned.yaml", clock, store_url) as engine:
        case = engine.start("queue", {"customer": "c1", "assignee": "bo"})
        clock.advance(timedelta(minutes=10))
        engine.fire(case.id, "update", {"assignee": None})
        clock.advance(timedelta(minutes=5))
        engine.fire(case.id, "update", {"assignee": "cy"})
        assert events(engine, case.id, "unassigned") == [
            ("started", "2026-03-02T09:10:00+00:00", "0s"),
            ("met", "2026-03-02T09:15:00+00:00", "5m"),
        ]


REOPENED = """\
workflow: repairs
version: 1
title: A resolution clock that continues on reopen, its target set by the priority
data:
  customer: {type: string, required: true}
  priority: {type: enum, values: [normal, urgent], default: normal}
states:
  open: {initial: true}
  waiting: {}
  resolved: {}
  closed: {final: true}
transitions:
  - {trigger: ask, from: open, to: waiting}
  - {trigger: reply, from: waiting, to: open}
  - {trigger: resolve, from: open, to: resolved}
  - {trigger: reopen, from: resolved, to: open}
  - {trigger: close, from: resolved, to: closed}
  - {trigger: update, from: "*"}
sla:
  calendar: office
  metrics:
    resolution:
      start: {enter: open}
      stop: {enter: resolved}
      pause: {enter: waiting}
      resume: {leave: waiting}
      reopen: continue
      targets:
        - {when: 'priority == "urgent"', within: 2h, name: urgent}
        - {within: 4h, name: normal}
"""


def test_a_stopped_clock_is_not_retargeted_and_a_continued_one_keeps_its_target_for_the_step(
    clock: ManualClock, store_url: str
) -> None:
    """docs/sla.md: re-targeting applies to a running or paused clock that did not just start
    or continue; a continued cycle keeps its old target until the next step."""
    with office_engine(REOPENED, "reopened.yaml", clock, store_url) as engine:
        case = engine.start("repairs", {"customer": "c1"})
        clock.set("2026-03-02T10:00:00+00:00")
        engine.fire(case.id, "resolve")
        clock.set("2026-03-02T10:30:00+00:00")
        engine.fire(case.id, "update", {"priority": "urgent"})
        clock.set("2026-03-02T11:00:00+00:00")
        engine.fire(case.id, "reopen")
        [continued] = engine.sla(case.id)
        assert (continued.target, continued.deadline) == ("normal", at("2026-03-02T14:00:00+00:00"))
        clock.set("2026-03-02T11:10:00+00:00")
        engine.fire(case.id, "update")
        assert [
            (event["event"], event["at"], event["target"], event["used"])
            for entry in engine.history(case.id)
            for event in entry.details.get("sla", ())
        ] == [
            ("started", "2026-03-02T09:00:00+00:00", "normal", "0s"),
            ("met", "2026-03-02T10:00:00+00:00", "normal", "1h"),
            ("continued", "2026-03-02T11:00:00+00:00", "normal", "1h"),
            ("retargeted", "2026-03-02T11:10:00+00:00", "urgent", "1h10m"),
        ]
        [retargeted] = engine.sla(case.id)
        assert retargeted.deadline == at("2026-03-02T12:00:00+00:00")


TAKEN = """\
workflow: taken
version: 1
title: A clock started when an agent takes the case, unless the same step withdraws it
data:
  customer: {type: string, required: true}
  withdrawn: {type: boolean, default: false}
  on_hold: {type: boolean, default: false}
states:
  open: {initial: true}
  closed: {final: true}
transitions:
  - {trigger: take, from: open}
  - {trigger: update, from: open}
  - {trigger: close, from: open, to: closed}
sla:
  calendar: office
  metrics:
    handling:
      start: {trigger: take}
      cancel: {when: withdrawn}
      pause: {when: on_hold}
      resume: {when: '!on_hold'}
      targets: [{within: 2h}]
"""


def test_a_start_with_a_cancel_condition_does_nothing_and_with_a_pause_one_is_paused(
    clock: ManualClock, store_url: str
) -> None:
    """docs/sla.md, the order within a step: a start does nothing when a ``cancel`` condition
    matches the same step; a clock started by a step that also matches ``pause`` is paused."""
    with office_engine(TAKEN, "taken.yaml", clock, store_url) as engine:
        case = engine.start("taken", {"customer": "c1"})
        clock.advance(timedelta(minutes=5))
        engine.fire(case.id, "take", {"withdrawn": True})
        assert events(engine, case.id, "handling") == []
        clock.advance(timedelta(minutes=5))
        engine.fire(case.id, "take", {"withdrawn": False, "on_hold": True})
        clock.advance(timedelta(minutes=30))
        engine.fire(case.id, "update", {"on_hold": False})
        assert events(engine, case.id, "handling") == [
            ("started", "2026-03-02T09:10:00+00:00", "0s"),
            ("paused", "2026-03-02T09:10:00+00:00", "0s"),
            ("resumed", "2026-03-02T09:40:00+00:00", "0s"),
        ]
        [handling] = engine.sla(case.id)
        assert handling.deadline == at("2026-03-02T11:40:00+00:00")


def test_a_clock_whose_target_a_condition_chooses_is_paused_and_resumed(
    clock: ManualClock, store_url: str
) -> None:
    """Re-targeting comes last in a step; when the target stays, the pause or resume made
    before it stands."""
    with office_engine(REOPENED, "reopened.yaml", clock, store_url) as engine:
        case = engine.start("repairs", {"customer": "c1"})
        clock.set("2026-03-02T10:00:00+00:00")
        engine.fire(case.id, "ask")
        [paused] = engine.sla(case.id)
        assert (paused.status, paused.elapsed, paused.deadline) == (
            "paused",
            timedelta(hours=1),
            None,
        )
        clock.set("2026-03-02T11:00:00+00:00")
        engine.fire(case.id, "reply")
        [resumed] = engine.sla(case.id)
        assert (resumed.status, resumed.deadline) == ("running", at("2026-03-02T14:00:00+00:00"))
        assert events(engine, case.id, "resolution") == [
            ("started", "2026-03-02T09:00:00+00:00", "0s"),
            ("paused", "2026-03-02T10:00:00+00:00", "1h"),
            ("resumed", "2026-03-02T11:00:00+00:00", "1h"),
        ]
